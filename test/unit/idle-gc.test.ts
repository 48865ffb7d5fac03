// When the operator gives memory back: the schedule alone, on hand-moved monotonic time.
import { PassThrough } from "node:stream";
import { expect } from "chai";
import { collectWhenIdle, IDLE_GC, IdleGcSchedule } from "../../src/idle-gc.ts";
import { createLogger } from "../../src/observability/log.ts";

/**
 * A schedule on the operator's own timings (idle 5 s, 1 % of a core), checked once a second as
 * the operator checks it; each collection costs `cpuMs`.
 */
function checked(cpuMs = 100) {
  const schedule = new IdleGcSchedule(IDLE_GC);
  let reconciles = 0;
  return {
    /** Checks from `from` to `to` ms (inclusive) with the operator idle or not; when a collection was due. */
    run(from: number, to: number, idle: boolean): number[] {
      const due: number[] = [];
      for (let now = from; now <= to; now += 1000) {
        if (!idle) reconciles++;
        if (!schedule.due(now, idle, reconciles)) continue;
        due.push(now);
        schedule.collected(now, cpuMs);
      }
      return due;
    },
    /** A reconcile that begins and ends between two checks. */
    reconcileUnseen() {
      reconciles++;
    },
  };
}

describe("idle collections", () => {
  it("collects once after the start-up, when idle for the delay", () => {
    const s = checked();
    expect(s.run(1000, 5000, true)).to.deep.equal([]);
    expect(s.run(6000, 60_000, true)).to.deep.equal([6000]);
  });

  it("waits for the start-up's work to end, and counts idleness from then", () => {
    const s = checked();
    expect(s.run(1000, 20_000, false)).to.deep.equal([]);
    expect(s.run(21_000, 40_000, true)).to.deep.equal([26_000]);
  });

  it("collects again after the next work, not while idle without work", () => {
    const s = checked();
    expect(s.run(0, 5000, true)).to.deep.equal([5000]);
    expect(s.run(6000, 100_000, true)).to.deep.equal([]);
    expect(s.run(101_000, 110_000, false)).to.deep.equal([]);
    expect(s.run(111_000, 130_000, true)).to.deep.equal([116_000]);
  });

  it("counts a reconcile no check saw as work, ended by the next check", () => {
    const s = checked();
    expect(s.run(0, 5000, true)).to.deep.equal([5000]);
    expect(s.run(6000, 50_000, true)).to.deep.equal([]);
    s.reconcileUnseen();
    expect(s.run(51_000, 70_000, true)).to.deep.equal([56_000]);
  });

  it("idleness interrupted by work starts the delay again", () => {
    const s = checked();
    expect(s.run(0, 3000, true)).to.deep.equal([]);
    expect(s.run(4000, 4000, false)).to.deep.equal([]);
    expect(s.run(5000, 9000, true)).to.deep.equal([]);
    expect(s.run(10_000, 10_000, true)).to.deep.equal([10_000]);
  });

  it("after work within its share's wait, collects once the wait is over", () => {
    const s = checked(300);
    expect(s.run(0, 5000, true)).to.deep.equal([5000]);
    expect(s.run(6000, 6000, false)).to.deep.equal([]);
    // Idle for the delay from 12 s, but 300 ms of CPU at 1 % is 30 s after the first.
    expect(s.run(7000, 60_000, true)).to.deep.equal([35_000]);
  });

  it("spends at most its share of a core: after a collection of 300 ms of CPU, none for 30 s", () => {
    const s = checked(300);
    expect(s.run(0, 5000, true)).to.deep.equal([5000]);
    // A trickle of work, each followed by an idle spell longer than the delay.
    const due: number[] = [];
    for (let t = 6000; t < 60_000; t += 7000) {
      s.run(t, t, false);
      due.push(...s.run(t + 1000, t + 6000, true));
    }
    // Due at 12, 19, 26 and 33 s, but not before 35 s: the first at 40 s (idle since 35 s).
    expect(due).to.deep.equal([40_000]);
  });
});

describe("the idle collector", () => {
  // The operator's timings, all scaled down by one factor (100).
  const fast = { ...IDLE_GC, idleDelayMs: IDLE_GC.idleDelayMs / 100, checkEveryMs: IDLE_GC.checkEveryMs / 100 };
  const idle = { idle: true, reconciles: 0 };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  function capture() {
    const stream = new PassThrough();
    const lines: Array<{ level: string; message: string }> = [];
    stream.on("data", (d: Buffer) =>
      lines.push(
        ...String(d)
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l)),
      ),
    );
    return { logger: createLogger({ level: "info", format: "json", stream }), lines };
  }

  it("collects once after the start-up while idle, and counts it", async () => {
    const { logger } = capture();
    let collections = 0;
    let counted = 0;
    const c = collectWhenIdle(idle, logger, () => counted++, { timings: fast, collect: () => ++collections > 0 });
    await sleep(400);
    c.stop();
    expect([collections, counted]).to.deep.equal([1, 1]);
  });

  it("a collection that fails warns once and stops the collector: no crash, no retry loop", async () => {
    const { logger, lines } = capture();
    let attempts = 0;
    let counted = 0;
    const c = collectWhenIdle(idle, logger, () => counted++, {
      timings: fast,
      collect: () => {
        attempts++;
        throw new Error("boom");
      },
    });
    await sleep(400);
    c.stop();
    expect([attempts, counted]).to.deep.equal([1, 0]);
    expect(lines.map((l) => [l.level, l.message])).to.deep.equal([["warn", "idle collections are not available: memory is left to V8"]]);
  });
});
