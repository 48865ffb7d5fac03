// The controller: watches MemoryDBUsers and (metadata-only) the Secrets they reference, queues
// resource keys, runs the reconciler on them, and resyncs everything periodically. Watch
// handlers only enqueue; all work happens in reconciles.
import type { KubeConfig } from "@kubernetes/client-node";
import type { UserDirectory } from "./aws/directory.ts";
import type { Config } from "./config.ts";
import { type KubeApi, KubeError, METADATA_ONLY_WATCH, type SecretMeta } from "./kube/api.ts";
import { objectKey, Reflector, type WatchTimings } from "./kube/reflector.ts";
import type { Logger } from "./log.ts";
import type { Metrics, ReconcileResult } from "./metrics.ts";
import { FINALIZER, GROUP, type MemoryDBUser, PLURAL, VERSION } from "./model.ts";
import { earlierClaimant, effectiveUserName } from "./reconcile/decide.ts";
import type { Retry } from "./reconcile/outcome.ts";
import type { Reconciler } from "./reconcile/reconciler.ts";
import { WorkQueue } from "./queue.ts";

/**
 * Whether a watch update needs a reconcile. The operator's own writes (status, its finalizer)
 * do not: reacting to them would reconcile everything twice, or loop. Spec (generation),
 * deletion, label and annotation changes do; anything else is caught by the periodic resync.
 */
export function needsReconcile(old: MemoryDBUser | undefined, obj: MemoryDBUser): boolean {
  if (old === undefined) return true;
  // Someone removed our finalizer: put it back before a deletion could leave the user behind.
  if (!obj.metadata.deletionTimestamp && !(obj.metadata.finalizers ?? []).includes(FINALIZER)) return true;
  const a = old.metadata;
  const b = obj.metadata;
  return (
    a.generation !== b.generation ||
    a.deletionTimestamp !== b.deletionTimestamp ||
    JSON.stringify(a.labels ?? {}) !== JSON.stringify(b.labels ?? {}) ||
    JSON.stringify(a.annotations ?? {}) !== JSON.stringify(b.annotations ?? {})
  );
}

/** How long reconciles get to unwind once their calls are cancelled at the shutdown deadline. */
const CANCEL_GRACE_MS = 1000;

/** How each retry decision counts in controller-runtime's reconcile metrics. */
const RESULTS: Record<Retry, ReconcileResult> = {
  none: "success",
  poll: "requeue_after",
  slow: "requeue_after",
  backoff: "error",
  untilInputsChange: "error",
};

/** A many-to-many index from a value (a Secret, a user name) to the resources that use it. */
class Index {
  readonly #byValue = new Map<string, Set<string>>();
  readonly #byKey = new Map<string, string[]>();

  set(key: string, values: string[]): void {
    this.delete(key);
    this.#byKey.set(key, values);
    for (const v of values) {
      let keys = this.#byValue.get(v);
      if (!keys) this.#byValue.set(v, (keys = new Set()));
      keys.add(key);
    }
  }

  delete(key: string): void {
    for (const v of this.#byKey.get(key) ?? []) {
      const keys = this.#byValue.get(v);
      keys?.delete(key);
      if (keys?.size === 0) this.#byValue.delete(v);
    }
    this.#byKey.delete(key);
  }

