// The client-side rate limit every MemoryDB call waits for, plugged into the AWS SDK's adaptive
// retry strategy (its RateLimiter interface), one per client (region and identity, as AWS counts).
//
// Why not the SDK's DefaultRateLimiter (docs/performance.md, "The MemoryDB rate limiter"): it takes
// its new rate from everything it sent, throttled calls included, and probes past the limit every
// few seconds (4–5 % of calls throttled against a 10/s bucket); and it takes every throttle for a
// sign of the rate, so throttles that are not about it (a service fault, another client of the
// account) hold it near 9 calls/s whatever MemoryDB would accept.
//
// This one cuts to the rate MemoryDB accepted, comes back quickly to it and probes slowly beyond
// it (CUBIC-shaped), so a throttle is rare once the rate is found. Each cut is then tested: a rate
// limit stops throttling once the rate is below it; throttles that go on at the lower rate about
// as often as before the cut (rarely, both times) were not about the rate, and the cut is undone.
// Evidence: bench/rate-limiter.ts runs both limiters through the same scenarios.

export interface RateLimiterClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** The rate after a cut, as a share of what MemoryDB accepted. */
const BETA = 0.9;
/** Seconds after a cut until the rate is back at the accepted one (CUBIC's K). */
const RECOVERY_S = 10;
/** CUBIC's constant, relative to the accepted rate: rate(t) = accepted × (1 + C (t − K)³). */
const C = (1 - BETA) / RECOVERY_S ** 3;
/** Requests per second per s³ added from 2K on whatever the rate, so a rate far below the limit comes back in tens of seconds. */
const ABSOLUTE = 0.01;
/**
 * The answers to calls sent before a cut (those in flight then) neither cut again nor test it.
 * Counted, not timed, so that it holds at any latency; never longer than a call can take (the
 * client's request timeout), in case an answer never came (an aborted call reports nothing).
 */
const IN_FLIGHT_MAX_MS = 30_000;
/** How far back answers are counted (and never before the last cut). */
const WINDOW_MS = 2_000;
/** Shortest span the accepted rate is measured over, so that two quick throttles do not cut to nothing. */
const MIN_SPAN_MS = 200;
const MIN_RATE = 0.5;
/** Fewer accepted answers than this do not tell a rate: a throttle among them alone does not cut. */
const MIN_ANSWERS = 3;
/** Answers after a cut that test it: a cut none of them was throttled for stands; so does one a minute old. */
const TEST_ANSWERS = 50;
const TEST_MAX_MS = 60_000;
/**
 * A throttled share before a cut above this (of MIN_ANSWERS throttles at least), or after it above
 * this and above twice the share before: the rate is still too high. Otherwise the throttles
 * after the cut were not about the rate (throttles that are not are rarer than this).
 */
const STILL_TOO_HIGH = 0.2;

/** What the SDK's retry strategy reports after each attempt: {} on success, else its RetryErrorInfo. */
interface AttemptInfo {
  errorType?: "THROTTLING" | "TRANSIENT" | "SERVER_ERROR" | "CLIENT_ERROR";
}

interface Schedule {
  /** Requests per second; undefined: no limit. */
  rate: number | undefined;
  /** The accepted rate measured at the last cut, which recovery returns to. */
  accepted: number;
  cutAt: number;
}

/** A cut under test: what it replaced, the answers before it, and those since. */
interface CutTest {
  at: number;
  before: Schedule;
  /** The answers the cut was measured from, and how many of them MemoryDB accepted. */
  answersBefore: number;
  acceptedBefore: number;
  /** Calls that had asked to be sent by the cut: answers up to this count are theirs. */
  sentBefore: number;
  answers: number;
  throttled: number;
}

/** Unlimited until MemoryDB throttles; then paced at `rate`, which each answer adjusts. */
export class AcceptedRateLimiter {
  readonly #clock: RateLimiterClock;
  #schedule: Schedule = { rate: undefined, accepted: 0, cutAt: Number.NEGATIVE_INFINITY };
  #test: CutTest | undefined;
  /** When the first call was sent: the accepted rate is never measured from before it. */
  #firstAt: number | undefined;
  /** When the next send may go: callers are served in order. */
  #nextAt = 0;
  /** Calls that asked to be sent, and answers had (answers come in the order of the calls, near enough). */
  #sent = 0;
  #answered = 0;
  /** The answers of the last WINDOW_MS, oldest first. */
  #answers: Array<{ at: number; throttled: boolean }> = [];

