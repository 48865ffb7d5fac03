// The shapes the operator reasons about: the MemoryDBUser resource as stored in Kubernetes,
// the user as MemoryDB reports it, and what the operator wants MemoryDB to hold.

export const GROUP = "memorydb.operators.dev";
export const VERSION = "v1alpha1";
export const PLURAL = "memorydbusers";
export const KIND = "MemoryDBUser";
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Tag key the operator puts on every user it creates; its value names the owning resource. */
export const OWNERSHIP_TAG_KEY = `${GROUP}/owner`;

export interface SecretKeyRef {
  name: string;
  key: string;
}

export type AuthenticationType = "password" | "iam";

export interface MemoryDBUserSpec {
  userName?: string;
  accessString: string;
  authenticationMode: {
    type?: AuthenticationType;
    passwords?: Array<{ secretKeyRef: SecretKeyRef }>;
  };
  tags?: Record<string, string>;
}

export type ConditionType = "Ready" | "Synced";
export type ConditionStatus = "True" | "False" | "Unknown";

/** metav1.Condition. */
export interface Condition {
  type: ConditionType;
  status: ConditionStatus;
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/** MemoryDB's states for a user. */
export type UserState = "active" | "modifying" | "deleting";

export interface MemoryDBUserStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  userName?: string;
  arn?: string;
  status?: string;
  accessString?: string;
  aclNames?: string[];
  minimumEngineVersion?: string;
  authentication?: { type?: string; passwordCount?: number };
  lastSyncTime?: string;
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface MemoryDBUser {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: ObjectMeta;
  spec: MemoryDBUserSpec;
  status?: MemoryDBUserStatus;
}

/** A user as DescribeUsers reports it. Never holds passwords: the API does not return them. */
export interface ObservedUser {
  name: string;
  arn: string;
  status: string;
  accessString: string;
  aclNames: string[];
  minimumEngineVersion: string;
  authentication: { type: string; passwordCount?: number };
}
