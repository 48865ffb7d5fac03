// AWS accounts for the local control plane: an STS endpoint (AssumeRole over the AWS query
// protocol, answered in STS's XML) and a MemoryDB front that sends each request to the MemoryDB
// emulator of the account its credentials belong to, so that accounts stay apart (users and call
// logs per account) exactly as the credentials decide. Test infrastructure only: never shipped.
// Every rule and the evidence for it are in docs/local-control-plane.md, "AWS accounts and STS".

import { randomBytes, randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { type MemoryDBEmulator, readBody } from "../memorydb/emulator.ts";

/**
 * Who holds a set of credentials: an IAM user, or a role whose session they are (IRSA and EKS Pod
 * Identity give the operator a session of its own role), in an account.
 */
export interface Principal {
  /** arn:aws:iam::<account>:user/<name> or arn:aws:iam::<account>:role/<name>. */
  arn: string;
  /** Roles its own (identity-based) policy lets it assume: needed when a trust policy names only its account. */
  mayAssume?: string[];
}

/** An IAM policy document as far as trust policies go here. */
export interface TrustPolicy {
  Version: string;
  Statement: Array<{
    Sid?: string;
    Effect: "Allow" | "Deny";
    Principal: { AWS: string | string[] };
    Action: string | string[];
    Condition?: Record<string, Record<string, string | string[]>>;
  }>;
}

/** A role the STS endpoint lets principals assume, by its trust policy. */
export interface RoleDefinition {
  arn: string;
  trustPolicy: TrustPolicy;
}

export interface StsCall {
  action: string;
  caller?: string;
  roleArn?: string;
  externalId?: string;
  sessionName?: string;
  /** The error code, if it failed. */
  error?: string;
}

interface Session {
  secretAccessKey: string;
  sessionToken?: string;
  principal: Principal;
  /** The caller ARN STS and services name in messages (an assumed-role session for roles). */
  callerArn: string;
  expiresAt?: number;
}

const ROLE_SESSION = /^[\w+=,.@-]{2,64}$/;
const EXTERNAL_ID = /^[\w+=,./@:-]{2,1224}$/;
const XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/";

export const accountOf = (arn: string): string => arn.split(":")[4] ?? "";

function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

class StsError extends Error {
  readonly code: string;
  readonly status: number;

  constructor(code: string, message: string, status: number) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** The access key of a SigV4 Authorization header, and the service and region it is scoped to. */
function credentialScope(auth: string | undefined): { accessKeyId: string; region: string; service: string } | undefined {
  const m = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(auth ?? "");
  if (!m || !/SignedHeaders=/.test(auth!) || !/Signature=[0-9a-f]+/.test(auth!)) return undefined;
  return { accessKeyId: m[1]!, region: m[2]!, service: m[3]! };
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * Whether `principal` may call sts:AssumeRole on the role with this external ID: an Allow of the
 * trust policy whose principal names it (its user or role ARN) or its account
 * (arn:aws:iam::<id>:root, or the bare ID), its conditions met, and no Deny. Its own
 * (identity-based) policy must allow the call too when the trust policy names only its account,
 * and always across accounts.
 */
export function trusts(policy: TrustPolicy, principal: Principal, roleArn: string, externalId: string | undefined): boolean {
  const account = accountOf(principal.arn);
  const applies = (st: TrustPolicy["Statement"][number]): boolean => {
    const actions = [st.Action].flat();
    if (!actions.includes("sts:AssumeRole") && !actions.includes("sts:*")) return false;
    const principals = [st.Principal.AWS].flat();
    const identityAllows = !!principal.mayAssume?.includes(roleArn);
    const named = principals.includes(principal.arn) && (account === accountOf(roleArn) || identityAllows);
    const byAccount = (principals.includes(`arn:aws:iam::${account}:root`) || principals.includes(account)) && identityAllows;
    if (!named && !byAccount) return false;
    const wanted = st.Condition?.StringEquals?.["sts:ExternalId"];
    return wanted === undefined || (externalId !== undefined && [wanted].flat().includes(externalId));
  };
  const statements = policy.Statement;
  return statements.some((st) => st.Effect === "Allow" && applies(st)) && !statements.some((st) => st.Effect === "Deny" && applies(st));
}

export class AwsAccounts {
  readonly region: string;
  /** STS's endpoint (--sts-endpoint). */
  stsEndpoint = "";
  /** MemoryDB's endpoint for every account (--memorydb-endpoint); the credentials pick the account. */
  memorydbEndpoint = "";
  readonly stsCalls: StsCall[] = [];
  /** Every MemoryDB request the front passed on: to which account, from whom (the caller ARN). */
  readonly memorydbCalls: Array<{ account: string; caller: string; op: string }> = [];
  readonly #accounts: Map<string, MemoryDBEmulator>;
  readonly #sessions = new Map<string, Session>();
  readonly #roles = new Map<string, RoleDefinition>();
  readonly #servers: http.Server[] = [];
  /** Lifetime of issued credentials; tests may shorten it to see them refreshed. */
  sessionSeconds = 3600;

  private constructor(region: string, accounts: Map<string, MemoryDBEmulator>) {
    this.region = region;
    this.#accounts = accounts;
  }

  /**
   * `accounts`: each account's MemoryDB (of `region`). `keys`: long-term access keys (the
   * operator's own identity) and who they belong to.
   */
  static async start(options: {
    region: string;
    accounts: Record<string, MemoryDBEmulator>;
    keys: Record<string, { secretAccessKey: string; principal: Principal }>;
  }): Promise<AwsAccounts> {
    const cloud = new AwsAccounts(options.region, new Map(Object.entries(options.accounts)));
    for (const [id, key] of Object.entries(options.keys)) {
      const { arn } = key.principal;
      // A role's credentials are a session of it, and messages name the session.
      const callerArn = arn.includes(":role/") ? `arn:aws:sts::${accountOf(arn)}:assumed-role/${arn.split("/").pop()}/emulator` : arn;
      cloud.#sessions.set(id, { secretAccessKey: key.secretAccessKey, principal: key.principal, callerArn });
    }
    const sts = http.createServer((req, res) => void cloud.#sts(req, res));
    const memorydb = http.createServer((req, res) => void cloud.#memorydb(req, res));
    cloud.#servers.push(sts, memorydb);
    cloud.stsEndpoint = await listen(sts);
    cloud.memorydbEndpoint = await listen(memorydb);
    return cloud;
  }

  /** Defines (or replaces) a role; a trust policy using what this emulator does not evaluate is refused here. */
  defineRole(role: RoleDefinition): void {
    for (const st of role.trustPolicy.Statement) {
      for (const [op, keys] of Object.entries(st.Condition ?? {})) {
        if (op !== "StringEquals" || Object.keys(keys).some((k) => k !== "sts:ExternalId")) {
          throw new Error(`defineRole: only StringEquals on sts:ExternalId is evaluated here, not ${op} ${Object.keys(keys).join(",")}`);
        }
      }
    }
    this.#roles.set(role.arn, structuredClone(role));
  }

  removeRole(arn: string): void {
    this.#roles.delete(arn);
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.#servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
  }

  /** The session an access key (and, for temporary credentials, its session token) stands for. */
  #session(accessKeyId: string, token: string | undefined): Session | undefined {
    const s = this.#sessions.get(accessKeyId);
    if (!s || s.sessionToken !== token) return undefined;
    return s;
  }

  // --- STS: AssumeRole over the query protocol ---------------------------------------------

  async #sts(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const params = new URLSearchParams(body);
    const call: StsCall = { action: params.get("Action") ?? "" };
    this.stsCalls.push(call);
    try {
      if (req.method !== "POST" || !(req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
        throw new StsError("InvalidAction", "Could not find operation for this request", 400);
      }
      const scope = credentialScope(req.headers.authorization);
      if (!scope) throw new StsError("MissingAuthenticationToken", "Request is missing Authentication Token", 403);
      if (scope.service !== "sts")
        throw new StsError("SignatureDoesNotMatch", "Credential should be scoped to correct service: 'sts'.", 403);
      if (scope.region !== this.region) {
        throw new StsError("SignatureDoesNotMatch", `Credential should be scoped to a valid region, not '${scope.region}'.`, 403);
      }
      const token = req.headers["x-amz-security-token"] as string | undefined;
      const session = this.#session(scope.accessKeyId, token);
      if (!session) throw new StsError("InvalidClientTokenId", "The security token included in the request is invalid.", 403);
      if (session.expiresAt !== undefined && session.expiresAt <= Date.now()) {
        throw new StsError("ExpiredToken", "The security token included in the request is expired", 400);
      }
      call.caller = session.callerArn;
      if (params.get("Version") !== "2011-06-15") throw new StsError("InvalidAction", "Could not find operation for this version", 400);
      if (call.action !== "AssumeRole")
        throw new StsError("InvalidAction", `Could not find operation ${call.action} for version 2011-06-15`, 400);
      this.#send(res, 200, this.#assumeRole(session, params, call));
    } catch (err) {
      if (!(err instanceof StsError)) throw err;
      call.error = err.code;
      const type = err.status >= 500 ? "Receiver" : "Sender";
      this.#send(
        res,
        err.status,
        `<ErrorResponse xmlns="${XMLNS}">\n  <Error>\n    <Type>${type}</Type>\n    <Code>${err.code}</Code>\n    <Message>${xmlEscape(err.message)}</Message>\n  </Error>\n  <RequestId>${randomUUID()}</RequestId>\n</ErrorResponse>\n`,
      );
    }
  }

  #assumeRole(session: Session, params: URLSearchParams, call: StsCall): string {
    const roleArn = params.get("RoleArn") ?? "";
    const sessionName = params.get("RoleSessionName") ?? "";
    const externalId = params.get("ExternalId") ?? undefined;
    Object.assign(call, { roleArn, sessionName, ...(externalId === undefined ? {} : { externalId }) });
    const problems: string[] = [];
    if (roleArn.length < 20 || roleArn.length > 2048)
      problems.push(`Value '${roleArn}' at 'roleArn' failed to satisfy constraint: Member must have length between 20 and 2048`);
    if (!ROLE_SESSION.test(sessionName)) {
      problems.push(
        `Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
      );
    }
    if (externalId !== undefined && !EXTERNAL_ID.test(externalId)) {
      problems.push(
        `Value '${externalId}' at 'externalId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*`,
      );
    }
    const duration = Number(params.get("DurationSeconds") ?? 3600);
    if (!Number.isInteger(duration) || duration < 900 || duration > 43200) {
      problems.push(
        `Value '${params.get("DurationSeconds")}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200`,
      );
    }
    if (problems.length > 0) {
      throw new StsError(
        "ValidationError",
        `${problems.length} validation error${problems.length > 1 ? "s" : ""} detected: ${problems.join("; ")}`,
        400,
      );
    }
    // One answer for a missing role, an untrusted caller and a wrong external ID: STS tells them apart to nobody.
    const denied = new StsError(
      "AccessDenied",
      `User: ${session.callerArn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
      403,
    );
    const role = this.#roles.get(roleArn);
    if (!role || !trusts(role.trustPolicy, session.principal, roleArn, externalId)) throw denied;

    const account = accountOf(roleArn);
    const roleName = roleArn.split("/").pop()!;
    const accessKeyId = `ASIA${randomBytes(8).toString("hex").toUpperCase()}`;
    const secretAccessKey = randomBytes(30).toString("base64");
    const sessionToken = randomBytes(48).toString("base64");
    const seconds = Math.min(duration, this.sessionSeconds);
    const expiresAt = Math.floor(Date.now() / 1000 + seconds) * 1000;
    const assumedArn = `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`;
    this.#sessions.set(accessKeyId, {
      secretAccessKey,
      sessionToken,
      principal: { arn: roleArn },
      callerArn: assumedArn,
      expiresAt,
    });
    const roleId = `AROA${randomBytes(8).toString("hex").toUpperCase()}`;
    return [
      `<AssumeRoleResponse xmlns="${XMLNS}">`,
      "  <AssumeRoleResult>",
      "    <AssumedRoleUser>",
      `      <AssumedRoleId>${roleId}:${xmlEscape(sessionName)}</AssumedRoleId>`,
      `      <Arn>${xmlEscape(assumedArn)}</Arn>`,
      "    </AssumedRoleUser>",
      "    <Credentials>",
      `      <AccessKeyId>${accessKeyId}</AccessKeyId>`,
      `      <SecretAccessKey>${secretAccessKey}</SecretAccessKey>`,
      `      <SessionToken>${sessionToken}</SessionToken>`,
      `      <Expiration>${new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, "Z")}</Expiration>`,
      "    </Credentials>",
      "  </AssumeRoleResult>",
      "  <ResponseMetadata>",
      `    <RequestId>${randomUUID()}</RequestId>`,
      "  </ResponseMetadata>",
      "</AssumeRoleResponse>",
      "",
    ].join("\n");
  }

  #send(res: http.ServerResponse, status: number, xml: string): void {
    res.writeHead(status, { "Content-Type": "text/xml", "Content-Length": Buffer.byteLength(xml), "x-amzn-RequestId": randomUUID() });
    res.end(xml);
  }

  // --- MemoryDB: the credentials decide the account ----------------------------------------

  async #memorydb(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const scope = credentialScope(req.headers.authorization);
    const session = scope && this.#session(scope.accessKeyId, req.headers["x-amz-security-token"] as string | undefined);
    const refuse = (code: string, message: string) => {
      const payload = JSON.stringify({ __type: code, message });
      res.writeHead(400, {
        "Content-Type": "application/x-amz-json-1.1",
        "Content-Length": Buffer.byteLength(payload),
        "x-amzn-RequestId": randomUUID(),
      });
      res.end(payload);
    };
    // Without a usable signature, the account's emulator answers as it does to anyone.
    if (!scope) return this.#accounts.values().next().value!.handle(req, res);
    if (!session) return refuse("UnrecognizedClientException", "The security token included in the request is invalid.");
    if (session.expiresAt !== undefined && session.expiresAt <= Date.now()) {
      return refuse("ExpiredTokenException", "The security token included in the request is expired");
    }
    const account = accountOf(session.principal.arn);
    const emulator = this.#accounts.get(account);
    if (!emulator) return refuse("UnrecognizedClientException", "The security token included in the request is invalid.");
    const op =
      String(req.headers["x-amz-target"] ?? "")
        .split(".")
        .pop() ?? "";
    this.memorydbCalls.push({ account, caller: session.callerArn, op });
    return emulator.handle(req, res);
  }
}
