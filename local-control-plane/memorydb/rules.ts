// Validation and normalisation rules of the emulated MemoryDB user API.
// Each rule follows evidence (the MemoryDB API reference and developer guide, the SDK's service
// model, recorded real responses); the evidence, and what is inferred where it is silent, is
// cited in docs/local-control-plane.md, section "MemoryDB emulator".

/** An error the emulator answers with (AWS JSON 1.1 error: `__type` + `message`); the status defaults to the code's. */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status = statusForCode(code)) {
    super(message);
    this.code = code;
    this.status = status;
    this.name = code;
  }
}

export const invalidValue = (message: string): ApiError => new ApiError("InvalidParameterValueException", message);
export const invalidCombination = (message: string): ApiError => new ApiError("InvalidParameterCombinationException", message);

/**
 * HTTP status of every fault in the MemoryDB service model (`httpError` of each error shape in
 * `@aws-sdk/client-memorydb` 3.1124, the same model as botocore's memorydb/2021-01-01/service-2.json).
 * The emulator answers each modelled fault with this status; a test checks the table against the
 * installed SDK's model.
 */
export const MODELLED_FAULT_STATUS: Readonly<Record<string, number>> = {
  ACLAlreadyExistsFault: 400,
  ACLNotFoundFault: 404,
  ACLQuotaExceededFault: 400,
  APICallRateForCustomerExceededFault: 400,
  ClusterAlreadyExistsFault: 400,
  ClusterNotFoundFault: 404,
  ClusterQuotaForCustomerExceededFault: 400,
  DefaultUserRequired: 400,
  DuplicateUserNameFault: 400,
  InsufficientClusterCapacityFault: 400,
  InvalidACLStateFault: 400,
  InvalidARNFault: 400,
  InvalidClusterStateFault: 400,
  InvalidCredentialsException: 408,
  InvalidKMSKeyFault: 400,
  InvalidMultiRegionClusterStateFault: 400,
  InvalidNodeStateFault: 400,
  InvalidParameterCombinationException: 400,
  InvalidParameterGroupStateFault: 400,
  InvalidParameterValueException: 400,
  InvalidSnapshotStateFault: 400,
  InvalidSubnet: 400,
  InvalidUserStateFault: 400,
  InvalidVPCNetworkStateFault: 400,
  MultiRegionClusterAlreadyExistsFault: 400,
  MultiRegionClusterNotFoundFault: 404,
  MultiRegionParameterGroupNotFoundFault: 404,
  NoOperationFault: 400,
  NodeQuotaForClusterExceededFault: 400,
  NodeQuotaForCustomerExceededFault: 400,
  ParameterGroupAlreadyExistsFault: 400,
  ParameterGroupNotFoundFault: 404,
  ParameterGroupQuotaExceededFault: 400,
  ReservedNodeAlreadyExistsFault: 404,
  ReservedNodeNotFoundFault: 404,
  ReservedNodeQuotaExceededFault: 400,
  ReservedNodesOfferingNotFoundFault: 404,
  ServiceLinkedRoleNotFoundFault: 400,
  ServiceUpdateNotFoundFault: 404,
  ShardNotFoundFault: 404,
  ShardsPerClusterQuotaExceededFault: 400,
  SnapshotAlreadyExistsFault: 400,
  SnapshotNotFoundFault: 404,
  SnapshotQuotaExceededFault: 400,
  SubnetGroupAlreadyExistsFault: 400,
  SubnetGroupInUseFault: 400,
  SubnetGroupNotFoundFault: 404,
  SubnetGroupQuotaExceededFault: 400,
  SubnetInUse: 400,
  SubnetNotAllowedFault: 400,
  SubnetQuotaExceededFault: 400,
  TagNotFoundFault: 404,
  TagQuotaPerResourceExceeded: 400,
  TestFailoverNotAvailableFault: 400,
  UserAlreadyExistsFault: 400,
  UserNotFoundFault: 404,
  UserQuotaExceededFault: 400,
};

/**
 * Errors every AWS JSON 1.1 service answers outside its model: the MemoryDB API reference's
 * "Common Errors" (AccessDeniedException 400, InvalidClientTokenId 403, OptInRequired 403,
 * ThrottlingException 400, InternalFailure 500, ServiceUnavailable 503, ...) and what JSON 1.1
 * services are recorded answering for bad credentials (UnrecognizedClientException and
 * ExpiredTokenException with 400).
 */
