// What a reconcile concluded, and the retry that follows from it (pure).
import type { AwsFault } from "../aws/faults.ts";
import type { MemoryDBUser, ObservedUser } from "../model.ts";
import type { ConflictReason } from "./decide.ts";
import type { DesiredUser } from "./desired.ts";
import { describeOwner, type Ownership } from "./ownership.ts";

/** How the work queue should come back to the resource. */
export type Retry =
  /** Nothing to do until something changes (or the periodic resync). */
  | "none"
  /**
   * Again at once, without growing the backoff: the resource changed under the reconcile (a 409
   * conflict, a failed JSON Patch test), or the operator changed it (its finalizer).
   */
  | "now"
  /** Look again after the poll interval (MemoryDB is still working). */
  | "poll"
  /** Retry with the per-resource exponential backoff. */
  | "backoff"
  /** Retry at the longest backoff: the cause is outside the resource (quota, permissions). */
  | "slow"
  /** Terminal: no retry until the spec or a referenced Secret changes. */
  | "untilInputsChange"
  /** Look again after this long: a scheduled step falls due (a password rotation, the end of an overlap). */
  | { afterMs: number };

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

/** After the operator's own call, or while waiting on MemoryDB: ready once `active`. */
export function outcomeOfState(user: ObservedUser, busyReason: string, applied: boolean): Outcome {
  if (user.status === "active") return { kind: "ready", observed: user };
  const reason = user.status === "deleting" ? "Deleting" : busyReason;
  return { kind: "progressing", observed: user, reason, message: `MemoryDB reports the user as ${user.status}; waiting`, applied };
}

export function failedFromFault(fault: AwsFault): Outcome {
  const message = `${fault.service} ${fault.operation} failed: ${fault.detail}`;
  switch (fault.kind) {
    case "terminal":
      return {
        kind: "failed",
        reason: fault.reason,
        message: `${message} (fix the spec or the Secret; not retried until one changes)`,
        retry: "untilInputsChange",
      };
    case "slow":
      return { kind: "failed", reason: fault.reason, message: fault.fix ? `${message}: ${fault.fix}` : message, retry: "slow" };
    case "transient":
      return { kind: "failed", reason: fault.reason, message: `${message} (retrying)`, retry: "backoff" };
  }
}

export function conflict(
  desired: Pick<DesiredUser, "userName" | "namespaceScope">,
  reason: ConflictReason,
  ownership: Exclude<Ownership, { kind: "ours" }>,
): Outcome {
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
  const who =
    claimant.metadata.namespace === desired.namespaceScope.split("/")[1]
      ? `MemoryDBUser ${claimant.metadata.namespace}/${claimant.metadata.name}`
      : "another MemoryDBUser in this cluster";
  return {
    kind: "failed",
    reason: "UserNameConflict",
    retry: "slow",
    message: `${who} already manages MemoryDB user "${desired.userName}" in ${desired.region}; choose another spec.userName`,
  };
}
