// Issue 14: passwords nobody has to make or rotate. The operator generates the password into a
// Secret it creates (before MemoryDB sees it), rotates it on a schedule or on demand without
// downtime, keeps the Secret with a retained user, never overwrites a Secret it did not make,
// and never lets a generated password reach logs, Events or status. "Accepted" is what the
// emulator's authentication check says a Redis AUTH would get.

import { expect } from "chai";
import { GROUP, type MemoryDBUser, ROTATE_PASSWORD_ANNOTATION } from "../../src/model.ts";
import { allLogLines, condition, isReady, reasonIs, TestEnv } from "./harness.ts";

const NS = "generated";
const ALPHABET = /^[!#-+\--.0-?A-~]{32}$/;

const generatedSpec = (generatePassword: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  accessString: "on ~app:* &* +@read",
  authenticationMode: { generatePassword },
  ...extra,
});

describe("generated passwords and their rotation", function () {
  this.timeout(60_000);
  let env: TestEnv;
  /** Every password a generated Secret held during the tests: none may appear in logs, Events or status. */
  const seen = new Set<string>();

  const values = async (name: string) => {
    const v = await env.secretValues(NS, name);
    for (const [k, value] of Object.entries(v ?? {})) if (k !== "username") seen.add(value);
    return v;
  };
  const updatesOf = (name: string) =>
    env.aws.callLog.filter((c) => c.op === "UpdateUser" && (c.input as { UserName?: string }).UserName === name).length;
  const reasons = async (name: string) => (await env.eventsFor(NS, name)).map((e) => e.reason);
  const annotate = (name: string, value: string) =>
    env.patchUser(NS, name, { metadata: { annotations: { [ROTATE_PASSWORD_ANNOTATION]: value } } });

  /** Watches one resource's Secret until `done`: its `password` must be accepted by MemoryDB at every look. */
  const alwaysAccepted = async (user: string, secret: string, what: string, done: (v: Record<string, string>) => boolean) => {
    await env.until(
      what,
      async () => {
        const v = await values(secret);
        if (!v?.password) return false;
        expect(env.aws.authenticate(user, v.password), `the Secret's password is accepted (${JSON.stringify(Object.keys(v))})`).to.equal(
          true,
        );
        return done(v);
      },
      30_000,
    );
  };

  before(async () => {
    env = await TestEnv.start({ emulator: { modifyingMs: 150 } });
    await env.createNamespace(NS);
  });
  afterEach(function () {
    // The operator's log tells what went wrong.
    if (this.currentTest?.state === "failed") console.log(env.logLines.slice(-80).join("\n"));
  });
  after(async () => {
    await env?.stop();
  });

  it("generates the password into a Secret it owns before creating the user, and sends nothing more", async () => {
    await env.createUser(NS, "gen-user", generatedSpec({ secretName: "gen-user-redis" }));
    const user = await env.waitForUser(NS, "gen-user", isReady);
    const v = (await values("gen-user-redis"))!;
    expect(Object.keys(v).sort()).to.deep.equal(["password", "username"]);
    expect(v.username).to.equal("gen-user");
    expect(v.password).to.match(ALPHABET);
    expect(env.aws.user("gen-user")!.passwords).to.deep.equal([v.password]);
    expect(env.aws.authenticate("gen-user", v.password!)).to.equal(true);

    const secret = await env.core.readNamespacedSecret({ namespace: NS, name: "gen-user-redis" });
    expect(secret.metadata?.ownerReferences).to.deep.equal([
      {
        apiVersion: `${GROUP}/v1alpha1`,
        kind: "MemoryDBUser",
        name: "gen-user",
        uid: user.metadata.uid,
        controller: true,
        blockOwnerDeletion: false,
      },
    ]);
    expect(secret.metadata?.annotations?.[`${GROUP}/generated-for`]).to.equal(user.metadata.uid);
    expect(secret.metadata?.labels).to.deep.include({ "app.kubernetes.io/managed-by": "memorydb-user-operator" });
    expect(user.status?.passwordRotation).to.deep.include({ phase: "Stable" });
    expect(Date.parse(user.status!.passwordRotation!.lastRotationTime!)).to.be.closeTo(Date.now(), 10_000);
    expect(user.status?.passwordRotation?.nextRotationTime).to.equal(undefined);
    expect(await reasons("gen-user")).to.include.members(["PasswordGenerated", "Created"]);

    await env.idle();
    await env.stopOperator();
    await env.startOperator();
    await env.idle();
    expect(env.aws.calls.CreateUser).to.equal(1);
    expect(updatesOf("gen-user")).to.equal(0);
    expect((await values("gen-user-redis"))!.password).to.equal(v.password);
  });

  it("rotates on schedule without downtime (new password stored first, both accepted for the overlap, then only the new), counting a stuck one as overdue", async () => {
    await env.createUser(NS, "scheduled", generatedSpec({ secretName: "scheduled-redis", rotateEvery: "10s", overlap: "2s" }));
    const ready = await env.waitForUser(NS, "scheduled", isReady);
    const first = (await values("scheduled-redis"))!.password!;
    const created = Date.parse(ready.status!.passwordRotation!.lastRotationTime!);
    expect(Date.parse(ready.status!.passwordRotation!.nextRotationTime!)).to.equal(created + 10_000);
    // No timer outlives a process: a new one finds the schedule in the status.
    await env.stopOperator();
    await env.startOperator();
    // A rotation that cannot happen (its first step's write fails) is counted as overdue.
    const overdue = async () =>
      Number(/^memorydb_operator_password_rotations_overdue (\d+)/m.exec(await env.app!.metrics.registry.metrics())?.[1] ?? "NaN");
    expect(await overdue()).to.equal(0);
    env.kube.faults.failNext(1_000_000, { status: 500, method: "PATCH", pathIncludes: "/secrets/scheduled-redis" });
    await env.until("the rotation is overdue", async () => (await overdue()) === 1, 20_000);
    env.kube.faults.reset();

    await alwaysAccepted("scheduled", "scheduled-redis", "the scheduled rotation", (v) => v.password !== first);
    const rotated = (await values("scheduled-redis"))!;
    expect(rotated["previous-password"]).to.equal(first);
    expect(rotated.password).to.match(ALPHABET).and.not.equal(first);
    expect(env.aws.authenticate("scheduled", first)).to.equal(true);
    expect(env.aws.authenticate("scheduled", rotated.password!)).to.equal(true);
    const overlap = await env.waitForUser(NS, "scheduled", (u) => u.status?.passwordRotation?.phase === "Overlap");
    const at = Date.parse(overlap.status!.passwordRotation!.lastRotationTime!);
    expect(at).to.be.at.least(created + 10_000);
    expect(Date.parse(overlap.status!.passwordRotation!.overlapEndTime!)).to.equal(at + 2000);
    expect(await overdue()).to.equal(0);
    expect(Date.parse(overlap.status!.passwordRotation!.nextRotationTime!)).to.equal(at + 10_000);
    await env.until("a PasswordRotated Event", async () => (await reasons("scheduled")).includes("PasswordRotated"));

    await alwaysAccepted("scheduled", "scheduled-redis", "the end of the overlap", (v) => v["previous-password"] === undefined);
    await env.until("MemoryDB holds the new password only", () => env.aws.user("scheduled")?.passwords.length === 1);
    expect(env.aws.user("scheduled")!.passwords).to.deep.equal([rotated.password]);
    expect(env.aws.authenticate("scheduled", first)).to.equal(false);
    const stable = await env.waitForUser(NS, "scheduled", (u) => isReady(u) && u.status?.passwordRotation?.phase === "Stable");
    expect(stable.status?.passwordRotation?.overlapEndTime).to.equal(undefined);
    // Two UpdateUsers a rotation: both passwords, then the new one alone.
    expect(updatesOf("scheduled")).to.equal(2);
    // Stop rotating (the next one is ~10 s away): the rest of the suite needs no more.
    await env.patchUserSpec(NS, "scheduled", { authenticationMode: { generatePassword: { rotateEvery: null } } });
    await env.waitForUser(NS, "scheduled", (u) => isReady(u) && u.status?.passwordRotation?.nextRotationTime === undefined);
  });

  it("rotates on demand once per new annotation value; a request during the overlap waits for its end", async () => {
    await env.createUser(NS, "on-demand", {
      ...generatedSpec({ secretName: "on-demand-redis", overlap: "1s" }),
    });
    await env.waitForUser(NS, "on-demand", isReady);
    const first = (await values("on-demand-redis"))!.password!;
    await annotate("on-demand", "r1");
    await alwaysAccepted("on-demand", "on-demand-redis", "the requested rotation", (v) => v.password !== first);
    const second = (await values("on-demand-redis"))!.password!;
    await env.waitForUser(NS, "on-demand", (u) => u.status?.passwordRotation?.phase === "Overlap");
    // Asked again during the overlap: MemoryDB takes two passwords at most, so it waits for the end.
    await annotate("on-demand", "r2");
    await alwaysAccepted("on-demand", "on-demand-redis", "the second rotation", (v) => v.password !== second && v.password !== first);
    const third = (await values("on-demand-redis"))!.password!;
    await env.waitForUser(
      NS,
      "on-demand",
      (u) => isReady(u) && u.status?.passwordRotation?.phase === "Stable" && u.status.passwordRotation.lastRotationRequest === "r2",
      20_000,
    );
    expect(env.aws.user("on-demand")!.passwords).to.deep.equal([third]);
    expect(updatesOf("on-demand")).to.equal(4);
    expect((await reasons("on-demand")).filter((r) => r === "PasswordRotated")).to.have.length(2);

    // The same value again, a restart, an unrelated annotation: nothing.
    await annotate("on-demand", "r2");
    await env.patchUser(NS, "on-demand", { metadata: { annotations: { unrelated: "x" } } });
    await env.stopOperator();
    await env.startOperator();
    await env.idle();
    expect(updatesOf("on-demand")).to.equal(4);
    expect((await values("on-demand-redis"))!.password).to.equal(third);
  });

  it("with deletionPolicy Retain keeps the Secret (no owner reference) with the retained user, whose password still works", async () => {
    await env.createUser(NS, "kept", generatedSpec({ secretName: "kept-redis" }));
    const user = await env.waitForUser(NS, "kept", isReady);
    const secretRefs = async () => (await env.core.readNamespacedSecret({ namespace: NS, name: "kept-redis" })).metadata?.ownerReferences;
    expect(await secretRefs()).to.have.length(1);
    // Switched to Retain: the reference goes at once, so no deletion (foreground or not) takes the Secret.
    await env.patchUserSpec(NS, "kept", { deletionPolicy: "Retain" });
    await env.until("the owner reference is gone", async () => (await secretRefs()) === undefined);
    const { password } = (await values("kept-redis"))!;
    await env.deleteUser(NS, "kept");
    await env.waitForGone(NS, "kept");
    expect(env.aws.user("kept")).to.not.equal(undefined);
    const kept = await env.core.readNamespacedSecret({ namespace: NS, name: "kept-redis" });
    expect(kept.metadata?.annotations?.[`${GROUP}/generated-for`]).to.equal(user.metadata.uid);
    expect(env.aws.authenticate("kept", password!)).to.equal(true);
    expect((await values("kept-redis"))!.password).to.equal(password);
  });

  it("with deletionPolicy Delete deletes the user, and the Secret goes with the resource (garbage collection)", async () => {
    await env.createUser(NS, "gone", generatedSpec({ secretName: "gone-redis" }, { deletionPolicy: "Delete" }));
    await env.waitForUser(NS, "gone", isReady);
    expect(await values("gone-redis")).to.not.equal(undefined);
    await env.deleteUser(NS, "gone");
    await env.waitForGone(NS, "gone");
    expect(env.aws.user("gone")).to.equal(undefined);
    await env.until("the Secret is collected", async () => (await values("gone-redis")) === undefined);
  });

  it("never overwrites a Secret it did not make: a clear condition and Event, until that Secret goes", async () => {
    await env.createSecret(NS, "taken", { password: "someone-elses-password-0000" });
    const before = await env.core.readNamespacedSecret({ namespace: NS, name: "taken" });
    await env.createUser(NS, "clash", generatedSpec({ secretName: "taken" }));
    const user = await env.waitForUser(NS, "clash", reasonIs("SecretNotOwned"));
    expect(condition(user, "Ready")!.message).to.equal(
      'Secret "taken" exists and was not created by the operator for this MemoryDBUser; it is left untouched: ' +
        "choose another generatePassword.secretName, or delete that Secret",
    );
    await env.until("a SecretNotOwned Event", async () => (await reasons("clash")).includes("SecretNotOwned"));
    await env.idle();
    const after = await env.core.readNamespacedSecret({ namespace: NS, name: "taken" });
    expect(after.metadata?.resourceVersion).to.equal(before.metadata?.resourceVersion);
    expect(env.aws.user("clash")).to.equal(undefined);

    await env.core.deleteNamespacedSecret({ namespace: NS, name: "taken" });
    await env.waitForUser(NS, "clash", isReady);
    const mine = (await values("taken"))!;
    expect(mine.password).to.match(ALPHABET);
    expect(env.aws.authenticate("clash", mine.password!)).to.equal(true);
  });

  it("makes a new password when its Secret is deleted, and rotates through failing Secret writes", async () => {
    await env.createUser(NS, "regen", generatedSpec({ secretName: "regen-redis", overlap: "1s" }));
    await env.waitForUser(NS, "regen", isReady);
    const first = (await values("regen-redis"))!.password!;
    await env.core.deleteNamespacedSecret({ namespace: NS, name: "regen-redis" });
    await env.until("a new Secret, accepted", async () => {
      const v = await values("regen-redis");
      return v?.password !== undefined && v.password !== first && env.aws.authenticate("regen", v.password);
    });
    expect(env.aws.authenticate("regen", first)).to.equal(false);
    // Secret writes fail for a while: the rotation waits and goes on, the error paths leak nothing.
    const second = (await values("regen-redis"))!.password!;
    env.kube.faults.failNext(6, { status: 500, method: "PATCH", pathIncludes: "/secrets/regen-redis" });
    await annotate("regen", "now");
    await alwaysAccepted("regen", "regen-redis", "the rotation", (v) => v.password !== second && v["previous-password"] === undefined);
    await env.waitForUser(NS, "regen", (u) => isReady(u) && u.status?.passwordRotation?.phase === "Stable");
  });

  it("never writes a generated password to logs, Events or status", async () => {
    expect(seen.size).to.be.greaterThan(8);
    const list = (await env.custom.listNamespacedCustomObject({
      group: GROUP,
      version: "v1alpha1",
      namespace: NS,
      plural: "memorydbusers",
    })) as { items: MemoryDBUser[] };
    const events = JSON.stringify((await env.events.listNamespacedEvent({ namespace: NS })).items);
    const statuses = JSON.stringify(list.items.map((u) => u.status));
    const logs = allLogLines.join("\n");
    for (const password of seen) {
      expect(logs.includes(password), "in the log").to.equal(false);
      expect(events.includes(password), "in an Event").to.equal(false);
      expect(statuses.includes(password), "in a status").to.equal(false);
      expect(logs.includes(Buffer.from(password).toString("base64")), "base64 in the log").to.equal(false);
    }
  });
});