export const COMMON_ERROR_STATUS: Readonly<Record<string, number>> = {
  AccessDeniedException: 400,
  ExpiredTokenException: 400,
  IncompleteSignatureException: 400,
  InternalFailure: 500,
  InternalServerError: 500,
  InvalidClientTokenId: 403,
  InvalidSignatureException: 400,
  MissingAuthenticationTokenException: 400,
  NotAuthorized: 400,
  OptInRequired: 403,
  RequestExpired: 400,
  SerializationException: 400,
  ServiceUnavailable: 503,
  ServiceUnavailableException: 503,
  ThrottlingException: 400,
  UnknownOperationException: 400,
  UnrecognizedClientException: 400,
  ValidationException: 400,
};

/** HTTP status for an error code: the modelled status, else the common one, else 400. */
export function statusForCode(code: string): number {
  return MODELLED_FAULT_STATUS[code] ?? COMMON_ERROR_STATUS[code] ?? 400;
}

/**
 * The message a real service gives with an error, for injected faults without a message of their
 * own (`op` is the operation, `resource` the user's ARN, its name or `*`, `accountId` the caller's).
 */
export function defaultMessageFor(code: string, op: string, resource: string, accountId: string): string {
  switch (code) {
    case "AccessDeniedException":
      return `User: arn:aws:sts::${accountId}:assumed-role/memorydb-user-operator/emulator is not authorized to perform: memorydb:${op} on resource: ${resource} because no identity-based policy allows the memorydb:${op} action`;
    case "ExpiredTokenException":
      return "The security token included in the request is expired";
    case "UnrecognizedClientException":
    case "InvalidClientTokenId":
      return "The security token included in the request is invalid.";
    case "ThrottlingException":
      return "Rate exceeded";
    case "InternalFailure":
    case "InternalServerError":
      return "We encountered an internal error. Please try again.";
    case "ServiceUnavailable":
    case "ServiceUnavailableException":
      return "Service is unavailable. Please try again later.";
    case "ServiceLinkedRoleNotFoundFault":
      return "The service-linked role AWSServiceRoleForMemoryDB was not found.";
    case "ValidationException":
      return `1 validation error detected: Value at '${op}' failed to satisfy constraint`;
    case "UserNotFoundFault": {
      const name = resource.split("/").pop() ?? resource;
      return op === "TagResource" || op === "UntagResource" || op === "ListTags"
        ? `${name} is not available for tagging`
        : `User ${name} not found.`;
    }
    default:
      return `Injected failure: ${code}`;
  }
}

// ---------------------------------------------------------------------------------------------
// user names

const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9-]*$/;

/** Validates a UserName for CreateUser (the strict creation rules) and returns it lower-cased. */
export function validateNewUserName(raw: unknown): string {
  if (typeof raw !== "string" || raw.length === 0) throw invalidValue("The parameter UserName must be provided and must not be blank.");
  if (raw.length > 40) throw invalidValue("The parameter UserName must be between 1 and 40 characters long.");
  if (!NAME_PATTERN.test(raw)) {
    throw invalidValue("The parameter UserName must begin with a letter and contain only ASCII letters, digits, and hyphens.");
  }
  if (raw.includes("--")) throw invalidValue("The parameter UserName must not contain two consecutive hyphens.");
  if (raw.endsWith("-")) throw invalidValue("The parameter UserName must not end with a hyphen.");
  return raw.toLowerCase();
}

/** Validates a UserName used to look a user up (model pattern only) and returns it lower-cased. */
export function validateLookupUserName(raw: unknown): string {
  if (typeof raw !== "string" || raw.length === 0) throw invalidValue("The parameter UserName must be provided and must not be blank.");
  if (!NAME_PATTERN.test(raw)) {
    throw invalidValue("The parameter UserName must begin with a letter and contain only ASCII letters, digits, and hyphens.");
  }
  return raw.toLowerCase();
}

// ---------------------------------------------------------------------------------------------
// authentication

export type InputAuthType = "password" | "iam";

export interface ParsedAuth {
  type: InputAuthType;
  passwords: string[];
}

export const PASSWORD_MIN_LENGTH = 16;
export const PASSWORD_MAX_LENGTH = 128;
/** The characters a password may not contain besides non-printable and non-ASCII ones (and space). */
export const PASSWORD_FORBIDDEN_CHARACTERS = [",", '"', "/", "@"] as const;

