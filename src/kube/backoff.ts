// Exponential backoff with jitter that starts over after a healthy period, as kube-rs' watcher
// does (0.8 s doubling to 30 s, reset once 120 s pass without a failure).

export interface BackoffOptions {
  minMs: number;
  maxMs: number;
  /** A failure this long after the previous one starts the sequence over. */
  resetAfterMs: number;
  /** Monotonic milliseconds; default performance.now. */
  now?: () => number;
  random?: () => number;
}

/** Delay for attempt `n` (0-based): exponential, capped, with ±50% jitter. */
export function backoffDelay(n: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, minMs * 2 ** n);
  return Math.round(base * (0.5 + random()));
}

export class Backoff {
  readonly #options: Required<BackoffOptions>;
  #attempt = 0;
  #lastFailure: number | undefined;

  constructor(options: BackoffOptions) {
    this.#options = { now: () => performance.now(), random: Math.random, ...options };
  }

  /** Record a failure; answers how long to wait before the next attempt. */
  fail(): number {
    const now = this.#options.now();
    if (this.#lastFailure !== undefined && now - this.#lastFailure >= this.#options.resetAfterMs) this.#attempt = 0;
    this.#lastFailure = now;
    return backoffDelay(this.#attempt++, this.#options.minMs, this.#options.maxMs, this.#options.random);
  }

  /** Whether a failure now would follow the last one within the healthy period. */
  get recentlyFailed(): boolean {
    return this.#lastFailure !== undefined && this.#options.now() - this.#lastFailure < this.#options.resetAfterMs;
  }
}

/** Whether a Kubernetes API failure (by HTTP status, undefined: no answer) may pass by itself. */
export function transientStatus(status: number | undefined): boolean {
  return status === undefined || status === 429 || status >= 500;
}

/**
 * Runs a start-up step until it succeeds or fails for good: a failure `transient` says may pass
 * (the API server restarting, throttling, a network blip) is retried with backoff, logged,
 * until `signal` aborts. One passing error must not kill the operator.
 */
export async function retryUntilSettled<T>(
  step: string,
  run: () => Promise<T>,
  options: { transient: (err: unknown) => boolean; signal?: AbortSignal | undefined; onRetry: (err: unknown, delayMs: number) => void },
): Promise<T> {
  const backoff = new Backoff({ minMs: 500, maxMs: 30_000, resetAfterMs: 120_000 });
  for (;;) {
    try {
      return await run();
    } catch (err) {
      if (options.signal?.aborted || !options.transient(err)) throw err;
      const delay = backoff.fail();
      options.onRetry(err, delay);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        options.signal?.addEventListener(
          "abort",
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
      if (options.signal?.aborted) throw new Error(`${step}: stopped while retrying`);
    }
  }
}
