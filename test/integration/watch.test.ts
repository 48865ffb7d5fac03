// The watch survives what real API servers do to it: dropped connections, expired history
// (410 Gone), stalls and errors; and the periodic resync revisits every resource.
import { expect } from "chai";
import { isReady, PASSWORD_1, PASSWORD_2, passwordSpec, TestEnv } from "./harness.ts";

describe("watch resilience and resync", function () {
  this.timeout(30_000);
  let env: TestEnv;

  before(async () => {
    env = await TestEnv.start({ env: { RESYNC_PERIOD: "1s" } });
    await env.createNamespace("w");
    await env.createSecret("w", "app-pw", { password: PASSWORD_1 });
  });
  afterEach(() => env.kube.faults.reset());
  after(async () => {
    await env?.stop();
  });

  it("resumes after watch errors (500s) without losing changes", async () => {
    env.kube.faults.failNext(3, { status: 500, watch: true });
    env.kube.faults.dropWatches();
    await env.createUser("w", "after-errors", passwordSpec());
    await env.waitForUser("w", "after-errors", isReady);
  });

  it("picks up changes after the watch connection drops", async () => {
    await env.createUser("w", "before-drop", passwordSpec());
    await env.waitForUser("w", "before-drop", isReady);
    env.kube.faults.dropWatches();
    await env.createUser("w", "after-drop", passwordSpec());
    await env.waitForUser("w", "after-drop", isReady);
  });

  it("lists again when the watch history has expired (410 Gone)", async () => {
    // The watch is down while a change happens and the server forgets its history.
    env.kube.faults.failNext(5, { status: 500, watch: true });
    env.kube.faults.dropWatches();
    await env.createUser("w", "during-outage", passwordSpec());
    env.kube.faults.expireWatchHistory();
    await env.waitForUser("w", "during-outage", isReady);
    expect(env.logLines.some((l) => l.includes("410 Gone"))).to.equal(true);
  });

  it("backs off relists when 410 Gone keeps coming, the first one relisting at once", async () => {
    const t = await TestEnv.start();
    try {
      await t.until("synced", () => t.operator?.hasSynced === true);
      t.kube.faults.failNext(4, { status: 410, watch: true, pathIncludes: "/memorydbusers" });
      t.kube.faults.dropWatches();
      const expiries = () => t.logLines.filter((l) => l.includes("watch expired (410 Gone)") && l.includes('"resource":"memorydbusers"'));
      await t.until("four expiries", () => expiries().length >= 4, 15_000);
      const delays = expiries().map((l) => (JSON.parse(l) as { retryInMs?: number }).retryInMs);
      expect(delays[0]).to.equal(undefined);
      expect(delays.slice(1, 4).every((d) => typeof d === "number" && d > 0)).to.equal(true);
      await t.createNamespace("w");
      await t.createSecret("w", "app-pw", { password: PASSWORD_1 });
      await t.createUser("w", "after-expiries", passwordSpec());
      await t.waitForUser("w", "after-expiries", isReady);
    } finally {
      await t.stop();
    }
  });

  it("resumes a watch that stalls (a hung connection) after the idle timeout, without counting a failure", async () => {
    // The idle timeout's abort must never be logged (and backed off) as a failure.
    const failures = () => env.logLines.filter((l) => l.includes("watch failed") && /timeout|quiet/i.test(l)).length;
    const before = failures();
    env.kube.faults.stallWatches(true);
    await env.createUser("w", "while-stalled", passwordSpec());
    // The stalled watch hides the new resource: the operator has nothing to do.
    await env.idle();
    expect(env.aws.user("while-stalled")).to.equal(undefined);
    env.kube.faults.stallWatches(false);
    await env.waitForUser("w", "while-stalled", isReady, 15_000);
    expect(env.logLines.some((l) => l.includes("watch ended, resuming") && l.includes("quiet for the idle timeout"))).to.equal(true);
    expect(failures()).to.equal(before);
  });

  it("recreates a user deleted outside Kubernetes at the next resync", async () => {
    await env.createUser("w", "resynced", passwordSpec());
    await env.waitForUser("w", "resynced", isReady);
    env.aws.deleteUserOutOfBand("resynced");
    await env.until("the resync recreates the user", () => env.aws.user("resynced") !== undefined);
    expect(env.aws.user("resynced")?.passwords).to.deep.equal([PASSWORD_1]);
  });
});

describe("watches at production timings", function () {
  // The operator's watch timings and the local API server's bookmarks as in production: a
  // quiet cluster sends no bookmark, each quiet watch ends at the 30 s idle timeout and is
  // resumed at once; nothing may be counted as a failure, and a change after the quiet
  // period arrives through the watch, not a resync.
  this.timeout(120_000);
  let env: TestEnv;
  before(async () => {
    env = await TestEnv.start({ timeScale: 1 });
    await env.createNamespace("quiet");
    await env.createSecret("quiet", "app-pw", { password: PASSWORD_1 });
    await env.createUser("quiet", "quiet-user", passwordSpec());
    await env.waitForUser("quiet", "quiet-user", isReady);
  });
  after(async () => {
    await env?.stop();
  });

  it("stays connected through two idle timeouts of silence (a minute) and delivers the next Secret change at once", async () => {
    // Both watches (MemoryDBUsers, Secrets) ended at their 30 s idle timeout and resumed twice.
    const resumes = () => env.logLines.filter((l) => l.includes("watch ended, resuming")).length;
    await env.until("a minute of quiet watches", () => resumes() >= 4, 90_000);
    expect(env.logLines.filter((l) => /watch failed|list failed/.test(l))).to.deep.equal([]);
    const changed = Date.now();
    await env.replaceSecret("quiet", "app-pw", { password: PASSWORD_2 });
    await env.until("the new password reaches MemoryDB", () => env.aws.user("quiet-user")?.passwords[0] === PASSWORD_2, 5_000);
    expect(Date.now() - changed).to.be.below(3_000);
  });
});
