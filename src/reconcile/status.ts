// Status and conditions: what the resource's status says after a reconcile, and the merge patch
// that writes it (pure).
import type { MergePatch } from "../kube/request.ts";
import type {
  AcceptedAccessString,
  Condition,
  ConditionStatus,
  ConditionType,
  MemoryDBUserStatus,
  ObservedUser,
  PasswordRotationStatus,
  PasswordSource,
} from "../model.ts";
import { sameValue } from "../same-value.ts";
import type { Outcome } from "./outcome.ts";

/** A condition as a reconcile decides it; the transition time is filled in by setCondition. */
export interface ConditionUpdate {
  type: ConditionType;
  status: ConditionStatus;
  reason: string;
  message: string;
}

/**
 * Merge `update` into `conditions` the way apimachinery's meta.SetStatusCondition does:
 * lastTransitionTime only moves when the status flips.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  update: ConditionUpdate,
  generation: number | undefined,
  now: Date,
): Condition[] {
  const existing = conditions?.find((c) => c.type === update.type);
  const next: Condition = {
    ...update,
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    lastTransitionTime: existing && existing.status === update.status ? existing.lastTransitionTime : now.toISOString(),
  };
  return [...(conditions ?? []).filter((c) => c.type !== update.type), next].sort((a, b) => a.type.localeCompare(b.type));
}

export function findCondition(conditions: readonly Condition[] | undefined, type: ConditionType): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** The status fields that mirror MemoryDB's view of the user. */
export function observedStatus(user: ObservedUser, now: Date): MemoryDBUserStatus {
  return {
    userName: user.name,
    arn: user.arn,
    status: user.status,
    accessString: user.accessString,
    aclNames: user.aclNames,
    minimumEngineVersion: user.minimumEngineVersion,
    authentication: {
      type: user.authentication.type,
      ...(user.authentication.passwordCount === undefined ? {} : { passwordCount: user.authentication.passwordCount }),
    },
    lastSyncTime: now.toISOString(),
  };
}

export function conditionsFor(outcome: Outcome, previous: MemoryDBUserStatus | undefined): ConditionUpdate[] {
  switch (outcome.kind) {
    case "ready":
      return [
        {
          type: "Ready",
          status: "True",
          reason: "Available",
          message: `MemoryDB user "${outcome.observed.name}" is active and matches the spec`,
        },
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

/** What a reconcile established besides the observed user, for the status. */
export interface Established {
  /** The password sources now applied. */
  passwordSecrets?: PasswordSource[] | undefined;
  /** MemoryDB's form of the access string the operator sent. */
  acceptedAccessString?: AcceptedAccessString | undefined;
  /** The account the user was reached in, and through which role (none: the operator's own identity). */
  account?: { id?: string; roleArn?: string } | undefined;
  /** Where the generated password's rotation stands. */
  passwordRotation?: PasswordRotationStatus | undefined;
}

/**
 * The status fields this reconcile determined (conditions, MemoryDB's view, what it established).
 * Fields it did not determine (e.g. passwordSecrets when nothing was applied) are absent, so the
 * merge patch made from it (statusPatch) leaves them as the server has them rather than
 * rewriting them from a possibly stale copy.
 */
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
  const { passwordSecrets, acceptedAccessString, account, passwordRotation } = established;
  return {
    ...observed,
    ...(account === undefined ? {} : { account }),
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    ...(passwordSecrets === undefined ? {} : { passwordSecrets }),
    ...(acceptedAccessString === undefined ? {} : { acceptedAccessString }),
    ...(passwordRotation === undefined ? {} : { passwordRotation }),
    conditions,
  };
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
  if (!sameValue(stored, written)) return true;
  return after !== undefined && !(now.getTime() - Date.parse(before ?? "") < SYNC_TIME_REFRESH_MS);
}