  keysFor(value: string): string[] {
    return [...(this.#byValue.get(value) ?? [])];
  }
}

export interface ControllerDeps {
  config: Config;
  kc: KubeConfig;
  kube: KubeApi;
  reconciler: Reconciler;
  directory?: UserDirectory;
  metrics?: Metrics;
  logger: Logger;
  /** Watch timings; default WATCH_TIMINGS (tests scale them all by one factor). */
  watch?: WatchTimings;
}

export class Controller {
  readonly queue: WorkQueue;
  readonly #d: ControllerDeps;
  readonly #users: Reflector<MemoryDBUser>[];
  readonly #secrets: Reflector<SecretMeta>[];
  /** Secret `namespace/name` → resources whose passwords it holds. */
  readonly #bySecret = new Index();
  /** `region/userName` → resources naming that MemoryDB user. */
  readonly #byUserName = new Index();
  #resync: NodeJS.Timeout | undefined;
  #starting: Promise<void> | undefined;
  /** Aborted when stopping: ends the start-up listing and the snapshot refreshes at once. */
  readonly #stop = new AbortController();
  /** Aborted when the shutdown timeout runs out: cancels what reconciles still have in flight. */
  readonly #deadline = new AbortController();

  constructor(deps: ControllerDeps) {
    this.#d = deps;
    const { config } = deps;
    this.queue = new WorkQueue(
      { concurrency: config.maxConcurrentReconciles, baseDelayMs: config.retryBaseDelayMs, maxDelayMs: config.retryMaxDelayMs },
      deps.metrics?.queueObserver(),
    );
    const scopes: Array<string | undefined> = config.namespaces.length > 0 ? config.namespaces : [undefined];
    const where = (ns: string | undefined) => (ns ? `/namespaces/${ns}` : "");
    this.#users = scopes.map(
      (namespace) =>
        new Reflector<MemoryDBUser>(deps.kc, {
          name: `memorydbusers${namespace ? ` in ${namespace}` : ""}`,
          list: (token, call) => deps.kube.listUsers(namespace, token, call),
          watchPath: `/apis/${GROUP}/${VERSION}${where(namespace)}/${PLURAL}`,
          logger: deps.logger,
          ...(deps.watch ? { timings: deps.watch } : {}),
          handler: {
            upsert: (obj, old) => {
              this.#index(obj);
              if (needsReconcile(old, obj)) this.queue.add(objectKey(obj));
            },
            delete: (obj) => this.#removed(obj),
          },
        }),
    );
    this.#secrets = scopes.map(
      (namespace) =>
        new Reflector<SecretMeta>(deps.kc, {
          name: `secrets${namespace ? ` in ${namespace}` : ""}`,
          list: (token, call) => deps.kube.listSecretsMetadata(namespace, token, call, config.secretLabelSelector?.text),
          watchPath: `/api/v1${where(namespace)}/secrets`,
          labelSelector: config.secretLabelSelector?.text,
          accept: METADATA_ONLY_WATCH,
          // Keep names and versions only, whatever the server sends.
          transform: (s) => ({ metadata: { name: s.metadata.name, namespace: s.metadata.namespace, resourceVersion: s.metadata.resourceVersion } }),
          logger: deps.logger,
          ...(deps.watch ? { timings: deps.watch } : {}),
          handler: {
            upsert: (obj, old) => {
              if (old?.metadata.resourceVersion !== obj.metadata.resourceVersion) this.#secretChanged(obj);
            },
            delete: (obj) => this.#secretChanged(obj),
          },
        }),
    );
  }

