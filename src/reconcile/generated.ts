// The generated password's Secret, which the operator makes and moves: created before MemoryDB
// ever sees the password, never one the operator did not make for this resource, and advanced by
// one rotation step (rotation.ts) per write. Every write is guarded by the resourceVersion it was
// decided on, so a stale read never overwrites a password MemoryDB may already hold. Values are
// copied between keys as the API returns them (base64) and never decoded here.
import type { OwnerReference, SecretData, SecretWrite } from "../kube/api.ts";
import { KubeError } from "../kube/request.ts";
import { API_VERSION, KIND, ROTATE_PASSWORD_ANNOTATION, type SecretKeyRef } from "../model.ts";
import type { Redacted } from "../redacted.ts";
import type { Outcome } from "./outcome.ts";
import { generatePassword } from "./passwords.ts";
import { believableTime, desiredKeys, type GeneratedState, KEYS, nextSecretStep, SECRET_ANNOTATIONS, type Synced } from "./rotation.ts";
import type { Turn } from "./turn.ts";

/** The generated Secret as this reconcile found or made it, and the keys MemoryDB should hold now. */
export interface GeneratedSecret {
  secret: SecretData;
  state: GeneratedState;
  refs: SecretKeyRef[];
}

/** Ready to sync MemoryDB to; or a Secret that is not ours; or the Secret changed under the reconcile (again at once). */
export type Prepared = { kind: "ready"; generated: GeneratedSecret } | { kind: "failed"; outcome: Outcome } | { kind: "changed" };

const MANAGED_BY = { "app.kubernetes.io/managed-by": "memorydb-user-operator" };

const encode = (value: Redacted | string) => Buffer.from(typeof value === "string" ? value : value.reveal(), "utf8").toString("base64");

/** The rotation the resource asks for (its rotate-password annotation), if any. */
export function rotationRequest(turn: Turn): string | undefined {
  return turn.user.metadata.annotations?.[ROTATE_PASSWORD_ANNOTATION];
}

/** Made by the operator for the resource with this UID (the annotation, or its controller reference). */
function ownedBy(secret: SecretData, uid: string): boolean {
  return (
    secret.annotations?.[SECRET_ANNOTATIONS.owner] === uid ||
    (secret.ownerReferences ?? []).some((r) => r.uid === uid && r.controller === true)
  );
}

function readState(secret: SecretData, now: number): GeneratedState {
  const annotations = secret.annotations ?? {};
  return {
    password: secret.data[KEYS.password] !== undefined,
    pending: secret.data[KEYS.pending] !== undefined,
    previous: secret.data[KEYS.previous] !== undefined,
    rotatedAt: believableTime(annotations[SECRET_ANNOTATIONS.rotatedAt], now),
    request: annotations[SECRET_ANNOTATIONS.request],
  };
}

/**
 * With deletionPolicy Delete the Secret goes with the resource (garbage collection). Not
 * blockOwnerDeletion: nothing needs the resource's deletion to wait for the Secret's, and setting
 * it needs `update` on memorydbusers/finalizers where OwnerReferencesPermissionEnforcement runs.
 */
function ownerReference(turn: Turn, others: readonly OwnerReference[]): OwnerReference {
  const { name, uid } = turn.user.metadata;
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name,
    uid: uid ?? "",
    controller: !others.some((r) => r.controller),
    blockOwnerDeletion: false,
  };
}

function wantedLabels(turn: Turn): Record<string, string> {
  return { ...MANAGED_BY, ...turn.deps.secretSelector?.labels };
}

export async function prepareGenerated(turn: Turn, found: SecretData | undefined): Promise<Prepared> {
  try {
    return await prepare(turn, found);
  } catch (err) {
    // The operator's own RBAC: an administrator's to fix, said on the resource.
    if (!(err instanceof KubeError) || err.status !== 403) throw err;
    const message =
      `the operator may not write the Secret "${turn.desired.generated!.secretName}" in namespace "${turn.user.metadata.namespace}" ` +
      "(HTTP 403): an administrator grants it create and patch on secrets (docs/security.md)";
    return { kind: "failed", outcome: { kind: "failed", reason: "SecretWriteForbidden", message, retry: "slow" } };
  }
}

