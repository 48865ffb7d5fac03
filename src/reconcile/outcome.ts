// What a reconcile concluded, and the status and retry that follow from it (pure).
import type { MemoryDBUserStatus, ObservedUser, PasswordSource } from "../model.ts";
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
  | { kind: "progressing"; observed: ObservedUser; reason: string; message: string }
  | { kind: "failed"; reason: string; message: string; retry: Exclude<Retry, "poll">; observed?: ObservedUser | undefined };

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
        { type: "Synced", status: "True", reason: "ReconcileSuccess", message: "the spec is applied to MemoryDB" },
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

/** The status after `outcome`: a full replacement of the fields the operator owns. */
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
  const observed = outcome.observed ? observedStatus(outcome.observed, now) : {};
  return {
    ...previous,
    ...observed,
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    ...(passwordSecrets === undefined ? {} : { passwordSecrets }),
    conditions,
  };
}
