// A controller in controller-runtime's shape, declared rather than hand-wired: it reconciles a
// primary resource (updates its predicate passes), keeps field indexes over it, and watches
// secondary resources whose updates requeue the primaries they map to. Watch handlers only
// enqueue keys; all work happens in reconciles, run by a work queue that never runs one key
// twice at once and backs off per key. (Longer than most modules: one class, whose wiring,
// worker loop and shutdown share its state.)
import { randomUUID } from "node:crypto";
import type { KubeConfig } from "@kubernetes/client-node";
import { type KubeObject, objectKey, Reflector, type ReflectorOptions } from "../kube/reflector.ts";
import type { WatchTimings } from "../kube/watch-timings.ts";
import type { Logger } from "../observability/log.ts";
import type { Metrics, ReconcileResult } from "../observability/metrics.ts";
import type { Retry } from "../reconcile/outcome.ts";
import { type Clock, WorkQueue } from "./queue.ts";
import { FieldIndex, type Predicate } from "./watches.ts";

/** How long reconciles get to unwind once their calls are cancelled at the shutdown deadline. */
const CANCEL_GRACE_MS = 1000;
/** How long the workers wait for secondary caches (a failing list must not hold reconciles up). */
const SECONDARY_SYNC_WAIT_MS = 30_000;

/** How each retry decision counts in controller-runtime's reconcile metrics. */
const RESULTS: Record<Exclude<Retry, object>, ReconcileResult> = {
  none: "success",
  now: "requeue",
  poll: "requeue_after",
  slow: "requeue_after",
  backoff: "error",
  untilInputsChange: "error",
};

/** The longest delay a timer takes (setTimeout fires at once beyond it); the periodic resync comes sooner anyway. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What to list and watch: one source per watched namespace, or one for all. */
export type Source<T> = Omit<ReflectorOptions<T>, "handler" | "logger" | "timings">;

export interface ControllerOptions {
  /** controller-runtime's controller name, in metrics and logs. */
  name: string;
  kc: KubeConfig;
  logger: Logger;
  metrics?: Metrics | undefined;
  timings?: WatchTimings | undefined;
  concurrency: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  pollIntervalMs: number;
  clock?: Clock;
}

/** A reconcile: the resource, its own signal (shutdown) and log (with the key and a reconcile ID). */
export type ReconcileFn<T> = (obj: T, run: { signal: AbortSignal; log: Logger }) => Promise<Retry>;

/** Told of each primary resource as the watch sees it, and when it is gone. */
export interface Observer<T> {
  set(key: string, obj: T): void;
  delete(key: string): void;
}

export interface Watched<S> {
  /** The object as the watch last saw it. */
  get(key: string): S | undefined;
}

export class Controller<T extends KubeObject> {
  readonly queue: WorkQueue;
  readonly #options: ControllerOptions;
  readonly #primary: Reflector<T>[] = [];
  readonly #secondary: Reflector<KubeObject>[] = [];
  /** Indexes and trackers: told of every primary the watch sees, and of its deletion. */
  readonly #observers: Array<Observer<T>> = [];
  readonly #onRemoved: Array<(obj: T) => void> = [];
  /** Aborted when stopping: ends the start-up listing and resync listings at once. */
  readonly #stop = new AbortController();
  /** Aborted when the shutdown timeout runs out: cancels what reconciles still have in flight. */
  readonly #deadline = new AbortController();
  #resync: NodeJS.Timeout | undefined;
  #starting: Promise<void> | undefined;

  constructor(options: ControllerOptions) {
    this.#options = options;
    this.queue = new WorkQueue(
      {
        concurrency: options.concurrency,
        baseDelayMs: options.retryBaseDelayMs,
        maxDelayMs: options.retryMaxDelayMs,
        ...(options.clock ? { clock: options.clock } : {}),
      },
      options.metrics?.queueObserver(),
    );
  }