/**
 * The password rule: 16–128 characters, each one printable ASCII other than space
 * (U+0021 `!` … U+007E `~`) and other than `,` `"` `/` `@`. A valid password is pure ASCII, so its
 * length is the same in characters, UTF-16 code units and bytes; the length is counted in Unicode
 * code points. Returns the violated rule's message, or undefined for a valid password. The message
 * never contains the password.
 */
export function passwordProblem(password: string): string | undefined {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH) {
    return `Passwords length must be between ${PASSWORD_MIN_LENGTH}-${PASSWORD_MAX_LENGTH} characters.`;
  }
  for (const ch of password) {
    const code = ch.codePointAt(0)!;
    if (code < 0x21 || code > 0x7e || (PASSWORD_FORBIDDEN_CHARACTERS as readonly string[]).includes(ch)) {
      return 'Passwords may only contain printable ASCII characters, and no spaces or any of , " / @.';
    }
  }
  return undefined;
}

/**
 * Validates an AuthenticationMode input structure.
 * - Type missing or not `password`/`iam` → InvalidParameterValueException
 * - `password` without passwords, `iam` with passwords → InvalidParameterCombinationException
 * - more than 2 passwords → InvalidParameterValueException (PasswordCount max 2)
 * - a password breaking the password rule (`passwordProblem`) → InvalidParameterValueException
 */
export function validateAuthenticationMode(raw: unknown): ParsedAuth {
  if (raw === undefined || raw === null) throw invalidValue("The parameter AuthenticationMode must be provided.");
  if (typeof raw !== "object" || Array.isArray(raw)) throw invalidValue("The parameter AuthenticationMode is invalid.");
  const mode = raw as { Type?: unknown; Passwords?: unknown };
  if (mode.Type === undefined || mode.Type === null) throw invalidValue("The parameter AuthenticationMode.Type must be provided.");
  if (mode.Type !== "password" && mode.Type !== "iam") {
    throw invalidValue(`Invalid authentication type: ${String(mode.Type)}. Valid values are: password, iam.`);
  }
  let passwords: string[] = [];
  if (mode.Passwords !== undefined && mode.Passwords !== null) {
    if (!Array.isArray(mode.Passwords) || mode.Passwords.some((p) => typeof p !== "string")) {
      throw invalidValue("The parameter AuthenticationMode.Passwords must be a list of strings.");
    }
    passwords = mode.Passwords as string[];
  }
  if (mode.Type === "iam") {
    if (passwords.length > 0) throw invalidCombination("Passwords are not allowed when the authentication type is iam.");
    return { type: "iam", passwords: [] };
  }
  if (passwords.length === 0) throw invalidCombination("At least one password is required when the authentication type is password.");
  if (passwords.length > 2) throw invalidValue("A user can have at most 2 passwords.");
  for (const p of passwords) {
    const problem = passwordProblem(p);
    if (problem) throw invalidValue(problem);
  }
  return { type: "password", passwords: [...passwords] };
}

// ---------------------------------------------------------------------------------------------
// access strings

const FORBIDDEN_WORDS = new Set(["nopass", "resetpass", "reset"]);
const KEYWORDS = new Set(["on", "off", "allkeys", "resetkeys", "allchannels", "resetchannels", "allcommands", "nocommands"]);

/** How stored access strings are written back: as MemoryDB rewrites them, or as Redis `ACL LIST` prints them. */
export type AccessStringMode = "memorydb" | "acl-list";
export const ACCESS_STRING_MODES: readonly AccessStringMode[] = ["memorydb", "acl-list"];

/** A validated access string: the effective `on`/`off` (if any) and the other rules, canonically cased, in order. */
export interface ParsedAccessString {
  enabled: "on" | "off" | undefined;
  rules: string[];
  /** Uses Redis 7 syntax (`%R~`/`%W~`/`%RW~` key permissions, `+cmd|sub` sub-command rules). */
  redis7: boolean;
}

const PATTERN_AFTER_ALL_KEYS =
  "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns";
const PATTERN_AFTER_ALL_CHANNELS =
  "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels";

/**
 * Validates an access string token by token.
 *
 * Accepted tokens (Redis ACL rules without password/selector handling): `on`, `off`, `~pattern`,
 * `%R~pattern` / `%W~pattern` / `%RW~pattern`, `allkeys`, `resetkeys`, `&pattern`, `allchannels`,
 * `resetchannels`, `+cmd`, `-cmd`, `+cmd|sub`, `+@category`, `-@category`, `allcommands`,
 * `nocommands`. Anything else, including password rules (`>pw`, `<pw`, `#hash`, `!hash`,
 * `nopass`, `resetpass`) and `reset`, is an InvalidParameterValueException. So is a key pattern
 * after `~*`/`allkeys`, or a channel pattern after `&*`/`allchannels`, without `resetkeys` /
 * `resetchannels` in between: Redis's ACLSetSelector refuses those (EEXIST / EISDIR).
 */
