// The apply half of a reconcile: make MemoryDB hold what the resource asks for. Read what is
// needed (and no more: see knowledge.ts), decide (decide.ts), act (act.ts), report.

import type { MemoryDBApi } from "../aws/api.ts";
import { AwsFault } from "../aws/faults.ts";
import type { SecretData } from "../kube/api.ts";
import type { ObservedUser, PasswordRotationStatus, PasswordSource, SecretKeyRef } from "../model.ts";
import type { Redacted } from "../redacted.ts";
import { type Assessment, act, type Sending } from "./act.ts";
import { acceptedAccessString, decide, diffTags, mutates, type Observation } from "./decide.ts";
import { type DesiredUser, describeIdentityChange, tagQuotaProblem } from "./desired.ts";
import { advanceGenerated, type GeneratedSecret, prepareGenerated, rotationRequest } from "./generated.ts";
import { neverRecorded } from "./knowledge.ts";
import { claimedByAnother, failedFromFault, type Outcome, type Retry, retryFor } from "./outcome.ts";
import { earlierClaimant, type Ownership, ownershipFromTags, presumablyOurs } from "./ownership.ts";
import { inputsFingerprint, passwordSources, resolvePasswords } from "./passwords.ts";
import { nextStepIn, rotationStatus } from "./rotation.ts";
import type { Turn } from "./turn.ts";
import { generatedPasswordKnowledge, passwordKnowledge } from "./verifier.ts";

const isFault = (err: unknown, ...codes: string[]): err is AwsFault => err instanceof AwsFault && codes.includes(err.code);

export async function apply(turn: Turn): Promise<Retry> {
  const { user, desired, knowledge, log, context } = turn;
  knowledge.spreadTagChecks(user, desired);
  const claimant = earlierClaimant(user, context.rivals ?? [], turn.deps.defaults.region);
  if (
    !claimant &&
    turn.identity.ok &&
    knowledge.inSyncWithoutReads(user, desired, context.secretVersion, turn.identity.identity, rotationRequest(turn))
  ) {
    log.debug("in sync per the resync snapshot and the Secret versions: nothing to read");
    return desired.generated ? scheduled(user.status?.passwordRotation, turn) : "none";
  }
  // A terminal failure is not retried, nor counted again, until the spec or a Secret changes:
  // first judged from the versions the watch saw, so that a resync reads nothing.
  const { namespace, generation } = user.metadata;
  const secretNames = [...new Set(desired.passwordRefs.map((r) => r.name))];
  const watched = context.secretVersion;
  if (watched && knowledge.isTerminal(inputsFingerprint(generation, new Map(secretNames.map((n) => [n, watched(namespace, n)]))))) {
    log.debug("terminal failure and nothing changed since: nothing to do");
    return "none";
  }
  const secrets = await readSecrets(turn, secretNames);
  const fingerprint = () => inputsFingerprint(generation, new Map([...secrets].map(([n, secret]) => [n, secret?.resourceVersion])));
  if (knowledge.isTerminal(fingerprint())) {
    log.debug("terminal failure and nothing changed since: nothing to do");
    return "none";
  }
  knowledge.terminalOn(undefined);

  let blocked = blockedBy(turn, claimant);
  // A generated password is in its Secret before MemoryDB may see it.
  let generated: GeneratedSecret | undefined;
  if (!blocked && desired.generated) {
    const prepared = await prepareGenerated(turn, secrets.get(desired.generated.secretName));
    if (prepared.kind === "changed") return "now";
    if (prepared.kind === "failed") blocked = prepared.outcome;
    else {
      generated = prepared.generated;
      secrets.set(desired.generated.secretName, generated.secret);
      turn.usePasswordRefs(generated.refs);
    }
  }
  const { outcome, passwordSecrets } = blocked ? { outcome: blocked, passwordSecrets: undefined } : await applyWith(turn, secrets);
  const retry = retryFor(outcome);
  if (retry === "untilInputsChange") knowledge.terminalOn(fingerprint());
  const acceptedAccessString = outcome.kind === "ready" ? knowledge.accessStringSeen(desired, outcome.observed) : undefined;
  const passwordRotation = generated && rotationStatus(generated.state, desired.generated!);
  // What MemoryDB holds is recorded before the Secret moves on: a stop in between sends nothing twice.
  await turn.report(outcome, retry, { passwordSecrets, acceptedAccessString, passwordRotation });
  if (generated && outcome.kind !== "failed") {
    // Then at most one step of a rotation, on what this reconcile found MemoryDB to hold; the
    // next reconcile (at once) reports it.
    const synced = { held: passwordSecrets !== undefined, ready: outcome.kind === "ready" };
    if (await advanceGenerated(turn, generated, synced)) return "now";
  }
  return passwordRotation && retry === "none" ? scheduled(passwordRotation, turn) : retry;
}

