// A work queue with client-go's guarantees: a key is queued at most once, never processed by
// two workers at once (a key added while it runs is processed again afterwards), processed by
// at most `concurrency` workers, and retried with per-key exponential backoff.

export interface QueueOptions {
  concurrency: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Time for delayed adds; default the real one (tests pass a fake, as client-go's do). */
  clock?: Clock;
}

/** The queue's time: now, and timers. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

export const REAL_CLOCK: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

export interface QueueObserver {
  onAdd?(key: string): void;
  onRetry?(key: string): void;
  onDepth?(depth: number): void;
}

export class WorkQueue {
  readonly #options: QueueOptions;
  readonly #observer: QueueObserver;
  /** Keys waiting to be processed, in order. */
  readonly #ready = new Set<string>();
  /** Keys being processed right now. */
  readonly #active = new Set<string>();
  /** Keys added while active: processed again when the current run ends. */
  readonly #dirty = new Set<string>();
  readonly #timers = new Map<string, { at: number; timer: unknown }>();
  readonly #clock: Clock;
  readonly #failures = new Map<string, number>();
  #handler: ((key: string) => Promise<void>) | undefined;
  #onError: ((key: string, err: unknown) => void) | undefined;
  #stopping = false;
  #started = 0;
  readonly #idle = new Set<() => void>();

  constructor(options: QueueOptions, observer: QueueObserver = {}) {
    this.#options = options;
    this.#observer = observer;
    this.#clock = options.clock ?? REAL_CLOCK;
  }

  get depth(): number {
    return this.#ready.size;
  }

  /** Keys being reconciled right now. */
  get activeCount(): number {
    return this.#active.size;
  }

  /** Keys handed to the handler so far. */
  get started(): number {
    return this.#started;
  }

  add(key: string): void {
    if (this.#stopping) return;
    if (this.#active.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#ready.has(key)) return;
    this.#ready.add(key);
    this.#observer.onAdd?.(key);
    this.#observer.onDepth?.(this.#ready.size);
    this.#pump();
  }

  /** Queue `key` after `delayMs`; an earlier pending time for the key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#stopping) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = this.#clock.now() + delayMs;
    const pending = this.#timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) this.#clock.clearTimeout(pending.timer);
    const timer = this.#clock.setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, delayMs);
    this.#timers.set(key, { at, timer });
  }

  /** Queue `key` again after its next backoff delay: base × 2^(failures), capped. */
  addRateLimited(key: string): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    const delay = Math.min(this.#options.baseDelayMs * 2 ** failures, this.#options.maxDelayMs);
    this.#observer.onRetry?.(key);
    this.addAfter(key, delay);
    return delay;
  }

  /** Reset the key's backoff after a success. */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /**
   * Start processing with `handler`. What it throws goes to `onError` (which logs it and
   * requeues the key): an error is never swallowed.
   */
  start(handler: (key: string) => Promise<void>, onError: (key: string, err: unknown) => void): void {
    this.#handler = handler;
    this.#onError = onError;
    this.#pump();
  }

  #pump(): void {
    const handler = this.#handler;
    if (!handler) return;
    while (!this.#stopping && this.#active.size < this.#options.concurrency && this.#ready.size > 0) {
      const key = this.#ready.values().next().value as string;
      this.#ready.delete(key);
      this.#active.add(key);
      this.#started++;
      this.#observer.onDepth?.(this.#ready.size);
      void handler(key)
        .catch((err: unknown) => this.#onError?.(key, err))
        .finally(() => {
          this.#active.delete(key);
          if (this.#dirty.delete(key)) this.add(key);
          if (this.#active.size === 0) for (const resolve of this.#idle) resolve();
          this.#pump();
        });
    }
  }

  /** Resolves when nothing is running (at once if nothing is). */
  whenIdle(): Promise<void> {
    if (this.#active.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const onIdle = () => {
        this.#idle.delete(onIdle);
        resolve();
      };
      this.#idle.add(onIdle);
    });
  }

  /** Stop taking work and wait (up to `timeoutMs`) for in-flight keys; true if all finished. */
  async shutdown(timeoutMs: number): Promise<boolean> {
    this.#stopping = true;
    for (const { timer } of this.#timers.values()) this.#clock.clearTimeout(timer);
    this.#timers.clear();
    this.#ready.clear();
    this.#dirty.clear();
    if (this.#active.size === 0) return true;
    return new Promise<boolean>((resolve) => {
      const done = (finished: boolean) => {
        clearTimeout(timer);
        this.#idle.delete(onIdle);
        resolve(finished);
      };
      const onIdle = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#idle.add(onIdle);
    });
  }
}
