// Issue 11: what the operator knows survives a restart. Password verifiers (keyed HMACs, the key
// in a Secret of the operator's namespace) say whether a Secret's value changed, so a label edit
// or a change of another key sends nothing; the one window where passwords are sent twice (an
// UpdateUser whose answer was not recorded) is known, and counted.

import { createHash } from "node:crypto";
import { expect } from "chai";
import { isReady, PASSWORD_1, PASSWORD_2, passwordSpec, TestEnv } from "./harness.ts";

const NS = "restart";

describe("across restarts", function () {
  this.timeout(30_000);
  let env: TestEnv;

  before(async () => {
    env = await TestEnv.start({ emulator: { modifyingMs: 100 } });
    await env.createNamespace(NS);
  });
  after(async () => {
    await env?.stop();
  });

  const updatesOf = (name: string) =>
    env.aws.callLog.filter((c) => c.op === "UpdateUser" && (c.input as { UserName?: string }).UserName === name).length;
  const reasons = async (name: string) => (await env.eventsFor(NS, name)).map((e) => e.reason);
  const restart = async () => {
    await env.stopOperator();
    await env.startOperator();
  };
  const metric = async (line: RegExp) => Number(line.exec(await env.app!.metrics.registry.metrics())?.[1] ?? "NaN");

  it("keeps the key of its verifiers in a Secret of its own namespace, and no value in the status", async () => {
    await env.createSecret(NS, "pw", { password: PASSWORD_1, other: "unrelated-value-0000" });
    await env.createUser(NS, "kept", passwordSpec("pw"));
    const user = await env.waitForUser(NS, "kept", isReady);
    const key = await env.core.readNamespacedSecret({ namespace: "default", name: "memorydb-user-operator-verifier" });
    expect(Buffer.from(key.data!.key!, "base64")).to.have.length(32);
    const status = JSON.stringify(user.status);
    expect(status).to.not.include(PASSWORD_1);
    expect(status).to.not.include(createHash("sha256").update(PASSWORD_1).digest("hex"));
    expect(user.status?.passwordSecrets?.[0]?.verifier).to.match(/^[0-9a-f]{8}:[0-9a-f]{64}$/);
  });

  it("after a restart, a label edit or a change of another key of the Secret sends no password", async () => {
    await restart();
    await env.idle();
    const secret = await env.core.readNamespacedSecret({ namespace: NS, name: "pw" });
    await env.core.replaceNamespacedSecret({
      namespace: NS,
      name: "pw",
      body: { ...secret, metadata: { ...secret.metadata, labels: { edited: "yes" } } },
    });
    await env.idle();
    await restart();
    await env.replaceSecret(NS, "pw", { password: PASSWORD_1, other: "another-unrelated-11" });
    await env.idle();
    expect(updatesOf("kept")).to.equal(0);
    expect(await reasons("kept")).to.not.include("PasswordRotated");
    // The new Secret version is recorded, so the next resync reads nothing.
    const rv = (await env.core.readNamespacedSecret({ namespace: NS, name: "pw" })).metadata!.resourceVersion;
    await env.waitForUser(NS, "kept", (u) => u.status?.passwordSecrets?.[0]?.resourceVersion === rv);
  });

  it("a changed value after a restart is sent once, and is a rotation", async () => {
    await restart();
    await env.replaceSecret(NS, "pw", { password: PASSWORD_2, other: "another-unrelated-11" });
    await env.until("the new password reaches MemoryDB", () => env.aws.user("kept")?.passwords[0] === PASSWORD_2);
    await env.idle();
    expect(updatesOf("kept")).to.equal(1);
    await env.until("a PasswordRotated Event", async () => (await reasons("kept")).includes("PasswordRotated"));
    expect(await metric(/^memorydb_operator_password_updates_total\{why="changed"\} (\d+)/m)).to.equal(1);
  });

  it("an answered UpdateUser whose status write failed is not sent again by the process that saw the answer", async () => {
    await env.createSecret(NS, "answered-pw", { password: PASSWORD_1 });
    await env.createUser(NS, "answered", passwordSpec("answered-pw"));
    await env.waitForUser(NS, "answered", isReady);
    await env.idle();
    const uncertain = await metric(/^memorydb_operator_password_updates_total\{why="uncertain"\} (\d+)/m);
    // The pending record goes through; the status write after UpdateUser meets a 429 once.
    env.kube.faults.failNext(1, { status: 429, method: "PATCH", pathIncludes: "/memorydbusers/answered/status", after: 1 });
    await env.replaceSecret(NS, "answered-pw", { password: PASSWORD_2 });
    await env.waitForUser(
      NS,
      "answered",
      (u) => isReady(u) && u.status?.passwordSecretsPending === undefined && u.status?.passwordSecrets?.[0]?.verifier !== undefined,
    );
    await env.idle();
    expect(
      env.logLines.some((l) => l.includes("HTTP 429") || l.includes("429")),
      "the status write met the 429",
    ).to.equal(true);
    expect(updatesOf("answered")).to.equal(1);
    expect(await metric(/^memorydb_operator_password_updates_total\{why="uncertain"\} (\d+)/m)).to.equal(uncertain);
    expect(env.aws.user("answered")?.passwords).to.deep.equal([PASSWORD_2]);
  });

  it("an UpdateUser whose answer was not recorded is sent again after a restart: the one known window, counted", async () => {
    await env.createSecret(NS, "window-pw", { password: PASSWORD_1 });
    await env.createUser(NS, "window", passwordSpec("window-pw"));
    await env.waitForUser(NS, "window", isReady);
    await env.idle();
    // The pending record goes through, the status write after UpdateUser never does.
    env.kube.faults.failNext(1000, { status: 500, method: "PATCH", pathIncludes: "/memorydbusers/window/status", after: 1 });
    await env.replaceSecret(NS, "window-pw", { password: PASSWORD_2 });
    await env.until("UpdateUser went out", () => updatesOf("window") === 1);
    await env.stopOperator();
    env.kube.faults.reset();
    expect((await env.getUser(NS, "window")).status?.passwordSecretsPending?.operation).to.equal("UpdateUser");
    await env.startOperator();
    await env.waitForUser(NS, "window", (u) => isReady(u) && u.status?.passwordSecretsPending === undefined);
    expect(updatesOf("window")).to.equal(2);
    expect(await metric(/^memorydb_operator_password_updates_total\{why="uncertain"\} (\d+)/m)).to.equal(1);
    expect(env.aws.user("window")?.passwords).to.deep.equal([PASSWORD_2]);
  });
});
