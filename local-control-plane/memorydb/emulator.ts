// In-process emulator of the AWS MemoryDB user API (AWS JSON 1.1 over loopback HTTP).
// Test infrastructure only: never shipped. The real `@aws-sdk/client-memorydb` talks to it
// unchanged (endpoint = emulator.endpoint). It must be at least as strict as real MemoryDB; the
// evidence for each rule, and the choices made where the service documentation is silent, are in
// docs/local-control-plane.md, section "MemoryDB emulator".

import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import {
  ACCESS_STRING_MODES,
  type AccessStringMode,
  ApiError,
  defaultMessageFor,
  invalidCombination,
  invalidValue,
  MAX_TAGS,
  minimumEngineVersion,
  normaliseAccessString,
  parseAccessString,
  parseUserArn,
  statusForCode,
  validateAuthenticationMode,
  validateLookupUserName,
  validateNewUserName,
  validateTagKeys,
  validateTags,
} from "./rules.ts";

export { type AccessStringMode, ApiError, normaliseAccessString, passwordProblem } from "./rules.ts";

/** Environment variable that sets the default `accessStringMode` (`memorydb` or `acl-list`). */
export const ACCESS_STRING_MODE_ENV = "MEMORYDB_EMULATOR_ACCESS_STRINGS";

export type UserStatus = "active" | "modifying" | "deleting";
export type AuthType = "password" | "iam" | "no-password";

export interface EmulatorOptions {
  /** Port to listen on; default 0 (an ephemeral port). */
  port?: number;
  /** Address to bind; default 127.0.0.1. */
  host?: string;
  /** Region of the emulated service; the SigV4 credential scope must name it. Default us-east-1. */
  region?: string;
  /** Account in ARNs; default 123456789012. */
  accountId?: string;
  /** How long a user stays `modifying` after CreateUser/UpdateUser before it is `active`; default 0. */
  modifyingMs?: number;
  /** How long `deleting` lasts after DeleteUser before the user disappears; default 0. */
  deletingMs?: number;
  /** User quota of the region (the `default` user does not count); default 2000. */
  maxUsers?: number;
  /**
   * Random source for the fault rates (0 ≤ x < 1); default Math.random. It is given the call
   * (operation and input, passwords redacted) and the rate drawn for, so that a seeded source can
   * decide per call rather than in arrival order.
   */
  random?: (draw: FaultDraw) => number;
  /**
   * ListTags, TagResource and UntagResource on a user in status `modifying` answer
   * UserNotFoundFault (404) "<name> is not available for tagging", as ElastiCache's tagging does
   * while a user is busy. Default false.
   */
  tagsUnavailableWhileModifying?: boolean;
  /**
   * How stored access strings are written back: `memorydb` (as MemoryDB rewrites them, the
   * default) or `acl-list` (as Redis 7 `ACL LIST` prints them). Default: the environment variable
   * MEMORYDB_EMULATOR_ACCESS_STRINGS, else `memorydb`.
   */
  accessStringMode?: AccessStringMode;
  /** DescribeUsers answers InvalidParameterValueException for any MaxResults. Default false. */
  refuseMaxResults?: boolean;
  /**
   * A fixed request rate limit for the region (every operation shares it), as a token bucket:
   * calls beyond it answer ThrottlingException (400, "Rate exceeded") and change nothing.
   * Default: none.
   */
  rateLimit?: RateLimit;
}

/** A token bucket: `burst` requests at once, refilled at `perSecond`. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

/** A snapshot of one user's state, for test assertions. Changing it does not change the emulator. */
export interface EmulatedUser {
  name: string;
  status: UserStatus;
  /** Normalised, as the service stores and returns it. */
  accessString: string;
  authType: AuthType;
  /** Test-only view; never returned by the API. */
  passwords: string[];
  aclNames: string[];
  minimumEngineVersion: string;
  arn: string;
  /** Tag key → value; a tag created without a Value has value ''. */
  tags: Record<string, string>;
}

export interface SeedUserInput {
  name: string;
  accessString: string;
  authType?: AuthType;
  passwords?: string[];
  tags?: Record<string, string>;
  status?: UserStatus;
  aclNames?: string[];
}

export interface UserMutation {
  accessString: string;
  authType: AuthType;
  passwords: string[];
  status: UserStatus;
  /** With `status`: how long the status lasts before its natural transition (modifying → active,
   *  deleting → gone). Without it a status set out of band is sticky. */
  statusMs: number;
  aclNames: string[];
  /** Replaces every tag. */
  tags: Record<string, string>;
}

/** What a fault rate is drawn for: the call, and which rate. */
export interface FaultDraw {
  op: string;
  input: unknown;
  rate: "reset" | "throttle" | "serverError" | "responseLost";
}

