// Validation and normalisation rules of the emulated MemoryDB user API.
// Every rule here is taken from the MemoryDB API facts (../shared/memorydb-api.md); where the service's documentation is
// silent the choice is documented in docs/local-control-plane.md ("MemoryDB emulator").

/** An error the emulator answers with (AWS JSON 1.1 error: `__type` + `message`). */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.code = code;
    this.status = status;
    this.name = code;
  }
}

export const invalidValue = (message: string): ApiError => new ApiError('InvalidParameterValueException', message);
export const invalidCombination = (message: string): ApiError =>
  new ApiError('InvalidParameterCombinationException', message);

/** HTTP status for an error code: 5xx for server faults, 400 for everything else (what the API reference says). */
export function statusForCode(code: string): number {
  if (code === 'InternalFailure' || code === 'InternalServerError') return 500;
  if (code === 'ServiceUnavailable' || code === 'ServiceUnavailableException') return 503;
  return 400;
}

// ---------------------------------------------------------------------------------------------
// user names

const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9-]*$/;

/** Validates a UserName for CreateUser (the strict creation rules) and returns it lower-cased. */
export function validateNewUserName(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length === 0) throw invalidValue('The parameter UserName must be provided and must not be blank.');
  if (raw.length > 40) throw invalidValue('The parameter UserName must be between 1 and 40 characters long.');
  if (!NAME_PATTERN.test(raw)) {
    throw invalidValue('The parameter UserName must begin with a letter and contain only ASCII letters, digits, and hyphens.');
  }
  if (raw.includes('--')) throw invalidValue('The parameter UserName must not contain two consecutive hyphens.');
  if (raw.endsWith('-')) throw invalidValue('The parameter UserName must not end with a hyphen.');
  return raw.toLowerCase();
}

/** Validates a UserName used to look a user up (model pattern only) and returns it lower-cased. */
export function validateLookupUserName(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length === 0) throw invalidValue('The parameter UserName must be provided and must not be blank.');
  if (!NAME_PATTERN.test(raw)) {
    throw invalidValue('The parameter UserName must begin with a letter and contain only ASCII letters, digits, and hyphens.');
  }
  return raw.toLowerCase();
}

// ---------------------------------------------------------------------------------------------
// authentication

export type InputAuthType = 'password' | 'iam';

export interface ParsedAuth {
  type: InputAuthType;
  passwords: string[];
}

/**
 * Validates an AuthenticationMode input structure.
 * - Type missing or not `password`/`iam` → InvalidParameterValueException
 * - `password` without passwords, `iam` with passwords → InvalidParameterCombinationException
 * - more than 2 passwords → InvalidParameterValueException (PasswordCount max 2)
 * - a password shorter than 16 or longer than 128 characters → InvalidParameterValueException
 */
export function validateAuthenticationMode(raw: unknown): ParsedAuth {
  if (raw === undefined || raw === null) throw invalidValue('The parameter AuthenticationMode must be provided.');
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalidValue('The parameter AuthenticationMode is invalid.');
  const mode = raw as { Type?: unknown; Passwords?: unknown };
  if (mode.Type === undefined || mode.Type === null) throw invalidValue('The parameter AuthenticationMode.Type must be provided.');
  if (mode.Type !== 'password' && mode.Type !== 'iam') {
    throw invalidValue(`Invalid authentication type: ${String(mode.Type)}. Valid values are: password, iam.`);
  }
  let passwords: string[] = [];
  if (mode.Passwords !== undefined && mode.Passwords !== null) {
    if (!Array.isArray(mode.Passwords) || mode.Passwords.some((p) => typeof p !== 'string')) {
      throw invalidValue('The parameter AuthenticationMode.Passwords must be a list of strings.');
    }
    passwords = mode.Passwords as string[];
  }
  if (mode.Type === 'iam') {
    if (passwords.length > 0) throw invalidCombination('Passwords are not allowed when the authentication type is iam.');
    return { type: 'iam', passwords: [] };
  }
  if (passwords.length === 0) throw invalidCombination('At least one password is required when the authentication type is password.');
  if (passwords.length > 2) throw invalidValue('A user can have at most 2 passwords.');
  for (const p of passwords) {
    if (p.length < 16 || p.length > 128) throw invalidValue('Passwords length must be between 16-128 characters.');
  }
  return { type: 'password', passwords: [...passwords] };
}

