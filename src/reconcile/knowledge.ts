// What the operator process remembers about each resource between reconciles, when each piece
// of that knowledge expires, and so what the reconciler may trust without asking again. It is
// the one place that decides "no need to read or call". Knowledge can be stale: until it
// expires, a change made outside the operator (tags edited, the user deleted) goes unnoticed,
// and status may say in sync. It never stands in for the read a write needs (ownership is read
// from the tags before any change), and everything that must survive a restart is in the
// resource's status instead (password verifiers, MemoryDB's form of the access string), so
// losing it costs reads and at most one repeated attempt of a terminal write.
import { createHash } from "node:crypto";
import type { Identity } from "../aws/accounts.ts";
import type { UserDirectory } from "../aws/directory.ts";
import type { MemoryDBUser, ObservedUser, PasswordSource } from "../model.ts";
import { acceptedAccessString, decide, wasInSync } from "./decide.ts";
import { type DesiredUser, describeIdentityChange } from "./desired.ts";
import { presumablyOurs } from "./ownership.ts";
import { passwordSources, sameSources } from "./passwords.ts";
import { nextStepIn } from "./rotation.ts";
import { SYNC_TIME_REFRESH_MS } from "./status.ts";
import { sameVerifiers } from "./verifier.ts";

export interface KnowledgeOptions {
  /** Tags are read back (ListTags) at most this often unless the desired tags change. */
  tagResyncPeriodMs: number;
  /** A snapshot older than this is not trusted. */
  snapshotMaxAgeMs: number;
  /** Resync snapshots of every user per region, if any. */
  directory?: UserDirectory | undefined;
  now?: () => number;
  random?: () => number;
}

type Settings = Required<Omit<KnowledgeOptions, "directory">> & Pick<KnowledgeOptions, "directory">;

/** A digest of the desired tags, to notice when they change. */
export function tagsHash(tags: Record<string, string>): string {
  return createHash("sha256")
    .update(JSON.stringify(Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : 1))))
    .digest("hex");
}

/**
 * The resource has never recorded a MemoryDB user: no ARN, no passwords applied, and none recorded
 * as being sent (a CreateUser whose answer may have been lost).
 */
export function neverRecorded(user: MemoryDBUser): boolean {
  const status = user.status;
  return status?.arn === undefined && status?.passwordSecrets === undefined && status?.passwordSecretsPending === undefined;
}

/** What the process knows of one resource. */
export class ResourceKnowledge {
  readonly #options: Settings;
  /** The inputs (generation, Secret versions) a terminal failure was decided on. */
  #terminalInputs: string | undefined;
  /** When the operator last changed the user in MemoryDB: snapshots taken before are stale. */
  #lastMutation = 0;
  /** When the user's tags were last seen matching, and for which desired tags. */
  #tagsChecked: { at: number; hash: string } | undefined;
  /** An access string sent whose form MemoryDB has not yet shown with the user active. */
  #accessStringSent: string | undefined;
  /** Passwords (verifiers) MemoryDB answered an UpdateUser for in this process. */
  #passwordsAnswered: readonly PasswordSource[] | undefined;
  /** The object the operator's last write produced, and every version its writes replaced. */
  #lastWrite: { over: string[]; object: MemoryDBUser } | undefined;
  /** The resourceVersion the watch last delivered. */
  #delivered: string | undefined;
  /** A reconcile of the resource is running (its next write chains on its last). */
  #reconciling = false;

  constructor(options: Settings) {
    this.#options = options;
  }

  // --- the operator's own writes: never act on a copy older than what it wrote ---

  /** The newest copy of the resource: the operator's last write, if `resource` is one it replaced. */
  latest(resource: MemoryDBUser): MemoryDBUser {
    return this.#lastWrite?.over.includes(resource.metadata.resourceVersion ?? "") ? this.#lastWrite.object : resource;
  }

  wrote(before: MemoryDBUser, after: MemoryDBUser): void {
    const rv = before.metadata.resourceVersion ?? "";
    const last = this.#lastWrite;
    // Every version this reconcile's writes replaced, the intermediate ones included.
    const chained =
      last && (last.object.metadata.resourceVersion === rv || last.over.includes(rv))
        ? [...last.over, last.object.metadata.resourceVersion ?? ""].slice(-8)
        : [];
    this.#lastWrite = { over: [...new Set([...chained, rv])], object: after };
  }

