// The shapes the operator reasons about: the MemoryDBUser resource as stored in Kubernetes,
// the user as MemoryDB reports it, and what the operator wants MemoryDB to hold.

export const GROUP = "memorydb.operators.dev";
export const VERSION = "v1alpha1";
export const PLURAL = "memorydbusers";
export const KIND = "MemoryDBUser";
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Tag key the operator puts on every user it creates; its value names the owning resource. */
export const OWNERSHIP_TAG_KEY = `${GROUP}/owner`;

/**
 * Tag key a retained user carries instead of the ownership tag: `<cluster id>/<namespace>/<name>`
 * of the resource that retained it, so that its namespace may adopt it back without a grant.
 */
export const RETAINED_TAG_KEY = `${GROUP}/retained-from`;

/** Finalizer that keeps a resource until its MemoryDB user is deleted or released. */
export const FINALIZER = `${GROUP}/finalizer`;

/** Annotation on a MemoryDBUser: a new value asks for one rotation of its generated password. */
export const ROTATE_PASSWORD_ANNOTATION = `${GROUP}/rotate-password`;

/** The built-in MemoryDB user, which can never be managed. */
export const DEFAULT_USER = "default";

export type DeletionPolicy = "Delete" | "Retain";

export interface SecretKeyRef {
  name: string;
  key: string;
}

export type AuthenticationType = "password" | "iam";

/** A password the operator generates into a Secret it creates, and rotates. */
export interface GeneratePassword {
  secretName: string;
  /** A duration (`720h`): rotate this often. */
  rotateEvery?: string;
  /** A duration (default `1h`): how long the previous password stays accepted after a rotation. */
  overlap?: string;
}

export interface MemoryDBUserSpec {
  userName?: string;
  accessString: string;
  authenticationMode: {
    type?: AuthenticationType;
    passwords?: Array<{ secretKeyRef: SecretKeyRef }>;
    generatePassword?: GeneratePassword;
  };
  tags?: Record<string, string>;
  region?: string;
  deletionPolicy?: DeletionPolicy;
  adoptExisting?: boolean;
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
  /**
   * The Secrets the passwords MemoryDB holds were last set from, with a verifier of each (a keyed
   * HMAC, never the value): what survives a restart of what the operator knows.
   */
  passwordSecrets?: PasswordSource[];
  /** Passwords the operator began to send and has not yet seen accepted, and by which call. */
  passwordSecretsPending?: PendingPasswords;
  /**
   * The access string last sent to MemoryDB and the form DescribeUsers then reported for it
   * once the user was active: MemoryDB rewrites access strings, and this form is not drift.
   */
  acceptedAccessString?: AcceptedAccessString;
  /** The account the user is in and the role it was reached through (--accounts-configmap only). */
  account?: { id?: string; roleArn?: string };
  /** Where the generated password's rotation stands (generatePassword only). */
  passwordRotation?: PasswordRotationStatus;
}

/**
 * `Stable`: one password. `Rotating`: a new one is in the Secret (`pending-password`) and being
 * added to MemoryDB. `Overlap`: the new one is the Secret's `password`, the previous one is still
 * accepted until `overlapEndTime`.
 */
export type RotationPhase = "Stable" | "Rotating" | "Overlap";

export interface PasswordRotationStatus {
  phase: RotationPhase;
  /** When the Secret's `password` got its current value (generated or rotated). */
  lastRotationTime?: string;
  /** When the next scheduled rotation falls due (with rotateEvery). */
  nextRotationTime?: string;
  /** When the previous password stops being accepted (phase Overlap). */
  overlapEndTime?: string;
  /** The rotate-password annotation's value last acted upon. */
  lastRotationRequest?: string;
}

export interface AcceptedAccessString {
  requested: string;
  reported: string;
}

/** Passwords on their way to MemoryDB: recorded before the call, so an interruption is known. */
export interface PendingPasswords {
  operation: "CreateUser" | "UpdateUser";
  secrets: PasswordSource[];
}

/** Where a password was read from, down to the Secret's resourceVersion, and its verifier. */
export interface PasswordSource {
  name: string;
  key: string;
  resourceVersion: string;
  /** `<key id>:<keyed HMAC>` of the password (see src/reconcile/verifier.ts); never the value. */
  verifier?: string;
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
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