  constructor(clock: RateLimiterClock = { now: () => performance.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) }) {
    this.#clock = clock;
  }

  /** The current rate; undefined: no limit. */
  get rate(): number | undefined {
    return this.#schedule.rate;
  }

  async getSendToken(): Promise<void> {
    const now = this.#clock.now();
    this.#firstAt ??= now;
    // Counted on asking: a call waiting for its turn was paced by the rate before any cut meanwhile.
    this.#sent++;
    const rate = this.#schedule.rate;
    if (rate === undefined) return;
    const at = Math.max(now, this.#nextAt);
    this.#nextAt = at + 1000 / rate;
    if (at > now) await this.#clock.sleep(at - now);
  }

  updateClientSendingRate(info: AttemptInfo | undefined): void {
    this.#answered++;
    // A call that failed on the way or on the server's side (timeout, reset, 5xx) says nothing of the rate.
    if (info?.errorType === "TRANSIENT" || info?.errorType === "SERVER_ERROR") return;
    const now = this.#clock.now();
    const throttled = info?.errorType === "THROTTLING";
    while (this.#answers.length > 0 && now - this.#answers[0]!.at > WINDOW_MS) this.#answers.shift();
    this.#answers.push({ at: now, throttled });
    const test = this.#test;
    if (test && now - test.at > TEST_MAX_MS) this.#test = undefined;
    else if (test && this.#answered <= test.sentBefore && now - test.at < IN_FLIGHT_MAX_MS) {
      // An answer to a call sent before the cut: about the old rate, already acted on.
      if (throttled) return;
    } else if (test && this.#judge(test, throttled, now)) return;
    if (throttled) {
      if (!this.#test) this.#cut(now);
      return;
    }
    const { rate, accepted, cutAt } = this.#schedule;
    if (rate === undefined) return;
    const t = (now - cutAt) / 1000;
    const beyond = Math.max(0, t - 2 * RECOVERY_S);
    this.#schedule.rate = Math.max(MIN_RATE, accepted * (1 + C * (t - RECOVERY_S) ** 3) + ABSOLUTE * beyond ** 3);
  }

  /** Counts an answer to the cut under test; true when it decided what the throttle meant. */
  #judge(test: CutTest, throttled: boolean, now: number): boolean {
    test.answers++;
    if (!throttled) {
      if (test.answers >= TEST_ANSWERS) this.#test = undefined;
      return false;
    }
    test.throttled++;
    if (test.answers < MIN_ANSWERS) return true;
    this.#test = undefined;
    const share = test.throttled / test.answers;
    const before = 1 - test.acceptedBefore / test.answersBefore;
    const manyBefore = before > STILL_TOO_HIGH && test.answersBefore - test.acceptedBefore >= MIN_ANSWERS;
    if (manyBefore || share > Math.max(STILL_TOO_HIGH, 2 * before)) this.#cut(now, true);
    else this.#schedule = test.before;
    return true;
  }

  /**
   * Cuts to what MemoryDB accepted since the last cut (at most WINDOW_MS back), and tests the cut.
   * `again`: the cut before was not enough, whatever the answers since.
   */
  #cut(now: number, again = false): void {
    // Since the last cut, but over MIN_SPAN_MS at least: a quick second cut counts a few answers before the first.
    const firstAt = this.#firstAt ?? now;
    const from = Math.max(Math.min(Math.max(now - WINDOW_MS, this.#schedule.cutAt), now - MIN_SPAN_MS), firstAt);
    const answers = this.#answers.filter((a) => a.at > from);
    const acceptedCount = answers.filter((a) => !a.throttled).length;
    // A throttle among the first few answers says little about a rate; throttles and nothing else do.
    if (!again && acceptedCount < MIN_ANSWERS && answers.length - acceptedCount < MIN_ANSWERS) return;
    const measured = (acceptedCount * 1000) / Math.max(now - from, MIN_SPAN_MS);
    const accepted = Math.max(MIN_RATE, Math.min(measured, this.#schedule.rate ?? measured));
    this.#test = {
      at: now,
      before: { ...this.#schedule },
      answersBefore: answers.length,
      acceptedBefore: acceptedCount,
      sentBefore: this.#sent,
      answers: 0,
      throttled: 0,
    };
    this.#schedule = { rate: Math.max(MIN_RATE, accepted * BETA), accepted, cutAt: now };
  }
}
