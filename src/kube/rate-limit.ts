// The operator's bound on its own request rate to the Kubernetes API server, client-go's QPS and
// burst: a token bucket holding `burst` tokens, refilled at `qps` per second. Each request takes
// one token or waits its turn for the next (reservations, as Go's rate.Limiter makes them, so
// waiters are served in order and a burst of reconciles is spread out instead of refused).
import type { Clock } from "../controller/queue.ts";

export interface RateLimitOptions {
  qps: number;
  burst: number;
  /** Time and timers; default the real ones (tests pass a fake). */
  clock?: Pick<Clock, "now" | "setTimeout" | "clearTimeout">;
}

export class TokenBucket {
  readonly #qps: number;
  readonly #burst: number;
  readonly #clock: Pick<Clock, "now" | "setTimeout" | "clearTimeout">;
  /** Tokens left; below zero, the reservations of those waiting. */
  #tokens: number;
  #at: number;

  constructor(options: RateLimitOptions) {
    if (!(options.qps > 0) || !Number.isInteger(options.burst) || options.burst < 1) {
      throw new Error(`a rate limit needs qps > 0 and an integer burst >= 1, got ${options.qps} and ${options.burst}`);
    }
    this.#qps = options.qps;
    this.#burst = options.burst;
    this.#clock = options.clock ?? {
      now: () => performance.now(),
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
    };
    this.#tokens = options.burst;
    this.#at = this.#clock.now();
  }

  /** Resolves when the caller may send (at once while tokens are left); rejects if `signal` aborts first. */
  async take(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#at) / 1000) * this.#qps);
    this.#at = now;
    this.#tokens -= 1;
    if (this.#tokens >= 0) return;
    const waitMs = (-this.#tokens / this.#qps) * 1000;
    await new Promise<void>((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, waitMs);
      const onAbort = () => {
        this.#clock.clearTimeout(timer);
        // Hand the reservation back, to whoever asks next.
        this.#tokens += 1;
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}