async function prepare(turn: Turn, found: SecretData | undefined): Promise<Prepared> {
  const settings = turn.desired.generated!;
  const uid = turn.user.metadata.uid ?? "";
  const now = turn.now().getTime();
  const secret = found ?? (await create(turn, now));
  if (!secret) return { kind: "changed" };
  if (!ownedBy(secret, uid)) {
    const message =
      `Secret "${settings.secretName}" exists and was not created by the operator for this MemoryDBUser; it is left untouched: ` +
      "choose another generatePassword.secretName, or delete that Secret";
    return { kind: "failed", outcome: { kind: "failed", reason: "SecretNotOwned", message, retry: "untilInputsChange" } };
  }
  const repair = repairs(turn, secret, now);
  const current = repair ? await write(turn, secret, repair) : secret;
  if (!current) return { kind: "changed" };
  const state = readState(current, now);
  const refs = desiredKeys(state, settings, now).map((key) => ({ name: settings.secretName, key }));
  return { kind: "ready", generated: { secret: current, state, refs } };
}

/** A new Secret with a new password, before MemoryDB sees it; what is there if it appeared meanwhile. */
async function create(turn: Turn, now: number): Promise<SecretData | undefined> {
  const { secretName } = turn.desired.generated!;
  const { namespace, uid } = turn.user.metadata;
  const request = rotationRequest(turn);
  const created = await turn.deps.kube.createSecret(
    namespace,
    secretName,
    {
      data: { [KEYS.username]: encode(turn.desired.userName), [KEYS.password]: encode(generatePassword()) },
      labels: wantedLabels(turn),
      annotations: {
        [SECRET_ANNOTATIONS.owner]: uid ?? "",
        [SECRET_ANNOTATIONS.rotatedAt]: new Date(now).toISOString(),
        // A request made before the password existed is older than the password.
        ...(request === undefined ? {} : { [SECRET_ANNOTATIONS.request]: request }),
      },
      ...(turn.desired.deletionPolicy === "Delete" ? { ownerReferences: [ownerReference(turn, [])] } : {}),
    },
    turn.call,
  );
  if (!created) return turn.deps.kube.readSecret(namespace, secretName, turn.call);
  turn.log.info("generated a password into a new Secret", { secret: secretName });
  turn.event(
    "Normal",
    "PasswordGenerated",
    "CreateSecret",
    `generated a password for MemoryDB user "${turn.desired.userName}" in Secret "${secretName}"`,
  );
  return created;
}

/** What an owned Secret lacks: labels, owner annotation and reference, username, its rotation time, a password. */
function repairs(turn: Turn, secret: SecretData, now: number): SecretWrite | undefined {
  const { uid } = turn.user.metadata;
  const annotations = secret.annotations ?? {};
  const write: SecretWrite = {};
  const labels = Object.entries(wantedLabels(turn)).filter(([k, v]) => secret.labels[k] !== v);
  if (labels.length > 0) write.labels = Object.fromEntries(labels);
  const wantedAnnotations: Record<string, string> = {};
  if (annotations[SECRET_ANNOTATIONS.owner] !== uid) wantedAnnotations[SECRET_ANNOTATIONS.owner] = uid ?? "";
  const data: Record<string, string | null> = {};
  if (secret.data[KEYS.username] !== encode(turn.desired.userName)) data[KEYS.username] = encode(turn.desired.userName);
  if (secret.data[KEYS.password] === undefined) {
    // Someone removed it: MemoryDB's password is lost with it, so the user gets a new one.
    data[KEYS.password] = encode(generatePassword());
    data[KEYS.pending] = null;
    data[KEYS.previous] = null;
    wantedAnnotations[SECRET_ANNOTATIONS.rotatedAt] = new Date(now).toISOString();
    turn.event(
      "Normal",
      "PasswordGenerated",
      "UpdateSecret",
      `Secret "${turn.desired.generated!.secretName}" had no password: generated a new one`,
    );
  } else if (believableTime(annotations[SECRET_ANNOTATIONS.rotatedAt], now) === undefined) {
    // Without a believable rotation time no schedule can be kept: the status's, else now.
    const recorded = believableTime(turn.user.status?.passwordRotation?.lastRotationTime, now) ?? now;
    wantedAnnotations[SECRET_ANNOTATIONS.rotatedAt] = new Date(recorded).toISOString();
  }
  if (Object.keys(wantedAnnotations).length > 0) write.annotations = wantedAnnotations;
  if (Object.keys(data).length > 0) write.data = data;
  const refs = secret.ownerReferences ?? [];
  const others = refs.filter((r) => r.uid !== uid);
  const owned = others.length < refs.length;
  // Retain keeps the password with the retained user: the Secret must not go with the resource.
  if (turn.desired.deletionPolicy === "Delete" && !owned) write.ownerReferences = [...others, ownerReference(turn, others)];
  if (turn.desired.deletionPolicy === "Retain" && owned) write.ownerReferences = others.length > 0 ? others : null;
  return Object.keys(write).length > 0 ? write : undefined;
}

