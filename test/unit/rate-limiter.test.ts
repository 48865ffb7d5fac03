// The client-side rate limiter of MemoryDB calls, against simulated throttling on simulated time
// (bench/rate-limiter-sim.ts: a token bucket as the emulator has, throttles at random, or both).
import { expect } from "chai";
import { SCENARIOS, type Scenario, SimClock, simulate } from "../../bench/rate-limiter-sim.ts";
import { AcceptedRateLimiter } from "../../src/aws/rate-limiter.ts";

const scenario = (name: string): Scenario => SCENARIOS.find((s) => s.name === name)!;
const run = (s: Scenario, seed = 1) => {
  const clock = new SimClock();
  return simulate(s, new AcceptedRateLimiter(clock), clock, seed);
};

/** A limiter on a clock the test moves by hand; its waits end at once. */
function handLimiter() {
  const clock = { t: 0, now: () => clock.t, sleep: async () => undefined };
  const limiter = new AcceptedRateLimiter(clock);
  /** `n` answers to calls already sent, `everyMs` apart, each throttled when `throttled(i)`. */
  const reply = (n: number, everyMs: number, throttled: (i: number) => boolean = () => false) => {
    for (let i = 0; i < n; i++) {
      clock.t += everyMs;
      limiter.updateClientSendingRate(throttled(i) ? { errorType: "THROTTLING" } : {});
    }
  };
  /** `n` calls, each sent and then answered `everyMs` later. */
  const answer = (n: number, everyMs: number, throttled: (i: number) => boolean = () => false) => {
    for (let i = 0; i < n; i++) {
      void limiter.getSendToken();
      reply(1, everyMs, () => throttled(i));
    }
  };
  return { clock, limiter, answer, reply };
}

describe("MemoryDB rate limiter (client side)", () => {
  it("is no limit until MemoryDB throttles", async () => {
    const limiter = new AcceptedRateLimiter({ now: () => 0, sleep: () => Promise.reject(new Error("must not wait")) });
    for (let i = 0; i < 100; i++) await limiter.getSendToken();
    limiter.updateClientSendingRate({});
    expect(limiter.rate).to.equal(undefined);
  });

  for (const name of ["token bucket 10/s, burst 20", "token bucket 50/s, burst 100"]) {
    it(`uses ≥ 90 % of a ${name} with < 2 % of calls throttled`, async () => {
      for (const seed of [1, 2]) {
        const { usedShare, throttledShare } = await run(scenario(name), seed);
        expect(usedShare).to.be.at.least(0.9);
        expect(throttledShare).to.be.below(0.02);
      }
    });
  }

  it("follows a limit that drops (another client took a share) without staying above it", async () => {
    const { usedShare, throttledShare } = await run(scenario("token bucket 10/s, then 4/s from 30 s"));
    expect(usedShare).to.be.at.least(0.9);
    expect(throttledShare).to.be.below(0.05);
  });

  it("is not held down by throttles that are not about the rate (5 % at random)", async () => {
    // The SDK's own limiter settles near 9 accepted calls/s here (npm run bench:rate-limiter);
    // the callers could make 100.
    for (const seed of [1, 2]) {
      const { acceptedPerSecond } = await run(scenario("5 % throttled at random, no limit"), seed);
      expect(acceptedPerSecond).to.be.at.least(12);
    }
  });

  it("undoes a cut when throttles go on at the lower rate no more often than before", () => {
    const { limiter, answer } = handLimiter();
    answer(20, 50, (i) => i === 19); // 20/s, then a throttle: a cut to what was accepted
    expect(limiter.rate).to.be.within(8, 19);
    answer(20, 60, (i) => i === 19); // a throttle after the cut, 1 in 20 as before: not about the rate
    expect(limiter.rate).to.equal(undefined);
  });

  it("keeps a cut when throttles stop at the lower rate, and cuts again when they grow", () => {
    const kept = handLimiter();
    kept.answer(40, 50, (i) => i === 39);
    const cut = kept.limiter.rate!;
    kept.answer(60, 60);
    kept.answer(1, 60, () => true); // after the test: a throttle, a new cut from what was accepted
    expect(kept.limiter.rate).to.be.below(cut);

    const again = handLimiter();
    again.answer(40, 50, (i) => i === 39);
    const first = again.limiter.rate!;
    again.answer(10, 60, (i) => i % 2 === 1); // half of the calls after the cut throttled: still too fast
    expect(again.limiter.rate).to.be.below(first);
  });

  it("takes the answers to calls in flight at a cut for what they are: about the rate before it", () => {
    const { limiter, answer, reply } = handLimiter();
    answer(19, 50);
    for (let i = 0; i < 4; i++) void limiter.getSendToken(); // four more calls on their way
    answer(1, 50, () => true); // a throttle: the cut
    const cut = limiter.rate!;
    reply(4, 100, () => true); // the four, throttled too, however late: neither a cut again nor the cut's test
    expect(limiter.rate).to.equal(cut);
    answer(20, 60, (i) => i === 19); // the test: 1 in 20 after the cut, as before it
    expect(limiter.rate).to.equal(undefined);
  });

  it("lets a cut stand when its test has heard nothing for a minute", () => {
    const { limiter, answer, clock } = handLimiter();
    answer(20, 50, (i) => i === 19);
    const cut = limiter.rate!;
    clock.t += 61_000;
    answer(20, 60, (i) => i === 19); // a throttle after the test's end: a new cut, not an undo
    expect(limiter.rate).to.be.below(cut * 1.2);
    expect(limiter.rate).to.not.equal(undefined);
  });

  it("slows down when every call is throttled from the first, and stays slow", () => {
    const { limiter, answer } = handLimiter();
    answer(3, 10, () => true);
    expect(limiter.rate).to.equal(0.5);
    answer(20, 2000, () => true);
    expect(limiter.rate).to.equal(0.5);
  });

  it("takes neither a lone early throttle nor a failure on the way (a timeout, a 5xx) for a sign of the rate", () => {
    const { limiter, answer } = handLimiter();
    answer(1, 10, () => true);
    expect(limiter.rate).to.equal(undefined);
    for (let i = 0; i < 3; i++) limiter.updateClientSendingRate({ errorType: "TRANSIENT" });
    answer(1, 10, () => true); // counted as answers, the three would make this throttle cut
    expect(limiter.rate).to.equal(undefined);
  });
});
