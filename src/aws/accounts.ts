// Which AWS identity serves each namespace: the administrator's mapping of namespaces to IAM
// roles (a ConfigMap, --accounts-configmap), never the tenant's choice. Parsing and the choice
// per namespace are plain functions; AccountMap holds the mapping the watch last saw.

/** A role the operator assumes for a namespace, with the external ID its trust policy asks for. */
export interface AccountRole {
  roleArn: string;
  externalId?: string | undefined;
  /** The 12-digit account of the role ARN. */
  accountId: string;
}

/** The AWS identity calls are made with: the operator's own (key ""), or an assumed role. */
export interface Identity {
  /** Distinct per role and external ID; clients, credentials and snapshots are kept per key. */
  key: string;
  role?: AccountRole | undefined;
}

export const OPERATOR_IDENTITY: Identity = { key: "" };

export type Mapping = { ok: true; role: AccountRole } | { ok: false; problem: string };

export type IdentityChoice =
  | { ok: true; identity: Identity }
  | { ok: false; reason: "AccountNotMapped" | "AccountMappingInvalid" | "AccountMappingUnavailable"; message: string };

// IAM role ARNs: any partition, a 12-digit account, an optional path, a role name of IAM's
// characters (IAM's RoleName and path patterns); STS's ExternalId: 2-1224 of [\w+=,.@:\/-].
const ROLE_ARN = /^arn:aws(?:-[a-z]+)*:iam::(\d{12}):role\/(?:[\u0021-\u007e]*\/)?[\w+=,.@-]{1,64}$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;

/** One ConfigMap value: `<role ARN>` or `<role ARN> <external ID>`. */
export function parseMapping(value: string): Mapping {
  const parts = value.trim().split(/\s+/);
  const [roleArn, externalId, ...rest] = parts;
  const match = ROLE_ARN.exec(roleArn ?? "");
  if (!match || rest.length > 0) {
    return {
      ok: false,
      problem: "the value must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), optionally followed by a space and an external ID",
    };
  }
  if (externalId !== undefined && !EXTERNAL_ID.test(externalId)) {
    return { ok: false, problem: "the external ID must be 2 to 1224 characters of letters, digits and +=,.@:/-_" };
  }
  return { ok: true, role: { roleArn: roleArn!, accountId: match[1]!, ...(externalId ? { externalId } : {}) } };
}

export function identityOf(role: AccountRole): Identity {
  return { key: `${role.roleArn} ${role.externalId ?? ""}`, role };
}

/** The account a MemoryDB ARN names (arn:aws:memorydb:<region>:<account>:user/<name>). */
export function accountOfArn(arn: string | undefined): string | undefined {
  const account = arn?.split(":")[4];
  return account && /^\d{12}$/.test(account) ? account : undefined;
}

/** How an identity is named in status messages and Events. */
export function describeIdentity(identity: Identity): string {
  return identity.role ? `AWS account ${identity.role.accountId} (role ${identity.role.roleArn})` : "the operator's own AWS identity";
}

/**
 * The identity for a namespace: its mapped role; without a mapping the operator's own identity,
 * or a refusal when `requireMapping`. `mappings` undefined: the ConfigMap is not known yet (or
 * does not exist), and nothing is called until it is, so no namespace lands in the wrong account.
 */
export function chooseIdentity(
  namespace: string,
  mappings: ReadonlyMap<string, Mapping> | undefined,
  source: string,
  requireMapping: boolean,
): IdentityChoice {
  if (!mappings) {
    return {
      ok: false,
      reason: "AccountMappingUnavailable",
      message: `the operator's account mapping (ConfigMap ${source}) cannot be read; an administrator must create it or let the operator read it`,
    };
  }
  const mapping = mappings.get(namespace);
  if (mapping?.ok) return { ok: true, identity: identityOf(mapping.role) };
  if (mapping) {
    return {
      ok: false,
      reason: "AccountMappingInvalid",
      message: `the entry for this namespace in ConfigMap ${source} is invalid (${mapping.problem}); an administrator must fix it`,
    };
  }
  if (!requireMapping) return { ok: true, identity: OPERATOR_IDENTITY };
  return {
    ok: false,
    reason: "AccountNotMapped",
    message: `this namespace has no AWS account: an administrator must map it to an IAM role in ConfigMap ${source} (unmapped namespaces are refused)`,
  };
}

/**
 * Why the resource's user may not be reached through `identity`: it lives in another account
 * than the one the namespace now maps to. Users are never moved between accounts; a role change
 * within the account (or to one, from the operator's own identity in that account) is fine.
 * `recordedRole` is the role the status says the user was reached through (none: own identity).
 */
export function accountChange(arn: string | undefined, recordedRole: string | undefined, identity: Identity): string | undefined {
  const account = accountOfArn(arn);
  if (!account) return undefined;
  if (identity.role) {
    if (identity.role.accountId === account) return undefined;
    return `the MemoryDB user is in AWS account ${account} (status.arn), but this namespace now maps to ${describeIdentity(identity)}; users are not moved between accounts: restore the mapping, or delete this resource (with deletionPolicy Retain) and create it again`;
  }
  if (recordedRole === undefined) return undefined;
  return `the MemoryDB user is in AWS account ${account}, reached through role ${recordedRole}, but this namespace no longer maps to a role; users are not moved between accounts: restore the mapping, or delete this resource (with deletionPolicy Retain) and create it again`;
}

/** The mapping as the watch last saw the ConfigMap; `onChange` hears which namespaces changed. */
export class AccountMap {
  readonly source: string;
  readonly requireMapping: boolean;
  #mappings: Map<string, Mapping> | undefined;

  constructor(source: string, requireMapping: boolean) {
    this.source = source;
    this.requireMapping = requireMapping;
  }

  /** Replace the mapping with the ConfigMap's data (undefined: the ConfigMap is gone); answers the namespaces whose entry changed. */
  update(data: Record<string, string> | undefined): { namespaces: string[]; all: boolean } {
    const before = this.#mappings;
    const after = data ? new Map(Object.entries(data).map(([ns, value]) => [ns, parseMapping(value)])) : undefined;
    this.#mappings = after;
    if (!before || !after) return { namespaces: [], all: before !== after };
    const changed = [...new Set([...before.keys(), ...after.keys()])].filter(
      (ns) => JSON.stringify(before.get(ns)) !== JSON.stringify(after.get(ns)),
    );
    return { namespaces: changed, all: false };
  }

  choose(namespace: string): IdentityChoice {
    return chooseIdentity(namespace, this.#mappings, this.source, this.requireMapping);
  }

  /** The invalid entries, for the log. */
  problems(): Array<{ namespace: string; problem: string }> {
    return [...(this.#mappings ?? [])].flatMap(([namespace, m]) => (m.ok ? [] : [{ namespace, problem: m.problem }]));
  }
}
