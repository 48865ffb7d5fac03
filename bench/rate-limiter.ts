// The operator's MemoryDB rate limiter (src/aws/rate-limiter.ts) and the AWS SDK's own
// (DefaultRateLimiter, retry mode "adaptive") through the same simulated scenarios, on simulated
// time: accepted calls per second, the share of the bucket's rate used, the share throttled.
// Prints figures; asserts nothing. See docs/performance.md, "The MemoryDB rate limiter".
//
//   npm run bench:rate-limiter [-- --seeds 3]
import { DefaultRateLimiter } from "@smithy/core/retry";
import { AcceptedRateLimiter } from "../src/aws/rate-limiter.ts";
import { type RateLimiter, SCENARIOS, SimClock, type SimResult, simulate } from "./rate-limiter-sim.ts";

const seedsArg = process.argv.indexOf("--seeds");
const SEEDS = seedsArg > 0 ? Number(process.argv[seedsArg + 1]) : 3;

/** The SDK's limiter reads Date.now() and waits with its static setTimeoutFn: both on simulated time for the run. */
async function withSdkOn(clock: SimClock, run: (limiter: RateLimiter) => Promise<SimResult>): Promise<SimResult> {
  // A static the SDK's types call private; it is the hook the SDK's own tests use.
  const sdk = DefaultRateLimiter as unknown as { setTimeoutFn: (fn: () => void, ms: number) => unknown };
  const realNow = Date.now;
  const realTimeout = sdk.setTimeoutFn;
  Date.now = () => clock.now();
  sdk.setTimeoutFn = (fn, ms) => clock.setTimeout(fn, ms);
  try {
    return await run(new DefaultRateLimiter() as unknown as RateLimiter);
  } finally {
    Date.now = realNow;
    sdk.setTimeoutFn = realTimeout;
  }
}

const pct = (share: number | undefined) => (share === undefined ? "–" : `${(share * 100).toFixed(1)} %`);
const row = (cells: string[]) => console.log(cells.map((c, i) => (i === 0 ? c.padEnd(40) : c.padStart(12))).join(""));

row([`scenario (mean of seeds 1..${SEEDS})`, "limiter", "accepted/s", "rate used", "throttled"]);
for (const scenario of SCENARIOS) {
  for (const name of ["SDK", "operator"] as const) {
    const results: SimResult[] = [];
    for (let seed = 1; seed <= SEEDS; seed++) {
      const clock = new SimClock();
      results.push(
        name === "SDK"
          ? await withSdkOn(clock, (limiter) => simulate(scenario, limiter, clock, seed))
          : await simulate(scenario, new AcceptedRateLimiter(clock), clock, seed),
      );
    }
    const mean = (pick: (r: SimResult) => number | undefined) => {
      const values = results.map(pick);
      return values.includes(undefined) ? undefined : (values as number[]).reduce((a, b) => a + b, 0) / values.length;
    };
    row([
      name === "SDK" ? scenario.name : "",
      name,
      mean((r) => r.acceptedPerSecond)!.toFixed(1),
      pct(mean((r) => r.usedShare)),
      pct(mean((r) => r.throttledShare)),
    ]);
  }
}
