// One reconcile of one MemoryDBUser: read the Secrets and MemoryDB, act idempotently, write
// the status, and tell the work queue when to come back. Every step may crash and rerun.
import { AwsFault } from "../aws/faults.ts";
import type { UserDirectory } from "../aws/directory.ts";
import type { MemoryDBApi } from "../aws/memorydb.ts";
import type { EventRecorder } from "../events.ts";
import type { KubeApi, SecretData } from "../kube/api.ts";
import { addFinalizerPatch, removeFinalizerPatch } from "../kube/finalizer.ts";
import type { Logger } from "../log.ts";
import { FINALIZER, type MemoryDBUser, type ObservedUser, OWNERSHIP_TAG_KEY, type PasswordSource } from "../model.ts";
import type { Redacted } from "../redacted.ts";
import {
  type Action,
  decide,
  decideDeletion,
  type Defaults,
  type DesiredUser,
  desiredUser,
  ownershipFromTags,
  ownershipKnown,
  type Ownership,
  passwordSources,
  sameSources,
} from "./decide.ts";
import { type KeyMemory, Memory, passwordsDigest, tagsHash } from "./memory.ts";
import { nextStatus, type Outcome, type Retry, retryFor } from "./outcome.ts";
import { inputsFingerprint, resolvePasswords } from "./passwords.ts";

export interface ReconcilerDeps {
  kube: Pick<KubeApi, "readSecret" | "patchUserStatus" | "patchUserMetadata">;
  memorydb: (region: string) => MemoryDBApi;
  /** Resync snapshots of every user per region; optional. */
  directory?: UserDirectory;
  events: Pick<EventRecorder, "record">;
  logger: Logger;
  defaults: Defaults;
  /** Tags are read back (ListTags) at most this often unless the desired tags change. */
  tagResyncPeriodMs: number;
  /** A snapshot older than this is not trusted. */
  snapshotMaxAgeMs: number;
  now?: () => Date;
}

export interface ReconcileContext {
  /** Another resource with a better claim to the same MemoryDB user name. */
  claimant?: MemoryDBUser | undefined;
}

