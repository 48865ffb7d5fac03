// One reconcile of one MemoryDBUser: read the Secrets and MemoryDB, act idempotently, write
// the status, and tell the work queue when to come back. Every step may crash and rerun.
import { type AwsFault as AwsFaultType, AwsFault } from "../aws/faults.ts";
import type { MemoryDBApi } from "../aws/memorydb.ts";
import type { EventRecorder } from "../events.ts";
import type { KubeApi, SecretData } from "../kube/api.ts";
import type { Logger } from "../log.ts";
import type { MemoryDBUser, ObservedUser } from "../model.ts";
import type { Redacted } from "../redacted.ts";
import { type Action, decide, type DesiredUser, desiredUser, ownershipFromTags, ownershipKnown, type Ownership } from "./decide.ts";
import { nextStatus, type Outcome, type Retry, retryFor } from "./outcome.ts";
import { inputsFingerprint, resolvePasswords } from "./passwords.ts";

export interface ReconcilerDeps {
  kube: Pick<KubeApi, "readSecret" | "patchUserStatus">;
  memorydb: MemoryDBApi;
  events: Pick<EventRecorder, "record">;
  logger: Logger;
  clusterId: string;
  now?: () => Date;
}

export class Reconciler {
  readonly #d: ReconcilerDeps;
  /** Per resource key: the inputs a terminal failure was decided on (see inputsFingerprint). */
  readonly #terminal = new Map<string, string>();

  constructor(deps: ReconcilerDeps) {
    this.#d = deps;
  }

  /** Forget what is remembered about a resource that no longer exists. */
  forget(key: string): void {
    this.#terminal.delete(key);
  }

  async reconcile(user: MemoryDBUser): Promise<Retry> {
    const key = `${user.metadata.namespace}/${user.metadata.name}`;
    const log = this.#d.logger.child({ key });
    if (user.metadata.deletionTimestamp) return "none";

    const desired = desiredUser(user, this.#d.clusterId);
    const secrets = await this.#readSecrets(user.metadata.namespace, desired);
    const fingerprint = inputsFingerprint(user.metadata.generation, secrets);
    if (this.#terminal.get(key) === fingerprint) {
      log.debug("terminal failure and nothing changed since: not calling MemoryDB");
      return "untilInputsChange";
    }
    this.#terminal.delete(key);

    const outcome = await this.#act(user, desired, secrets, log);
    const retry = retryFor(outcome);
    if (retry === "untilInputsChange") this.#terminal.set(key, fingerprint);

    const now = (this.#d.now ?? (() => new Date()))();
    const status = nextStatus(user.status, outcome, user.metadata.generation, now);
    await this.#d.kube.patchUserStatus(user.metadata.namespace, user.metadata.name, status);
    if (outcome.kind === "failed") {
      log.warn("reconcile failed", { reason: outcome.reason, message: outcome.message, retry });
      if (retry !== "backoff" || outcome.reason === "SecretNotFound") {
        await this.#d.events.record({ regarding: user, type: "Warning", reason: outcome.reason, action: "Reconcile", note: outcome.message });
      }
    } else {
      log.debug("reconciled", { outcome: outcome.kind, state: outcome.observed.status });
    }
    return retry;
  }

  async #readSecrets(namespace: string, desired: DesiredUser): Promise<Map<string, SecretData | undefined>> {
    const names = [...new Set(desired.passwordRefs.map((r) => r.name))];
    const data = await Promise.all(names.map((name) => this.#d.kube.readSecret(namespace, name)));
    return new Map(names.map((name, i) => [name, data[i]]));
  }

  async #act(user: MemoryDBUser, desired: DesiredUser, secrets: Map<string, SecretData | undefined>, log: Logger): Promise<Outcome> {
    const resolution = resolvePasswords(user.metadata.namespace, desired.passwordRefs, secrets);
    if (!resolution.ok) {
      // A missing Secret may appear any moment: back off and look again. A bad value is terminal.
      return { kind: "failed", reason: resolution.reason, message: resolution.message, retry: resolution.reason === "SecretNotFound" ? "backoff" : "untilInputsChange" };
    }
    try {
      // Two rounds at most: a CreateUser that meets an existing user looks again at whose it is.
      for (let round = 0; ; round++) {
        const observed = await this.#d.memorydb.describeUser(desired.userName);
        const ownership = await this.#ownership(user, desired, observed);
        const action = decide(desired, observed, ownership);
        try {
          return await this.#perform(user, desired, action, observed, resolution.passwords, log);
        } catch (err) {
          if (round === 0 && err instanceof AwsFault && err.code === "UserAlreadyExistsFault") continue;
          throw err;
        }
      }
    } catch (err) {
      if (!(err instanceof AwsFault)) throw err;
      return failedFromFault(err);
    }
  }

  async #ownership(user: MemoryDBUser, desired: DesiredUser, observed: ObservedUser | undefined): Promise<Ownership> {
    if (observed === undefined || ownershipKnown(user, observed)) return { kind: "ours" };
    return ownershipFromTags(await this.#d.memorydb.listTags(observed.arn), desired);
  }

  async #perform(
    user: MemoryDBUser,
    desired: DesiredUser,
    action: Action,
    observed: ObservedUser | undefined,
    passwords: Redacted[],
    log: Logger,
  ): Promise<Outcome> {
    switch (action.type) {
      case "create": {
        log.info("creating MemoryDB user", { userName: desired.userName });
        const created = await this.#d.memorydb.createUser({
          userName: desired.userName,
          accessString: desired.accessString,
          authType: desired.authType,
          passwords,
          tags: desired.tags,
        });
        await this.#d.events.record({ regarding: user, type: "Normal", reason: "Created", action: "CreateUser", note: `created MemoryDB user "${created.name}"` });
        return settle(created, "Creating");
      }
      case "update": {
        const changed = Object.keys(action.changes).join(", ");
        log.info("updating MemoryDB user", { userName: desired.userName, changed });
        const updated = await this.#d.memorydb.updateUser({
          userName: desired.userName,
          ...(action.changes.accessString === undefined ? {} : { accessString: action.changes.accessString }),
          ...(action.changes.authType === undefined ? {} : { authentication: { type: action.changes.authType, passwords } }),
        });
        await this.#d.events.record({ regarding: user, type: "Normal", reason: "Updated", action: "UpdateUser", note: `updated ${changed} of MemoryDB user "${updated.name}"` });
        return settle(updated, "Modifying");
      }
      case "notOwned":
        return {
          kind: "failed",
          reason: "UserAlreadyExists",
          retry: "slow",
          message:
            `a MemoryDB user named "${desired.userName}" already exists and is not managed by this resource` +
            (action.owner ? ` (its owner tag names "${action.owner}")` : "") +
            "; it is left untouched: choose another spec.userName or delete that user",
        };
      case "wait":
        return settle(observed!, "Modifying");
      case "inSync":
        return { kind: "ready", observed: observed! };
    }
  }
}

/** A user MemoryDB is still working on is progressing; an active one after our call is ready. */
function settle(user: ObservedUser, activeReasonWhenBusy: string): Outcome {
  if (user.status === "active") return { kind: "ready", observed: user };
  const reason = user.status === "deleting" ? "Deleting" : activeReasonWhenBusy;
  return { kind: "progressing", observed: user, reason, message: `MemoryDB reports the user as ${user.status}; waiting for it to become active` };
}

function failedFromFault(fault: AwsFaultType): Outcome {
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
