// Sample resources and observed users for the unit tests of the decisions.
import type { MemoryDBUser, ObservedUser } from "../../src/model.ts";

export function sampleUser(overrides: Partial<MemoryDBUser["spec"]> = {}, status?: MemoryDBUser["status"]): MemoryDBUser {
  return {
    apiVersion: "memorydb.operators.dev/v1alpha1",
    kind: "MemoryDBUser",
    metadata: { name: "app-user", namespace: "team-a", generation: 1, uid: "u1" },
    spec: {
      accessString: "on ~* &* +@all",
      authenticationMode: { type: "password", passwords: [{ secretKeyRef: { name: "pw", key: "password" } }] },
      tags: { team: "a" },
      ...overrides,
    },
    ...(status ? { status } : {}),
  };
}

export function observed(overrides: Partial<ObservedUser> = {}): ObservedUser {
  return {
    name: "app-user",
    arn: "arn:aws:memorydb:us-east-1:123456789012:user/app-user",
    status: "active",
    accessString: "on ~* &* +@all",
    aclNames: [],
    minimumEngineVersion: "6.2",
    authentication: { type: "password", passwordCount: 1 },
    ...overrides,
  };
}

/** Ready and Synced True for this generation. */
export const inSyncConditions = (generation: number) =>
  (["Ready", "Synced"] as const).map((type) => ({
    type,
    status: "True" as const,
    reason: "R",
    message: "",
    lastTransitionTime: "",
    observedGeneration: generation,
  }));

/** The operator's defaults the samples are decided under. */
export const DEFAULTS = { clusterId: "cluster-1", region: "us-east-1", tags: {}, deletionPolicy: "Delete" as const };