export interface CallLogEntry {
  op: string;
  input: unknown;
  error?: string;
  at: number;
}

export interface Faults {
  /** 0..1: probability that a call answers ThrottlingException (400, "Rate exceeded"). */
  throttleRate: number;
  /** 0..1: probability that a call answers 500 InternalFailure. */
  serverErrorRate: number;
  /** Delay before every API call is processed. */
  latencyMs: number;
  /** 0..1: probability that the socket is destroyed without an answer (before any effect). */
  resetRate: number;
  /**
   * 0..1: probability that a call of one of `responseLostOperations` is "applied then lost": the
   * operation runs (its effect is kept) and the socket is destroyed instead of answering, as
   * failNext's `ResponseLost`. Drawn after the other rates, for calls none of them failed.
   */
  responseLostRate: number;
  /** The operations responseLostRate applies to (e.g. ['CreateUser', 'UpdateUser']); empty: every operation. */
  responseLostOperations: string[];
  /** The next `count` (default 1) calls of `op` answer `code`. The special code `ResponseLost`
   *  performs the operation and then destroys the socket instead of answering. */
  failNext(op: string, code: string, count?: number, message?: string): void;
  /** Resets all rates (responseLostOperations to []), the latency and pending failNext entries. */
  clear(): void;
}

interface UserRecord {
  name: string;
  status: UserStatus;
  /** When the current transient status ends (modifying → active, deleting → removed); undefined = sticky. */
  statusUntil: number | undefined;
  accessString: string;
  /** The access string uses Redis 7 syntax (MinimumEngineVersion 7.0), in whichever form it is stored. */
  redis7: boolean;
  authType: AuthType;
  passwords: string[];
  aclNames: string[];
  tags: Map<string, string | undefined>;
  /** While `modifying` after an operation: what the user accepted before it (nodes may still have that). */
  before: Credentials | undefined;
}

/** What AUTH checks of a user: its passwords, and whether it is enabled (`on`). */
interface Credentials {
  authType: AuthType;
  passwords: string[];
  enabled: boolean;
}

/** Redis's answer to an AUTH that fails (`addAuthErrReply`, src/acl.c). */
const WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled.";

interface PendingFailure {
  code: string;
  remaining: number;
  message: string | undefined;
}

const OPERATIONS = ["CreateUser", "DescribeUsers", "UpdateUser", "DeleteUser", "TagResource", "UntagResource", "ListTags"] as const;
type Operation = (typeof OPERATIONS)[number];
const TARGET_PREFIX = "AmazonMemoryDB.";
const DEFAULT_PAGE = 100;
const MIN_PAGE = 20;
const MAX_PAGE = 100;

class FaultInjector implements Faults {
  throttleRate = 0;
  serverErrorRate = 0;
  latencyMs = 0;
  resetRate = 0;
  responseLostRate = 0;
  responseLostOperations: string[] = [];
  readonly pending = new Map<string, PendingFailure[]>();

  failNext(op: string, code: string, count = 1, message?: string): void {
    if (!Number.isInteger(count) || count < 1) throw new Error(`failNext: count must be a positive integer, got ${count}`);
    const list = this.pending.get(op) ?? [];
    list.push({ code, remaining: count, message });
    this.pending.set(op, list);
  }

  clear(): void {
    this.throttleRate = 0;
    this.serverErrorRate = 0;
    this.latencyMs = 0;
    this.resetRate = 0;
    this.responseLostRate = 0;
    this.responseLostOperations = [];
    this.pending.clear();
  }

  /** Takes the next injected failure for `op`, if any. */
  take(op: string): PendingFailure | undefined {
    const list = this.pending.get(op);
    const head = list?.[0];
    if (!list || !head) return undefined;
    head.remaining--;
    if (head.remaining <= 0) list.shift();
    if (list.length === 0) this.pending.delete(op);
    return head;
  }
}

/** A token bucket on the monotonic clock, full at the start. */
class TokenBucket {
  readonly limit: RateLimit;
  #tokens: number;
  #at: number;

  constructor(limit: RateLimit) {
    if (!(limit.perSecond > 0) || !Number.isInteger(limit.burst) || limit.burst < 1) {
      throw new Error(`rateLimit needs perSecond > 0 and an integer burst >= 1, got ${JSON.stringify(limit)}`);
    }
    this.limit = { ...limit };
    this.#tokens = limit.burst;
    this.#at = performance.now();
  }

