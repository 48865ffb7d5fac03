// What MemoryDB should hold for a resource: the desired user, derived from the spec and the
// operator's defaults, with the values of the tags that say whose a user is.
import { createHash } from "node:crypto";
import type { AuthenticationType, DeletionPolicy, MemoryDBUser, SecretKeyRef } from "../model.ts";
import { OWNERSHIP_TAG_KEY } from "../model.ts";
import { type AdoptionGrant, adoptionGranted } from "./adoption.ts";
import { KEYS, type RotationSettings, rotationSettings } from "./rotation.ts";

/** What MemoryDB should hold for this resource (passwords are resolved separately). */
export interface DesiredUser {
  userName: string;
  region: string;
  accessString: string;
  authType: AuthenticationType;
  /**
   * The Secret keys the passwords come from. For a generated password these depend on the
   * Secret's content: until it is read, the keys last applied (apply.ts sets them once read).
   */
  passwordRefs: SecretKeyRef[];
  /** The operator generates the password into a Secret (spec.authenticationMode.generatePassword). */
  generated: RotationSettings | undefined;
  /** Default tags, the spec's tags, and the ownership tag. */
  tags: Record<string, string>;
  /** Value of the ownership tag that marks a user as this resource's (with its UID). */
  ownerTag: string;
  /** The ownership tag's value without the UID: another resource of this name, or an old tag. */
  ownerTagName: string;
  /** The resource's status records the user: an old tag without UID is still this resource's. */
  recorded: boolean;
  /** The retained-from tag's value if this resource retains the user. */
  retainedTag: string;
  /** The cluster and namespace part of ownership values: `<cluster id>/<namespace>/`. */
  namespaceScope: string;
  /** An administrator granted this namespace adoption of this user name (--allow-adoption). */
  adoptionGranted: boolean;
  adoptExisting: boolean;
  deletionPolicy: DeletionPolicy;
}

export interface Defaults {
  clusterId: string;
  region: string;
  tags: Record<string, string>;
  deletionPolicy: DeletionPolicy;
  adoptionGrants?: readonly AdoptionGrant[];
}

export function effectiveUserName(user: MemoryDBUser): string {
  return (user.spec.userName ?? user.metadata.name).toLowerCase();
}

const MAX_TAG_VALUE = 256;

/**
 * Identifies the owning resource across clusters sharing an AWS account:
 * `<clusterId>/<namespace>/<name>/<uid>`, with the name hashed if the value would exceed
 * MemoryDB's 256-character tag value limit. The UID tells this resource from an earlier one of
 * the same name that was deleted without its finalizer (force-deleted).
 */
export function ownershipTagValue(clusterId: string, namespace: string, name: string, uid?: string): string {
  const suffix = uid ? `/${uid}` : "";
  const plain = `${clusterId}/${namespace}/${name}`;
  if (plain.length + suffix.length <= MAX_TAG_VALUE) return plain + suffix;
  const digest = createHash("sha256").update(name).digest("hex").slice(0, 40);
  return `${clusterId}/${namespace}/sha256:${digest}${suffix}`;
}

export function desiredUser(user: MemoryDBUser, defaults: Defaults): DesiredUser {
  const { namespace, name, uid } = user.metadata;
  const ownerTag = ownershipTagValue(defaults.clusterId, namespace, name, uid);
  const userName = effectiveUserName(user);
  const mode = user.spec.authenticationMode;
  const authType = mode.type ?? "password";
  const generated = authType === "password" && mode.generatePassword ? rotationSettings(mode.generatePassword) : undefined;
  return {
    userName,
    region: user.spec.region ?? defaults.region,
    accessString: user.spec.accessString,
    authType,
    passwordRefs:
      authType !== "password" ? [] : generated ? generatedRefs(user, generated) : (mode.passwords ?? []).map((p) => p.secretKeyRef),
    generated,
    tags: { ...defaults.tags, ...user.spec.tags, [OWNERSHIP_TAG_KEY]: ownerTag },
    ownerTag,
    ownerTagName: ownershipTagValue(defaults.clusterId, namespace, name),
    recorded: user.status?.arn !== undefined,
    retainedTag: ownershipTagValue(defaults.clusterId, namespace, name),
    namespaceScope: `${defaults.clusterId}/${namespace}/`,
    adoptionGranted: adoptionGranted(defaults.adoptionGrants ?? [], namespace, userName),
    adoptExisting: user.spec.adoptExisting ?? false,
    deletionPolicy: user.spec.deletionPolicy ?? defaults.deletionPolicy,
  };
}

/** The generated Secret's keys last applied (the status records them), or its `password`. */
function generatedRefs(user: MemoryDBUser, generated: RotationSettings): SecretKeyRef[] {
  const applied = user.status?.passwordSecrets ?? [];
  if (applied.length > 0 && applied.every((s) => s.name === generated.secretName)) return applied.map(({ name, key }) => ({ name, key }));
  return [{ name: generated.secretName, key: KEYS.password }];
}

/** MemoryDB's limit of tags per user, the ownership tag included. */
export const MAX_TAGS = 50;

/**
 * The spec's tags plus the operator's default tags plus the ownership tag, if more than MemoryDB
 * takes: said exactly, as the CRD's own limit (49) cannot count the default tags.
 */
export function tagQuotaProblem(user: MemoryDBUser, desired: DesiredUser): string | undefined {
  const total = Object.keys(desired.tags).length;
  if (total <= MAX_TAGS) return undefined;
  const spec = Object.keys(user.spec.tags ?? {}).length;
  const defaults = total - spec - 1;
  return (
    `spec.tags has ${spec} tags, the operator's default tags (--default-tags) add ${defaults} more and the ownership tag 1: ` +
    `${total} in all, and MemoryDB allows ${MAX_TAGS} per user; remove ${total - MAX_TAGS} from spec.tags`
  );
}

/** The user the resource manages, as its status recorded it (name and region cannot change). */
export function recordedIdentity(user: MemoryDBUser, desired: DesiredUser): { userName: string; region: string } {
  return { userName: user.status?.userName ?? desired.userName, region: user.status?.arn?.split(":")[3] ?? desired.region };
}

/** A spec that names another user or region than the one recorded (only if CEL is not enforced). */
export function describeIdentityChange(user: MemoryDBUser, desired: DesiredUser): string | undefined {
  const { userName, region } = recordedIdentity(user, desired);
  if (userName.toLowerCase() !== desired.userName) {
    return `the MemoryDB user name changed from "${userName}" to "${desired.userName}"; user names are immutable: restore it or create a new MemoryDBUser`;
  }
  if (region !== desired.region) {
    return `the region changed from ${region} to ${desired.region}; regions are immutable: restore it or create a new MemoryDBUser`;
  }
  return undefined;
}
