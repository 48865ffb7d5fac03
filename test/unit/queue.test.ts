// The work queue's guarantees, on a fake clock (as client-go's workqueue tests do): no test waits
// on real time; each waits for the queue to be idle.
import { expect } from "chai";
import { WorkQueue } from "../../src/controller/queue.ts";
import { FakeClock } from "./fake-clock.ts";

/** Errors the handlers threw: none expected except where a test says so. */
let thrown: Array<{ key: string; err: unknown }> = [];
const onError = (key: string, err: unknown) => void thrown.push({ key, err });

/** A handler whose runs end only when released, to hold keys "in flight". */
function gated() {
  const waiting: Array<() => void> = [];
  let running = 0;
  let maxRunning = 0;
  const runs: string[] = [];
  return {
    handler: async (key: string) => {
      runs.push(key);
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise<void>((resolve) => waiting.push(resolve));
      running--;
    },
    /** Lets every run (and every rerun they cause) finish: until nothing waits and nothing runs. */
    releaseAll: async (q: WorkQueue) => {
      for (;;) {
        for (const release of waiting.splice(0)) release();
        await new Promise((resolve) => setImmediate(resolve));
        if (waiting.length === 0 && q.activeCount === 0) return;
      }
    },
    get runs() {
      return runs;
    },
    get maxRunning() {
      return maxRunning;
    },
    get waiting() {
      return waiting.length;
    },
  };
}

describe("work queue", () => {
  let clock: FakeClock;
  const queue = (concurrency = 1, baseDelayMs = 10, maxDelayMs = 100) => new WorkQueue({ concurrency, baseDelayMs, maxDelayMs, clock });

  beforeEach(() => {
    thrown = [];
    clock = new FakeClock();
  });
  afterEach(function () {
    if (this.currentTest?.title.includes("throws")) return;
    expect(thrown).to.deep.equal([]);
  });

  it("hands what a handler throws to onError with its key, never swallowing it", async () => {
    const q = queue();
    const boom = new TypeError("a bug");
    q.start(async (k) => {
      if (k === "bad") throw boom;
    }, onError);
    q.add("bad");
    q.add("good");
    await q.whenIdle();
    await q.whenIdle();
    expect(thrown).to.deep.equal([{ key: "bad", err: boom }]);
  });

  it("dedupes a key queued several times", async () => {
    const q = queue();
    const seen: string[] = [];
    q.add("a");
    q.add("a");
    q.add("b");
    q.add("a");
    q.start(async (k) => void seen.push(k), onError);
    while (q.depth > 0 || q.activeCount > 0) await q.whenIdle();
    expect(seen).to.deep.equal(["a", "b"]);
  });

  it("never runs one key twice at once, and reruns a key re-added while it runs", async () => {
    const q = queue(4);
    const g = gated();
    q.start(g.handler, onError);
    q.add("a");
    q.add("a");
    q.add("a");
    expect(g.waiting).to.equal(1);
    await g.releaseAll(q);
    expect(g.maxRunning).to.equal(1);
    expect(g.runs).to.deep.equal(["a", "a"]);
  });

  it("bounds concurrency", async () => {
    const q = queue(3);
    const g = gated();
    q.start(g.handler, onError);
    for (let i = 0; i < 20; i++) q.add(`k${i}`);
    expect(g.waiting).to.equal(3);
    await g.releaseAll(q);
    expect(g.maxRunning).to.equal(3);
    expect(g.runs).to.have.length(20);
  });

  it("backs off per key exponentially up to the cap, and forgets on success", () => {
    const q = queue(1, 100, 1000);
    expect([1, 2, 3, 4, 5, 6].map(() => q.addRateLimited("a"))).to.deep.equal([100, 200, 400, 800, 1000, 1000]);
    expect(q.addRateLimited("b")).to.equal(100);
    q.forget("a");
    expect(q.addRateLimited("a")).to.equal(100);
    void q.shutdown(0);
  });

  it("keeps the earliest of several delayed adds", async () => {
    const q = queue();
    const seen: number[] = [];
    q.start(async () => void seen.push(clock.now()), onError);
    q.addAfter("a", 200);
    q.addAfter("a", 20);
    q.addAfter("a", 300);
    clock.advance(19);
    expect(seen).to.deep.equal([]);
    clock.advance(1);
    await q.whenIdle();
    clock.advance(1000);
    await q.whenIdle();
    expect(seen).to.deep.equal([20]);
  });

  it("waits for in-flight work on shutdown, bounded", async () => {
    const q = queue(2);
    const g = gated();
    q.start(g.handler, onError);
    q.add("a");
    q.add("b");
    const finished = q.shutdown(1000);
    await g.releaseAll(q);
    expect(await finished).to.equal(true);
    q.add("c");
    expect(q.depth).to.equal(0);

    const slow = queue();
    const stuck = gated();
    slow.start(stuck.handler, onError);
    slow.add("x");
    expect(await slow.shutdown(20)).to.equal(false);
    await stuck.releaseAll(slow);
  });
});
