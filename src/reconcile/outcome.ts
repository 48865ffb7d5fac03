// What a reconcile concluded, and the status and retry that follow from it (pure).
import type { AwsFault } from "../aws/faults.ts";
import type { MergePatch } from "../kube/api.ts";
import type { ConflictReason, DesiredUser, Ownership } from "./decide.ts";
import type { AcceptedAccessString, MemoryDBUser, MemoryDBUserStatus, ObservedUser, PasswordSource } from "../model.ts";
import { type ConditionUpdate, findCondition, observedStatus, setCondition } from "../status.ts";

/** How the work queue should come back to the resource. */
export type Retry =
  /** Nothing to do until something changes (or the periodic resync). */
  | "none"
  /** Look again after the poll interval (MemoryDB is still working). */
  | "poll"
  /** Retry with the per-resource exponential backoff. */
  | "backoff"
  /** Retry at the longest backoff: the cause is outside the resource (quota, permissions). */
  | "slow"
  /** Terminal: no retry until the spec or a referenced Secret changes. */
  | "untilInputsChange";

export type Outcome =
  | { kind: "ready"; observed: ObservedUser }
  /** MemoryDB is working on the user; `applied` when that work is this reconcile's change. */
  | { kind: "progressing"; observed: ObservedUser; reason: string; message: string; applied: boolean }
  | { kind: "failed"; reason: string; message: string; retry: Exclude<Retry, "poll"> };

export function retryFor(outcome: Outcome): Retry {
  switch (outcome.kind) {
    case "ready":
      return "none";
    case "progressing":
      return "poll";
    case "failed":
      return outcome.retry;
  }
}

export function conditionsFor(outcome: Outcome, previous: MemoryDBUserStatus | undefined): ConditionUpdate[] {
  switch (outcome.kind) {
    case "ready":
      return [
        { type: "Ready", status: "True", reason: "Available", message: `MemoryDB user "${outcome.observed.name}" is active and matches the spec` },
        { type: "Synced", status: "True", reason: "ReconcileSuccess", message: "the spec is applied to MemoryDB" },
      ];
    case "progressing":
      return [
        { type: "Ready", status: "False", reason: outcome.reason, message: outcome.message },
        outcome.applied
          ? { type: "Synced", status: "True", reason: "ReconcileSuccess", message: "the spec is applied to MemoryDB" }
          : { type: "Synced", status: "Unknown", reason: "Waiting", message: "waiting for MemoryDB before applying the spec" },
      ];
    case "failed": {
      const synced: ConditionUpdate = { type: "Synced", status: "False", reason: outcome.reason, message: outcome.message };
      // A passing fault (throttling, a network error) says nothing about the user itself:
      // keep a known Ready condition rather than flapping it.
      const ready = findCondition(previous?.conditions, "Ready");
      if (outcome.retry === "backoff" && ready && outcome.reason !== "SecretNotFound") return [synced];
      return [{ type: "Ready", status: "False", reason: outcome.reason, message: outcome.message }, synced];
    }
  }
}

/**
 * The status fields this reconcile determined, as a merge patch: fields it did not determine
 * (e.g. passwordSecrets when nothing was applied) are left as the server has them, never
 * rewritten from a possibly stale copy.
 */
/** What a reconcile established besides the observed user, for the status. */
export interface Established {
  /** The password sources now applied. */
  passwordSecrets?: PasswordSource[] | undefined;
  /** MemoryDB's form of the access string the operator sent. */
  acceptedAccessString?: AcceptedAccessString | undefined;
}

export function nextStatus(
  previous: MemoryDBUserStatus | undefined,
  outcome: Outcome,
  generation: number | undefined,
  now: Date,
  established: Established = {},
): MemoryDBUserStatus {
  let conditions = previous?.conditions ?? [];
  for (const update of conditionsFor(outcome, previous)) conditions = setCondition(conditions, update, generation, now);
  const observed = outcome.kind === "failed" ? {} : observedStatus(outcome.observed, now);
  const { passwordSecrets, acceptedAccessString } = established;
  return {
    ...observed,
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    ...(passwordSecrets === undefined ? {} : { passwordSecrets }),
    ...(acceptedAccessString === undefined ? {} : { acceptedAccessString }),
    conditions,
  };
}

/** JSON with object keys sorted: the API server may return fields in another order than ours. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isObject(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * The merge patch that writes `next` over `previous`: top-level fields `next` leaves out are
 * not touched (this reconcile did not determine them), but inside a field it did determine,
 * whatever `previous` has and `next` does not is removed (`null`): switching a user from
 * password to iam must not leave `authentication.passwordCount` behind.
 */
