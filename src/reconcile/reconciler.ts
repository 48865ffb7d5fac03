// One reconcile of one MemoryDBUser: read the Secrets and MemoryDB, act idempotently, write
// the status, and tell the work queue when to come back. Every step may crash and rerun.
import { AwsFault } from "../aws/faults.ts";
import type { UserDirectory } from "../aws/directory.ts";
import type { MemoryDBApi } from "../aws/memorydb.ts";
import type { EventRecorder } from "../events.ts";
import type { CallOptions, KubeApi, SecretData } from "../kube/api.ts";
import type { LabelSelector } from "../kube/label-selector.ts";
import { addFinalizerPatch, removeFinalizerPatch } from "../kube/finalizer.ts";
import type { Logger } from "../log.ts";
import {
  type AcceptedAccessString,
  FINALIZER,
  type PendingPasswords,
  type MemoryDBUser,
  type ObservedUser,
  OWNERSHIP_TAG_KEY,
  type PasswordSource,
  RETAINED_TAG_KEY,
} from "../model.ts";
import type { Redacted } from "../redacted.ts";
import {
  acceptedAccessString,
  type Action,
  decide,
  decideDeletion,
  type Defaults,
  diffTags,
  type DesiredUser,
  desiredUser,
  identityChange,
  wasInSync,
  mutates,
  type Observation,
  type Ownership,
  ownershipFromTags,
  passwordSources,
  sameSources,
  presumablyOurs,
  tagQuotaProblem,
  recordedIdentity,
  updateReason,
} from "./decide.ts";
import { type KeyMemory, Memory, tagsHash } from "./memory.ts";
import { type PasswordKnowledge, passwordKnowledge, type PasswordVerifier } from "./verifier.ts";
import {
  claimedByAnother,
  conflict,
  failedFromFault,
  nextStatus,
  type Outcome,
  type Retry,
  retryFor,
  settle,
  type Established,
  statusPatch,
  SYNC_TIME_REFRESH_MS,
  worthWriting,
} from "./outcome.ts";
import { inputsFingerprint, resolvePasswords } from "./passwords.ts";

export interface ReconcilerDeps {
  kube: Pick<KubeApi, "readSecret" | "patchUserStatus" | "patchUserMetadata">;
  /** The region's MemoryDB, its calls cancelled by `signal`. */
  memorydb: (region: string, signal?: AbortSignal) => MemoryDBApi;
  /** Resync snapshots of every user per region; optional. */
  directory?: UserDirectory;
  events: Pick<EventRecorder, "record">;
  logger: Logger;
  defaults: Defaults;
  /** Tags are read back (ListTags) at most this often unless the desired tags change. */
  tagResyncPeriodMs: number;
  /** A snapshot older than this is not trusted. */
  snapshotMaxAgeMs: number;
  /** Regions resources may name; empty means any. */
  allowedRegions?: readonly string[];
  /** Only Secrets this matches may hold passwords (--secret-label-selector). */
  secretSelector?: LabelSelector | undefined;
  /** Makes the passwords' verifiers (keyed HMACs), kept in the status. */
  verifier: PasswordVerifier;
  /** Passwords were sent with UpdateUser, and why: changed, uncertain (after an interruption), unknown. */
  onPasswordsSent?: (why: PasswordKnowledge["state"]) => void;
  now?: () => Date;
  random?: () => number;
}

export interface ReconcileContext {
  /** Another resource with a better claim to the same MemoryDB user name. */
  claimant?: MemoryDBUser | undefined;
  /** The resourceVersion of a Secret as the (metadata-only) watch last saw it. */
  secretVersion?: (namespace: string, name: string) => string | undefined;
  /** Cancels the reconcile's calls (the operator is shutting down). */
  signal?: AbortSignal;
}

/** The passwords this reconcile would send, and those recorded as being sent. */
interface Sending {
  current: PasswordSource[];
  pending: PendingPasswords | undefined;
}

/** What an apply step concluded, and the password sources it established, if any. */
interface Applied {
  outcome: Outcome;
  passwordSecrets?: PasswordSource[];
}