// ---------------------------------------------------------------------------------------------
// access strings

const FORBIDDEN_WORDS = new Set(['nopass', 'resetpass', 'reset']);
const KEYWORDS = new Set(['on', 'off', 'allkeys', 'resetkeys', 'allchannels', 'resetchannels', 'allcommands', 'nocommands']);

/**
 * Validates an access string and returns it the way the emulated service stores it.
 *
 * Accepted tokens (Redis ACL rules without password/selector handling): `on`, `off`, `~pattern`,
 * `%R~pattern` / `%W~pattern` / `%RW~pattern`, `allkeys`, `resetkeys`, `&pattern`, `allchannels`,
 * `resetchannels`, `+cmd`, `-cmd`, `+cmd|sub`, `+@category`, `-@category`, `allcommands`,
 * `nocommands`. Anything else, including password rules (`>pw`, `<pw`, `#hash`, `!hash`,
 * `nopass`, `resetpass`) and `reset`, is an InvalidParameterValueException.
 *
 * Normalisation (so that clients have to compare access strings semantically):
 * 1. whitespace is collapsed; keywords are lower-cased;
 * 2. the effective `on`/`off` (the last one given) is moved to the front; without either nothing is added;
 * 3. without any channel rule (`&…`, `allchannels`, `resetchannels`) `resetchannels` is added
 *    before the first command rule (or at the end);
 * 4. without a baseline command rule (`+@all`, `-@all`, `allcommands`, `nocommands`) before the first
 *    command rule, `-@all` is inserted before the first command rule (or appended when there are none).
 * e.g. `on ~* &* +@all` is kept as is; `on +get` becomes `on resetchannels -@all +get`.
 */
export function normaliseAccessString(raw: unknown): string {
  if (typeof raw !== 'string' || raw.trim().length === 0) {
    throw invalidValue('The parameter AccessString must be provided and must not be blank.');
  }
  const tokens = raw.trim().split(/\s+/);
  let enabled: 'on' | 'off' | undefined;
  const rest: string[] = [];
  for (const original of tokens) {
    const lower = original.toLowerCase();
    if (original.startsWith('>') || original.startsWith('<') || original.startsWith('#') || original.startsWith('!')) {
      throw invalidValue('Access string must not contain passwords or password hashes.');
    }
    if (FORBIDDEN_WORDS.has(lower)) throw invalidValue(`Access string must not contain '${lower}'.`);
    if (lower === 'on' || lower === 'off') {
      enabled = lower;
      continue;
    }
    if (KEYWORDS.has(lower)) {
      rest.push(lower);
      continue;
    }
    if (/^(%(R|W|RW)~|~)\S+$/i.test(original)) {
      rest.push(original.startsWith('%') ? original.replace(/^%(rw|r|w)~/i, (_m, p: string) => `%${p.toUpperCase()}~`) : original);
      continue;
    }
    if (/^&\S+$/.test(original)) {
      rest.push(original);
      continue;
    }
    if (/^[+-]@[A-Za-z0-9_-]+$/.test(original)) {
      rest.push(original.slice(0, 2) + original.slice(2).toLowerCase());
      continue;
    }
    if (/^[+-][A-Za-z][A-Za-z0-9_.:-]*(\|[A-Za-z0-9_.:-]+)?$/.test(original)) {
      rest.push(original.toLowerCase());
      continue;
    }
    throw invalidValue(`Invalid access string: unrecognised rule '${original}'.`);
  }
  const isChannelRule = (t: string): boolean => t.startsWith('&') || t === 'allchannels' || t === 'resetchannels';
  const isCommandRule = (t: string): boolean =>
    t.startsWith('+') || t.startsWith('-') || t === 'allcommands' || t === 'nocommands';
  const isBaseline = (t: string): boolean => t === '+@all' || t === '-@all' || t === 'allcommands' || t === 'nocommands';

  let firstCommand = rest.findIndex(isCommandRule);
  if (!rest.some(isChannelRule)) {
    if (firstCommand < 0) rest.push('resetchannels');
    else {
      rest.splice(firstCommand, 0, 'resetchannels');
      firstCommand++;
    }
  }
  if (firstCommand < 0) rest.push('-@all');
  else if (!isBaseline(rest[firstCommand]!)) rest.splice(firstCommand, 0, '-@all');
  return [...(enabled ? [enabled] : []), ...rest].join(' ');
}