/** What an apply step concluded, and the password sources it established, if any. */
interface Applied {
  outcome: Outcome;
  passwordSecrets?: PasswordSource[];
}

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

  #now(): Date {
    return (this.#d.now ?? (() => new Date()))();
  }

  async reconcile(resource: MemoryDBUser, context: ReconcileContext = {}): Promise<Retry> {
    const key = `${resource.metadata.namespace}/${resource.metadata.name}`;
    const log = this.#d.logger.child({ key });
    if (resource.metadata.deletionTimestamp) return this.#cleanup(resource, key, log);

    // The finalizer goes on before anything can exist in MemoryDB.
    let user = resource;
    const patch = addFinalizerPatch(user.metadata.finalizers, FINALIZER);
    if (patch) {
      const patched = await this.#d.kube.patchUserMetadata(user.metadata.namespace, user.metadata.name, patch);
      if (!patched) return "none";
      user = patched;
    }

    const desired = desiredUser(user, this.#d.defaults);
    const mem = this.#memory.get(key);
    const secrets = await this.#readSecrets(user.metadata.namespace, desired);
    const fingerprint = inputsFingerprint(user.metadata.generation, secrets);
    if (mem.terminalInputs === fingerprint) {
      log.debug("terminal failure and nothing changed since: not calling MemoryDB");
      return "untilInputsChange";
    }
    delete mem.terminalInputs;

    const { outcome, passwordSecrets } = context.claimant
      ? { outcome: claimConflict(desired, context.claimant) }
      : await this.#apply(user, desired, secrets, mem, log);
    const retry = retryFor(outcome);
    if (retry === "untilInputsChange") mem.terminalInputs = fingerprint;
    await this.#report(user, outcome, retry, log, passwordSecrets);
    return retry;
  }

  async #report(user: MemoryDBUser, outcome: Outcome, retry: Retry, log: Logger, passwordSecrets?: PasswordSource[]): Promise<void> {
    const status = nextStatus(user.status, outcome, user.metadata.generation, this.#now(), passwordSecrets);
    await this.#d.kube.patchUserStatus(user.metadata.namespace, user.metadata.name, status);
    if (outcome.kind === "failed") {
      log.warn("reconcile failed", { reason: outcome.reason, message: outcome.message, retry });
      // Passing faults are retried quietly; everything a person may need to act on is an Event.
      if (retry !== "backoff" || outcome.reason === "SecretNotFound") {
        await this.#d.events.record({ regarding: user, type: "Warning", reason: outcome.reason, action: "Reconcile", note: outcome.message });
      }
    } else {
      log.debug("reconciled", { outcome: outcome.kind, state: outcome.observed.status });
    }
  }

  async #readSecrets(namespace: string, desired: DesiredUser): Promise<Map<string, SecretData | undefined>> {
    const names = [...new Set(desired.passwordRefs.map((r) => r.name))];
    const data = await Promise.all(names.map((name) => this.#d.kube.readSecret(namespace, name)));
    return new Map(names.map((name, i) => [name, data[i]]));
  }

  async #apply(
    user: MemoryDBUser,
    desired: DesiredUser,
    secrets: Map<string, SecretData | undefined>,
    mem: KeyMemory,
    log: Logger,
  ): Promise<Applied> {
    const resolution = resolvePasswords(user.metadata.namespace, desired.passwordRefs, secrets);
    if (!resolution.ok) {
      // A missing Secret may appear any moment: back off and look again. A bad value is terminal.
      const retry = resolution.reason === "SecretNotFound" ? "backoff" : "untilInputsChange";
      return { outcome: { kind: "failed", reason: resolution.reason, message: resolution.message, retry } };
    }
    const passwords = resolution.passwords;
    const sources = passwordSources(desired.passwordRefs, new Map([...secrets].map(([n, s]) => [n, s?.resourceVersion])));
    const digest = passwordsDigest(passwords);
    // The Secrets moved on: their values may have changed, unless they match what was last sent.
    const passwordsChanged = !sameSources(sources, user.status?.passwordSecrets) && mem.passwordsDigest !== digest;
    const established = { passwordSecrets: sources };
    const api = this.#d.memorydb(desired.region);

    try {
      const fromSnapshot = this.#inSyncFromSnapshot(user, desired, mem, passwordsChanged);
      if (fromSnapshot) return { outcome: { kind: "ready", observed: fromSnapshot }, ...established };

      // Two rounds at most: a CreateUser that meets an existing user looks again at whose it is.
      for (let round = 0; ; round++) {
        const observed = await api.describeUser(desired.userName);
        let tags: Record<string, string> | undefined;
        let ownership: Ownership = { kind: "ours" };
        if (observed && (!ownershipKnown(user, observed) || this.#tagsDue(mem, desired))) {
          tags = await api.listTags(observed.arn);
          ownership = ownershipFromTags(tags, desired);
          if (ownership.kind === "ours") this.#tagsChecked(mem, desired);
        }
        const action = decide(desired, { user: observed, ownership, tags, passwordsChanged });
        try {
          const outcome = await this.#perform(user, desired, action, observed, passwords, api, mem, log, passwordsChanged);
          // Only these actions, when they succeed, leave MemoryDB holding the desired passwords.
          if (outcome.kind === "failed" || (action.type !== "create" && action.type !== "sync" && action.type !== "inSync")) return { outcome };
          mem.passwordsDigest = digest;
          return { outcome, ...established };
        } catch (err) {
          if (round === 0 && err instanceof AwsFault && err.code === "UserAlreadyExistsFault") continue;
          throw err;
        }
      }
    } catch (err) {
      if (!(err instanceof AwsFault)) throw err;
      return { outcome: failedFromFault(err) };
    }
  }

  /** The resync snapshot shows the user active and matching: no need to ask MemoryDB again. */
  #inSyncFromSnapshot(user: MemoryDBUser, desired: DesiredUser, mem: KeyMemory, passwordsChanged: boolean): ObservedUser | undefined {
    const snap = this.#d.directory?.lookup(desired.region, desired.userName, mem.lastMutation ?? 0, this.#d.snapshotMaxAgeMs);
    if (!snap || !ownershipKnown(user, snap) || this.#tagsDue(mem, desired)) return undefined;
    const action = decide(desired, { user: snap, ownership: { kind: "ours" }, tags: undefined, passwordsChanged });
    return action.type === "inSync" ? snap : undefined;
  }

  #tagsDue(mem: KeyMemory, desired: DesiredUser): boolean {
    return (
      mem.tagsHash !== tagsHash(desired.tags) ||
      mem.tagsCheckedAt === undefined ||
      this.#now().getTime() - mem.tagsCheckedAt >= this.#d.tagResyncPeriodMs
    );
  }

  #tagsChecked(mem: KeyMemory, desired: DesiredUser): void {
    mem.tagsHash = tagsHash(desired.tags);
    mem.tagsCheckedAt = this.#now().getTime();
  }

  async #perform(
    user: MemoryDBUser,
    desired: DesiredUser,
    action: Action,
    observed: ObservedUser | undefined,
    passwords: Redacted[],
    api: MemoryDBApi,
    mem: KeyMemory,
    log: Logger,
    passwordsChanged: boolean,
  ): Promise<Outcome> {
    const event = (reason: string, action: string, note: string) =>
      this.#d.events.record({ regarding: user, type: "Normal", reason, action, note });
    switch (action.type) {
      case "create": {
        log.info("creating MemoryDB user", { userName: desired.userName, region: desired.region });
        const created = await api.createUser({
          userName: desired.userName,
          accessString: desired.accessString,
          authType: desired.authType,
          passwords,
          tags: desired.tags,
        });
        mem.lastMutation = this.#now().getTime();
        this.#tagsChecked(mem, desired);
        if (user.status?.arn) {
          await event("Recreated", "CreateUser", `MemoryDB user "${created.name}" was deleted outside Kubernetes; created it again`);
        } else {
          await event("Created", "CreateUser", `created MemoryDB user "${created.name}"`);
        }
        return settle(created, "Creating");
      }
      case "sync": {
        let current = observed!;
        if (action.adopt) {
          // Claim the user before changing it, then read the claim back: of two adopters racing
          // (another cluster, say), only the one whose tag stuck goes on.
          await api.tagResource(current.arn, desired.tags);
          const claimed = ownershipFromTags(await api.listTags(current.arn), desired);
          if (claimed.kind !== "ours") {
            return conflict(desired, "UserNameConflict", claimed.kind === "foreign" ? claimed.owner : undefined);
          }
          if (action.tags && action.tags.remove.length > 0) await api.untagResource(current.arn, action.tags.remove);
          this.#tagsChecked(mem, desired);
          await event("Adopted", "TagResource", `adopted the existing MemoryDB user "${current.name}"`);
        } else if (action.tags) {
          const { set, remove } = action.tags;
          if (Object.keys(set).length > 0) await api.tagResource(current.arn, set);
          if (remove.length > 0) await api.untagResource(current.arn, remove);
          this.#tagsChecked(mem, desired);
          const note = [Object.keys(set).length > 0 ? `set ${Object.keys(set).join(", ")}` : "", remove.length > 0 ? `removed ${remove.join(", ")}` : ""]
            .filter((s) => s)
            .join("; ");
          await event(isDrift(user) ? "DriftCorrected" : "Updated", "TagResource", `tags of MemoryDB user "${current.name}": ${note}`);
        }
        const changes = action.changes;
        if (Object.keys(changes).length > 0) {
          const fields = Object.keys(changes).map((k) => (k === "authType" ? "authentication type" : k === "accessString" ? "access string" : k));
          log.info("updating MemoryDB user", { userName: desired.userName, changed: fields.join(", ") });
          const auth = changes.authType !== undefined || changes.passwords;
          current = await api.updateUser({
            userName: desired.userName,
            ...(changes.accessString === undefined ? {} : { accessString: changes.accessString }),
            ...(auth ? { authentication: { type: desired.authType, passwords: desired.authType === "password" ? passwords : [] } } : {}),
          });
          mem.lastMutation = this.#now().getTime();
          if (!action.adopt) {
            const rotated = changes.passwords && passwordsChanged && changes.accessString === undefined && changes.authType === undefined;
            if (rotated) await event("PasswordRotated", "UpdateUser", `set ${passwords.length} password(s) of MemoryDB user "${current.name}" from the referenced Secrets`);
            else await event(isDrift(user) && !passwordsChanged ? "DriftCorrected" : "Updated", "UpdateUser", `updated ${fields.join(", ")} of MemoryDB user "${current.name}"`);
          }
        }
        return settle(current, "Modifying");
      }
      case "conflict":
        return conflict(desired, action.reason, action.owner);
      case "forbidden":
        return { kind: "failed", reason: "Forbidden", message: action.message, retry: "untilInputsChange" };
      case "wait":
        return settle(observed!, "Modifying");
      case "inSync":
        return { kind: "ready", observed: observed! };
    }
  }

  /** Deletion: release, retain or delete the MemoryDB user, then drop the finalizer. */
  async #cleanup(user: MemoryDBUser, key: string, log: Logger): Promise<Retry> {
    if (!user.metadata.finalizers?.includes(FINALIZER)) return "none";
    const desired = desiredUser(user, this.#d.defaults);
    const api = this.#d.memorydb(desired.region);
    const release = async (reason: string, note: string) => {
      const patch = removeFinalizerPatch(user.metadata.finalizers, FINALIZER);
      if (patch) await this.#d.kube.patchUserMetadata(user.metadata.namespace, user.metadata.name, patch);
      await this.#d.events.record({ regarding: user, type: "Normal", reason, action: "Delete", note });
      log.info(note);
      this.forget(key);
      return "none" as const;
    };
    let outcome: Outcome;
    try {
      const observed = await api.describeUser(desired.userName);
      const ownership: Ownership =
        observed === undefined || ownershipKnown(user, observed) ? { kind: "ours" } : ownershipFromTags(await api.listTags(observed.arn), desired);
      const action = decideDeletion(desired, observed, ownership);
      switch (action.type) {
        case "release":
          return action.why === "gone"
            ? release("Deleted", `MemoryDB user "${desired.userName}" is deleted`)
            : release("Released", `MemoryDB user "${desired.userName}" is not managed by this resource; left untouched`);
        case "retain":
          await api.untagResource(observed!.arn, [OWNERSHIP_TAG_KEY]);
          return release("Retained", `kept MemoryDB user "${desired.userName}" (deletionPolicy Retain) and removed its ownership tag`);
        case "delete": {
          log.info("deleting MemoryDB user", { userName: desired.userName });
          const existed = await api.deleteUser(desired.userName);
          if (!existed) return release("Deleted", `MemoryDB user "${desired.userName}" is deleted`);
          outcome = { kind: "progressing", observed: { ...observed!, status: "deleting" }, reason: "Deleting", message: "MemoryDB is deleting the user" };
          break;
        }
        case "wait":
          outcome = settle(observed!, "Deleting");
          break;
      }
    } catch (err) {
      if (!(err instanceof AwsFault)) throw err;
      outcome = failedFromFault(err);
    }
    const retry = retryFor(outcome);
    await this.#report(user, outcome, retry, log);
    return retry === "untilInputsChange" ? "slow" : retry;
  }
}

