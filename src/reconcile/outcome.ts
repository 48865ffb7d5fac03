// What a reconcile concluded, and the status and retry that follow from it (pure).
import type { AwsFault } from "../aws/faults.ts";
import type { MemoryDBUser, MemoryDBUserStatus, ObservedUser, PasswordSource } from "../model.ts";
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
export function nextStatus(
  previous: MemoryDBUserStatus | undefined,
  outcome: Outcome,
  generation: number | undefined,
  now: Date,
  /** The password sources now applied, when this reconcile established them. */
  passwordSecrets?: PasswordSource[],
): MemoryDBUserStatus {
  let conditions = previous?.conditions ?? [];
  for (const update of conditionsFor(outcome, previous)) conditions = setCondition(conditions, update, generation, now);
  const observed = outcome.kind === "failed" ? {} : observedStatus(outcome.observed, now);
  return {
    ...observed,
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    ...(passwordSecrets === undefined ? {} : { passwordSecrets }),
    conditions,
  };
}

/** JSON with object keys sorted: the API server may return fields in another order than ours. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** How stale lastSyncTime may grow before an otherwise unchanged status is written anyway. */
export const SYNC_TIME_REFRESH_MS = 30 * 60_000;

/**
 * Whether the status patch changes anything worth a write (and the watch event every client
 * then receives): any field but lastSyncTime, or a lastSyncTime older than SYNC_TIME_REFRESH_MS.
 */
export function worthWriting(previous: MemoryDBUserStatus | undefined, next: MemoryDBUserStatus, now: Date): boolean {
  if (previous === undefined) return true;
  for (const [key, value] of Object.entries(next)) {
    if (key === "lastSyncTime") continue;
    if (canonical(value) !== canonical(previous[key as keyof MemoryDBUserStatus])) return true;
  }
  const last = Date.parse(previous.lastSyncTime ?? "");
  return next.lastSyncTime !== undefined && !(now.getTime() - last < SYNC_TIME_REFRESH_MS);
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
      return { kind: "failed", reason: fault.code, message: `${message} (fix the spec or the Secret; not retried until one changes)`, retry: "untilInputsChange" };
    case "slow":
      return { kind: "failed", reason: fault.code, message, retry: "slow" };
    case "transient":
      return { kind: "failed", reason: fault.code, message: `${message} (retrying)`, retry: "backoff" };
  }
}

export function conflict(userName: string, reason: "UserAlreadyExists" | "UserNameConflict", owner: string | undefined): Outcome {
  return {
    kind: "failed",
    reason,
    retry: "slow",
    message:
      reason === "UserNameConflict"
        ? `MemoryDB user "${userName}" is managed by another resource (${owner ?? "unknown"}); it is left untouched: choose another spec.userName`
        : `a MemoryDB user named "${userName}" already exists and is not managed by this resource (no resource owns it); ` +
          "it is left untouched: set spec.adoptExisting: true to manage it, choose another spec.userName, or delete that user",
  };
}

export function claimedByAnother(userName: string, region: string, claimant: MemoryDBUser): Outcome {
  return {
    kind: "failed",
    reason: "UserNameConflict",
    retry: "slow",
    message: `MemoryDBUser ${claimant.metadata.namespace}/${claimant.metadata.name} already manages MemoryDB user "${userName}" in ${region}; choose another spec.userName`,
  };
}