  #reflector<S extends KubeObject>(source: Source<S>, handler: ReflectorOptions<S>["handler"]): Reflector<S> {
    return new Reflector<S>(this.#options.kc, {
      ...source,
      handler,
      logger: this.#options.logger,
      ...(this.#options.timings ? { timings: this.#options.timings } : {}),
    });
  }

  /** The primary resource: reconciled when an update passes `when`; deletions go to onRemoved. */
  reconciles(sources: Source<T>[], when: Predicate<T>): this {
    for (const source of sources) {
      this.#primary.push(
        this.#reflector(source, {
          upsert: (obj, old) => {
            for (const observer of this.#observers) observer.set(objectKey(obj), obj);
            if (when(old, obj)) this.queue.add(objectKey(obj));
          },
          delete: (obj) => {
            const key = objectKey(obj);
            for (const observer of this.#observers) observer.delete(key);
            this.queue.forget(key);
            for (const fn of this.#onRemoved) fn(obj);
          },
        }),
      );
    }
    return this;
  }

  /** An index over the primary resources, by the values `extract` gives. */
  index(extract: (obj: T) => string[]): FieldIndex<T> {
    const index = new FieldIndex(extract);
    this.#observers.push(index);
    return index;
  }

  /** Tell `observer` of every primary resource the watch sees (each update) and of its deletion. */
  tracks(observer: Observer<T>): this {
    this.#observers.push(observer);
    return this;
  }

  /** A secondary resource: an update that passes `when` (a deletion always) requeues the primaries `mapTo` names. */
  watches<S extends KubeObject>(sources: Source<S>[], mapTo: (obj: S, deleted: boolean) => string[], when: Predicate<S>): Watched<S> {
    const reflectors = sources.map((source) =>
      this.#reflector<S>(source, {
        upsert: (obj, old) => {
          if (when(old, obj)) for (const key of mapTo(obj, false)) this.queue.add(key);
        },
        delete: (obj) => {
          for (const key of mapTo(obj, true)) this.queue.add(key);
        },
      }),
    );
    this.#secondary.push(...(reflectors as unknown as Reflector<KubeObject>[]));
    return {
      get: (key) => {
        for (const r of reflectors) {
          const obj = r.cache.get(key);
          if (obj) return obj;
        }
        return undefined;
      },
    };
  }

  onRemoved(fn: (obj: T) => void): this {
    this.#onRemoved.push(fn);
    return this;
  }

  /** The primary resource as the watch last saw it. */
  get(key: string): T | undefined {
    for (const r of this.#primary) {
      const obj = r.cache.get(key);
      if (obj) return obj;
    }
    return undefined;
  }

  list(): T[] {
    return this.#primary.flatMap((r) => [...r.cache.values()]);
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  /** True once every watch has listed its objects. */
  get hasSynced(): boolean {
    return [...this.#primary, ...this.#secondary].every((r) => r.hasSynced);
  }

  /** Listed, and nothing queued or running. */
  get idle(): boolean {
    return this.hasSynced && this.queue.depth === 0 && this.queue.activeCount === 0;
  }

  /** When the API server last answered the quietest of the watches (monotonic ms). */
  get lastWatchContact(): number {
    return Math.min(...[...this.#primary, ...this.#secondary].map((r) => r.lastContact));
  }

  get #stopping(): boolean {
    return this.#stop.signal.aborted;
  }

  /**
   * Start watching; the workers start once the primaries are listed (and, for a while, the
   * secondaries), after `beforeWorkers` (e.g. a listing that spares each resource a call).
   * Every `resyncPeriodMs`, `beforeResync` and then every primary key into the queue.
   */
  start(reconcile: ReconcileFn<T>, options: { resyncPeriodMs: number; beforeWorkers?: (signal: AbortSignal) => Promise<void> }): void {
    for (const r of [...this.#primary, ...this.#secondary]) r.start();
    this.#starting = (async () => {
      await Promise.race([Promise.all(this.#primary.map((r) => r.synced)), this.#stopped()]);
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, SECONDARY_SYNC_WAIT_MS)));
      await Promise.race([Promise.all(this.#secondary.map((r) => r.synced)), waited, this.#stopped()]);
      clearTimeout(timer);
      if (this.#stopping) return;
      await options.beforeWorkers?.(this.#stop.signal);
      if (this.#stopping) return;
      this.queue.start(
        (key) => this.#process(key, reconcile),
        (key, err) => this.#unexpected(key, err),
      );
    })();
    this.#resync = setInterval(() => void this.resync(options.beforeWorkers), options.resyncPeriodMs);
    this.#resync.unref();
  }

  #stopped(): Promise<void> {
    const signal = this.#stop.signal;
    return signal.aborted ? Promise.resolve() : new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
  }

  /** Look at every resource again (after `refresh`, e.g. one listing of MemoryDB per region). */
  async resync(refresh?: (signal: AbortSignal) => Promise<void>): Promise<void> {
    await refresh?.(this.#stop.signal);
    if (this.#stopping) return;
    for (const obj of this.list()) this.queue.add(objectKey(obj));
  }

  async #process(key: string, reconcile: ReconcileFn<T>): Promise<void> {
    const obj = this.get(key);
    if (!obj) return;
    const log = this.#options.logger.child({ key, reconcileID: randomUUID() });
    const done = this.#options.metrics?.reconcileStarted();
    const retry = await reconcile(obj, { signal: this.#deadline.signal, log });
    done?.();
    if (this.#deadline.signal.aborted) return;
    this.#options.metrics?.reconciled(typeof retry === "object" ? "requeue_after" : RESULTS[retry]);
    if (typeof retry === "object") {
      this.queue.forget(key);
      this.queue.addAfter(key, Math.min(retry.afterMs, MAX_TIMER_MS));
      return;
    }
    switch (retry) {
      case "backoff":
        this.queue.addRateLimited(key);
        return;
      case "now":
        this.queue.forget(key);
        this.queue.add(key);
        return;
      case "slow":
        this.queue.forget(key);
        this.queue.addAfter(key, this.#options.retryMaxDelayMs);
        return;
      case "poll":
        this.queue.forget(key);
        this.queue.addAfter(key, this.#options.pollIntervalMs);
        return;
      case "none":
      case "untilInputsChange":
        this.queue.forget(key);
        return;
    }
  }

  /** A failure outside the reconcile itself (a bug): logged with its stack, retried with backoff. */
  #unexpected(key: string, err: unknown): void {
    this.#options.metrics?.reconciled("error");
    const delay = this.queue.addRateLimited(key);
    this.#options.logger.error("unexpected error processing a resource, retrying", {
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
    await Promise.all([...this.#primary, ...this.#secondary].map((r) => r.stop()));
    await this.#starting;
    if (await this.queue.shutdown(timeoutMs)) return true;
    this.#deadline.abort();
    return this.queue.shutdown(CANCEL_GRACE_MS);
  }
}