/** What the reconcile found in MemoryDB, with ownership read from the tags when `tags` is set. */
interface Found extends Observation {
  action: Action;
}

const isFault = (err: unknown, ...codes: string[]): err is AwsFault => err instanceof AwsFault && codes.includes(err.code);

export class Reconciler {
  readonly #d: ReconcilerDeps;
  readonly #memory = new Memory();

  constructor(deps: ReconcilerDeps) {
    this.#d = deps;
  }

  /** Forget what is remembered about a resource that no longer exists. */
  forget(key: string): void {
    this.#memory.forget(key);
  }

  #now(): number {
    return (this.#d.now ?? (() => new Date()))().getTime();
  }

  async reconcile(resource: MemoryDBUser, context: ReconcileContext = {}): Promise<Retry> {
    const key = `${resource.metadata.namespace}/${resource.metadata.name}`;
    const log = this.#d.logger.child({ key });
    const mem = this.#memory.get(key);
    const call: CallOptions = { signal: context.signal };
    // The watch may not have delivered our own last write yet: never act on an older copy.
    let user = this.#latest(mem, resource);
    if (user.metadata.deletionTimestamp) return this.#cleanup(user, key, mem, log, call);

    // The finalizer goes on before anything can exist in MemoryDB.
    const patch = addFinalizerPatch(user.metadata.finalizers, FINALIZER);
    if (patch) {
      const patched = await this.#d.kube.patchUserMetadata(user.metadata.namespace, user.metadata.name, patch, call);
      if (!patched) return "none";
      this.#wrote(mem, user, patched);
      user = patched;
    }

    const desired = desiredUser(user, this.#d.defaults);
    this.#spreadTagChecks(user, desired, mem);
    if (!context.claimant && this.#inSyncWithoutSecrets(user, desired, mem, context)) {
      log.debug("in sync per the resync snapshot and the Secret versions: nothing to read");
      return "none";
    }
    // A terminal failure is not retried, nor counted again, until the spec or a Secret changes:
    // first judged from the versions the watch saw, so that a resync reads nothing.
    const secretNames = [...new Set(desired.passwordRefs.map((r) => r.name))];
    const watched = context.secretVersion;
    if (watched && mem.terminalInputs === inputsFingerprint(user.metadata.generation, new Map(secretNames.map((n) => [n, watched(user.metadata.namespace, n)])))) {
      log.debug("terminal failure and nothing changed since: nothing to do");
      return "none";
    }
    const secrets = await this.#readSecrets(user.metadata.namespace, secretNames, call);
    const fingerprint = inputsFingerprint(user.metadata.generation, new Map([...secrets].map(([n, secret]) => [n, secret?.resourceVersion])));
    if (mem.terminalInputs === fingerprint) {
      log.debug("terminal failure and nothing changed since: nothing to do");
      return "none";
    }
    delete mem.terminalInputs;

    const blocked = this.#blocked(user, desired, context);
    const { outcome, passwordSecrets }: Applied = blocked ? { outcome: blocked } : await this.#apply(user, desired, secrets, mem, log, call);
    const retry = retryFor(outcome);
    if (retry === "untilInputsChange") mem.terminalInputs = fingerprint;
    await this.#report(user, mem, outcome, retry, log, call, { passwordSecrets, acceptedAccessString: this.#acceptAccessString(mem, desired, outcome) });
    return retry;
  }

  /** Why nothing may be done for the resource in MemoryDB, found before any call. */
  #blocked(user: MemoryDBUser, desired: DesiredUser, context: ReconcileContext): Outcome | undefined {
    const changedIdentity = identityChange(user, desired);
    if (changedIdentity) return { kind: "failed", reason: "ImmutableFieldChanged", message: changedIdentity, retry: "untilInputsChange" };
    const tooManyTags = tagQuotaProblem(user, desired);
    if (tooManyTags) return { kind: "failed", reason: "TooManyTags", retry: "untilInputsChange", message: tooManyTags };
    return this.#regionRefused(desired) ?? (context.claimant ? claimedByAnother(desired, context.claimant) : undefined);
  }