  /** Takes a token if one is there. */
  take(): boolean {
    const now = performance.now();
    this.#tokens = Math.min(this.limit.burst, this.#tokens + ((now - this.#at) / 1000) * this.limit.perSecond);
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

export class MemoryDBEmulator {
  readonly endpoint: string;
  readonly region: string;
  readonly accountId: string;
  readonly calls: Record<string, number> = {};
  readonly callLog: CallLogEntry[] = [];
  readonly faults: Faults;
  /** Timing settings; may be changed while running (applies to later calls). */
  modifyingMs: number;
  deletingMs: number;
  maxUsers: number;
  /** See EmulatorOptions; may be changed while running. */
  tagsUnavailableWhileModifying: boolean;
  refuseMaxResults: boolean;
  /** How stored access strings are written (fixed at start). */
  readonly accessStringMode: AccessStringMode;

  private readonly server: http.Server;
  private readonly injector: FaultInjector;
  private readonly random: (draw: FaultDraw) => number;
  private readonly store = new Map<string, UserRecord>();
  private bucket: TokenBucket | undefined;

  private constructor(server: http.Server, endpoint: string, opts: EmulatorOptions) {
    this.server = server;
    this.endpoint = endpoint;
    this.region = opts.region ?? "us-east-1";
    this.accountId = opts.accountId ?? "123456789012";
    this.modifyingMs = opts.modifyingMs ?? 0;
    this.deletingMs = opts.deletingMs ?? 0;
    this.maxUsers = opts.maxUsers ?? 2000;
    this.tagsUnavailableWhileModifying = opts.tagsUnavailableWhileModifying ?? false;
    this.refuseMaxResults = opts.refuseMaxResults ?? false;
    this.accessStringMode = resolveAccessStringMode(opts.accessStringMode);
    this.random = opts.random ?? Math.random;
    this.bucket = opts.rateLimit ? new TokenBucket(opts.rateLimit) : undefined;
    this.injector = new FaultInjector();
    this.faults = this.injector;
    this.store.set("default", {
      name: "default",
      status: "active",
      statusUntil: undefined,
      accessString: "on ~* &* +@all",
      redis7: false,
      authType: "no-password",
      passwords: [],
      aclNames: ["open-access"],
      tags: new Map(),
      before: undefined,
    });
  }

  static async start(opts: EmulatorOptions = {}): Promise<MemoryDBEmulator> {
    resolveAccessStringMode(opts.accessStringMode); // an invalid mode fails before anything listens
    const host = opts.host ?? "127.0.0.1";
    const server = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    const urlHost = host.includes(":") ? `[${host}]` : host;
    const emulator = new MemoryDBEmulator(server, `http://${urlHost}:${port}`, opts);
    server.on("request", (req, res) => {
      emulator.handle(req, res).catch((err: unknown) => {
        // Should not happen: answer like an unexpected service failure.
        if (!res.headersSent) emulator.sendError(res, new ApiError("InternalFailure", String(err), 500));
        else res.destroy();
      });
    });
    return emulator;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** The rate limit (a copy), if any. */
  get rateLimit(): RateLimit | undefined {
    return this.bucket ? { ...this.bucket.limit } : undefined;
  }

  /** Sets (with a full bucket) or removes the rate limit; applies to later calls. */
  set rateLimit(limit: RateLimit | undefined) {
    this.bucket = limit ? new TokenBucket(limit) : undefined;
  }

  resetCalls(): void {
    for (const k of Object.keys(this.calls)) delete this.calls[k];
    this.callLog.length = 0;
  }

  // -------------------------------------------------------------------------------------------
  // state inspection and out-of-band changes

  user(name: string): EmulatedUser | undefined {
    this.settle();
    const rec = this.store.get(name.toLowerCase());
    return rec ? this.snapshot(rec) : undefined;
  }

  users(): EmulatedUser[] {
    this.settle();
    return this.sortedRecords().map((r) => this.snapshot(r));
  }

  /** Creates a user directly (e.g. a "foreign" user made outside the operator). Validates like CreateUser. */
  seedUser(u: SeedUserInput): EmulatedUser {
    this.settle();
    const name = validateNewUserName(u.name);
    if (this.store.has(name)) throw new Error(`seedUser: user ${name} already exists`);
    const authType = u.authType ?? (u.passwords && u.passwords.length > 0 ? "password" : "no-password");
    const rec: UserRecord = {
      name,
      status: u.status ?? "active",
      statusUntil: undefined,
      ...this.storedAccessString(u.accessString),
      authType,
      passwords: authType === "password" ? [...(u.passwords ?? [])] : [],
      aclNames: [...(u.aclNames ?? [])],
      tags: new Map(Object.entries(u.tags ?? {})),
      before: undefined,
    };
    this.store.set(name, rec);
    return this.snapshot(rec);
  }

  /**
   * Whether `AUTH <userName> <password>` would succeed now on a cluster whose ACL includes the
   * user (the emulator has no clusters, so membership is assumed): the user exists, is not being
   * deleted, has password authentication, is enabled (`on`) and has this password. While the user
   * is `modifying`, only what both the configuration before the change and the one after it
   * accept: until the change is done, a node may have either.
   */
  authenticate(userName: string, password: string): boolean {
    this.settle();
    // Redis matches user names exactly; MemoryDB stores them lower-case.
    const rec = this.store.get(userName);
    if (!rec || rec.status === "deleting") return false;
    const configurations = [credentials(rec), ...(rec.status === "modifying" && rec.before ? [rec.before] : [])];
    return configurations.every((c) => c.authType === "password" && c.enabled && c.passwords.includes(password));
  }

  /** Changes a user out of band (console, another tool): drift for tests. The access string is normalised. */
  mutateUser(name: string, change: Partial<UserMutation>): void {
    this.settle();
    const rec = this.store.get(name.toLowerCase());
    if (!rec) throw new Error(`mutateUser: no user ${name}`);
    if (change.accessString !== undefined) Object.assign(rec, this.storedAccessString(change.accessString));
    if (change.authType !== undefined) {
      rec.authType = change.authType;
      if (change.authType !== "password" && change.passwords === undefined) rec.passwords = [];
    }
    if (change.passwords !== undefined) {
      rec.passwords = [...change.passwords];
      if (change.authType === undefined && rec.passwords.length > 0) rec.authType = "password";
    }
    if (change.aclNames !== undefined) rec.aclNames = [...change.aclNames];
    if (change.tags !== undefined) rec.tags = new Map(Object.entries(change.tags));
    if (change.status !== undefined) {
      // Out of band: what the user accepted before is not known.
      rec.before = undefined;
      rec.status = change.status;
      rec.statusUntil = change.statusMs !== undefined ? Date.now() + change.statusMs : undefined;
    }
  }

  /** Removes a user immediately, without an API call. */
  deleteUserOutOfBand(name: string): void {
    if (!this.store.delete(name.toLowerCase())) throw new Error(`deleteUserOutOfBand: no user ${name}`);
  }

  // -------------------------------------------------------------------------------------------
  // HTTP

  /** Answers one request; also called by the accounts front (../aws/accounts.ts) for this account's requests. */
  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path?.startsWith("/_emulator/")) {
      this.handleInspection(path, res);
      return;
    }
    if (req.method === "POST" && path === "/_emulator/auth") {
      this.handleAuth(body, res);
      return;
    }
    if (req.method !== "POST" || path !== "/") {
      this.sendError(res, new ApiError("UnknownOperationException", `No operation for ${req.method} ${path}`, 404));
      return;
    }
    // Authentication (SigV4 presence and scope; the signature itself is not verified).
    const authError = this.checkAuthorization(req.headers.authorization);
    if (authError) {
      this.sendError(res, authError);
      return;
    }
    const target = header(req, "x-amz-target");
    const op = target?.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : undefined;
    if (!op || !(OPERATIONS as readonly string[]).includes(op)) {
      this.sendError(res, new ApiError("UnknownOperationException", `Unknown operation ${target ?? "(none)"}`));
      return;
    }
    const contentType = header(req, "content-type") ?? "";
    if (!contentType.toLowerCase().startsWith("application/x-amz-json-1.1")) {
      this.sendError(res, new ApiError("SerializationException", `Unsupported Content-Type: ${contentType}`));
      return;
    }
    let input: Record<string, unknown>;
    try {
      const parsed: unknown = body.length === 0 ? {} : JSON.parse(body);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
      input = parsed as Record<string, unknown>;
    } catch {
      this.sendError(res, new ApiError("SerializationException", "Request body is not a JSON object."));
      return;
    }

    this.calls[op] = (this.calls[op] ?? 0) + 1;
    const entry: CallLogEntry = { op, input: redact(input), at: Date.now() };
    this.callLog.push(entry);
    // The rate limit counts requests as they arrive; the answer takes the round trip all the same.
    const throttled = this.bucket !== undefined && !this.bucket.take();

    if (this.injector.latencyMs > 0) await sleep(this.injector.latencyMs);
    if (throttled) {
      entry.error = "ThrottlingException";
      this.sendError(res, new ApiError("ThrottlingException", "Rate exceeded"));
      return;
    }

    // Faults happen before the operation has any effect (except ResponseLost).
    const injected = this.injector.take(op);
    let loseResponse = false;
    if (injected) {
      if (injected.code === "ResponseLost") loseResponse = true;
      else {
        entry.error = injected.code;
        const message = injected.message ?? defaultMessageFor(injected.code, op, this.requestResource(input), this.accountId);
        this.sendError(res, new ApiError(injected.code, message, statusForCode(injected.code)));
        return;
      }
    }
    if (!loseResponse) {
      if (this.injector.resetRate > 0 && this.random({ op, input: entry.input, rate: "reset" }) < this.injector.resetRate) {
        entry.error = "ConnectionReset";
        res.socket?.destroy();
        return;
      }
      if (this.injector.throttleRate > 0 && this.random({ op, input: entry.input, rate: "throttle" }) < this.injector.throttleRate) {
        entry.error = "ThrottlingException";
        this.sendError(res, new ApiError("ThrottlingException", "Rate exceeded"));
        return;
      }
      if (
        this.injector.serverErrorRate > 0 &&
        this.random({ op, input: entry.input, rate: "serverError" }) < this.injector.serverErrorRate
      ) {
        entry.error = "InternalFailure";
        this.sendError(res, new ApiError("InternalFailure", "We encountered an internal error. Please try again.", 500));
        return;
      }
      const lost = this.injector.responseLostOperations;
      if (
        this.injector.responseLostRate > 0 &&
        (lost.length === 0 || lost.includes(op)) &&
        this.random({ op, input: entry.input, rate: "responseLost" }) < this.injector.responseLostRate
      ) {
        loseResponse = true;
      }
    }

    let result: unknown;
    try {
      this.settle();
      result = this.dispatch(op as Operation, input);
    } catch (err) {
      if (err instanceof ApiError) {
        entry.error = err.code;
        if (loseResponse) res.socket?.destroy();
        else this.sendError(res, err);
        return;
      }
      throw err;
    }
    if (loseResponse) {
      entry.error = "ResponseLost";
      res.socket?.destroy();
      return;
    }
    this.send(res, 200, result);
  }

  private checkAuthorization(auth: string | undefined): ApiError | undefined {
    if (!auth) return new ApiError("MissingAuthenticationTokenException", "Missing Authentication Token");
    if (!auth.startsWith("AWS4-HMAC-SHA256 ")) {
      return new ApiError(
        "IncompleteSignatureException",
        `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. Authorization=${auth.split(" ")[0]}`,
      );
    }
    const m = /Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request/.exec(auth);
    if (!m || !/SignedHeaders=/.test(auth) || !/Signature=[0-9a-f]+/.test(auth)) {
      return new ApiError(
        "IncompleteSignatureException",
        "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.",
      );
    }
    const [, , , region, service] = m;
    if (service !== "memorydb") {
      return new ApiError("InvalidSignatureException", `Credential should be scoped to correct service: 'memorydb'. `);
    }
    if (region !== this.region) {
      return new ApiError("InvalidSignatureException", `Credential should be scoped to a valid region, not '${region}'. `);
    }
    return undefined;
  }

  private handleInspection(path: string, res: http.ServerResponse): void {
    if (path === "/_emulator/users") {
      const users = this.users().map(({ passwords, ...rest }) => ({ ...rest, passwordCount: passwords.length }));
      this.send(res, 200, { users }, "application/json");
    } else if (path === "/_emulator/calls") {
      this.send(res, 200, { calls: this.calls }, "application/json");
    } else if (path === "/_emulator/log") {
      this.send(res, 200, { callLog: this.callLog }, "application/json");
    } else {
      this.send(res, 404, { message: `unknown inspection path ${path}` }, "application/json");
    }
  }

  /** `POST /_emulator/auth` `{"userName", "password"}`: what authenticate() says, as Redis would answer AUTH. */
  private handleAuth(body: string, res: http.ServerResponse): void {
    let input: { userName?: unknown; password?: unknown };
    try {
      input = JSON.parse(body) as typeof input;
    } catch {
      input = {};
    }
    if (typeof input?.userName !== "string" || typeof input.password !== "string") {
      this.send(res, 400, { message: 'the body must be {"userName": "...", "password": "..."}' }, "application/json");
      return;
    }
    const accepted = this.authenticate(input.userName, input.password);
    this.send(res, 200, accepted ? { accepted, reply: "OK" } : { accepted, reply: WRONGPASS }, "application/json");
  }

  private send(res: http.ServerResponse, status: number, body: unknown, contentType = "application/x-amz-json-1.1"): void {
    const payload = JSON.stringify(body);
    res.writeHead(status, {
      "Content-Type": contentType,
      "Content-Length": Buffer.byteLength(payload),
      "x-amzn-RequestId": randomUUID(),
    });
    res.end(payload);
  }

  private sendError(res: http.ServerResponse, err: ApiError): void {
    const payload = JSON.stringify({ __type: err.code, message: err.message });
    res.writeHead(err.status, {
      "Content-Type": "application/x-amz-json-1.1",
      "Content-Length": Buffer.byteLength(payload),
      "x-amzn-RequestId": randomUUID(),
      "X-Amzn-ErrorType": err.code,
    });
    res.end(payload);
  }

  // -------------------------------------------------------------------------------------------
  // operations

  private dispatch(op: Operation, input: Record<string, unknown>): unknown {
    switch (op) {
      case "CreateUser":
        return this.createUser(input);
      case "DescribeUsers":
        return this.describeUsers(input);
      case "UpdateUser":
        return this.updateUser(input);
      case "DeleteUser":
        return this.deleteUser(input);
      case "TagResource":
        return this.tagResource(input);
      case "UntagResource":
        return this.untagResource(input);
      case "ListTags":
        return this.listTags(input);
    }
  }

  private createUser(input: Record<string, unknown>): unknown {
    const name = validateNewUserName(input.UserName);
    const auth = validateAuthenticationMode(input.AuthenticationMode);
    const accessString = this.storedAccessString(input.AccessString);
    const tags = validateTags(input.Tags, false);
    const tagMap = new Map<string, string | undefined>();
    for (const t of tags) tagMap.set(t.key, t.value);
    if (tagMap.size > MAX_TAGS) {
      throw new ApiError("TagQuotaPerResourceExceeded", `A resource can have at most ${MAX_TAGS} tags.`);
    }
    const existing = this.store.get(name);
    if (existing) {
      // The name as sent differs from the stored (lower-case) one only in case: DuplicateUserNameFault.
      if (input.UserName !== existing.name) {
        throw new ApiError("DuplicateUserNameFault", `User name ${String(input.UserName)} is already used by user ${existing.name}.`);
      }
      throw new ApiError("UserAlreadyExistsFault", `User ${name} already exists.`);
    }
    const count = [...this.store.keys()].filter((n) => n !== "default").length;
    if (count >= this.maxUsers) {
      throw new ApiError("UserQuotaExceededFault", `You have reached the maximum number of users (${this.maxUsers}).`);
    }
    const rec: UserRecord = {
      name,
      status: "active",
      statusUntil: undefined,
      ...accessString,
      authType: auth.type,
      passwords: auth.passwords,
      aclNames: [],
      tags: tagMap,
      before: undefined,
    };
    // Before it existed, no node accepted anything.
    this.enterModifying(rec, { authType: "no-password", passwords: [], enabled: false });
    this.store.set(name, rec);
    return { User: this.toApiUser(rec) };
  }

  private describeUsers(input: Record<string, unknown>): unknown {
    if (this.refuseMaxResults && input.MaxResults !== undefined && input.MaxResults !== null) {
      throw invalidValue(`The value ${String(input.MaxResults)} for MaxResults is not valid.`);
    }
    const filters = input.Filters;
    if (input.UserName !== undefined && input.UserName !== null) {
      if (filters !== undefined && filters !== null) {
        throw invalidCombination("UserName and Filters cannot be specified together.");
      }
      const name = validateLookupUserName(input.UserName);
      const rec = this.store.get(name);
      if (!rec) throw new ApiError("UserNotFoundFault", `User ${name} not found.`);
      return { Users: [this.toApiUser(rec)] };
    }
    let pageSize = DEFAULT_PAGE;
    if (input.MaxResults !== undefined && input.MaxResults !== null) {
      const mr = input.MaxResults;
      if (typeof mr !== "number" || !Number.isInteger(mr) || mr < MIN_PAGE || mr > MAX_PAGE) {
        throw invalidValue(`MaxResults must be an integer between ${MIN_PAGE} and ${MAX_PAGE}.`);
      }
      pageSize = mr;
    }
    const predicate = parseFilters(filters);
    const filterKey = JSON.stringify(filters ?? null);
    let after: string | undefined;
    if (input.NextToken !== undefined && input.NextToken !== null) {
      after = decodeToken(input.NextToken, filterKey);
    }
    const matching = this.sortedRecords().filter((r) => predicate(r) && (after === undefined || r.name > after));
    const page = matching.slice(0, pageSize);
    const out: { Users: unknown[]; NextToken?: string } = { Users: page.map((r) => this.toApiUser(r)) };
    if (matching.length > pageSize) out.NextToken = encodeToken(page[page.length - 1]!.name, filterKey);
    return out;
  }

  private updateUser(input: Record<string, unknown>): unknown {
    const name = validateLookupUserName(input.UserName);
    const hasAuth = input.AuthenticationMode !== undefined && input.AuthenticationMode !== null;
    const hasAccess = input.AccessString !== undefined && input.AccessString !== null;
    if (!hasAuth && !hasAccess) {
      throw invalidCombination("At least one of AuthenticationMode or AccessString must be specified.");
    }
    const auth = hasAuth ? validateAuthenticationMode(input.AuthenticationMode) : undefined;
    const accessString = hasAccess ? this.storedAccessString(input.AccessString) : undefined;
    const rec = this.store.get(name);
    if (!rec) throw new ApiError("UserNotFoundFault", `User ${name} not found.`);
    if (name === "default") throw invalidValue("The default user cannot be modified.");
    if (rec.status !== "active") {
      throw new ApiError("InvalidUserStateFault", `User ${name} is not in active state (current state: ${rec.status}).`);
    }
    const before = credentials(rec);
    if (auth) {
      rec.authType = auth.type;
      rec.passwords = auth.passwords;
    }
    if (accessString !== undefined) Object.assign(rec, accessString);
    this.enterModifying(rec, before);
    return { User: this.toApiUser(rec) };
  }

  private deleteUser(input: Record<string, unknown>): unknown {
    const name = validateLookupUserName(input.UserName);
    if (name === "default") throw invalidValue("The default user cannot be deleted.");
    const rec = this.store.get(name);
    if (!rec) throw new ApiError("UserNotFoundFault", `User ${name} not found.`);
    if (rec.status !== "active") {
      throw new ApiError("InvalidUserStateFault", `User ${name} is not in active state (current state: ${rec.status}).`);
    }
    rec.status = "deleting";
    rec.aclNames = [];
    const response = { User: this.toApiUser(rec) };
    if (this.deletingMs > 0) rec.statusUntil = Date.now() + this.deletingMs;
    else this.store.delete(name);
    return response;
  }

  private tagResource(input: Record<string, unknown>): unknown {
    const rec = this.resolveTaggable(input.ResourceArn);
    const tags = validateTags(input.Tags, true);
    const next = new Map(rec.tags);
    for (const t of tags) next.set(t.key, t.value);
    if (next.size > MAX_TAGS) throw new ApiError("TagQuotaPerResourceExceeded", `A resource can have at most ${MAX_TAGS} tags.`);
    rec.tags = next;
    return { TagList: tagList(rec) };
  }

  private untagResource(input: Record<string, unknown>): unknown {
    const rec = this.resolveTaggable(input.ResourceArn);
    const keys = validateTagKeys(input.TagKeys);
    for (const k of keys) {
      if (!rec.tags.has(k)) throw new ApiError("TagNotFoundFault", `Tag ${k} not found on ${this.arn(rec.name)}.`);
    }
    for (const k of keys) rec.tags.delete(k);
    return { TagList: tagList(rec) };
  }

  private listTags(input: Record<string, unknown>): unknown {
    return { TagList: tagList(this.resolveTaggable(input.ResourceArn)) };
  }

  // -------------------------------------------------------------------------------------------
  // helpers

  /** The user a tag call names; with tagsUnavailableWhileModifying a `modifying` user is "not available for tagging". */
  private resolveTaggable(raw: unknown): UserRecord {
    const name = parseUserArn(raw, this.region, this.accountId);
    const rec = this.store.get(name);
    if (!rec) throw new ApiError("UserNotFoundFault", `User ${name} not found.`);
    if (this.tagsUnavailableWhileModifying && rec.status === "modifying") {
      throw new ApiError("UserNotFoundFault", `${name} is not available for tagging`);
    }
    return rec;
  }

  /** Validates an access string and returns it in the stored form of this emulator's mode. */
  private storedAccessString(raw: unknown): { accessString: string; redis7: boolean } {
    const { redis7 } = parseAccessString(raw);
    return { accessString: normaliseAccessString(raw, this.accessStringMode), redis7 };
  }

  /** The resource a request names, for injected messages: the user's ARN, else `*`. */
  private requestResource(input: Record<string, unknown>): string {
    if (typeof input.ResourceArn === "string") return input.ResourceArn;
    if (typeof input.UserName === "string" && input.UserName.length > 0) return this.arn(input.UserName.toLowerCase());
    return "*";
  }

  private enterModifying(rec: UserRecord, before: Credentials): void {
    if (this.modifyingMs > 0) {
      rec.status = "modifying";
      rec.statusUntil = Date.now() + this.modifyingMs;
      rec.before = before;
    } else {
      rec.status = "active";
      rec.statusUntil = undefined;
      rec.before = undefined;
    }
  }

  /** Applies the transitions whose time has come (lazily, on every access). */
  private settle(now = Date.now()): void {
    for (const [name, rec] of this.store) {
      if (rec.statusUntil === undefined || now < rec.statusUntil) continue;
      if (rec.status === "deleting") this.store.delete(name);
      else {
        rec.status = "active";
        rec.statusUntil = undefined;
        rec.before = undefined;
      }
    }
  }

  private sortedRecords(): UserRecord[] {
    return [...this.store.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private arn(name: string): string {
    return `arn:aws:memorydb:${this.region}:${this.accountId}:user/${name}`;
  }

  private toApiUser(rec: UserRecord): Record<string, unknown> {
    const authentication: Record<string, unknown> = { Type: rec.authType };
    if (rec.authType === "password") authentication.PasswordCount = rec.passwords.length;
    return {
      Name: rec.name,
      Status: rec.status,
      AccessString: rec.accessString,
      ACLNames: [...rec.aclNames],
      MinimumEngineVersion: minimumEngineVersion(rec.authType, rec.redis7),
      Authentication: authentication,
      ARN: this.arn(rec.name),
    };
  }

  private snapshot(rec: UserRecord): EmulatedUser {
    const tags: Record<string, string> = {};
    for (const [k, v] of rec.tags) tags[k] = v ?? "";
    return {
      name: rec.name,
      status: rec.status,
      accessString: rec.accessString,
      authType: rec.authType,
      passwords: [...rec.passwords],
      aclNames: [...rec.aclNames],
      minimumEngineVersion: minimumEngineVersion(rec.authType, rec.redis7),
      arn: this.arn(rec.name),
      tags,
    };
  }
}

// ---------------------------------------------------------------------------------------------

/** What AUTH checks of the user now. Both stored forms of an access string begin with the effective `on` or `off`. */
function credentials(rec: UserRecord): Credentials {
  return { authType: rec.authType, passwords: [...rec.passwords], enabled: rec.accessString.split(" ")[0] === "on" };
}

/** The access string mode: the option, else MEMORYDB_EMULATOR_ACCESS_STRINGS, else `memorydb`. */
function resolveAccessStringMode(option: AccessStringMode | undefined): AccessStringMode {
  const raw = option ?? process.env[ACCESS_STRING_MODE_ENV] ?? "memorydb";
  if (!(ACCESS_STRING_MODES as readonly string[]).includes(raw)) {
    throw new Error(`MemoryDB emulator: accessStringMode must be one of ${ACCESS_STRING_MODES.join(", ")}, got '${raw}'`);
  }
  return raw as AccessStringMode;
}

function tagList(rec: UserRecord): Array<{ Key: string; Value?: string }> {
  return [...rec.tags].map(([Key, Value]) => (Value === undefined ? { Key } : { Key, Value }));
}

/** DescribeUsers filters: only `UserName` (exact, case-insensitive, any of Values) is supported. */
function parseFilters(raw: unknown): (r: UserRecord) => boolean {
  if (raw === undefined || raw === null) return () => true;
  if (!Array.isArray(raw)) throw invalidValue("The parameter Filters must be a list.");
  const preds: Array<(r: UserRecord) => boolean> = [];
  for (const f of raw as unknown[]) {
    const { Name, Values } = (f ?? {}) as { Name?: unknown; Values?: unknown };
    if (typeof Name !== "string" || Name.length === 0) throw invalidValue("Filter Name must be provided.");
    if (!Array.isArray(Values) || Values.length === 0 || Values.some((v) => typeof v !== "string")) {
      throw invalidValue("Filter Values must be a non-empty list of strings.");
    }
    if (Name !== "UserName") throw invalidValue(`Invalid filter name: ${Name}. Valid filter names: UserName.`);
    const wanted = new Set((Values as string[]).map((v) => v.toLowerCase()));
    preds.push((r) => wanted.has(r.name));
  }
  return (r) => preds.every((p) => p(r));
}

function encodeToken(after: string, filterKey: string): string {
  return Buffer.from(JSON.stringify({ v: 1, a: after, f: filterKey })).toString("base64url");
}

function decodeToken(raw: unknown, filterKey: string): string {
  try {
    if (typeof raw !== "string") throw new Error("not a string");
    const t = JSON.parse(Buffer.from(raw, "base64url").toString("utf8")) as { v?: unknown; a?: unknown; f?: unknown };
    if (t.v !== 1 || typeof t.a !== "string" || t.f !== filterKey) throw new Error("bad token");
    return t.a;
  } catch {
    throw invalidValue("The NextToken is invalid or does not match the other request parameters.");
  }
}

function redact(input: Record<string, unknown>): unknown {
  const copy = structuredClone(input);
  const mode = copy.AuthenticationMode as { Passwords?: unknown } | undefined;
  if (mode && typeof mode === "object" && Array.isArray(mode.Passwords)) {
    mode.Passwords = mode.Passwords.map(() => "***");
  }
  return copy;
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** A request's body as text (the STS front of local-control-plane/aws reads its requests with it too). */
export function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