/** A change found although the spec did not change since the last successful reconcile. */
function isDrift(user: MemoryDBUser): boolean {
  const ready = user.status?.conditions?.find((c) => c.type === "Ready");
  return user.status?.observedGeneration === user.metadata.generation && ready?.status === "True";
}

function conflict(desired: DesiredUser, reason: "UserAlreadyExists" | "UserNameConflict", owner: string | undefined): Outcome {
  return {
    kind: "failed",
    reason,
    retry: "slow",
    message:
      reason === "UserNameConflict"
        ? `MemoryDB user "${desired.userName}" is managed by another resource (${owner}); it is left untouched: choose another spec.userName`
        : `a MemoryDB user named "${desired.userName}" already exists and is not managed by this resource (no resource owns it); ` +
          "it is left untouched: set spec.adoptExisting: true to manage it, choose another spec.userName, or delete that user",
  };
}

function claimConflict(desired: DesiredUser, claimant: MemoryDBUser): Outcome {
  return {
    kind: "failed",
    reason: "UserNameConflict",
    retry: "slow",
    message: `MemoryDBUser ${claimant.metadata.namespace}/${claimant.metadata.name} already manages MemoryDB user "${desired.userName}" in ${desired.region}; choose another spec.userName`,
  };
}

/** A user MemoryDB is still working on is progressing; an active one after our call is ready. */
function settle(user: ObservedUser, busyReason: string): Outcome {
  if (user.status === "active") return { kind: "ready", observed: user };
  const reason = user.status === "deleting" ? "Deleting" : busyReason;
  return { kind: "progressing", observed: user, reason, message: `MemoryDB reports the user as ${user.status}; waiting` };
}

function failedFromFault(fault: AwsFault): Outcome {
  const message = `MemoryDB ${fault.operation} failed: ${fault.detail}`;
  switch (fault.kind) {
    case "terminal":
      return { kind: "failed", reason: fault.code, message: `${message} (fix the spec or the Secret; not retried until one changes)`, retry: "untilInputsChange" };
    case "slow":
      return { kind: "failed", reason: fault.code, message, retry: "slow" };
    case "transient":
      return { kind: "failed", reason: fault.code, message: `${message} (retrying)`, retry: "backoff" };
  }
}