  #index(user: MemoryDBUser): void {
    const key = objectKey(user);
    const ns = user.metadata.namespace;
    const refs = (user.spec.authenticationMode?.passwords ?? []).map((p) => `${ns}/${p.secretKeyRef.name}`);
    this.#bySecret.set(key, refs);
    this.#byUserName.set(key, [this.#nameKey(user)]);
  }

  #nameKey(user: MemoryDBUser): string {
    return `${user.spec.region ?? this.#d.config.region}/${effectiveUserName(user)}`;
  }

  #removed(user: MemoryDBUser): void {
    const key = objectKey(user);
    const name = this.#nameKey(user);
    this.#bySecret.delete(key);
    this.#byUserName.delete(key);
    this.queue.forget(key);
    this.#d.reconciler.forget(key);
    // Another resource waiting for this user name may now proceed.
    for (const other of this.#byUserName.keysFor(name)) this.queue.add(other);
  }

  #secretVersion(namespace: string, name: string): string | undefined {
    for (const r of this.#secrets) {
      const secret = r.cache.get(`${namespace}/${name}`);
      if (secret) return secret.metadata.resourceVersion;
    }
    return undefined;
  }

  #secretChanged(secret: SecretMeta): void {
    for (const key of this.#bySecret.keysFor(objectKey(secret))) this.queue.add(key);
  }

  /** True once every watch has listed its objects. */
  get hasSynced(): boolean {
    return [...this.#users, ...this.#secrets].every((r) => r.hasSynced);
  }

  /** When the API server last answered the quietest of the watches (monotonic ms). */
  get lastWatchContact(): number {
    return Math.min(...[...this.#users, ...this.#secrets].map((r) => r.lastContact));
  }

  #find(key: string): MemoryDBUser | undefined {
    for (const r of this.#users) {
      const obj = r.cache.get(key);
      if (obj) return obj;
    }
    return undefined;
  }

  start(): void {
    for (const r of [...this.#users, ...this.#secrets]) r.start();
    this.#starting = this.#startWorkers();
    this.#resync = setInterval(() => void this.resync(), this.#d.config.resyncPeriodMs);
    this.#resync.unref();
  }

  /**
   * Workers start once the resources are listed and each region's users are in a snapshot, so
   * that a (re)start costs one listing per region, not one DescribeUsers per resource.
   */
  async #startWorkers(): Promise<void> {
    const sleep = () => new Promise((r) => setTimeout(r, 50));
    while (!this.#stopping && !this.#users.every((r) => r.hasSynced)) await sleep();
    // The Secrets' versions spare each in-sync resource a Secret read; wait for them a while,
    // but never let a Secret list that keeps failing hold up reconciling.
    const deadline = Date.now() + 30_000;
    while (!this.#stopping && !this.#secrets.every((r) => r.hasSynced) && Date.now() < deadline) await sleep();
    if (this.#stopping) return;
    await this.#refreshSnapshots(this.#allUsers());
    if (!this.#stopping) this.queue.start((key) => this.#process(key), (key, err) => this.#unexpected(key, err));
  }

  #allUsers(): MemoryDBUser[] {
    return this.#users.flatMap((r) => [...r.cache.values()]);
  }

  async #refreshSnapshots(users: MemoryDBUser[]): Promise<void> {
    const allowed = this.#d.config.allowedRegions;
    const regions = new Set(users.map((u) => u.spec.region ?? this.#d.config.region).filter((r) => allowed.length === 0 || allowed.includes(r)));
    await Promise.all(
      [...regions].map((region) =>
        this.#d.directory?.refresh(region, this.#stop.signal).catch((err: Error) => {
          if (this.#stopping) return;
          this.#d.logger.warn("could not list MemoryDB users; reconciling one by one", { region, error: err.message });
        }),
      ),
    );
  }

  /**
   * Look at every resource again: first one paginated listing of each region's users (so
   * in-sync resources need no further MemoryDB call), then every key into the queue.
   */
  async resync(): Promise<void> {
    const users = this.#allUsers();
    await this.#refreshSnapshots(users);
    if (this.#stopping) return;
    for (const u of users) this.queue.add(objectKey(u));
  }

  get #stopping(): boolean {
    return this.#stop.signal.aborted;
  }

  async #process(key: string): Promise<void> {
    const user = this.#find(key);
    if (!user) return;
    const log = this.#d.logger.child({ key });
    const claimant = earlierClaimant(
      user,
      this.#byUserName.keysFor(this.#nameKey(user)).map((k) => this.#find(k)).filter((u): u is MemoryDBUser => u !== undefined),
      this.#d.config.region,
    );
    const done = this.#d.metrics?.reconcileStarted();
    let retry: Retry;
    try {
      retry = await this.#d.reconciler.reconcile(user, {
        claimant,
        secretVersion: (ns, name) => this.#secretVersion(ns, name),
        signal: this.#deadline.signal,
      });
    } catch (err) {
      done?.();
      if (this.#deadline.signal.aborted) {
        log.info("reconcile cancelled: shutting down");
        return;
      }
      this.#d.metrics?.reconciled("error");
      const delay = this.queue.addRateLimited(key);
      if (err instanceof KubeError) log.warn("reconcile error, retrying", { error: err.message, retryInMs: delay });
      // Neither an AWS fault nor a Kubernetes API error: a bug. Loud, with its stack.
      else log.error("reconcile failed unexpectedly, retrying", { error: (err as Error)?.message ?? String(err), stack: (err as Error)?.stack, retryInMs: delay });
      return;
    }
    done?.();
    this.#d.metrics?.reconciled(RESULTS[retry]);
    switch (retry) {
      case "backoff":
        this.queue.addRateLimited(key);
        return;
      case "slow":
        this.queue.forget(key);
        this.queue.addAfter(key, this.#d.config.retryMaxDelayMs);
        return;
      case "poll":
        this.queue.forget(key);
        this.queue.addAfter(key, this.#d.config.pollIntervalMs);
        return;
      case "none":
      case "untilInputsChange":
        this.queue.forget(key);
        return;
    }
  }

  /** A failure outside the reconcile itself (a bug): logged with its stack, retried with backoff. */
  #unexpected(key: string, err: unknown): void {
    this.#d.metrics?.reconciled("error");
    const delay = this.queue.addRateLimited(key);
    this.#d.logger.error("unexpected error processing a resource, retrying", {
      key,
      error: (err as Error)?.message ?? String(err),
      stack: (err as Error)?.stack,
      retryInMs: delay,
    });
  }

  /**
   * Stop watching and wait up to `timeoutMs` for in-flight reconciles; then cancel what they
   * still have in flight and give them a moment to unwind. True if none is left running.
   */
  async stop(timeoutMs: number): Promise<boolean> {
    this.#stop.abort();
    clearInterval(this.#resync);
    await Promise.all([...this.#users, ...this.#secrets].map((r) => r.stop()));
    await this.#starting;
    if (await this.queue.shutdown(timeoutMs)) return true;
    this.#deadline.abort();
    return this.queue.shutdown(CANCEL_GRACE_MS);
  }
}