export function parseAccessString(raw: unknown): ParsedAccessString {
  if (typeof raw !== "string" || raw.trim().length === 0) {
    throw invalidValue("The parameter AccessString must be provided and must not be blank.");
  }
  const tokens = raw.trim().split(/\s+/);
  let enabled: "on" | "off" | undefined;
  let allKeys = false;
  let allChannels = false;
  let redis7 = false;
  const rules: string[] = [];
  for (const original of tokens) {
    const lower = original.toLowerCase();
    if (original.startsWith(">") || original.startsWith("<") || original.startsWith("#") || original.startsWith("!")) {
      throw invalidValue("Access string must not contain passwords or password hashes.");
    }
    if (FORBIDDEN_WORDS.has(lower)) throw invalidValue(`Access string must not contain '${lower}'.`);
    if (lower === "on" || lower === "off") {
      enabled = lower;
      continue;
    }
    if (KEYWORDS.has(lower)) {
      if (lower === "allkeys") allKeys = true;
      else if (lower === "resetkeys") allKeys = false;
      else if (lower === "allchannels") allChannels = true;
      else if (lower === "resetchannels") allChannels = false;
      rules.push(lower);
      continue;
    }
    if (/^(%(R|W|RW)~|~)\S+$/i.test(original)) {
      if (allKeys) throw invalidValue(`Invalid access string: ${PATTERN_AFTER_ALL_KEYS}.`);
      if (original === "~*") allKeys = true;
      if (original.startsWith("%")) redis7 = true;
      rules.push(original.startsWith("%") ? original.replace(/^%(rw|r|w)~/i, (_m, p: string) => `%${p.toUpperCase()}~`) : original);
      continue;
    }
    if (/^&\S+$/.test(original)) {
      if (allChannels) throw invalidValue(`Invalid access string: ${PATTERN_AFTER_ALL_CHANNELS}.`);
      if (original === "&*") allChannels = true;
      rules.push(original);
      continue;
    }
    if (/^[+-]@[A-Za-z0-9_-]+$/.test(original)) {
      rules.push(original.slice(0, 2) + original.slice(2).toLowerCase());
      continue;
    }
    if (/^[+-][A-Za-z][A-Za-z0-9_.:-]*(\|[A-Za-z0-9_.:-]+)?$/.test(original)) {
      if (original.includes("|")) redis7 = true;
      rules.push(original.toLowerCase());
      continue;
    }
    throw invalidValue(`Invalid access string: unrecognised rule '${original}'.`);
  }
  return { enabled, rules, redis7 };
}

/**
 * Validates an access string and returns it the way the emulated service stores it.
 *
 * `memorydb` (default), as MemoryDB rewrites access strings (AWS CLI and ACK e2e recordings):
 * 1. whitespace is collapsed; keywords, command names and categories are lower-cased;
 * 2. the effective `on`/`off` (the last one given) is moved to the front; without either, `off`
 *    is put there (a user without `on` is disabled);
 * 3. without any channel rule (`&…`, `allchannels`, `resetchannels`) `resetchannels` is added
 *    before the first command rule (or at the end);
 * 4. without a baseline command rule (`+@all`, `-@all`, `allcommands`, `nocommands`) before the first
 *    command rule, `-@all` is inserted before the first command rule (or appended when there are none).
 * e.g. `on ~* &* +@all` is kept as is; `on +get` becomes `on resetchannels -@all +get`;
 * `~a:*` becomes `off ~a:* resetchannels -@all`.
 *
 * `acl-list`, as Redis 7 `ACL LIST` / `ACL GETUSER` describe a user (`describeAcl`).
 * Both forms mean exactly what the input means.
 */
export function normaliseAccessString(raw: unknown, mode: AccessStringMode = "memorydb"): string {
  const parsed = parseAccessString(raw);
  return mode === "acl-list" ? describeAcl(aclModel(parsed)) : memorydbForm(parsed);
}