export function statusPatch(previous: MemoryDBUserStatus | undefined, next: MemoryDBUserStatus): MergePatch<MemoryDBUserStatus> {
  const replace = (before: unknown, after: unknown): unknown => {
    if (!isObject(after) || !isObject(before)) return after;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(before)) if (!(key in after)) out[key] = null;
    for (const [key, value] of Object.entries(after)) out[key] = replace(before[key], value);
    return out;
  };
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(next)) patch[key] = replace((previous as Record<string, unknown> | undefined)?.[key], value);
  return patch as MergePatch<MemoryDBUserStatus>;
}

/** What the API server stores after applying `patch` to `target` (RFC 7386). */
export function applyMergePatch<T>(target: T, patch: MergePatch<T>): T {
  if (!isObject(patch)) return patch as T;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = applyMergePatch(out[key], value as MergePatch<unknown>);
  }
  return out as T;
}

/** How stale lastSyncTime may grow before an otherwise unchanged status is written anyway. */
export const SYNC_TIME_REFRESH_MS = 30 * 60_000;

/**
 * Whether the status patch changes what is stored in a way worth a write (and the watch event
 * every client then receives): any field but lastSyncTime, or a lastSyncTime older than
 * SYNC_TIME_REFRESH_MS.
 */
export function worthWriting(previous: MemoryDBUserStatus | undefined, patch: MergePatch<MemoryDBUserStatus>, now: Date): boolean {
  if (previous === undefined) return true;
  const { lastSyncTime: before, ...stored } = previous;
  const { lastSyncTime: after, ...written } = applyMergePatch(previous, patch);
  if (canonical(stored) !== canonical(written)) return true;
  return after !== undefined && !(now.getTime() - Date.parse(before ?? "") < SYNC_TIME_REFRESH_MS);
}

/** After the operator's own call, or while waiting on MemoryDB: ready once `active`. */
export function settle(user: ObservedUser, busyReason: string, applied: boolean): Outcome {
  if (user.status === "active") return { kind: "ready", observed: user };
  const reason = user.status === "deleting" ? "Deleting" : busyReason;
  return { kind: "progressing", observed: user, reason, message: `MemoryDB reports the user as ${user.status}; waiting`, applied };
}

export function failedFromFault(fault: AwsFault): Outcome {
  const message = `MemoryDB ${fault.operation} failed: ${fault.detail}`;
  switch (fault.kind) {
    case "terminal":
      return { kind: "failed", reason: fault.reason, message: `${message} (fix the spec or the Secret; not retried until one changes)`, retry: "untilInputsChange" };
    case "slow":
      return { kind: "failed", reason: fault.reason, message: fault.fix ? `${message}: ${fault.fix}` : message, retry: "slow" };
    case "transient":
      return { kind: "failed", reason: fault.reason, message: `${message} (retrying)`, retry: "backoff" };
  }
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

export function conflict(desired: Pick<DesiredUser, "userName" | "namespaceScope">, reason: ConflictReason, ownership: Exclude<Ownership, { kind: "ours" }>): Outcome {
  const user = `MemoryDB user "${desired.userName}"`;
  const whose =
    ownership.kind === "foreign"
      ? `is managed by ${describeOwner(ownership.owner, desired)}`
      : ownership.kind === "previousOwner"
        ? "was managed by an earlier MemoryDBUser of this name that no longer exists (deleted without its finalizer)"
        : ownership.retainedFrom
          ? `was retained by ${describeOwner(ownership.retainedFrom, desired)} when it was deleted`
          : "is not managed by any resource";
  const message = {
    UserNameConflict: `${user} ${whose}; it is left untouched: choose another spec.userName`,
    UserAlreadyExists:
      `a ${user} already exists and ${whose}; it is left untouched: set spec.adoptExisting: true to manage it, ` +
      "choose another spec.userName, or delete that user",
    AdoptionNotAllowed:
      `${user} exists and ${whose}; adopting it is not allowed in this namespace: a cluster administrator grants adoption ` +
      "(--allow-adoption); otherwise choose another spec.userName",
  }[reason];
  return { kind: "failed", reason, retry: "slow", message };
}

export function claimedByAnother(desired: Pick<DesiredUser, "userName" | "region" | "namespaceScope">, claimant: MemoryDBUser): Outcome {
  const who = claimant.metadata.namespace === desired.namespaceScope.split("/")[1] ? `MemoryDBUser ${claimant.metadata.namespace}/${claimant.metadata.name}` : "another MemoryDBUser in this cluster";
  return {
    kind: "failed",
    reason: "UserNameConflict",
    retry: "slow",
    message: `${who} already manages MemoryDB user "${desired.userName}" in ${desired.region}; choose another spec.userName`,
  };
}
