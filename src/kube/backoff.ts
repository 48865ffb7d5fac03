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
  readonly #o: Required<BackoffOptions>;
  #attempt = 0;
  #lastFailure: number | undefined;

  constructor(options: BackoffOptions) {
    this.#o = { now: () => performance.now(), random: Math.random, ...options };
  }

  /** Record a failure; answers how long to wait before the next attempt. */
  fail(): number {
    const now = this.#o.now();
    if (this.#lastFailure !== undefined && now - this.#lastFailure >= this.#o.resetAfterMs) this.#attempt = 0;
    this.#lastFailure = now;
    return backoffDelay(this.#attempt++, this.#o.minMs, this.#o.maxMs, this.#o.random);
  }

  /** Whether a failure now would follow the last one within the healthy period. */
  get recentlyFailed(): boolean {
    return this.#lastFailure !== undefined && this.#o.now() - this.#lastFailure < this.#o.resetAfterMs;
  }
}