function memorydbForm(parsed: ParsedAccessString): string {
  const rest = [...parsed.rules];
  const isChannelRule = (t: string): boolean => t.startsWith("&") || t === "allchannels" || t === "resetchannels";
  const isCommandRule = (t: string): boolean => t.startsWith("+") || t.startsWith("-") || t === "allcommands" || t === "nocommands";
  const isBaseline = (t: string): boolean => t === "+@all" || t === "-@all" || t === "allcommands" || t === "nocommands";

  let firstCommand = rest.findIndex(isCommandRule);
  if (!rest.some(isChannelRule)) {
    if (firstCommand < 0) rest.push("resetchannels");
    else {
      rest.splice(firstCommand, 0, "resetchannels");
      firstCommand++;
    }
  }
  if (firstCommand < 0) rest.push("-@all");
  else if (!isBaseline(rest[firstCommand]!)) rest.splice(firstCommand, 0, "-@all");
  return [parsed.enabled ?? "off", ...rest].join(" ");
}

/** A user's permissions as Redis 7 holds them (the root selector of src/acl.c). */
export interface AclModel {
  enabled: "on" | "off";
  allKeys: boolean;
  /** Key patterns in insertion order; a repeated pattern ORs its permissions into the first. */
  keys: Array<{ pattern: string; read: boolean; write: boolean }>;
  allChannels: boolean;
  channels: string[];
  /** `+@all` (can run all commands, future ones included) or `-@all`. */
  allCommands: boolean;
  /** The command rules after the baseline, as Redis retains them (`command_rules`). */
  commandRules: string[];
}

/**
 * Applies the rules the way Redis 7.2's ACLSetUser/ACLSetSelector do (src/acl.c): a new user is
 * `off`, no keys, `resetchannels` (acl-pubsub-default), `-@all`; `allkeys`/`~*` and
 * `allchannels`/`&*` replace the pattern lists, `resetkeys`/`resetchannels` empty them, a repeated
 * pattern is not added twice (a key pattern ORs its R/W permissions into the existing one);
 * `+@all`/`allcommands` and `-@all`/`nocommands` reset the command rules; any other command or
 * category rule first removes an earlier rule for the same command or category (and that
 * command's sub-command rules) and is then appended (ACLUpdateCommandRules).
 */
export function aclModel(parsed: ParsedAccessString): AclModel {
  const model: AclModel = {
    enabled: parsed.enabled ?? "off",
    allKeys: false,
    keys: [],
    allChannels: false,
    channels: [],
    allCommands: false,
    commandRules: [],
  };
  for (const rule of parsed.rules) {
    if (rule === "allkeys" || rule === "~*") {
      model.allKeys = true;
      model.keys = [];
    } else if (rule === "resetkeys") {
      model.allKeys = false;
      model.keys = [];
    } else if (rule.startsWith("~") || rule.startsWith("%")) {
      const m = /^(?:%(R|W|RW)~|~)(.+)$/.exec(rule)!;
      const read = m[1] === undefined || m[1].includes("R");
      const write = m[1] === undefined || m[1].includes("W");
      const existing = model.keys.find((k) => k.pattern === m[2]);
      if (existing) {
        existing.read ||= read;
        existing.write ||= write;
      } else model.keys.push({ pattern: m[2]!, read, write });
    } else if (rule === "allchannels" || rule === "&*") {
      model.allChannels = true;
      model.channels = [];
    } else if (rule === "resetchannels") {
      model.allChannels = false;
      model.channels = [];
    } else if (rule.startsWith("&")) {
      if (!model.channels.includes(rule.slice(1))) model.channels.push(rule.slice(1));
    } else if (rule === "+@all" || rule === "allcommands") {
      model.allCommands = true;
      model.commandRules = [];
    } else if (rule === "-@all" || rule === "nocommands") {
      model.allCommands = false;
      model.commandRules = [];
    } else {
      const body = rule.slice(1);
      model.commandRules = model.commandRules.filter((r) => r.slice(1) !== body && !r.slice(1).startsWith(`${body}|`));
      model.commandRules.push(rule);
    }
  }
  return model;
}

/**
 * The user as Redis 7.2's ACLDescribeUser prints it for `ACL LIST` (src/acl.c): the flags (`on` or
 * `off`), the password hashes (none: MemoryDB never shows them), then ACLDescribeSelector: `~*` or
 * each key pattern (`~p` for read+write, `%R~p`, `%W~p`), `&*` or `resetchannels` followed by each
 * `&p`, then `+@all` or `-@all` followed by the retained command rules.
 */
