// The reconcile decisions, as plain functions over the resource and what MemoryDB reports:
// no I/O here, so every branch is unit-tested directly.
import type { AuthenticationType, MemoryDBUser, ObservedUser } from "../model.ts";
import { DEFAULT_USER } from "../model.ts";
import { accessStringsEquivalent } from "./access-string.ts";
import type { DesiredUser } from "./desired.ts";
import type { Ownership } from "./ownership.ts";
import { formerlyThisNamespaces } from "./ownership.ts";
import { findCondition } from "./status.ts";
import type { PasswordKnowledge } from "./verifier.ts";

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
  const remove = Object.keys(observed)
    .filter((k) => !(k in desired) && !k.toLowerCase().startsWith("aws:"))
    .sort();
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

/** Actions that change the user in MemoryDB: taken only on ownership read from its tags. */
export function mutates(action: Action): boolean {
  return action.type === "sync";
}

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
  if (adopt && !desired.adoptionGranted && !formerlyThisNamespaces(ownership, desired))
    return { type: "conflict", reason: "AdoptionNotAllowed", ownership };
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
  { type: "release"; why: "gone" | "notOurs" } | { type: "delete" } | { type: "retain" } | { type: "wait"; state: string };

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
export function updateReason(
  user: MemoryDBUser,
  changes: UserChanges,
  passwords: PasswordKnowledge,
): "PasswordRotated" | "DriftCorrected" | "Updated" {
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
