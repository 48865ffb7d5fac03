// One reconcile of one resource ("a turn"): what its steps work with, and the two ways it speaks
// to Kubernetes besides its own calls: the status it writes and the Events it records.

import {
  type AccountMap,
  accountChange,
  accountOfArn,
  describeIdentity,
  type Identity,
  type IdentityChoice,
  OPERATOR_IDENTITY,
} from "../aws/accounts.ts";
import type { MemoryDBApi } from "../aws/api.ts";
import type { UserDirectory } from "../aws/directory.ts";
import type { KubeApi } from "../kube/api.ts";
import type { EventRecorder } from "../kube/events.ts";
import type { LabelSelector } from "../kube/label-selector.ts";
import type { CallOptions } from "../kube/request.ts";
import type { MemoryDBUser, SecretKeyRef } from "../model.ts";
import type { Logger } from "../observability/log.ts";
import type { Defaults, DesiredUser } from "./desired.ts";
import type { ResourceKnowledge } from "./knowledge.ts";
import type { Outcome, Retry } from "./outcome.ts";
import { type Established, nextStatus, statusPatch, worthWriting } from "./status.ts";
import type { PasswordKnowledge, PasswordVerifier } from "./verifier.ts";

export interface ReconcilerDeps {
  kube: Pick<KubeApi, "readSecret" | "createSecret" | "patchSecret" | "patchUserStatus" | "patchUserMetadata">;
  /** The region's MemoryDB through an AWS identity (default the operator's own), its calls cancelled by `signal`. */
  memorydb: (region: string, signal?: AbortSignal, identity?: Identity) => MemoryDBApi;
  /** The administrator's namespace-to-account mapping (--accounts-configmap); absent: one identity for all. */
  accounts?: Pick<AccountMap, "choose"> | undefined;
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
  onPasswordsSent?: (why: Exclude<PasswordKnowledge["state"], "same" | "created">) => void;
  now?: () => Date;
  random?: () => number;
}

export interface ReconcileContext {
  /** Other resources naming the same MemoryDB user name and region (claimant arbitration). */
  rivals?: readonly MemoryDBUser[];
  /** The resourceVersion of a Secret as the (metadata-only) watch last saw it. */
  secretVersion?: (namespace: string, name: string) => string | undefined;
  /** Cancels the reconcile's calls (the operator is shutting down). */
  signal?: AbortSignal;
}

export class Turn {
  readonly deps: ReconcilerDeps;
  readonly knowledge: ResourceKnowledge;
  readonly log: Logger;
  readonly call: CallOptions;
  readonly context: ReconcileContext;
  #desired: DesiredUser;
  /** The AWS identity of the resource's namespace, or why it has none. */
  readonly identity: IdentityChoice;
  /** The resource as this turn last knew it; its own writes replace it. */
  #user: MemoryDBUser;

  constructor(
    deps: ReconcilerDeps,
    user: MemoryDBUser,
    desired: DesiredUser,
    knowledge: ResourceKnowledge,
    log: Logger,
    context: ReconcileContext,
  ) {
    this.deps = deps;
    this.#user = user;
    this.#desired = desired;
    this.knowledge = knowledge;
    this.log = log;
    this.context = context;
    this.call = { signal: context.signal };
    this.identity = deps.accounts?.choose(user.metadata.namespace) ?? { ok: true, identity: OPERATOR_IDENTITY };
  }

  get user(): MemoryDBUser {
    return this.#user;
  }

  get desired(): DesiredUser {
    return this.#desired;
  }

  /** The Secret keys of a generated password, once its Secret is read (see DesiredUser.passwordRefs). */
  usePasswordRefs(refs: SecretKeyRef[]): void {
    this.#desired = { ...this.#desired, passwordRefs: refs };
  }

  /** The newest copy, with this turn's own writes. */
  get latest(): MemoryDBUser {
    return this.knowledge.latest(this.#user);
  }

  now(): Date {
    return (this.deps.now ?? (() => new Date()))();
  }

  /** The identity calls are made with; only after accountRefused() found nothing. */
  get identityInUse(): Identity {
    if (!this.identity.ok) throw new Error("no AWS identity for this namespace (accountRefused() comes first)");
    return this.identity.identity;
  }

  api(): MemoryDBApi {
    return this.deps.memorydb(this.desired.region, this.call.signal, this.identityInUse);
  }

  /**
   * Why nothing may be called in AWS for this resource: its namespace has no usable account
   * mapping, or now maps to another account than the one its user is in. Retried slowly (and
   * at once when the mapping changes).
   */
  accountRefused(): Outcome | undefined {
    if (!this.identity.ok) return { kind: "failed", reason: this.identity.reason, message: this.identity.message, retry: "slow" };
    const { status } = this.#user;
    const changed = this.deps.accounts ? accountChange(status?.arn, status?.account?.roleArn, this.identity.identity) : undefined;
    return changed ? { kind: "failed", reason: "AccountChanged", message: changed, retry: "slow" } : undefined;
  }

  /** Remember an object this turn's write produced. */
  wrote(after: MemoryDBUser): void {
    this.knowledge.wrote(this.latest, after);
  }

  event(type: "Normal" | "Warning", reason: string, action: string, note: string): void {
    // With accounts mapped, every Event says which account it concerns.
    const where = this.deps.accounts && this.identity.ok ? ` (${describeIdentity(this.identity.identity)})` : "";
    this.deps.events.record({ regarding: this.#user, type, reason, action, note: `${note}${where}` }, this.call);
  }

  /**
   * Writes what the turn concluded to the status subresource (only if it changes something worth
   * a write), logs it, and records a Warning Event for every failure a person may need to act on.
   */
  async report(outcome: Outcome, retry: Retry, established: Established = {}): Promise<void> {
    const now = this.now();
    const { namespace, name, generation } = this.#user.metadata;
    // Compared with the newest status: this turn may have written one (pending passwords).
    const previous = this.latest.status;
    // With accounts mapped, the status says which account the user was reached in, and how.
    const role = this.identity.ok ? this.identity.identity.role : undefined;
    const id = outcome.kind === "failed" ? undefined : accountOfArn(outcome.observed.arn);
    const account = this.deps.accounts && id ? { id, ...(role ? { roleArn: role.roleArn } : {}) } : undefined;
    const patch = statusPatch(previous, nextStatus(previous, outcome, generation, now, { ...established, account }));
    // Passwords established are no longer pending.
    if (established.passwordSecrets !== undefined && previous?.passwordSecretsPending !== undefined) patch.passwordSecretsPending = null;
    // A rotation status outlives no generated password.
    if (!this.#desired.generated && previous?.passwordRotation !== undefined) patch.passwordRotation = null;
    if (worthWriting(previous, patch, now)) {
      const written = await this.deps.kube.patchUserStatus(namespace, name, patch, this.call);
      if (written) this.wrote(written);
    }
    if (outcome.kind === "failed") {
      // A fixed message, the rest as fields (a `message` field would be appended to the text).
      this.log.warn("reconcile failed", { reason: outcome.reason, detail: outcome.message, retry });
      // Passing faults are retried quietly; everything a person may need to act on is an Event.
      if (retry !== "backoff" || outcome.reason === "SecretNotFound") this.event("Warning", outcome.reason, "Reconcile", outcome.message);
    } else {
      this.log.debug("reconciled", { outcome: outcome.kind, state: outcome.observed.status });
    }
  }
}
