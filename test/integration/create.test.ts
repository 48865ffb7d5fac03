// Issue 2's end-to-end behaviours: the create path, faults, ownership, crash safety, redaction.

import { ApiException } from "@kubernetes/client-node";
import { expect } from "chai";
import { OWNERSHIP_TAG_KEY } from "../../src/model.ts";
import { allLogLines, condition, isReady, PASSWORD_1, PASSWORD_2, passwordSpec, reasonIs, TestEnv } from "./harness.ts";

describe("create path (operator against the local control plane)", function () {
  this.timeout(30_000);
  let env: TestEnv;

  before(async () => {
    env = await TestEnv.start({ emulator: { modifyingMs: 300 } });
    await env.createNamespace("team-a");
  });
  after(async () => {
    await env?.stop();
  });

  it("creates the MemoryDB user and reports Ready with every status field", async () => {
    await env.createSecret("team-a", "app-pw", { password: PASSWORD_1 });
    const created = await env.createUser("team-a", "app-user", passwordSpec());
    const user = await env.waitForUser("team-a", "app-user", isReady);

    const inAws = env.aws.user("app-user");
    expect(inAws).to.not.equal(undefined);
    expect(inAws!.passwords).to.deep.equal([PASSWORD_1]);
    expect(inAws!.tags).to.deep.include({
      team: "payments",
      [OWNERSHIP_TAG_KEY]: `${env.operator!.clusterId}/team-a/app-user/${user.metadata.uid}`,
    });

    const s = user.status!;
    expect(s.observedGeneration).to.equal(created.metadata.generation);
    expect(s.userName).to.equal("app-user");
    expect(s.arn).to.equal(`arn:aws:memorydb:${env.aws.region}:123456789012:user/app-user`);
    expect(s.status).to.equal("active");
    expect(s.accessString).to.equal(inAws!.accessString);
    expect(s.aclNames).to.deep.equal([]);
    expect(s.minimumEngineVersion).to.be.a("string").and.not.equal("");
    expect(s.authentication).to.deep.equal({ type: "password", passwordCount: 1 });
    expect(Date.parse(s.lastSyncTime!)).to.be.closeTo(Date.now(), 10_000);
    expect(condition(user, "Ready")).to.deep.include({
      status: "True",
      reason: "Available",
      observedGeneration: created.metadata.generation,
    });
    expect(condition(user, "Synced")).to.deep.include({ status: "True", reason: "ReconcileSuccess" });
    // MemoryDB said `modifying` first: the operator polled until `active`.
    expect(env.aws.calls.DescribeUsers).to.be.greaterThan(1);
    expect(env.aws.calls.CreateUser).to.equal(1);

    const events = await env.eventsFor("team-a", "app-user");
    expect(events.map((e) => e.reason)).to.include("Created");
  });

  it("reports SecretNotFound, then becomes Ready once the Secret exists", async () => {
    await env.createUser("team-a", "late-secret", passwordSpec("late-pw"));
    const waiting = await env.waitForUser("team-a", "late-secret", reasonIs("SecretNotFound"));
    expect(condition(waiting, "Ready")).to.deep.include({ status: "False", message: 'Secret "late-pw" not found in namespace "team-a"' });
    expect(env.aws.user("late-secret")).to.equal(undefined);
    expect((await env.eventsFor("team-a", "late-secret")).map((e) => e.reason)).to.include("SecretNotFound");

    await env.createSecret("team-a", "late-pw", { password: PASSWORD_2 });
    await env.waitForUser("team-a", "late-secret", isReady);
    expect(env.aws.user("late-secret")!.passwords).to.deep.equal([PASSWORD_2]);
  });

  it("reports a password of the wrong length without echoing it, and does not call MemoryDB", async () => {
    await env.createSecret("team-a", "short-pw", { password: "short-secret" });
    env.aws.resetCalls();
    await env.createUser("team-a", "short", passwordSpec("short-pw"));
    const user = await env.waitForUser("team-a", "short", reasonIs("InvalidPassword"));
    // The rule that failed, never the value nor its exact length.
    expect(condition(user, "Ready")!.message)
      .to.match(/shorter than 16 characters; MemoryDB needs 16-128/)
      .and.not.match(/\b12\b/);
    expect(JSON.stringify(user)).to.not.include("short-secret");
    expect(env.aws.calls.CreateUser ?? 0).to.equal(0);
  });

  it("a terminal failure reads no Secret and counts no error again at later resyncs", async () => {
    await env.createSecret("team-a", "bad-pw", { password: "too-short" });
    await env.createUser("team-a", "stays-terminal", passwordSpec("bad-pw"));
    await env.waitForUser("team-a", "stays-terminal", reasonIs("InvalidPassword"));
    await env.idle();
    const errorsTotal = async () =>
      Number(/ (\d+)$/.exec(await env.app!.metrics.registry.getSingleMetricAsString("controller_runtime_reconcile_errors_total"))?.[1]);
    const secretReads = () =>
      env.kube.requests.filter((r) => r.method === "GET" && r.path === "/api/v1/namespaces/team-a/secrets/bad-pw").length;
    const [errors, reads] = [await errorsTotal(), secretReads()];
    for (let i = 0; i < 3; i++) {
      await env.operator!.resync();
      await env.idle();
    }
    expect(secretReads()).to.equal(reads);
    expect(await errorsTotal()).to.equal(errors);
    // A change of the Secret is a new input: read and judged again.
    await env.replaceSecret("team-a", "bad-pw", { password: PASSWORD_1 });
    await env.waitForUser("team-a", "stays-terminal", isReady);
  });

  it("lets the API server reject a spec the CRD forbids", async () => {
    const bad: Array<[string, Record<string, unknown>, RegExp]> = [
      ["bad-name", { ...passwordSpec(), userName: "Not_Valid" }, /spec\.userName/],
      [
        "iam-pw",
        { accessString: "on ~* +@all", authenticationMode: { type: "iam", passwords: [{ secretKeyRef: { name: "a", key: "b" } }] } },
        /must not be set when type is 'iam'/,
      ],
      [
        "three-pw",
        { accessString: "on", authenticationMode: { passwords: [1, 2, 3].map(() => ({ secretKeyRef: { name: "a", key: "b" } })) } },
        /at most 2 items/,
      ],
      ["aws-tag", { ...passwordSpec(), tags: { "aws:owner": "x" } }, /tag keys must not start with 'aws:'/],
    ];
    for (const [name, spec, message] of bad) {
      try {
        await env.createUser("team-a", name, spec);
        expect.fail(`${name} was accepted`);
      } catch (err) {
        expect(err, name).to.be.instanceOf(ApiException);
        expect((err as ApiException<string>).code, name).to.equal(422);
        expect(String((err as ApiException<string>).body), name).to.match(message);
      }
    }
  });

  it("stops on a terminal AWS fault: condition set, one CreateUser, no retry storm; retries after a spec change", async () => {
    await env.createSecret("team-a", "term-pw", { password: PASSWORD_1 });
    env.aws.resetCalls();
    env.aws.faults.failNext("CreateUser", "InvalidParameterValueException", 1000, "Access string is invalid");
    await env.createUser("team-a", "terminal", passwordSpec("term-pw"));
    const user = await env.waitForUser("team-a", "terminal", reasonIs("InvalidParameterValueException"));
    expect(condition(user, "Ready")!.message).to.include("Access string is invalid");
    expect(condition(user, "Synced")).to.deep.include({ status: "False", reason: "InvalidParameterValueException" });
    // Idle (nothing queued, nothing running) means no retry is coming: no retry storm.
    await env.idle();
    expect(env.aws.calls.CreateUser).to.equal(1);

    env.aws.faults.clear();
    await env.patchUserSpec("team-a", "terminal", { accessString: "on ~* &* +@read" });
    await env.waitForUser("team-a", "terminal", isReady);
    expect(env.aws.calls.CreateUser).to.equal(2);
  });

  it("reaches Ready through 50% throttling", async function () {
    // Throttling at random at half the calls drives the client-side rate limiter
    // (src/aws/rate-limiter.ts) to its floor, half a request per second: slow, as it should be.
    this.timeout(120_000);
    await env.createSecret("team-a", "thr-pw", { password: PASSWORD_1 });
    env.aws.faults.throttleRate = 0.5;
    try {
      for (let i = 0; i < 5; i++) await env.createUser("team-a", `throttled-${i}`, passwordSpec("thr-pw"));
      for (let i = 0; i < 5; i++) await env.waitForUser("team-a", `throttled-${i}`, isReady, 100_000);
    } finally {
      env.aws.faults.throttleRate = 0;
    }
    for (let i = 0; i < 5; i++) expect(env.aws.user(`throttled-${i}`)!.status).to.equal("active");
  });

  const callsFor = (name: string) =>
    env.aws.callLog
      .filter((c) => {
        const input = c.input as { UserName?: string; ResourceArn?: string };
        return input.UserName === name || input.ResourceArn?.endsWith(`:user/${name}`);
      })
      .map((c) => `${c.op}${c.error ? ` ${c.error}` : ""}`);

  it("creates a new user with CreateUser alone: the region's listing shows no such user", async () => {
    await env.createSecret("team-a", "once-pw", { password: PASSWORD_1 });
    env.aws.resetCalls();
    await env.createUser("team-a", "once", passwordSpec("once-pw"));
    await env.waitForUser("team-a", "once", isReady);
    // The first call is the CreateUser; the DescribeUsers after it are the polls while MemoryDB says modifying.
    expect(callsFor("once")[0]).to.equal("CreateUser");
    expect(callsFor("once").filter((c) => c.startsWith("CreateUser"))).to.deep.equal(["CreateUser"]);
    expect(env.aws.calls.ListTags ?? 0).to.equal(0);
  });

  it("records the passwords as pending before that CreateUser: nothing is sent while the record cannot be written", async () => {
    await env.createSecret("team-a", "rec-pw", { password: PASSWORD_1 });
    env.aws.resetCalls();
    const statusWrites = () => env.kube.requests.filter((r) => r.method === "PATCH" && r.path.endsWith("/memorydbusers/recorded/status"));
    env.kube.faults.failNext(1000, { status: 500, method: "PATCH", pathIncludes: "/memorydbusers/recorded/status" });
    try {
      await env.createUser("team-a", "recorded", passwordSpec("rec-pw"));
      await env.until("the record was tried three times", () => statusWrites().length >= 3);
      expect(callsFor("recorded")).to.deep.equal([]);
    } finally {
      env.kube.faults.reset();
    }
    const user = await env.waitForUser("team-a", "recorded", isReady, 15_000);
    expect(callsFor("recorded").filter((c) => c.startsWith("CreateUser"))).to.deep.equal(["CreateUser"]);
    expect(user.status?.passwordSecretsPending).to.equal(undefined);
  });

  it("leaves a foreign user of the same name untouched and reports UserAlreadyExists", async () => {
    // Created after the operator's listing of the region, which therefore does not show it.
    env.aws.seedUser({ name: "shared-name", accessString: "on ~* +@all", passwords: [PASSWORD_2], tags: { owner: "someone-else" } });
    const before = env.aws.user("shared-name");
    await env.createSecret("team-a", "shared-pw", { password: PASSWORD_1 });
    env.aws.resetCalls();
    await env.createUser("team-a", "shared", { ...passwordSpec("shared-pw"), userName: "shared-name" });
    const user = await env.waitForUser("team-a", "shared", reasonIs("UserAlreadyExists"));
    expect(condition(user, "Ready")!.message).to.match(/already exists and is not managed by any resource/);
    expect(env.aws.user("shared-name")).to.deep.equal(before);
    // The CreateUser the stale listing allowed met the user and changed nothing; the careful path
    // then described it and read its tags, and called nothing that changes a user.
    expect(callsFor("shared-name").slice(0, 3)).to.deep.equal(["CreateUser UserAlreadyExistsFault", "DescribeUsers", "ListTags"]);
    expect(callsFor("shared-name").filter((c) => c.startsWith("CreateUser"))).to.deep.equal(["CreateUser UserAlreadyExistsFault"]);
    for (const op of ["UpdateUser", "DeleteUser", "TagResource", "UntagResource"]) {
      expect(env.aws.calls[op] ?? 0, op).to.equal(0);
    }
    expect(user.status?.arn).to.equal(undefined);
    // Checked again later (the slow retry) the careful way: the resource now records a send.
    env.aws.resetCalls();
    await env.operator!.resync();
    await env.idle();
    expect(callsFor("shared-name").filter((c) => c.startsWith("CreateUser"))).to.deep.equal([]);
  });

  const updatesOf = (name: string) =>
    env.aws.callLog.filter((c) => c.op === "UpdateUser" && (c.input as { UserName?: string }).UserName === name).length;

  it("after a crash between CreateUser and the status write, a restart gives Ready without a second CreateUser", async () => {
    await env.createSecret("team-a", "crash-pw", { password: PASSWORD_1 });
    env.aws.resetCalls();
    // Every status write for this resource after the first (the passwords recorded as pending,
    // before CreateUser) fails, as if the process died right after CreateUser.
    env.kube.faults.failNext(1000, { status: 500, method: "PATCH", pathIncludes: "/memorydbusers/crashy/status", after: 1 });
    await env.createUser("team-a", "crashy", passwordSpec("crash-pw"));
    await env.until("CreateUser went through", () => env.aws.user("crashy") !== undefined);
    await env.stopOperator();
    // Only the pending passwords (verifiers, never values) were recorded.
    expect(Object.keys((await env.getUser("team-a", "crashy")).status ?? {})).to.deep.equal(["passwordSecretsPending"]);

    env.kube.faults.reset();
    await env.startOperator();
    await env.waitForUser("team-a", "crashy", isReady);
    expect(env.aws.calls.CreateUser).to.equal(1);
    expect(env.aws.calls.ListTags).to.be.greaterThan(0);
    // The pending passwords tell the user holds exactly the Secret's: nothing is sent again, and
    // the creation is reported as one.
    expect(updatesOf("crashy")).to.equal(0);
    await env.until("a Created Event", async () => (await env.eventsFor("team-a", "crashy")).some((e) => e.reason === "Created"));
    expect((await env.eventsFor("team-a", "crashy")).map((e) => e.reason)).to.not.include("PasswordRotated");
    expect((await env.getUser("team-a", "crashy")).status?.passwordSecretsPending).to.equal(undefined);
  });

  it("after a lost CreateUser answer reports Created and sends no passwords again", async () => {
    await env.createSecret("team-a", "lost-pw", { password: PASSWORD_1 });
    env.aws.resetCalls();
    // CreateUser takes effect, but its answer never arrives.
    env.aws.faults.failNext("CreateUser", "ResponseLost", 1);
    await env.createUser("team-a", "lost-answer", passwordSpec("lost-pw"));
    await env.waitForUser("team-a", "lost-answer", isReady);
    expect(env.aws.callLog.filter((c) => c.op === "CreateUser" && c.error !== "UserAlreadyExistsFault")).to.have.length(1);
    expect(updatesOf("lost-answer")).to.equal(0);
    await env.until("a Created Event", async () => (await env.eventsFor("team-a", "lost-answer")).some((e) => e.reason === "Created"));
    expect((await env.eventsFor("team-a", "lost-answer")).map((e) => e.reason)).to.not.include("PasswordRotated");
  });

  it("records its Events through 429s and 503s from the API server", async () => {
    await env.createSecret("team-a", "ev-pw", { password: PASSWORD_1 });
    env.kube.faults.failNext(2, { status: 429, method: "POST", pathIncludes: "/events", retryAfterSeconds: 1 });
    env.kube.faults.failNext(1, { status: 503, method: "POST", pathIncludes: "/events" });
    await env.createUser("team-a", "evented", passwordSpec("ev-pw"));
    await env.waitForUser("team-a", "evented", isReady);
    await env.until(
      "the Created Event is recorded",
      async () => (await env.eventsFor("team-a", "evented")).some((e) => e.reason === "Created"),
      15_000,
    );
    expect(env.logLines.filter((l) => l.includes("could not record Event"))).to.deep.equal([]);
  });

  it("never writes a password to logs, Events or status", async () => {
    expect(allLogLines.length).to.be.greaterThan(10);
    const texts = [
      allLogLines.join("\n"),
      JSON.stringify((await env.events.listNamespacedEvent({ namespace: "team-a" })).items),
      JSON.stringify(
        await env.custom.listNamespacedCustomObject({
          group: "memorydb.operators.dev",
          version: "v1alpha1",
          namespace: "team-a",
          plural: "memorydbusers",
        }),
      ),
    ];
    for (const text of texts) {
      for (const secret of [PASSWORD_1, PASSWORD_2, "short-secret"]) expect(text).to.not.include(secret);
    }
  });
});