/** When the rotation has its next step (or "poll" if one is due that this reconcile could not take). */
function scheduled(status: PasswordRotationStatus | undefined, turn: Turn): Retry {
  const ms = nextStepIn(status, rotationRequest(turn), turn.now().getTime());
  return ms === undefined ? "none" : ms === 0 ? "poll" : { afterMs: ms };
}

async function readSecrets(turn: Turn, names: readonly string[]): Promise<Map<string, SecretData | undefined>> {
  const { namespace } = turn.user.metadata;
  const data = await Promise.all(names.map((name) => turn.deps.kube.readSecret(namespace, name, turn.call)));
  return new Map(names.map((name, i) => [name, data[i]]));
}

/** Why nothing may be done for the resource in MemoryDB, found before any call. */
function blockedBy(turn: Turn, claimant: ReturnType<typeof earlierClaimant>): Outcome | undefined {
  const { user, desired } = turn;
  const changedIdentity = describeIdentityChange(user, desired);
  if (changedIdentity) return { kind: "failed", reason: "ImmutableFieldChanged", message: changedIdentity, retry: "untilInputsChange" };
  const tooManyTags = tagQuotaProblem(user, desired);
  if (tooManyTags) return { kind: "failed", reason: "TooManyTags", retry: "untilInputsChange", message: tooManyTags };
  // Only where the API server does not enforce the CRD's rules.
  const badSettings = desired.generated?.problem;
  if (badSettings) return { kind: "failed", reason: "InvalidSpec", retry: "untilInputsChange", message: badSettings };
  return regionRefused(turn) ?? turn.accountRefused() ?? (claimant ? claimedByAnother(desired, claimant) : undefined);
}

/** A region the administrator does not allow (--allowed-regions): nothing is called there. */
export function regionRefused(turn: Turn): Outcome | undefined {
  const allowed = turn.deps.allowedRegions ?? [];
  const { region } = turn.desired;
  if (allowed.length === 0 || allowed.includes(region)) return undefined;
  return {
    kind: "failed",
    reason: "RegionNotAllowed",
    retry: "untilInputsChange",
    message: `this operator may not use region ${region} (allowed: ${allowed.join(", ")}); choose an allowed spec.region or ask an administrator`,
  };
}

