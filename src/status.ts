// Status and conditions: what the resource's status says after a reconcile.
import type { Condition, ConditionStatus, ConditionType, MemoryDBUserStatus, ObservedUser } from "./model.ts";

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
    lastTransitionTime:
      existing && existing.status === update.status ? existing.lastTransitionTime : now.toISOString(),
  };
  return [...(conditions ?? []).filter((c) => c.type !== update.type), next].sort((a, b) =>
    a.type.localeCompare(b.type),
  );
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