export function describeAcl(model: AclModel): string {
  const out: string[] = [model.enabled];
  if (model.allKeys) out.push("~*");
  else for (const k of model.keys) out.push(`${k.read && k.write ? "~" : k.read ? "%R~" : "%W~"}${k.pattern}`);
  if (model.allChannels) out.push("&*");
  else out.push("resetchannels", ...model.channels.map((c) => `&${c}`));
  out.push(model.allCommands ? "+@all" : "-@all", ...model.commandRules);
  return out.join(" ");
}

/** MinimumEngineVersion the emulated service reports for a user. */
export function minimumEngineVersion(authType: string, redis7Syntax: boolean): string {
  if (authType === "iam") return "7.0";
  // Redis 7 syntax (key permissions, sub-command rules) needs 7.0 too, in whichever form it is stored.
  if (redis7Syntax) return "7.0";
  return "6.2";
}

// ---------------------------------------------------------------------------------------------
// tags

export const MAX_TAGS = 50;

export interface TagInput {
  key: string;
  value: string | undefined;
}

/** Validates a Tags list (Key 1–128 chars, not `aws:`-prefixed; Value ≤ 256 chars, may be absent). */
export function validateTags(raw: unknown, required: boolean): TagInput[] {
  if (raw === undefined || raw === null) {
    if (required) throw invalidValue("The parameter Tags must be provided.");
    return [];
  }
  if (!Array.isArray(raw)) throw invalidValue("The parameter Tags must be a list.");
  if (required && raw.length === 0) throw invalidValue("The parameter Tags must contain at least one tag.");
  const out: TagInput[] = [];
  for (const t of raw as unknown[]) {
    if (typeof t !== "object" || t === null) throw invalidValue("Invalid tag.");
    const { Key, Value } = t as { Key?: unknown; Value?: unknown };
    if (typeof Key !== "string" || Key.length < 1 || Key.length > 128) {
      throw invalidValue("Tag keys must be between 1 and 128 characters long.");
    }
    if (Key.toLowerCase().startsWith("aws:")) throw invalidValue("Tag keys must not start with 'aws:'.");
    if (Value !== undefined && Value !== null && typeof Value !== "string") throw invalidValue("Tag values must be strings.");
    if (typeof Value === "string" && Value.length > 256) throw invalidValue("Tag values must be at most 256 characters long.");
    out.push({ key: Key, value: typeof Value === "string" ? Value : undefined });
  }
  return out;
}

/** Validates a TagKeys list for UntagResource. */
export function validateTagKeys(raw: unknown): string[] {
  if (!Array.isArray(raw) || raw.length === 0) throw invalidValue("The parameter TagKeys must contain at least one key.");
  for (const k of raw as unknown[]) {
    if (typeof k !== "string" || k.length < 1 || k.length > 128) throw invalidValue("Tag keys must be between 1 and 128 characters long.");
  }
  return raw as string[];
}

// ---------------------------------------------------------------------------------------------
// ARNs

const NOT_FOUND_BY_RESOURCE: Record<string, string> = {
  user: "UserNotFoundFault",
  acl: "ACLNotFoundFault",
  cluster: "ClusterNotFoundFault",
  parametergroup: "ParameterGroupNotFoundFault",
  subnetgroup: "SubnetGroupNotFoundFault",
  snapshot: "SnapshotNotFoundFault",
  reservednode: "ReservedNodeNotFoundFault",
  multiregioncluster: "MultiRegionClusterNotFoundFault",
};

/** Parses a MemoryDB ARN; returns the user name, or throws InvalidARNFault / the resource kind's NotFound fault. */
export function parseUserArn(raw: unknown, region: string, accountId: string): string {
  if (typeof raw !== "string" || raw.length === 0) throw invalidValue("The parameter ResourceArn must be provided.");
  const m = /^arn:(aws[a-z-]*):memorydb:([a-z0-9-]*):([0-9]*):([a-z]+)\/(.+)$/.exec(raw);
  if (!m) throw new ApiError("InvalidARNFault", `Invalid ARN: ${raw}`);
  const [, , arnRegion, account, kind, name] = m;
  if (arnRegion !== region || account !== accountId) {
    throw new ApiError("InvalidARNFault", `The ARN ${raw} does not belong to this account and region.`);
  }
  const notFound = NOT_FOUND_BY_RESOURCE[kind!];
  if (!notFound) throw new ApiError("InvalidARNFault", `Invalid ARN: ${raw}`);
  if (kind !== "user") throw new ApiError(notFound, `${kind} ${name} not found.`);
  return name!;
}