  /**
   * The watch delivered `resource`. Once that is the operator's last write, the cache holds it:
   * the copy is let go (it is a whole resource, a third of what the process holds per resource).
   */
  delivered(resource: MemoryDBUser): void {
    this.#delivered = resource.metadata.resourceVersion;
    this.#releaseWrite();
  }

  /** Around each reconcile: while one runs, its last write is kept for the next to chain on. */
  reconciling(running: boolean): void {
    this.#reconciling = running;
    this.#releaseWrite();
  }

  #releaseWrite(): void {
    const written = this.#lastWrite?.object.metadata.resourceVersion;
    if (!this.#reconciling && written !== undefined && written === this.#delivered) this.#lastWrite = undefined;
  }

  // --- terminal failures: not retried, nor counted again, until the inputs change ---

  isTerminal(inputs: string): boolean {
    return this.#terminalInputs === inputs;
  }

  get terminal(): boolean {
    return this.#terminalInputs !== undefined;
  }

  terminalOn(inputs: string | undefined): void {
    this.#terminalInputs = inputs;
  }

  // --- changes the operator made in MemoryDB ---

  mutated(): void {
    this.#lastMutation = this.#options.now();
  }

  // --- passwords: an answer this process saw outranks the pending record a failed status write left ---

  passwordsAnswered(sources: readonly PasswordSource[]): void {
    this.#passwordsAnswered = sources;
  }

  /**
   * The passwords MemoryDB holds, as the status records them; or, when the status still has an
   * UpdateUser of exactly these pending because the write after its answer failed, as answered.
   */
  passwordsApplied(status: MemoryDBUser["status"]): readonly PasswordSource[] | undefined {
    const answered = this.#passwordsAnswered;
    const pending = status?.passwordSecretsPending;
    if (answered && pending?.operation === "UpdateUser" && sameVerifiers(answered, pending.secrets)) return answered;
    return status?.passwordSecrets;
  }

  // --- tags: read back once per tag resync period, or when the desired tags change ---

  tagsDue(desired: DesiredUser): boolean {
    const checked = this.#tagsChecked;
    return (
      checked === undefined ||
      checked.hash !== tagsHash(desired.tags) ||
      this.#options.now() - checked.at >= this.#options.tagResyncPeriodMs
    );
  }

  tagsMatched(desired: DesiredUser): void {
    this.#tagsChecked = { at: this.#options.now(), hash: tagsHash(desired.tags) };
  }

  /**
   * A resource that was in sync when last reconciled (before a restart, say) had its tags applied
   * then: its next check falls at a random point of the period, so that thousands of users'
   * checks do not all fall due at once.
   */
  spreadTagChecks(user: MemoryDBUser, desired: DesiredUser): void {
    if (this.#tagsChecked !== undefined || !wasInSync(user)) return;
    this.#tagsChecked = {
      at: this.#options.now() - Math.floor(this.#options.random() * this.#options.tagResyncPeriodMs),
      hash: tagsHash(desired.tags),
    };
  }

  // --- the access string: MemoryDB's form of what was sent is learnt once the user is active ---

  accessStringSent(accessString: string): void {
    this.#accessStringSent = accessString;
  }

  accessStringPending(desired: DesiredUser): boolean {
    return this.#accessStringSent === desired.accessString;
  }

  /** Once the user is active after the access string was sent, what it shows is MemoryDB's form of it. */
  accessStringSeen(desired: DesiredUser, observed: ObservedUser): { requested: string; reported: string } | undefined {
    if (!this.accessStringPending(desired) || observed.status !== "active") return undefined;
    this.#accessStringSent = undefined;
    return { requested: desired.accessString, reported: observed.accessString };
  }

  // --- what may be trusted without asking MemoryDB ---

