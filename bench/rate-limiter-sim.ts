// A client-side rate limiter of MemoryDB calls against simulated throttling, on simulated time:
// the operator's callers (parallel reconciles, p-retry's in-call retries, the work queue's
// backoff) sending calls through the limiter to a server that throttles as a token bucket, at
// random (a fault not about the rate), or both. Used by bench/rate-limiter.ts (the figures) and
// test/unit/rate-limiter.test.ts (the limiter's behaviour).
import { IN_CALL_RETRY } from "../src/aws/memorydb.ts";

/** The AWS SDK's RateLimiter interface, as its adaptive retry strategy calls it. */
export interface RateLimiter {
  getSendToken(): Promise<void>;
  updateClientSendingRate(info: { errorType?: "THROTTLING" } | undefined): void;
}

export interface Scenario {
  name: string;
  /** Calls to make (each until accepted). */
  calls: number;
  /** Parallel callers: the operator's MAX_CONCURRENT_RECONCILES. */
  workers: number;
  /** A token bucket: requests per second and burst; none if undefined. */
  bucket?: { perSecond: number; burst: number };
  /** From this time on, the bucket's rate (e.g. another client of the account took a share). */
  bucketChange?: { atMs: number; perSecond: number };
  /** The share of calls throttled at random, whatever the rate. */
  randomThrottle?: number;
  /** Until this time, each caller spends a second between calls instead of `workMs` (low demand). */
  slowUntilMs?: number;
  /** A call's round trip. */
  latencyMs: number;
  /** The caller's own work between calls (its Kubernetes requests). */
  workMs: number;
}

export interface SimResult {
  seconds: number;
  /** Accepted calls per second, first send to last acceptance. */
  acceptedPerSecond: number;
  /** Accepted calls as a share of what the bucket allowed meanwhile; undefined without a bucket. */
  usedShare: number | undefined;
  throttledShare: number;
}

export const SCENARIOS: Scenario[] = [
  { name: "token bucket 10/s, burst 20", calls: 1000, workers: 4, bucket: { perSecond: 10, burst: 20 }, latencyMs: 20, workMs: 20 },
  { name: "token bucket 50/s, burst 100", calls: 3000, workers: 4, bucket: { perSecond: 50, burst: 100 }, latencyMs: 20, workMs: 20 },
  { name: "token bucket 2/s, empty", calls: 200, workers: 4, bucket: { perSecond: 2, burst: 1 }, latencyMs: 20, workMs: 20 },
  {
    name: "token bucket 10/s, then 4/s from 30 s",
    calls: 1000,
    workers: 4,
    bucket: { perSecond: 10, burst: 20 },
    bucketChange: { atMs: 30_000, perSecond: 4 },
    latencyMs: 20,
    workMs: 20,
  },
  {
    name: "token bucket 10/s, low demand for 60 s",
    calls: 1000,
    workers: 4,
    bucket: { perSecond: 10, burst: 20 },
    slowUntilMs: 60_000,
    latencyMs: 20,
    workMs: 20,
  },
  { name: "5 % throttled at random, no limit", calls: 3000, workers: 4, randomThrottle: 0.05, latencyMs: 20, workMs: 20 },
  {
    name: "5 % at random, low demand for 60 s",
    calls: 3000,
    workers: 4,
    randomThrottle: 0.05,
    slowUntilMs: 60_000,
    latencyMs: 20,
    workMs: 20,
  },
  {
    name: "5 % at random and bucket 10/s",
    calls: 1000,
    workers: 4,
    bucket: { perSecond: 10, burst: 20 },
    randomThrottle: 0.05,
    latencyMs: 20,
    workMs: 20,
  },
];

/** Simulated time: timers fire in order, each after the promise jobs the last one started. */
export class SimClock {
  #now = 0;
  #seq = 0;
  #timers: Array<{ at: number; seq: number; fn: () => void }> = [];

  now(): number {
    return this.#now;
  }

