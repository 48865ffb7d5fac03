import { expect } from "chai";
import { WorkQueue } from "../../src/queue.ts";

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

/** Errors the handlers threw: none expected except where a test says so. */
let thrown: Array<{ key: string; err: unknown }> = [];
const onError = (key: string, err: unknown) => void thrown.push({ key, err });

describe("work queue", () => {
  beforeEach(() => (thrown = []));
  afterEach(function () {
    if (this.currentTest?.title.includes("throws")) return;
    expect(thrown).to.deep.equal([]);
  });

  it("hands what a handler throws to onError with its key, never swallowing it", async () => {
    const q = new WorkQueue({ concurrency: 1, baseDelayMs: 10, maxDelayMs: 100 });
    const boom = new TypeError("a bug");
    q.start(async (k) => {
      if (k === "bad") throw boom;
    }, onError);
    q.add("bad");
    q.add("good");
    await tick(20);
    expect(thrown).to.deep.equal([{ key: "bad", err: boom }]);
  });

  it("dedupes a key queued several times", async () => {
    const q = new WorkQueue({ concurrency: 1, baseDelayMs: 10, maxDelayMs: 100 });
    const seen: string[] = [];
    q.add("a");
    q.add("a");
    q.add("b");
    q.add("a");
    q.start(async (k) => {
      seen.push(k);
    }, onError);
    await tick(20);
    expect(seen).to.deep.equal(["a", "b"]);
  });

  it("never runs one key twice at once, and reruns a key re-added while it runs", async () => {
    const q = new WorkQueue({ concurrency: 4, baseDelayMs: 10, maxDelayMs: 100 });
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    q.start(async () => {
      running++;
      runs++;
      maxRunning = Math.max(maxRunning, running);
      await tick(20);
      running--;
    }, onError);
    q.add("a");
    await tick(5);
    q.add("a");
    q.add("a");
    await tick(80);
    expect(maxRunning).to.equal(1);
    expect(runs).to.equal(2);
  });

  it("bounds concurrency", async () => {
    const q = new WorkQueue({ concurrency: 3, baseDelayMs: 10, maxDelayMs: 100 });
    let running = 0;
    let maxRunning = 0;
    q.start(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await tick(10);
      running--;
    }, onError);
    for (let i = 0; i < 20; i++) q.add(`k${i}`);
    await tick(120);
    expect(maxRunning).to.equal(3);
  });

  it("backs off per key exponentially up to the cap, and forgets on success", () => {
    const q = new WorkQueue({ concurrency: 1, baseDelayMs: 100, maxDelayMs: 1000 });
    expect([1, 2, 3, 4, 5, 6].map(() => q.addRateLimited("a"))).to.deep.equal([100, 200, 400, 800, 1000, 1000]);
    expect(q.addRateLimited("b")).to.equal(100);
    q.forget("a");
    expect(q.addRateLimited("a")).to.equal(100);
    void q.shutdown(0);
  });

  it("keeps the earliest of several delayed adds", async () => {
    const q = new WorkQueue({ concurrency: 1, baseDelayMs: 10, maxDelayMs: 100 });
    const seen: number[] = [];
    const start = Date.now();
    q.start(async () => {
      seen.push(Date.now() - start);
    }, onError);
    q.addAfter("a", 200);
    q.addAfter("a", 20);
    q.addAfter("a", 300);
    await tick(100);
    expect(seen).to.have.length(1);
    expect(seen[0]).to.be.below(100);
  });

  it("waits for in-flight work on shutdown, bounded", async () => {
    const q = new WorkQueue({ concurrency: 2, baseDelayMs: 10, maxDelayMs: 100 });
    let finished = 0;
    q.start(async () => {
      await tick(30);
      finished++;
    }, onError);
    q.add("a");
    q.add("b");
    await tick(1);
    expect(await q.shutdown(1000)).to.equal(true);
    expect(finished).to.equal(2);
    q.add("c");
    expect(q.depth).to.equal(0);

    const slow = new WorkQueue({ concurrency: 1, baseDelayMs: 10, maxDelayMs: 100 });
    slow.start(async () => {
      await tick(500);
    }, onError);
    slow.add("x");
    await tick(1);
    expect(await slow.shutdown(20)).to.equal(false);
  });
});
