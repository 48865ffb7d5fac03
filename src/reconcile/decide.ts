// The reconcile decisions, as plain functions over the resource and what MemoryDB reports:
// no I/O here, so every branch is unit-tested directly.
import { createHash } from "node:crypto";
import type { AuthenticationType, DeletionPolicy, MemoryDBUser, ObservedUser, PasswordSource, SecretKeyRef } from "../model.ts";
import { DEFAULT_USER, OWNERSHIP_TAG_KEY, RETAINED_TAG_KEY } from "../model.ts";
import { type AdoptionGrant, adoptionGranted } from "./adoption.ts";
import type { PasswordKnowledge } from "./verifier.ts";
import type { Redacted } from "../redacted.ts";
import { findCondition } from "../status.ts";
import { accessStringsEquivalent } from "./access-string.ts";

/** What MemoryDB should hold for this resource (passwords are resolved separately). */
export interface DesiredUser {
  userName: string;
  region: string;
  accessString: string;
  authType: AuthenticationType;
  passwordRefs: SecretKeyRef[];
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
  const authType = user.spec.authenticationMode.type ?? "password";
  return {
    userName,
    region: user.spec.region ?? defaults.region,
    accessString: user.spec.accessString,
    authType,
    passwordRefs:
      authType === "password" ? (user.spec.authenticationMode.passwords ?? []).map((p) => p.secretKeyRef) : [],
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

/** MemoryDB's password rules (docs/aws-api.md), checked before any call so the message can be precise. */
export const PASSWORD_MIN = 16;
export const PASSWORD_MAX = 128;
/** Printable ASCII, without the characters MemoryDB refuses: , " / @ (space is not printable here). */
const PASSWORD_CHARACTER = /^[!#-+\--.0-?A-~]$/;

/** Where a password comes from, for messages. */
export function where(ref: SecretKeyRef): string {
  return `the password in Secret "${ref.name}" key "${ref.key}"`;
}

/**
 * A problem with a password's value, described without echoing it, nor its exact length (a
 * tenant who may not read the Secret must not learn it through the operator).
 */
export function passwordProblem(ref: SecretKeyRef, password: Redacted): string | undefined {
  const value = password.reveal();
  const rule = `MemoryDB needs ${PASSWORD_MIN}-${PASSWORD_MAX} printable ASCII characters other than , " / @`;
  if (password.length < PASSWORD_MIN) return `${where(ref)} is shorter than ${PASSWORD_MIN} characters; ${rule}`;
  if (password.length > PASSWORD_MAX) return `${where(ref)} is longer than ${PASSWORD_MAX} characters; ${rule}`;
  if (/\r?\n$/.test(value)) {
    return `${where(ref)} ends with a line break (as "echo" adds: use "echo -n", or kubectl create secret --from-literal); ${rule}`;
  }
  if (![...value].every((c) => PASSWORD_CHARACTER.test(c))) return `${where(ref)} contains a character MemoryDB does not allow; ${rule}`;
  return undefined;
}

/**
 * Whose a MemoryDB user is, from its ownership tag: this resource's; nobody's (perhaps retained
 * by a deleted resource, `retainedFrom`); an earlier resource's of the same namespace and name
 * that no longer exists (another UID: it was deleted without its finalizer); or another
 * resource's.
 */
export type Ownership =
  | { kind: "ours" }
  | { kind: "unowned"; retainedFrom?: string }
  | { kind: "previousOwner"; owner: string }
  | { kind: "foreign"; owner: string };

export function ownershipFromTags(tags: Record<string, string>, desired: DesiredUser): Ownership {
  const owner = tags[OWNERSHIP_TAG_KEY];
  const retainedFrom = tags[RETAINED_TAG_KEY];
  if (owner === undefined || owner === "") return retainedFrom ? { kind: "unowned", retainedFrom } : { kind: "unowned" };
  if (owner === desired.ownerTag) return { kind: "ours" };
  // A tag from before UIDs were recorded is this resource's if its status records the user.
  if (owner === desired.ownerTagName) return desired.recorded ? { kind: "ours" } : { kind: "previousOwner", owner };
  if (owner.startsWith(`${desired.ownerTagName}/`)) return { kind: "previousOwner", owner };
  return { kind: "foreign", owner };
}

/**
 * Whether the user is presumably ours: the status records its ARN. Good enough to conclude
 * "in sync" without a ListTags, never to change or delete the user: an ARN only encodes the
 * name, so a user deleted and recreated by someone else has the same one.
 */
export function presumablyOurs(user: MemoryDBUser, observed: ObservedUser): boolean {
  return user.status?.arn !== undefined && user.status.arn === observed.arn;
}

/** Actions that change the user in MemoryDB: taken only on ownership read from its tags. */
export function mutates(action: Action): boolean {
  return action.type === "sync";
}

/** `name/key` of a password entry. */
export function refKey(ref: { name: string; key: string }): string {
  return `${ref.name}/${ref.key}`;
}

/** The user the resource manages, as its status recorded it (name and region cannot change). */
export function recordedIdentity(user: MemoryDBUser, desired: DesiredUser): { userName: string; region: string } {
  return { userName: user.status?.userName ?? desired.userName, region: user.status?.arn?.split(":")[3] ?? desired.region };
}

/** A spec that names another user or region than the one recorded (only if CEL is not enforced). */
export function identityChange(user: MemoryDBUser, desired: DesiredUser): string | undefined {
  const { userName, region } = recordedIdentity(user, desired);
  if (userName.toLowerCase() !== desired.userName) {
    return `the MemoryDB user name changed from "${userName}" to "${desired.userName}"; user names are immutable: restore it or create a new MemoryDBUser`;
  }
  if (region !== desired.region) {
    return `the region changed from ${region} to ${desired.region}; regions are immutable: restore it or create a new MemoryDBUser`;
  }
  return undefined;
}

/**
 * The resource that has the better claim to the same MemoryDB user name in the same region,
 * if any: the oldest one (then the first by namespace/name). A resource whose status already
 * records the user has established its claim and is never displaced.
 */
export function earlierClaimant(user: MemoryDBUser, others: readonly MemoryDBUser[], defaultRegion: string): MemoryDBUser | undefined {
  if (user.status?.arn) return undefined;
  const name = effectiveUserName(user);
  const region = user.spec.region ?? defaultRegion;
  const rank = (u: MemoryDBUser) => `${u.metadata.creationTimestamp ?? ""}|${u.metadata.namespace}/${u.metadata.name}`;
  return others
    .filter(
      (o) =>
        o.metadata.uid !== user.metadata.uid &&
        effectiveUserName(o) === name &&
        (o.spec.region ?? defaultRegion) === region &&
        (o.status?.arn !== undefined || rank(o) < rank(user)),
    )
    .sort((a, b) => (rank(a) < rank(b) ? -1 : 1))[0];
}

/** The Secret versions the desired passwords come from. */
export function passwordSources(refs: readonly SecretKeyRef[], versions: ReadonlyMap<string, string | undefined>): PasswordSource[] {
  return refs.map((r) => ({ name: r.name, key: r.key, resourceVersion: versions.get(r.name) ?? "" }));
}

export function sameSources(a: readonly PasswordSource[] | undefined, b: readonly PasswordSource[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((s, i) => s.name === y[i]?.name && s.key === y[i]?.key && s.resourceVersion === y[i]?.resourceVersion);
}

/** What the user's settings differ in, for UpdateUser. */
export interface UserChanges {
  accessString?: string;
  authType?: AuthenticationType;
  /** Send the desired passwords (they changed, or cannot be known to match). */
  passwords?: true;
}

export interface TagChanges {
  set: Record<string, string>;
  remove: string[];
}

/** Tag edits to bring `observed` to `desired` (apply `remove` first: the quota counts both). */
export function diffTags(desired: Record<string, string>, observed: Record<string, string>): TagChanges | undefined {
  const set = Object.fromEntries(Object.entries(desired).filter(([k, v]) => observed[k] !== v));
  // `aws:` tags belong to AWS and cannot be removed.
  const remove = Object.keys(observed).filter((k) => !(k in desired) && !k.toLowerCase().startsWith("aws:")).sort();
  return Object.keys(set).length > 0 || remove.length > 0 ? { set, remove } : undefined;
}

/** What the reconcile learned before deciding. */
export interface Observation {
  user: ObservedUser | undefined;
  ownership: Ownership;
  /** The user's tags, when they were read this time. */
  tags: Record<string, string> | undefined;
  /** What is known of the passwords MemoryDB holds, compared with the Secrets' (verifiers). */
  passwords: PasswordKnowledge;
  /**
   * MemoryDB's form of exactly the desired access string (recorded once applied): it matches
   * whatever rewriting MemoryDB does, even one the semantic comparison does not model.
   */
  acceptedAccessString?: string | undefined;
  /**
   * The operator sent the desired access string and has not yet seen MemoryDB's form of it:
   * whatever an active user shows now is that form (see acceptedAccessString).
   */
  accessStringPending?: boolean;
}

/** The user was this namespace's already: retained by, or owned by a force-deleted, resource here. */
function formerlyThisNamespaces(ownership: Ownership, desired: DesiredUser): boolean {
  const was = ownership.kind === "previousOwner" ? ownership.owner : ownership.kind === "unowned" ? ownership.retainedFrom : undefined;
  return was?.startsWith(desired.namespaceScope) ?? false;
}

/** Why the operator leaves an existing user alone. */
export type ConflictReason = "UserAlreadyExists" | "UserNameConflict" | "AdoptionNotAllowed";

/** The step the reconcile takes. */
export type Action =
  | { type: "create" }
  | { type: "conflict"; reason: ConflictReason; ownership: Exclude<Ownership, { kind: "ours" }> }
  | { type: "forbidden"; message: string }
  | { type: "wait"; state: string }
  | { type: "sync"; adopt: boolean; changes: UserChanges; tags: TagChanges | undefined }
  | { type: "inSync" };

export function diffUser(
  desired: DesiredUser,
  observed: ObservedUser,
  passwordsChanged: boolean,
  access: Pick<Observation, "acceptedAccessString" | "accessStringPending"> = {},
): UserChanges {
  const changes: UserChanges = {};
  const accepted = access.accessStringPending || observed.accessString === access.acceptedAccessString;
  if (!accepted && !accessStringsEquivalent(desired.accessString, observed.accessString)) {
    changes.accessString = desired.accessString;
  }
  if (observed.authentication.type !== desired.authType) changes.authType = desired.authType;
  if (
    desired.authType === "password" &&
    (passwordsChanged || (observed.authentication.passwordCount ?? 0) !== desired.passwordRefs.length)
  ) {
    changes.passwords = true;
  }
  return changes;
}

export function decide(desired: DesiredUser, obs: Observation): Action {
  if (desired.userName === DEFAULT_USER) {
    return { type: "forbidden", message: "the 'default' user is built into MemoryDB and cannot be managed" };
  }
  const observed = obs.user;
  if (observed === undefined) return { type: "create" };
  const ownership = obs.ownership;
  if (ownership.kind === "foreign") return { type: "conflict", reason: "UserNameConflict", ownership };
  // A user nobody owns, or whose owner was force-deleted, is taken over only when asked, and
  // only with an administrator's grant unless it was this namespace's already.
  const adopt = ownership.kind !== "ours";
  if (adopt && !desired.adoptExisting) return { type: "conflict", reason: "UserAlreadyExists", ownership };
  if (adopt && !desired.adoptionGranted && !formerlyThisNamespaces(ownership, desired)) return { type: "conflict", reason: "AdoptionNotAllowed", ownership };
  if (observed.status !== "active") return { type: "wait", state: observed.status };
  // An adopted user's passwords are unknown: set them.
  const changes = diffUser(desired, observed, !passwordsHeld(obs.passwords, ownership) || adopt, obs);
  const tags = obs.tags === undefined ? undefined : diffTags(desired.tags, obs.tags);
  if (!adopt && Object.keys(changes).length === 0 && tags === undefined) return { type: "inSync" };
  return { type: "sync", adopt, changes, tags };
}

/** MemoryDB's form of exactly the desired access string, as the status recorded it once applied. */
export function acceptedAccessString(user: MemoryDBUser, desired: DesiredUser): string | undefined {
  const accepted = user.status?.acceptedAccessString;
  return accepted?.requested === desired.accessString ? accepted.reported : undefined;
}

/** What deleting the resource means for its MemoryDB user. */
export type DeletionAction =
  /** Nothing (left) to do in MemoryDB: drop the finalizer. */
  | { type: "release"; why: "gone" | "notOurs" }
  | { type: "delete" }
  | { type: "retain" }
  | { type: "wait"; state: string };

export function decideDeletion(desired: DesiredUser, observed: ObservedUser | undefined, ownership: Ownership): DeletionAction {
  if (observed === undefined) return { type: "release", why: "gone" };
  if (ownership.kind !== "ours" || desired.userName === DEFAULT_USER) return { type: "release", why: "notOurs" };
  if (desired.deletionPolicy === "Retain") return { type: "retain" };
  if (observed.status !== "active") return { type: "wait", state: observed.status };
  return { type: "delete" };
}

/**
 * Whether MemoryDB holds the Secrets' passwords: known the same, or sent in a CreateUser whose
 * answer the operator did not see, to a user that now exists with this resource's ownership
 * tag: the user it created, with exactly those.
 */
export function passwordsHeld(passwords: PasswordKnowledge, ownership: Ownership): boolean {
  return passwords.state === "same" || (passwords.state === "created" && ownership.kind === "ours");
}

/** The Event reason for an UpdateUser the operator made. */
export function updateReason(user: MemoryDBUser, changes: UserChanges, passwords: PasswordKnowledge): "PasswordRotated" | "DriftCorrected" | "Updated" {
  const rotated = (passwords.state === "changed" || passwords.state === "uncertain") && passwords.rotated;
  if (changes.passwords && rotated && changes.accessString === undefined && changes.authType === undefined) return "PasswordRotated";
  return wasInSync(user) && passwords.state === "same" ? "DriftCorrected" : "Updated";
}

/**
 * The last reconcile found the user in sync with the current spec (so a difference now is
 * drift): Ready and Synced both True for this generation. observedGeneration alone is not
 * enough: a passing fault keeps an older Ready while recording the new generation.
 */
export function wasInSync(user: MemoryDBUser): boolean {
  const generation = user.metadata.generation;
  const ok = (type: "Ready" | "Synced") => {
    const c = findCondition(user.status?.conditions, type);
    return c?.status === "True" && c.observedGeneration === generation;
  };
  return ok("Ready") && ok("Synced");
}
