// When the operator gives memory back: the schedule alone, on hand-moved monotonic time.
import { expect } from "chai";
import { IdleGcSchedule } from "../../src/idle-gc.ts";

const timings = { idleDelayMs: 5000, maxShare: 0.01, checkEveryMs: 1000 };

/** A schedule checked once a second, as the operator checks it; each collection takes `tookMs`. */
function checked(tookMs = 100) {
  const schedule = new IdleGcSchedule(timings);
  let reconciles = 0;
  return {
    /** Checks from `from` to `to` ms (inclusive) with the operator idle or not; when a collection was due. */
    run(from: number, to: number, idle: boolean): number[] {
      const due: number[] = [];
      for (let now = from; now <= to; now += 1000) {
        if (!idle) reconciles++;
        if (!schedule.due(now, idle, reconciles)) continue;
        due.push(now);
        schedule.collected(now, tookMs);
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

  it("spends at most its share of the time: after a 300 ms collection, none for 30 s", () => {
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