  /** As setTimeout: never sooner than 1 ms. */
  setTimeout(fn: () => void, ms: number): void {
    this.#timers.push({ at: this.#now + Math.max(1, ms), seq: this.#seq++, fn });
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  /** Runs timers until none is left. */
  async run(): Promise<void> {
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      if (this.#timers.length === 0) return;
      this.#timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.#timers.shift()!;
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
  }
}

/** The Park–Miller generator: the same throttles for the same seed. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 16807) % 2147483647;
    return state / 2147483647;
  };
}

/** The operator's in-call retries (p-retry's delay: min × factor^attempt, jittered ×1–2, capped) and the queue's 1 s doubling backoff. */
const { retries: RETRIES, minTimeout, maxTimeout, factor } = IN_CALL_RETRY;
const retryDelayMs = (attempt: number, random: () => number) => Math.min(maxTimeout, minTimeout * factor ** attempt * (1 + random()));
const queueDelayMs = (failures: number) => Math.min(300_000, 1_000 * 2 ** (failures - 1));

export async function simulate(scenario: Scenario, limiter: RateLimiter, clock: SimClock, seed = 1): Promise<SimResult> {
  const random = seeded(seed);
  const bucket = scenario.bucket ? { tokens: scenario.bucket.burst, filledAt: 0, ...scenario.bucket } : undefined;
  let sent = 0;
  let throttled = 0;
  let done = 0;
  let firstAt: number | undefined;
  let lastAcceptedAt = 0;
  const serve = (): boolean => {
    if (scenario.randomThrottle && random() < scenario.randomThrottle) return false;
    if (!bucket) return true;
    const now = clock.now();
    if (scenario.bucketChange && now >= scenario.bucketChange.atMs) bucket.perSecond = scenario.bucketChange.perSecond;
    bucket.tokens = Math.min(bucket.burst, bucket.tokens + ((now - bucket.filledAt) / 1000) * bucket.perSecond);
    bucket.filledAt = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  };
  const call = async (): Promise<boolean> => {
    await limiter.getSendToken();
    firstAt ??= clock.now();
    sent++;
    await clock.sleep(scenario.latencyMs / 2);
    const accepted = serve();
    await clock.sleep(scenario.latencyMs / 2);
    if (!accepted) throttled++;
    limiter.updateClientSendingRate(accepted ? {} : { errorType: "THROTTLING" });
    return accepted;
  };
  const queue = Array.from({ length: scenario.calls }, () => ({ notBefore: 0, failures: 0 }));
  const worker = async () => {
    while (done < scenario.calls) {
      const index = queue.findIndex((item) => item.notBefore <= clock.now());
      if (index < 0) {
        const soonest = Math.min(...queue.map((item) => item.notBefore));
        await clock.sleep(Number.isFinite(soonest) ? soonest - clock.now() : 50);
        continue;
      }
      const [item] = queue.splice(index, 1);
      const slow = scenario.slowUntilMs !== undefined && clock.now() < scenario.slowUntilMs;
      await clock.sleep(slow ? 1_000 : scenario.workMs);
      let accepted = false;
      for (let attempt = 0; !accepted && attempt <= RETRIES; attempt++) {
        accepted = await call();
        if (!accepted && attempt < RETRIES) await clock.sleep(retryDelayMs(attempt, random));
      }
      if (accepted) {
        done++;
        lastAcceptedAt = clock.now();
      } else {
        item!.failures++;
        item!.notBefore = clock.now() + queueDelayMs(item!.failures);
        queue.push(item!);
      }
    }
  };
  for (let i = 0; i < scenario.workers; i++) void worker();
  await clock.run();
  const seconds = (lastAcceptedAt - (firstAt ?? 0)) / 1000;
  const accepted = sent - throttled;
  const allowed = bucket ? scenario.bucket!.burst + bucketAllowed(scenario, firstAt ?? 0, lastAcceptedAt) : undefined;
  return {
    seconds,
    acceptedPerSecond: accepted / seconds,
    usedShare: allowed === undefined ? undefined : accepted / allowed,
    throttledShare: throttled / sent,
  };
}

/** What the bucket refilled between two times, its rate change included. */
function bucketAllowed(scenario: Scenario, from: number, to: number): number {
  const { perSecond } = scenario.bucket!;
  const change = scenario.bucketChange;
  if (!change || change.atMs >= to) return ((to - from) / 1000) * perSecond;
  const split = Math.max(from, change.atMs);
  return ((split - from) / 1000) * perSecond + ((to - split) / 1000) * change.perSecond;
}