function write(turn: Turn, secret: SecretData, patch: SecretWrite): Promise<SecretData | undefined> {
  const { namespace } = turn.user.metadata;
  return turn.deps.kube.patchSecret(namespace, turn.desired.generated!.secretName, secret.resourceVersion, patch, turn.call);
}

/**
 * The next rotation step the Secret can take now that MemoryDB holds what `synced` says, if
 * any: one write. Resolves to whether the Secret changed (a step, or someone else's write).
 */
export async function advanceGenerated(turn: Turn, generated: GeneratedSecret, synced: Synced): Promise<boolean> {
  const settings = turn.desired.generated!;
  const now = turn.now().getTime();
  const request = rotationRequest(turn);
  const step = nextSecretStep(generated.state, settings, now, request, synced);
  if (step === undefined) return false;
  const data = generated.secret.data;
  const patch: SecretWrite =
    step === "start"
      ? {
          data: { [KEYS.pending]: encode(generatePassword()) },
          ...(request === undefined ? {} : { annotations: { [SECRET_ANNOTATIONS.request]: request } }),
        }
      : step === "promote"
        ? {
            data: { [KEYS.password]: data[KEYS.pending]!, [KEYS.previous]: data[KEYS.password]!, [KEYS.pending]: null },
            annotations: { [SECRET_ANNOTATIONS.rotatedAt]: new Date(now).toISOString() },
          }
        : { data: { [KEYS.previous]: null } };
  if (!(await write(turn, generated.secret, patch))) return true;
  const { secretName } = settings;
  if (step === "start") turn.log.info("rotating the generated password: the new one is stored in the Secret first", { secret: secretName });
  if (step === "drop") turn.log.info("the previous password is no longer accepted: removed it from the Secret", { secret: secretName });
  if (step === "promote") {
    const until = new Date(now + settings.overlapMs).toISOString();
    turn.event(
      "Normal",
      "PasswordRotated",
      "UpdateSecret",
      `Secret "${secretName}" key "${KEYS.password}" holds a new password; the previous one, under "${KEYS.previous}", is accepted until ${until}`,
    );
  }
  return true;
}

/** Deleting with Retain: the Secret stays with the retained user (apply removes the reference; this makes sure). */
export async function keepGeneratedSecret(turn: Turn): Promise<void> {
  const { namespace, uid } = turn.user.metadata;
  const secret = await turn.deps.kube.readSecret(namespace, turn.desired.generated!.secretName, turn.call);
  const refs = secret?.ownerReferences ?? [];
  const others = refs.filter((r) => r.uid !== uid);
  if (!secret || others.length === refs.length) return;
  await write(turn, secret, { ownerReferences: others.length > 0 ? others : null });
}