async function applyWith(
  turn: Turn,
  secrets: Map<string, SecretData | undefined>,
): Promise<{ outcome: Outcome; passwordSecrets?: PasswordSource[] | undefined }> {
  const { user, desired, knowledge, deps } = turn;
  const resolution = resolvePasswords(user.metadata.namespace, desired.passwordRefs, secrets, deps.secretSelector);
  if (!resolution.ok) {
    // A missing Secret may appear any moment: back off and look again. A bad value is terminal.
    const retry = resolution.reason === "SecretNotFound" ? "backoff" : "untilInputsChange";
    return { outcome: { kind: "failed", reason: resolution.reason, message: resolution.message, retry } };
  }
  const passwords = resolution.passwords;
  const uid = user.metadata.uid ?? `${user.metadata.namespace}/${user.metadata.name}`;
  const versions = new Map([...secrets].map(([n, s]) => [n, s?.resourceVersion]));
  // A generated password's verifier does not depend on the key that holds it (rotation moves it).
  const verify = (ref: SecretKeyRef, password: Redacted) =>
    desired.generated ? deps.verifier.ofGenerated(uid, ref.name, password) : deps.verifier.of(uid, ref, password);
  const knowledgeOf = desired.generated ? generatedPasswordKnowledge : passwordKnowledge;
  const current = passwordSources(desired.passwordRefs, versions).map((source, i) => ({
    ...source,
    verifier: verify(desired.passwordRefs[i]!, passwords[i]!),
  }));
  // What is known of MemoryDB's passwords; once this turn records a send as pending, that too.
  const sending: Sending = { current, pending: user.status?.passwordSecretsPending };
  const observation = () => ({
    passwords: knowledgeOf(current, knowledge.passwordsApplied(user.status), sending.pending, deps.verifier.keyId),
    acceptedAccessString: acceptedAccessString(user, desired),
    accessStringPending: knowledge.accessStringPending(desired),
  });
  const api = turn.api();
  try {
    const snap = knowledge.snapshotOf(user, desired, turn.identityInUse);
    if (snap && (await inSyncPerSnapshot(turn, api, snap, observation()))) {
      return { outcome: { kind: "ready", observed: snap }, passwordSecrets: current };
    }
    const place = { region: desired.region, identity: turn.identityInUse };
    if (neverRecorded(user)) await deps.directory?.ensure(place, deps.snapshotMaxAgeMs, turn.call.signal);
    // A CreateUser that meets an existing user, or a change that finds the user gone, looks again.
    for (let round = 0; ; round++) {
      try {
        // A user the region's listing does not show is created at once; a second look describes it.
        const absent = round === 0 && knowledge.absentPerListing(user, desired, place.identity);
        if (absent) turn.log.debug("the region's listing shows no such user: creating it without a DescribeUsers");
        const assessment = absent
          ? assessed(desired, { user: undefined, ...ours, ...observation() })
          : await assess(turn, api, observation());
        const outcome = await act(turn, assessment, passwords, sending, api);
        // Only these actions, when they succeed, leave MemoryDB holding the desired passwords.
        const applied = outcome.kind !== "failed" && ["create", "sync", "inSync"].includes(assessment.action.type);
        return applied ? { outcome, passwordSecrets: current } : { outcome };
      } catch (err) {
        // The user exists after all, or is gone or busy: look again (at most twice).
        if (round < 2 && isFault(err, "UserAlreadyExistsFault", "DuplicateUserNameFault", "UserNotFoundFault")) continue;
        throw err;
      }
    }
  } catch (err) {
    if (!(err instanceof AwsFault)) throw err;
    return { outcome: failedFromFault(err) };
  }
}

const ours = { ownership: { kind: "ours" }, tags: undefined } as const;

function assessed(desired: DesiredUser, observation: Observation): Assessment {
  return { ...observation, action: decide(desired, observation) };
}

/**
 * Whether the resync snapshot shows the user in sync: at no cost, or, when its tag check is due,
 * at the cost of reading its tags (the snapshot standing for the DescribeUsers). Anything else,
 * a tag read that fails included, is left to the careful path.
 */
async function inSyncPerSnapshot(
  turn: Turn,
  api: MemoryDBApi,
  snap: ObservedUser,
  observation: Pick<Observation, "passwords" | "acceptedAccessString" | "accessStringPending">,
): Promise<boolean> {
  const { desired, knowledge } = turn;
  const inSync = (ownership: Ownership, tags: Record<string, string> | undefined) =>
    decide(desired, { user: snap, ownership, tags, ...observation }).type === "inSync";
  if (!inSync({ kind: "ours" }, undefined)) return false;
  if (!knowledge.tagsDue(desired)) return true;
  const tags = await api.listTags(snap.arn).catch(() => undefined);
  if (!tags || !inSync(ownershipFromTags(tags, desired), tags)) return false;
  knowledge.tagsMatched(desired);
  return true;
}

/**
 * Describe the user and decide. Ownership is presumed from the status for a read-only "in sync";
 * before any change it is read from the user's tags.
 */
async function assess(
  turn: Turn,
  api: MemoryDBApi,
  observation: Pick<Observation, "passwords" | "acceptedAccessString" | "accessStringPending">,
): Promise<Assessment> {
  const { user, desired, knowledge } = turn;
  const observed = await api.describeUser(desired.userName);
  const decideWith = (ownership: Ownership, tags: Record<string, string> | undefined): Assessment =>
    assessed(desired, { user: observed, ownership, tags, ...observation });
  if (!observed) return assessed(desired, { user: undefined, ...ours, ...observation });
  if (presumablyOurs(user, observed) && !knowledge.tagsDue(desired)) {
    const presumed = decideWith({ kind: "ours" }, undefined);
    if (!mutates(presumed.action)) return presumed;
  }
  const tags = await api.listTags(observed.arn);
  const assessment = decideWith(ownershipFromTags(tags, desired), tags);
  // Only tags that match now count as checked: a user found busy (modifying) has not had changed
  // tags applied yet, and the next reconcile must read them again.
  if (assessment.ownership.kind === "ours" && diffTags(desired.tags, tags) === undefined) knowledge.tagsMatched(desired);
  return assessment;
}
