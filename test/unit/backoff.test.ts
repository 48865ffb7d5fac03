import { expect } from "chai";
import { eventNamePrefix } from "../../src/kube/api.ts";
import { Backoff, backoffDelay } from "../../src/kube/backoff.ts";
import { scaleWatchTimings, WATCH_TIMINGS } from "../../src/kube/watch-timings.ts";

describe("watch backoff", () => {
  it("doubles from the minimum to the cap, with jitter of ±50%", () => {
    expect([0, 1, 2, 3, 10].map((n) => backoffDelay(n, 800, 30_000, () => 0.5))).to.deep.equal([800, 1600, 3200, 6400, 30_000]);
    expect(backoffDelay(0, 800, 30_000, () => 0)).to.equal(400);
    expect(backoffDelay(0, 800, 30_000, () => 0.999)).to.be.below(1200);
  });

  it("starts over once a healthy period has passed since the last failure (kube-rs: 120 s)", () => {
    let now = 0;
    const b = new Backoff({ minMs: 800, maxMs: 30_000, resetAfterMs: 120_000, now: () => now, random: () => 0.5 });
    expect([b.fail(), b.fail(), b.fail()]).to.deep.equal([800, 1600, 3200]);
    now += 119_000;
    expect(b.fail()).to.equal(6400);
    expect(b.recentlyFailed).to.equal(true);
    now += 120_000;
    expect(b.recentlyFailed).to.equal(false);
    expect(b.fail()).to.equal(800);
  });

  it("scales every watch timing by one factor", () => {
    expect(scaleWatchTimings(0.1)).to.deep.equal({
      idleTimeoutMs: WATCH_TIMINGS.idleTimeoutMs / 10,
      serverTimeoutSeconds: [30, 60],
      minBackoffMs: 80,
      maxBackoffMs: 3000,
      backoffResetMs: 12_000,
    });
  });
});

describe("Event names", () => {
  // apimachinery validates generateName as a DNS subdomain once a trailing "-" is masked.
  const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
  const valid = (prefix: string) => prefix.length <= 253 && SUBDOMAIN.test(prefix.replace(/-$/, "a"));

  it("uses a generateName the API server accepts for any valid object name", () => {
    for (const name of ["app-user", "a", "app.user", "x".repeat(253), `${"a".repeat(56)}.b`, `${"a".repeat(56)}-b`]) {
      const prefix = eventNamePrefix(name);
      expect(valid(prefix), prefix).to.equal(true);
      expect(prefix.startsWith(name.slice(0, 50))).to.equal(true);
    }
    expect(valid("app-user.")).to.equal(false);
  });
});