  /** A region the administrator does not allow (--allowed-regions): nothing is called there. */
  #regionRefused(desired: DesiredUser): Outcome | undefined {
    const allowed = this.#d.allowedRegions ?? [];
    if (allowed.length === 0 || allowed.includes(desired.region)) return undefined;
    return {
      kind: "failed",
      reason: "RegionNotAllowed",
      retry: "untilInputsChange",
      message: `this operator may not use region ${desired.region} (allowed: ${allowed.join(", ")}); choose an allowed spec.region or ask an administrator`,
    };
  }

  /** Once the user is active after the operator sent the access string, what it shows is MemoryDB's form of it. */
  #acceptAccessString(mem: KeyMemory, desired: DesiredUser, outcome: Outcome): AcceptedAccessString | undefined {
    if (outcome.kind !== "ready" || mem.pendingAccessString !== desired.accessString) return undefined;
    delete mem.pendingAccessString;
    return { requested: desired.accessString, reported: outcome.observed.accessString };
  }

  /** Remember a write, so the next reconcile does not start from the copy it replaced. */
  #wrote(mem: KeyMemory, before: MemoryDBUser, after: MemoryDBUser): void {
    const rv = before.metadata.resourceVersion ?? "";
    const last = mem.lastWrite;
    // Every version this reconcile's writes replaced, the intermediate ones included.
    const chained = last && (last.object.metadata.resourceVersion === rv || last.over.includes(rv)) ? [...last.over, last.object.metadata.resourceVersion ?? ""].slice(-8) : [];
    mem.lastWrite = { over: [...new Set([...chained, rv])], object: after };
  }

  /** The newest copy of the resource this process knows: its own last write, if the given copy is older. */
  #latest(mem: KeyMemory, resource: MemoryDBUser): MemoryDBUser {
    return mem.lastWrite?.over.includes(resource.metadata.resourceVersion ?? "") ? mem.lastWrite.object : resource;
  }

  async #report(
    user: MemoryDBUser,
    mem: KeyMemory,
    outcome: Outcome,
    retry: Retry,
    log: Logger,
    call: CallOptions,
    established: Established = {},
  ): Promise<void> {
    const now = new Date(this.#now());
    // Compared with the newest status: this reconcile may have written one (pending passwords).
    const latest = this.#latest(mem, user);
    const previous = latest.status;
    const patch = statusPatch(previous, nextStatus(previous, outcome, user.metadata.generation, now, established));
    // Passwords established are no longer pending.
    if (established.passwordSecrets !== undefined && previous?.passwordSecretsPending !== undefined) patch.passwordSecretsPending = null;
    if (worthWriting(previous, patch, now)) {
      const written = await this.#d.kube.patchUserStatus(user.metadata.namespace, user.metadata.name, patch, call);
      if (written) this.#wrote(mem, latest, written);
    }
    if (outcome.kind === "failed") {
      // A fixed message, the rest as fields (a `message` field would be appended to the text).
      log.warn("reconcile failed", { reason: outcome.reason, detail: outcome.message, retry });
      // Passing faults are retried quietly; everything a person may need to act on is an Event.
      if (retry !== "backoff" || outcome.reason === "SecretNotFound") {
        this.#d.events.record({ regarding: user, type: "Warning", reason: outcome.reason, action: "Reconcile", note: outcome.message }, call);
      }
    } else {
      log.debug("reconciled", { outcome: outcome.kind, state: outcome.observed.status });
    }
  }

  async #readSecrets(namespace: string, names: readonly string[], call: CallOptions): Promise<Map<string, SecretData | undefined>> {
    const data = await Promise.all(names.map((name) => this.#d.kube.readSecret(namespace, name, call)));
    return new Map(names.map((name, i) => [name, data[i]]));
  }

  async #apply(
    user: MemoryDBUser,
    desired: DesiredUser,
    secrets: Map<string, SecretData | undefined>,
    mem: KeyMemory,
    log: Logger,
    call: CallOptions,
  ): Promise<Applied> {
    const resolution = resolvePasswords(user.metadata.namespace, desired.passwordRefs, secrets, this.#d.secretSelector);
    if (!resolution.ok) {
      // A missing Secret may appear any moment: back off and look again. A bad value is terminal.
      const retry = resolution.reason === "SecretNotFound" ? "backoff" : "untilInputsChange";
      return { outcome: { kind: "failed", reason: resolution.reason, message: resolution.message, retry } };
    }
    const passwords = resolution.passwords;
    const versions = new Map([...secrets].map(([n, s]) => [n, s?.resourceVersion]));
    const uid = user.metadata.uid ?? `${user.metadata.namespace}/${user.metadata.name}`;
    const current = passwordSources(desired.passwordRefs, versions).map((source, i) => ({
      ...source,
      verifier: this.#d.verifier.of(uid, desired.passwordRefs[i]!, passwords[i]!),
    }));
    // What is known of MemoryDB's passwords; after this reconcile records a send as pending, that too.
    const sending: Sending = { current, pending: user.status?.passwordSecretsPending };
    const observation = () => ({
      passwords: passwordKnowledge(current, user.status?.passwordSecrets, sending.pending, this.#d.verifier.keyId),
      acceptedAccessString: acceptedAccessString(user, desired),
      accessStringPending: mem.pendingAccessString === desired.accessString,
    });
    const api = this.#d.memorydb(desired.region, call.signal);

    try {
      const fromSnapshot = this.#inSyncFromSnapshot(user, desired, mem, observation());
      if (fromSnapshot) return { outcome: { kind: "ready", observed: fromSnapshot }, passwordSecrets: current };

      // A CreateUser that meets an existing user, or a change that finds the user gone, looks again.
      for (let round = 0; ; round++) {
        try {
          const found = await this.#find(user, desired, mem, api, observation());
          const outcome = await this.#perform(user, desired, found, passwords, sending, api, mem, log, call);
          // Only these actions, when they succeed, leave MemoryDB holding the desired passwords.
          const applied = outcome.kind !== "failed" && ["create", "sync", "inSync"].includes(found.action.type);
          if (!applied) return { outcome };
          return { outcome, passwordSecrets: current };
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

  /**
   * Describe the user and decide. Ownership is presumed from the status for a read-only "in
   * sync"; before any change it is read from the user's tags.
   */
  async #find(
    user: MemoryDBUser,
    desired: DesiredUser,
    mem: KeyMemory,
    api: MemoryDBApi,
    observation: Pick<Observation, "passwords" | "acceptedAccessString" | "accessStringPending">,
  ): Promise<Found> {
    const observed = await api.describeUser(desired.userName);
    const decideWith = (ownership: Ownership, tags: Record<string, string> | undefined): Found => {
      const obs: Observation = { user: observed, ownership, tags, ...observation };
      return { ...obs, action: decide(desired, obs) };
    };
    if (!observed) return decideWith({ kind: "ours" }, undefined);
    if (presumablyOurs(user, observed) && !this.#tagsDue(mem, desired)) {
      const presumed = decideWith({ kind: "ours" }, undefined);
      if (!mutates(presumed.action)) return presumed;
    }
    const tags = await api.listTags(observed.arn);
    const found = decideWith(ownershipFromTags(tags, desired), tags);
    // Only tags that match now count as checked: a user found busy (modifying) has not had
    // changed tags applied yet, and the next reconcile must read them again.
    if (found.ownership.kind === "ours" && diffTags(desired.tags, tags) === undefined) this.#tagsChecked(mem, desired);
    return found;
  }

  /** The resync snapshot shows the user active and matching: no need to ask MemoryDB again. */
  #inSyncFromSnapshot(
    user: MemoryDBUser,
    desired: DesiredUser,
    mem: KeyMemory,
    observation: Pick<Observation, "passwords" | "acceptedAccessString" | "accessStringPending">,
  ): ObservedUser | undefined {
    const snap = this.#d.directory?.lookup(desired.region, desired.userName, mem.lastMutation ?? 0, this.#d.snapshotMaxAgeMs, this.#now());
    if (!snap || !presumablyOurs(user, snap) || this.#tagsDue(mem, desired)) return undefined;
    const action = decide(desired, { user: snap, ownership: { kind: "ours" }, tags: undefined, ...observation });
    return action.type === "inSync" ? snap : undefined;
  }

  /**
   * The common resync case, at no cost: the Secrets' versions (from the watch) are the ones
   * last applied, and the snapshot shows the user in sync. Nothing to read, nothing to write.
   */
  #inSyncWithoutSecrets(user: MemoryDBUser, desired: DesiredUser, mem: KeyMemory, context: ReconcileContext): boolean {
    const version = context.secretVersion;
    const lastSync = Date.parse(user.status?.lastSyncTime ?? "");
    if (!version || mem.terminalInputs !== undefined || identityChange(user, desired) || !wasInSync(user)) return false;
    // Keep lastSyncTime from growing older than promised.
    if (!(this.#now() - lastSync < SYNC_TIME_REFRESH_MS)) return false;
    const sources = passwordSources(desired.passwordRefs, new Map(desired.passwordRefs.map((r) => [r.name, version(user.metadata.namespace, r.name)])));
    if (desired.authType === "password" && !sameSources(sources, user.status?.passwordSecrets)) return false;
    const observation = {
      passwords: { state: "same" } as const,
      acceptedAccessString: acceptedAccessString(user, desired),
      accessStringPending: mem.pendingAccessString === desired.accessString,
    };
    return this.#inSyncFromSnapshot(user, desired, mem, observation) !== undefined;
  }

  /**
   * A resource that was in sync when last reconciled (e.g. before a restart) had its tags
   * applied then: schedule its next tag check at a random point of the period, so that
   * thousands of users' checks do not all fall due at once.
   */
  #spreadTagChecks(user: MemoryDBUser, desired: DesiredUser, mem: KeyMemory): void {
    if (mem.tagsCheckedAt !== undefined || !wasInSync(user)) return;
    mem.tagsHash = tagsHash(desired.tags);
    mem.tagsCheckedAt = this.#now() - Math.floor((this.#d.random ?? Math.random)() * this.#d.tagResyncPeriodMs);
  }

  #tagsDue(mem: KeyMemory, desired: DesiredUser): boolean {
    return (
      mem.tagsHash !== tagsHash(desired.tags) ||
      mem.tagsCheckedAt === undefined ||
      this.#now() - mem.tagsCheckedAt >= this.#d.tagResyncPeriodMs
    );
  }

  #tagsChecked(mem: KeyMemory, desired: DesiredUser): void {
    mem.tagsHash = tagsHash(desired.tags);
    mem.tagsCheckedAt = this.#now();
  }

  async #perform(
    user: MemoryDBUser,
    desired: DesiredUser,
    found: Found,
    passwords: Redacted[],
    sending: Sending,
    api: MemoryDBApi,
    mem: KeyMemory,
    log: Logger,
    call: CallOptions,
  ): Promise<Outcome> {
    const { action, user: observed } = found;
    const event = (reason: string, operation: string, note: string) =>
      this.#d.events.record({ regarding: user, type: "Normal", reason, action: operation, note }, call);
    switch (action.type) {
      case "create": {
        log.info("creating MemoryDB user", { userName: desired.userName, region: desired.region });
        await this.#recordSending(user, "CreateUser", sending, mem, call);
        const created = await api.createUser({
          userName: desired.userName,
          accessString: desired.accessString,
          authType: desired.authType,
          passwords,
          tags: desired.tags,
        });
        mem.lastMutation = this.#now();
        mem.pendingAccessString = desired.accessString;
        this.#tagsChecked(mem, desired);
        if (user.status?.arn) {
          event("Recreated", "CreateUser", `MemoryDB user "${created.name}" was deleted outside Kubernetes; created it again`);
        } else {
          event("Created", "CreateUser", `created MemoryDB user "${created.name}"`);
        }
        return settle(created, "Creating", true);
      }
      case "sync": {
        let current = observed!;
        if (action.adopt) {
          // Claim the user with the ownership tag alone and read the claim back before changing
          // anything: of two adopters racing (another cluster, say), only the one whose tag
          // stuck goes on, and the loser has overwritten nothing else.
          await api.tagResource(current.arn, { [OWNERSHIP_TAG_KEY]: desired.ownerTag });
          const claimed = ownershipFromTags(await api.listTags(current.arn), desired);
          if (claimed.kind !== "ours") return conflict(desired, "UserNameConflict", claimed);
          event("Adopted", "TagResource", `adopted the existing MemoryDB user "${current.name}"`);
        }
        if (action.tags) {
          // Removals first: MemoryDB's 50-tag quota counts old and new tags together.
          const { set, remove } = action.tags;
          if (remove.length > 0) await api.untagResource(current.arn, remove);
          if (Object.keys(set).length > 0) await api.tagResource(current.arn, set);
          this.#tagsChecked(mem, desired);
          if (!action.adopt) {
            const note = [Object.keys(set).length > 0 ? `set ${Object.keys(set).join(", ")}` : "", remove.length > 0 ? `removed ${remove.join(", ")}` : ""]
              .filter((s) => s)
              .join("; ");
            event(wasInSync(user) ? "DriftCorrected" : "Updated", "TagResource", `tags of MemoryDB user "${current.name}": ${note}`);
          }
        }
        const changes = action.changes;
        if (Object.keys(changes).length > 0) {
          const fields = Object.keys(changes).map((k) => (k === "authType" ? "authentication type" : k === "accessString" ? "access string" : k));
          log.info("updating MemoryDB user", { userName: desired.userName, changed: fields.join(", ") });
          const auth = changes.authType !== undefined || changes.passwords;
          if (changes.passwords) {
            await this.#recordSending(user, "UpdateUser", sending, mem, call);
            const why = found.passwords.state;
            this.#d.onPasswordsSent?.(why === "changed" || why === "uncertain" ? why : "unknown");
          }
          current = await api.updateUser({
            userName: desired.userName,
            ...(changes.accessString === undefined ? {} : { accessString: changes.accessString }),
            ...(auth ? { authentication: { type: desired.authType, passwords: desired.authType === "password" ? passwords : [] } } : {}),
          });
          mem.lastMutation = this.#now();
          if (changes.accessString !== undefined) mem.pendingAccessString = changes.accessString;
          if (!action.adopt) {
            const reason = updateReason(user, changes, found.passwords);
            const note =
              reason === "PasswordRotated"
                ? `set ${passwords.length} password(s) of MemoryDB user "${current.name}" from the referenced Secrets`
                : `updated ${fields.join(", ")} of MemoryDB user "${current.name}"`;
            event(reason, "UpdateUser", note);
          }
        }
        return settle(current, "Modifying", true);
      }
      case "conflict":
        log.info("leaving an existing user alone", { reason: action.reason, ownership: action.ownership });
        return conflict(desired, action.reason, action.ownership);
      case "forbidden":
        return { kind: "failed", reason: "Forbidden", message: action.message, retry: "untilInputsChange" };
      case "wait":
        return settle(observed!, "Modifying", false);
      case "inSync":
        // Found with this resource's ownership tag holding what a CreateUser sent: the user this
        // resource created (the answer was lost, or the operator stopped before the status write).
        if (found.passwords.state === "created") event("Created", "CreateUser", `created MemoryDB user "${observed!.name}"`);
        return { kind: "ready", observed: observed! };
    }
  }

  /**
   * Before passwords go to MemoryDB, the status records them as pending (verifiers only): if the
   * answer is lost or the operator stops, the next reconcile knows what it may have sent.
   */
  async #recordSending(user: MemoryDBUser, operation: PendingPasswords["operation"], sending: Sending, mem: KeyMemory, call: CallOptions): Promise<void> {
    const pending: PendingPasswords = { operation, secrets: sending.current };
    if (JSON.stringify(sending.pending) === JSON.stringify(pending)) return;
    const written = await this.#d.kube.patchUserStatus(user.metadata.namespace, user.metadata.name, { passwordSecretsPending: pending }, call);
    if (written) this.#wrote(mem, this.#latest(mem, user), written);
    sending.pending = pending;
  }

  /** Deletion: release, retain or delete the MemoryDB user, then drop the finalizer. */
  async #cleanup(user: MemoryDBUser, key: string, mem: KeyMemory, log: Logger, call: CallOptions): Promise<Retry> {
    if (!user.metadata.finalizers?.includes(FINALIZER)) return "none";
    // Only the user the spec names is deleted: the status can be written by others than the
    // operator, so a status naming another user is reported, never acted on.
    const desired = desiredUser(user, this.#d.defaults);
    const mismatch = identityChange(user, desired);
    if (mismatch) {
      const note = `${mismatch}; deletion acts only on MemoryDB user "${desired.userName}" in ${desired.region}`;
      log.warn("status and spec name different users", { note });
      this.#d.events.record({ regarding: user, type: "Warning", reason: "ImmutableFieldChanged", action: "Delete", note }, call);
    }
    const refused = this.#regionRefused(desired);
    if (refused) {
      // Deleting there is not allowed either: keep the finalizer and say why.
      await this.#report(user, mem, refused, "slow", log, call);
      return "slow";
    }
    const api = this.#d.memorydb(desired.region, call.signal);
    const release = async (reason: string | undefined, note: string) => {
      const patch = removeFinalizerPatch(user.metadata.finalizers, FINALIZER);
      if (patch) await this.#d.kube.patchUserMetadata(user.metadata.namespace, user.metadata.name, patch, call);
      if (reason) this.#d.events.record({ regarding: user, type: "Normal", reason, action: "Delete", note }, call);
      log.info(note);
      this.forget(key);
      return "none" as const;
    };
    // "Deleted" only for a user this resource had: one that never existed was not deleted.
    const gone = () =>
      user.status?.arn === undefined
        ? release(undefined, `no MemoryDB user "${desired.userName}" to delete`)
        : release("Deleted", `MemoryDB user "${desired.userName}" is deleted`);
    let outcome: Outcome;
    try {
      const observed = await api.describeUser(desired.userName);
      // Deleting or releasing changes the user: ownership comes from its tags, never presumed.
      const ownership: Ownership = observed === undefined ? { kind: "ours" } : ownershipFromTags(await api.listTags(observed.arn), desired);
      const action = decideDeletion(desired, observed, ownership);
      switch (action.type) {
        case "release":
          return action.why === "gone"
            ? gone()
            : release("Released", `MemoryDB user "${desired.userName}" is not managed by this resource; left untouched`);
        case "retain":
          // Mark where it was retained from before dropping the ownership tag: this namespace
          // may adopt it back without a grant (a crash in between leaves it still owned).
          await api.tagResource(observed!.arn, { [RETAINED_TAG_KEY]: desired.retainedTag });
          await api.untagResource(observed!.arn, [OWNERSHIP_TAG_KEY]);
          return release("Retained", `kept MemoryDB user "${desired.userName}" (deletionPolicy Retain) and removed its ownership tag`);
        case "delete": {
          log.info("deleting MemoryDB user", { userName: desired.userName });
          if (!(await api.deleteUser(desired.userName))) return gone();
          mem.lastMutation = this.#now();
          outcome = { kind: "progressing", observed: { ...observed!, status: "deleting" }, reason: "Deleting", message: "MemoryDB is deleting the user", applied: true };
          break;
        }
        case "wait":
          outcome = settle(observed!, "Deleting", true);
          break;
      }
    } catch (err) {
      // Gone is only what DescribeUsers or DeleteUser say; a tag call's UserNotFoundFault is a
      // busy user (transient), looked at again after the backoff.
      if (!(err instanceof AwsFault)) throw err;
      outcome = failedFromFault(err);
    }
    const retry = retryFor(outcome);
    await this.#report(user, mem, outcome, retry, log, call);
    return retry === "untilInputsChange" ? "slow" : retry;
  }
}
