// The client-side rate limit every MemoryDB call waits for, plugged into the AWS SDK's adaptive
// retry mode (its RateLimiter interface), one per client (region and identity, as AWS counts).
// Why not the SDK's DefaultRateLimiter: against a 10 requests/s bucket it let 3.9 % of calls be
// throttled, this one 1 % (docs/performance.md). The SDK's takes its new rate from everything it
// sent, throttled calls included, and probes past the limit every few seconds. This one takes it
// from what MemoryDB accepted since the last cut, and probes back the way CUBIC does but slowly
// near the rate that was last accepted, so a throttle is rare once the rate is found.

export interface RateLimiterClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** The rate after a throttle, as a share of what MemoryDB accepted. */
const BETA = 0.9;
/** Seconds after a cut until the rate is back at the accepted one (CUBIC's K). */
const RECOVERY_S = 10;
/** CUBIC's constant, relative to the accepted rate: rate(t) = accepted × (1 + C (t − K)³). */
const C = (1 - BETA) / RECOVERY_S ** 3;
/**
 * Requests per second per s³ added from 2K on whatever the rate: a rate cut far below the limit
 * (throttles that were not about the rate) recovers in tens of seconds, not minutes.
 */
const ABSOLUTE = 0.01;
/** Throttles this soon after a cut answer calls sent before it: they do not cut again. */
const HOLD_MS = 250;
/** How far back accepted calls are counted (and never before the last cut). */
const WINDOW_MS = 2_000;
/** Shortest span the accepted rate is measured over, so that two quick throttles do not cut to nothing. */
const MIN_SPAN_MS = 200;
const MIN_RATE = 0.5;

/** What the SDK's retry strategy reports after each attempt: {} on success, else its RetryErrorInfo. */
interface AttemptInfo {
  errorType?: "THROTTLING" | "TRANSIENT" | "SERVER_ERROR" | "CLIENT_ERROR";
}

/** Unlimited until the first throttle; then paced at `rate`, which each answer adjusts. */
export class AcceptedRateLimiter {
  readonly #clock: RateLimiterClock;
  /** Requests per second once a throttle was seen. */
  #rate: number | undefined;
  /** The accepted rate measured at the last cut, and when that was. */
  #accepted = 0;
  #cutAt = Number.NEGATIVE_INFINITY;
  /** When the next send may go: callers are served in order. */
  #nextAt = 0;
  /** When MemoryDB answered calls it did not throttle, the last WINDOW_MS of them. */
  #answered: number[] = [];

  constructor(clock: RateLimiterClock = { now: () => performance.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) }) {
    this.#clock = clock;
  }

  /** The current rate; undefined: no limit yet. */
  get rate(): number | undefined {
    return this.#rate;
  }

  async getSendToken(): Promise<void> {
    if (this.#rate === undefined) return;
    const now = this.#clock.now();
    const at = Math.max(now, this.#nextAt);
    this.#nextAt = at + 1000 / this.#rate;
    if (at > now) await this.#clock.sleep(at - now);
  }

  updateClientSendingRate(info: AttemptInfo | undefined): void {
    const now = this.#clock.now();
    this.#answered = this.#answered.filter((t) => now - t <= WINDOW_MS);
    if (info?.errorType === "THROTTLING") {
      if (now - this.#cutAt < HOLD_MS) return;
      const from = Math.max(now - WINDOW_MS, this.#cutAt);
      const span = Math.max(now - from, MIN_SPAN_MS);
      const measured = (this.#answered.filter((t) => t > from).length * 1000) / span;
      this.#accepted = Math.max(MIN_RATE, Math.min(measured, this.#rate ?? measured));
      this.#cutAt = now;
      this.#rate = Math.max(MIN_RATE, this.#accepted * BETA);
      return;
    }
    // A call that failed on the way (timeout, connection) was not counted by MemoryDB's limit.
    if (info?.errorType === "TRANSIENT") return;
    this.#answered.push(now);
    if (this.#rate === undefined) return;
    const t = (now - this.#cutAt) / 1000;
    const beyond = Math.max(0, t - 2 * RECOVERY_S);
    this.#rate = Math.max(MIN_RATE, this.#accepted * (1 + C * (t - RECOVERY_S) ** 3) + ABSOLUTE * beyond ** 3);
  }
}
