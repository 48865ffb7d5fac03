// The watch survives what real API servers do to it: dropped connections, expired history
// (410 Gone), stalls and errors; and the periodic resync revisits every resource.
import { expect } from "chai";
import { isReady, PASSWORD_1, passwordSpec, sleep, TestEnv } from "./harness.ts";

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

  it("restarts a watch that stalls", async () => {
    env.kube.faults.stallWatches(true);
    await sleep(100);
    await env.createUser("w", "while-stalled", passwordSpec());
    await sleep(300);
    expect(env.aws.user("while-stalled")).to.equal(undefined);
    env.kube.faults.stallWatches(false);
    await env.waitForUser("w", "while-stalled", isReady, 15_000);
    expect(env.logLines.some((l) => l.includes("watch stalled"))).to.equal(true);
  });

  it("recreates a user deleted outside Kubernetes at the next resync", async () => {
    await env.createUser("w", "resynced", passwordSpec());
    await env.waitForUser("w", "resynced", isReady);
    env.aws.deleteUserOutOfBand("resynced");
    const deadline = Date.now() + 10_000;
    while (env.aws.user("resynced") === undefined && Date.now() < deadline) await sleep(50);
    expect(env.aws.user("resynced")?.passwords).to.deep.equal([PASSWORD_1]);
  });
});
