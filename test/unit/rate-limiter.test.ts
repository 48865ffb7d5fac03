// The client-side rate limiter of MemoryDB calls, against a simulated MemoryDB rate limit (a token
// bucket, as the emulator has) on a fake clock: how much of the allowed rate it uses, and how
// often it is throttled on the way.
import { expect } from "chai";
import { AcceptedRateLimiter } from "../../src/aws/rate-limiter.ts";
import { FakeClock, runUntil } from "./fake-clock.ts";

/** `calls` calls through the limiter by `workers` parallel callers, each answered after `latencyMs`; throttled ones are sent again. */
async function simulate(options: { perSecond: number; burst: number; calls: number; workers?: number; latencyMs?: number }) {
  const { perSecond, burst, calls, workers = 4, latencyMs = 20 } = options;
  const clock = new FakeClock();
  const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
  const limiter = new AcceptedRateLimiter({ now: () => clock.now(), sleep });
  let tokens = burst;
  let filledAt = 0;
  let accepted = 0;
  let throttled = 0;
  let lastAcceptedAt = 0;
  const serve = (): boolean => {
    const now = clock.now();
    tokens = Math.min(burst, tokens + ((now - filledAt) / 1000) * perSecond);
    filledAt = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
  const worker = async () => {
    while (accepted < calls) {
      await limiter.getSendToken();
      await sleep(latencyMs / 2);
      const ok = serve();
      await sleep(latencyMs / 2);
      if (ok) {
        accepted++;
        lastAcceptedAt = clock.now();
      } else throttled++;
      limiter.updateClientSendingRate(ok ? {} : { errorType: "THROTTLING" });
    }
  };
  const done = Promise.all(Array.from({ length: workers }, worker));
  let finished = false;
  void done.then(() => (finished = true));
  while (!finished) await runUntil(clock, clock.now() + 1000);
  const allowed = burst + (perSecond * lastAcceptedAt) / 1000;
  return { used: accepted / allowed, throttledShare: throttled / (accepted + throttled), limiter };
}

describe("MemoryDB rate limiter (client side)", () => {
  it("is no limit until MemoryDB throttles", async () => {
    const limiter = new AcceptedRateLimiter({ now: () => 0, sleep: () => Promise.reject(new Error("must not wait")) });
    for (let i = 0; i < 100; i++) await limiter.getSendToken();
    limiter.updateClientSendingRate({});
    expect(limiter.rate).to.equal(undefined);
  });

  for (const [perSecond, burst] of [
    [10, 20],
    [25, 50],
  ] as const) {
    it(`uses ≥ 90 % of a ${perSecond}/s limit (burst ${burst}) with < 2 % of calls throttled`, async () => {
      const { used, throttledShare } = await simulate({ perSecond, burst, calls: 100 * perSecond });
      expect(used).to.be.at.least(0.9);
      expect(throttledShare).to.be.below(0.02);
    });
  }

  it("recovers from a cut far below the limit (throttles that were not about the rate) within half a minute", () => {
    let now = 0;
    const limiter = new AcceptedRateLimiter({ now: () => now, sleep: async () => undefined });
    limiter.updateClientSendingRate({ errorType: "THROTTLING" });
    expect(limiter.rate).to.equal(0.5);
    const rateAt = (seconds: number) => {
      while (now < seconds * 1000) {
        now += 100;
        limiter.updateClientSendingRate({});
      }
      return limiter.rate!;
    };
    expect(rateAt(10)).to.be.within(0.5, 0.6);
    expect(rateAt(30)).to.be.at.least(10);
  });

  it("does not take a failure on the way (a timeout) for an answer, nor cut the rate for it", async () => {
    let now = 0;
    const limiter = new AcceptedRateLimiter({
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    });
    for (let i = 0; i < 20; i++) {
      now += 50;
      limiter.updateClientSendingRate({});
    }
    limiter.updateClientSendingRate({ errorType: "THROTTLING" });
    const cut = limiter.rate!;
    expect(cut).to.be.within(8, 10);
    now += 300;
    limiter.updateClientSendingRate({ errorType: "TRANSIENT" });
    expect(limiter.rate).to.equal(cut);
  });
});
