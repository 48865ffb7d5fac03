// The controller: watches MemoryDBUsers, queues their keys, runs the reconciler on them, and
// resyncs everything periodically. Watch handlers only enqueue; all work happens in reconciles.
import type { KubeConfig } from "@kubernetes/client-node";
import type { Config } from "./config.ts";
import type { KubeApi } from "./kube/api.ts";
import { objectKey, Reflector } from "./kube/reflector.ts";
import type { Logger } from "./log.ts";
import { GROUP, type MemoryDBUser, PLURAL, VERSION } from "./model.ts";
import type { Retry } from "./reconcile/outcome.ts";
import type { Reconciler } from "./reconcile/reconciler.ts";
import { WorkQueue } from "./queue.ts";

/**
 * Whether a watch update needs a reconcile. Status-only writes (our own) do not: reacting to
 * them would loop. Spec (generation), deletion, finalizer, label and annotation changes do.
 */
export function needsReconcile(old: MemoryDBUser | undefined, obj: MemoryDBUser): boolean {
  if (old === undefined) return true;
  const a = old.metadata;
  const b = obj.metadata;
  return (
    a.generation !== b.generation ||
    a.deletionTimestamp !== b.deletionTimestamp ||
    JSON.stringify(a.finalizers ?? []) !== JSON.stringify(b.finalizers ?? []) ||
    JSON.stringify(a.labels ?? {}) !== JSON.stringify(b.labels ?? {}) ||
    JSON.stringify(a.annotations ?? {}) !== JSON.stringify(b.annotations ?? {})
  );
}

export interface ControllerDeps {
  config: Config;
  kc: KubeConfig;
  kube: KubeApi;
  reconciler: Reconciler;
  logger: Logger;
  /** Watch restart tuning; defaults suit a real API server. */
  watch?: { stallTimeoutMs?: number; minBackoffMs?: number; maxBackoffMs?: number };
}

export class Controller {
  readonly queue: WorkQueue;
  readonly #d: ControllerDeps;
  readonly #reflectors: Reflector<MemoryDBUser>[];
  #resync: NodeJS.Timeout | undefined;

  constructor(deps: ControllerDeps) {
    this.#d = deps;
    const { config } = deps;
    this.queue = new WorkQueue({
      concurrency: config.maxConcurrentReconciles,
      baseDelayMs: config.retryBaseDelayMs,
      maxDelayMs: config.retryMaxDelayMs,
    });
    const scopes: Array<string | undefined> = config.namespaces.length > 0 ? config.namespaces : [undefined];
    this.#reflectors = scopes.map(
      (namespace) =>
        new Reflector<MemoryDBUser>(deps.kc, {
          name: namespace ? `memorydbusers in ${namespace}` : "memorydbusers",
          list: (token) => deps.kube.listUsers(namespace, token),
          watchPath: `/apis/${GROUP}/${VERSION}${namespace ? `/namespaces/${namespace}` : ""}/${PLURAL}`,
          logger: deps.logger,
          ...deps.watch,
          handler: {
            upsert: (obj, old) => {
              if (needsReconcile(old, obj)) this.queue.add(objectKey(obj));
            },
            delete: (obj) => {
              const key = objectKey(obj);
              this.queue.forget(key);
              this.#d.reconciler.forget(key);
            },
          },
        }),
    );
  }

  /** True once every watched scope has been listed. */
  get hasSynced(): boolean {
    return this.#reflectors.every((r) => r.hasSynced);
  }

  /** When the watches last heard from the API server (the oldest of them). */
  get lastWatchActivity(): number {
    return Math.min(...this.#reflectors.map((r) => r.lastActivity));
  }

  #find(key: string): MemoryDBUser | undefined {
    for (const r of this.#reflectors) {
      const obj = r.cache.get(key);
      if (obj) return obj;
    }
    return undefined;
  }

  start(): void {
    for (const r of this.#reflectors) r.start();
    this.queue.start((key) => this.#process(key));
    this.#resync = setInterval(() => {
      for (const r of this.#reflectors) for (const key of r.cache.keys()) this.queue.add(key);
    }, this.#d.config.resyncPeriodMs);
    this.#resync.unref();
  }

  async #process(key: string): Promise<void> {
    const user = this.#find(key);
    if (!user) return;
    const log = this.#d.logger.child({ key });
    let retry: Retry;
    try {
      retry = await this.#d.reconciler.reconcile(user);
    } catch (err) {
      const delay = this.queue.addRateLimited(key);
      log.warn("reconcile error, retrying", { error: (err as Error).message, retryInMs: delay });
      return;
    }
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

  /** Stop watching and wait (bounded) for in-flight reconciles; true if they all finished. */
  async stop(timeoutMs: number): Promise<boolean> {
    clearInterval(this.#resync);
    await Promise.all(this.#reflectors.map((r) => r.stop()));
    return this.queue.shutdown(timeoutMs);
  }
}