  /**
   * The user as the resync snapshot shows it, if that may stand for a DescribeUsers: taken after
   * the operator's last change, young enough, recording the user this resource's status names,
   * with no tag check due (ownership is then presumed, which is enough only to conclude "in sync").
   */
  trustedSnapshot(user: MemoryDBUser, desired: DesiredUser, identity: Identity): ObservedUser | undefined {
    return this.tagsDue(desired) ? undefined : this.snapshotOf(user, desired, identity);
  }

  /**
   * The user as the resync snapshot shows it under the same rules, whether or not a tag check is
   * due: with the tags read, it stands for a DescribeUsers in the tag check of an in-sync user.
   */
  snapshotOf(user: MemoryDBUser, desired: DesiredUser, identity: Identity): ObservedUser | undefined {
    const snap = this.#options.directory?.lookup(
      { region: desired.region, identity },
      desired.userName,
      this.#lastMutation,
      this.#options.snapshotMaxAgeMs,
      this.#options.now(),
    );
    return snap && presumablyOurs(user, snap) ? snap : undefined;
  }

  /**
   * Whether CreateUser may be sent at once, without a DescribeUsers first: the resource has never
   * recorded a user, and the listing of its region and identity (taken after the operator's last change to the user,
   * and young enough) shows none of this name. The listing may be stale, and that is safe:
   * CreateUser of an existing name fails (UserAlreadyExistsFault, DuplicateUserNameFault) without
   * touching the user, and the reconcile then looks the careful way (describe, read its tags).
   */
  absentPerListing(user: MemoryDBUser, desired: DesiredUser, identity: Identity): boolean {
    if (!neverRecorded(user)) return false;
    const { directory, snapshotMaxAgeMs, now } = this.#options;
    return directory?.lookup({ region: desired.region, identity }, desired.userName, this.#lastMutation, snapshotMaxAgeMs, now()) === null;
  }

  /**
   * The common resync case, at no cost: the Secrets' versions (from the watch) are the ones last
   * applied, the last reconcile found the user in sync, and the snapshot shows it still is.
   * Nothing to read, nothing to write.
   */
  inSyncWithoutReads(
    user: MemoryDBUser,
    desired: DesiredUser,
    secretVersion: ((namespace: string, name: string) => string | undefined) | undefined,
    identity: Identity,
    rotationRequest?: string,
  ): boolean {
    if (!secretVersion || this.terminal || describeIdentityChange(user, desired) || !wasInSync(user)) return false;
    // A rotation step that is due needs the Secret.
    if (desired.generated && nextStepIn(user.status?.passwordRotation, rotationRequest, this.#options.now()) === 0) return false;
    // Keep lastSyncTime from growing older than promised.
    if (!(this.#options.now() - Date.parse(user.status?.lastSyncTime ?? "") < SYNC_TIME_REFRESH_MS)) return false;
    const versions = new Map(desired.passwordRefs.map((r) => [r.name, secretVersion(user.metadata.namespace, r.name)]));
    if (desired.authType === "password" && !sameSources(passwordSources(desired.passwordRefs, versions), user.status?.passwordSecrets))
      return false;
    const snap = this.trustedSnapshot(user, desired, identity);
    if (!snap) return false;
    const observation = {
      passwords: { state: "same" } as const,
      acceptedAccessString: acceptedAccessString(user, desired),
      accessStringPending: this.accessStringPending(desired),
    };
    return decide(desired, { user: snap, ownership: { kind: "ours" }, tags: undefined, ...observation }).type === "inSync";
  }
}

/** The knowledge of every resource, by `namespace/name`. */
export class Knowledge {
  readonly #byKey = new Map<string, ResourceKnowledge>();
  readonly #options: KnowledgeOptions;

  constructor(options: KnowledgeOptions) {
    this.#options = options;
  }

  of(key: string): ResourceKnowledge {
    let k = this.#byKey.get(key);
    if (!k) {
      k = new ResourceKnowledge({ now: Date.now, random: Math.random, ...this.#options });
      this.#byKey.set(key, k);
    }
    return k;
  }

  /** What is known of `key`, if anything (without starting to know it). */
  known(key: string): ResourceKnowledge | undefined {
    return this.#byKey.get(key);
  }

  /** The resource is gone: forget it. */
  forget(key: string): void {
    this.#byKey.delete(key);
  }
}
