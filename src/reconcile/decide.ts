// The reconcile decision, as plain functions over the resource and what MemoryDB reports:
// no I/O here, so every branch is unit-tested directly.
import { createHash } from "node:crypto";
import type { AuthenticationType, MemoryDBUser, ObservedUser, SecretKeyRef } from "../model.ts";
import { OWNERSHIP_TAG_KEY } from "../model.ts";
import { accessStringsEquivalent } from "./access-string.ts";

/** What MemoryDB should hold for this resource (passwords are resolved separately). */
export interface DesiredUser {
  userName: string;
  accessString: string;
  authType: AuthenticationType;
  passwordRefs: SecretKeyRef[];
  /** The spec's tags plus the ownership tag. */
  tags: Record<string, string>;
  /** Value of the ownership tag that marks a user as this resource's. */
  ownerTag: string;
}

export function effectiveUserName(user: MemoryDBUser): string {
  return (user.spec.userName ?? user.metadata.name).toLowerCase();
}

const MAX_TAG_VALUE = 256;

/**
 * Identifies the owning resource across clusters sharing an AWS account:
 * `<clusterId>/<namespace>/<name>`, with the name hashed if the value would exceed
 * MemoryDB's 256-character tag value limit.
 */
export function ownershipTagValue(clusterId: string, namespace: string, name: string): string {
  const plain = `${clusterId}/${namespace}/${name}`;
  if (plain.length <= MAX_TAG_VALUE) return plain;
  const digest = createHash("sha256").update(name).digest("hex").slice(0, 40);
  return `${clusterId}/${namespace}/sha256:${digest}`;
}

export function desiredUser(user: MemoryDBUser, clusterId: string): DesiredUser {
  const ownerTag = ownershipTagValue(clusterId, user.metadata.namespace, user.metadata.name);
  const authType = user.spec.authenticationMode.type ?? "password";
  return {
    userName: effectiveUserName(user),
    accessString: user.spec.accessString,
    authType,
    passwordRefs:
      authType === "password" ? (user.spec.authenticationMode.passwords ?? []).map((p) => p.secretKeyRef) : [],
    tags: { ...user.spec.tags, [OWNERSHIP_TAG_KEY]: ownerTag },
    ownerTag,
  };
}

/** MemoryDB's password rules, checked before any call so the message can be precise. */
export const PASSWORD_MIN = 16;
export const PASSWORD_MAX = 128;

/** A problem with a password's value, described without echoing it. */
export function passwordProblem(ref: SecretKeyRef, length: number): string | undefined {
  if (length >= PASSWORD_MIN && length <= PASSWORD_MAX) return undefined;
  return (
    `the password in Secret "${ref.name}" key "${ref.key}" is ${length} characters long; ` +
    `MemoryDB needs ${PASSWORD_MIN}-${PASSWORD_MAX} characters`
  );
}

/** Whose a MemoryDB user is, from its ownership tag. */
export type Ownership = { kind: "ours" } | { kind: "foreign"; owner: string | undefined };

export function ownershipFromTags(tags: Record<string, string>, desired: DesiredUser): Ownership {
  const owner = tags[OWNERSHIP_TAG_KEY];
  return owner === desired.ownerTag ? { kind: "ours" } : { kind: "foreign", owner };
}

/**
 * Whether ownership must be read from the user's tags: not when the status already records
 * this user's ARN, which only the operator writes after establishing ownership.
 */
export function ownershipKnown(user: MemoryDBUser, observed: ObservedUser): boolean {
  return user.status?.arn !== undefined && user.status.arn === observed.arn;
}

/** What the user's settings differ in, for UpdateUser. */
export interface UserChanges {
  accessString?: string;
  authType?: AuthenticationType;
}

/** The step the reconcile takes. */
export type Action =
  | { type: "create" }
  | { type: "notOwned"; owner: string | undefined }
  | { type: "wait"; state: string }
  | { type: "update"; changes: UserChanges }
  | { type: "inSync" };

export function diffUser(desired: DesiredUser, observed: ObservedUser): UserChanges {
  const changes: UserChanges = {};
  if (!accessStringsEquivalent(desired.accessString, observed.accessString)) {
    changes.accessString = desired.accessString;
  }
  if (observed.authentication.type !== desired.authType) changes.authType = desired.authType;
  return changes;
}

export function decide(desired: DesiredUser, observed: ObservedUser | undefined, ownership: Ownership): Action {
  if (observed === undefined) return { type: "create" };
  if (ownership.kind === "foreign") return { type: "notOwned", owner: ownership.owner };
  if (observed.status !== "active") return { type: "wait", state: observed.status };
  const changes = diffUser(desired, observed);
  return Object.keys(changes).length > 0 ? { type: "update", changes } : { type: "inSync" };
}