/** MinimumEngineVersion the emulated service reports for a user. */
export function minimumEngineVersion(authType: string, accessString: string): string {
  if (authType === 'iam') return '7.0';
  // Redis 7 syntax (key permissions, sub-command rules) needs 7.0 too.
  if (/(^|\s)%(R|W|RW)~/.test(accessString) || /(^|\s)[+-][a-z][^\s|]*\|/.test(accessString)) return '7.0';
  return '6.2';
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
    if (required) throw invalidValue('The parameter Tags must be provided.');
    return [];
  }
  if (!Array.isArray(raw)) throw invalidValue('The parameter Tags must be a list.');
  if (required && raw.length === 0) throw invalidValue('The parameter Tags must contain at least one tag.');
  const out: TagInput[] = [];
  for (const t of raw as unknown[]) {
    if (typeof t !== 'object' || t === null) throw invalidValue('Invalid tag.');
    const { Key, Value } = t as { Key?: unknown; Value?: unknown };
    if (typeof Key !== 'string' || Key.length < 1 || Key.length > 128) {
      throw invalidValue('Tag keys must be between 1 and 128 characters long.');
    }
    if (Key.toLowerCase().startsWith('aws:')) throw invalidValue("Tag keys must not start with 'aws:'.");
    if (Value !== undefined && Value !== null && typeof Value !== 'string') throw invalidValue('Tag values must be strings.');
    if (typeof Value === 'string' && Value.length > 256) throw invalidValue('Tag values must be at most 256 characters long.');
    out.push({ key: Key, value: typeof Value === 'string' ? Value : undefined });
  }
  return out;
}

/** Validates a TagKeys list for UntagResource. */
export function validateTagKeys(raw: unknown): string[] {
  if (!Array.isArray(raw) || raw.length === 0) throw invalidValue('The parameter TagKeys must contain at least one key.');
  for (const k of raw as unknown[]) {
    if (typeof k !== 'string' || k.length < 1 || k.length > 128) throw invalidValue('Tag keys must be between 1 and 128 characters long.');
  }
  return raw as string[];
}

// ---------------------------------------------------------------------------------------------
// ARNs

const NOT_FOUND_BY_RESOURCE: Record<string, string> = {
  user: 'UserNotFoundFault',
  acl: 'ACLNotFoundFault',
  cluster: 'ClusterNotFoundFault',
  parametergroup: 'ParameterGroupNotFoundFault',
  subnetgroup: 'SubnetGroupNotFoundFault',
  snapshot: 'SnapshotNotFoundFault',
  reservednode: 'ReservedNodeNotFoundFault',
  multiregioncluster: 'MultiRegionClusterNotFoundFault',
};

/** Parses a MemoryDB ARN; returns the user name, or throws InvalidARNFault / the resource kind's NotFound fault. */
export function parseUserArn(raw: unknown, region: string, accountId: string): string {
  if (typeof raw !== 'string' || raw.length === 0) throw invalidValue('The parameter ResourceArn must be provided.');
  const m = /^arn:(aws[a-z-]*):memorydb:([a-z0-9-]*):([0-9]*):([a-z]+)\/(.+)$/.exec(raw);
  if (!m) throw new ApiError('InvalidARNFault', `Invalid ARN: ${raw}`);
  const [, , arnRegion, account, kind, name] = m;
  if (arnRegion !== region || account !== accountId) {
    throw new ApiError('InvalidARNFault', `The ARN ${raw} does not belong to this account and region.`);
  }
  const notFound = NOT_FOUND_BY_RESOURCE[kind!];
  if (!notFound) throw new ApiError('InvalidARNFault', `Invalid ARN: ${raw}`);
  if (kind !== 'user') throw new ApiError(notFound, `${kind} ${name} not found.`);
  return name!;
}
