// Whose a MemoryDB user is, read from its tags, and who may say so to whom: ownership is read
// from the tags before any change; a resource's name is told only within its namespace.
import type { MemoryDBUser, ObservedUser } from "../model.ts";
import { OWNERSHIP_TAG_KEY, RETAINED_TAG_KEY } from "../model.ts";
import { type DesiredUser, effectiveUserName } from "./desired.ts";

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

/** The user was this namespace's already: retained by, or owned by a force-deleted, resource here. */
export function formerlyThisNamespaces(ownership: Ownership, desired: DesiredUser): boolean {
  const was = ownership.kind === "previousOwner" ? ownership.owner : ownership.kind === "unowned" ? ownership.retainedFrom : undefined;
  return was?.startsWith(desired.namespaceScope) ?? false;
}

/**
 * Who owns or retained a user, as this resource's namespace may be told: a resource of the same
 * namespace by name, anyone else without naming them (other tenants' names stay in the logs).
 */
export function describeOwner(value: string, desired: Pick<DesiredUser, "namespaceScope">): string {
  if (value.startsWith(desired.namespaceScope)) {
    const [, namespace, name] = value.split("/");
    return `MemoryDBUser ${namespace}/${name}`;
  }
  const cluster = desired.namespaceScope.split("/")[0];
  return value.startsWith(`${cluster}/`) ? "another MemoryDBUser in this cluster" : "a MemoryDBUser in another cluster";
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
