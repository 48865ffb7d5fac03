// Issue 14's invariant, tested by killing the operator (SIGKILL, the operator as its own process)
// between every pair of a rotation's steps: the Secret's `password` is always accepted by
// MemoryDB, and no password MemoryDB holds exists only in the operator's memory (every one is in
// the Secret). Each stop is exact: the next step's write is made to fail (the Secret's PATCH on
// the API server, or UpdateUser in the emulator) until the operator is seen trying it, then the
// process is killed, the invariant checked, the block moved to the following step, and a new
// process started. A sampler checks the invariant all along while an operator runs.

import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { OperatorProcess } from "../../chaos/operator.ts";
import { freePort } from "../../local-control-plane/ports.ts";
import { ROTATE_PASSWORD_ANNOTATION } from "../../src/model.ts";
import { isReady, TestEnv } from "./harness.ts";

const NS = "rotation-crash";
const USER = "crash-user";
const SECRET = "crash-user-redis";

describe("a rotation killed between every pair of its steps", function () {
  this.timeout(120_000);
  let env: TestEnv;
  let op: OperatorProcess;
  const violations: string[] = [];
  let sampler: NodeJS.Timeout | undefined;

  const secret = async () => (await env.secretValues(NS, SECRET))!;
  const held = () => env.aws.user(USER)?.passwords ?? [];
  const inSecret = (v: Record<string, string>) =>
    [v.password, v["pending-password"], v["previous-password"]].filter((p) => p !== undefined);

  /** Checked with the operator stopped: nothing is in flight. */
  const invariant = async (when: string) => {
    const v = await secret();
    expect(env.aws.authenticate(USER, v.password!), `${when}: the Secret's password is accepted`).to.equal(true);
    for (const p of held()) expect(inSecret(v), `${when}: every password MemoryDB holds is in the Secret`).to.include(p);
    expect(violations, `${when}: the sampler saw no violation`).to.deep.equal([]);
  };

  /**
   * While an operator runs. The Secret is read before and after MemoryDB is, so that a step
   * between the reads cannot look like a violation: a password enters the Secret before MemoryDB
   * and leaves it after MemoryDB, and a rotation takes far longer than the reads.
   */
  const sample = async () => {
    const before = await env.secretValues(NS, SECRET);
    const accepted = before?.password !== undefined && env.aws.authenticate(USER, before.password);
    const memory = held();
    const after = await env.secretValues(NS, SECRET);
    if (!before || !after) return;
    if (!accepted) violations.push(`the Secret's password was not accepted (keys ${Object.keys(before).join(", ")})`);
    const known = [...inSecret(before), ...inSecret(after)];
    if (memory.some((p) => !known.includes(p))) violations.push("MemoryDB held a password the Secret did not");
  };
  const startSampling = () => {
    let busy = false;
    sampler = setInterval(() => {
      if (busy) return;
      busy = true;
      sample()
        .catch((err: unknown) => violations.push(`sampling failed: ${String(err)}`))
        .finally(() => (busy = false));
    }, 20);
  };

  const blockSecretWrites = () => env.kube.faults.failNext(1_000_000, { status: 500, method: "PATCH", pathIncludes: `/secrets/${SECRET}` });
  const blockUpdateUser = () => env.aws.faults.failNext("UpdateUser", "InternalFailure", 1_000_000);
  const unblock = () => {
    env.kube.faults.reset();
    env.aws.faults.clear();
  };
  const refusedSecretWrite = () =>
    env.kube.requests.some((r) => r.method === "PATCH" && r.path.includes(`/secrets/${SECRET}`) && r.status === 500);
  const refusedUpdateUser = () => env.aws.callLog.some((c) => c.op === "UpdateUser" && c.error === "InternalFailure");
  const appliedUpdates = () => env.aws.callLog.filter((c) => c.op === "UpdateUser" && c.error === undefined).length;

  /** Starts an operator process with the next step blocked; waits until `stopped` shows it got there; kills it. */
  const runUntil = async (what: string, block: () => void, stopped: () => boolean | Promise<boolean>) => {
    unblock();
    block();
    env.kube.requests.length = 0;
    const applied = appliedUpdates();
    env.aws.resetCalls();
    // resetCalls forgets the applied UpdateUsers: keep counting them.
    updatesBefore += applied;
    op.start();
    await env.until(what, stopped, 30_000);
    await op.kill();
    await invariant(`killed when ${what}`);
  };
  let updatesBefore = 0;

  before(async () => {
    env = await TestEnv.start({ startOperator: false, emulator: { modifyingMs: 300 } });
    await env.createNamespace(NS);
    const dir = await mkdtemp(join(tmpdir(), "mdbu-rotation-crash-"));
    const kubeconfig = join(dir, "kubeconfig");
    await env.kube.writeKubeconfig(kubeconfig);
    op = new OperatorProcess(
      {
        PATH: process.env.PATH ?? "",
        HOME: dir,
        KUBECONFIG: kubeconfig,
        AWS_REGION: env.aws.region,
        MEMORYDB_ENDPOINT: env.aws.endpoint,
        AWS_ACCESS_KEY_ID: "AKIDTEST",
        AWS_SECRET_ACCESS_KEY: "test-secret-key",
        AWS_EC2_METADATA_DISABLED: "true",
        POD_NAMESPACE: "default",
        LOG_FORMAT: "json",
        LOG_LEVEL: "debug",
        METRICS_BIND_ADDRESS: `127.0.0.1:${await freePort()}`,
        HEALTH_PROBE_BIND_ADDRESS: `127.0.0.1:${await freePort()}`,
        POLL_INTERVAL: "100ms",
        RETRY_BASE_DELAY: "50ms",
        RETRY_MAX_DELAY: "2s",
        SHUTDOWN_TIMEOUT: "5s",
      },
      dir,
      await freePort(),
    );
  });
  after(async () => {
    clearInterval(sampler);
    op?.abort();
    await env?.stop();
  });

  it("keeps the Secret's password accepted and every password MemoryDB holds in the Secret", async () => {
    op.start();
    await env.createUser(NS, USER, {
      accessString: "on ~app:* &* +@read",
      authenticationMode: { generatePassword: { secretName: SECRET, overlap: "2s" } },
    });
    await env.waitForUser(NS, USER, isReady, 30_000);
    const old = (await secret()).password!;
    startSampling();
    await op.kill();
    await invariant("created");

    // Asked for, and killed before the new password is stored.
    await env.patchUser(NS, USER, { metadata: { annotations: { [ROTATE_PASSWORD_ANNOTATION]: "crash-test" } } });
    await runUntil("step 1 (store the new password) is tried", blockSecretWrites, refusedSecretWrite);
    expect(await secret()).to.not.have.property("pending-password");

    await runUntil("step 1 is done and step 2 (UpdateUser with both) is tried", blockUpdateUser, async () => {
      return (await secret())["pending-password"] !== undefined && refusedUpdateUser();
    });
    const next = (await secret())["pending-password"]!;
    expect(held()).to.deep.equal([old]);

    await runUntil("step 2 is done and step 3 (promote) is tried", blockSecretWrites, () => held().length === 2 && refusedSecretWrite());
    expect(held()).to.have.members([old, next]);
    expect((await secret()).password).to.equal(old);

    await runUntil("step 3 is done and, after the overlap, step 4 (UpdateUser with the new alone) is tried", blockUpdateUser, async () => {
      return (await secret()).password === next && refusedUpdateUser();
    });
    expect(await secret()).to.deep.include({ password: next, "previous-password": old });
    expect(env.aws.authenticate(USER, old)).to.equal(true);

    await runUntil("step 4 is done and step 5 (drop previous-password) is tried", blockSecretWrites, () => {
      return held().length === 1 && held()[0] === next && refusedSecretWrite();
    });
    expect(env.aws.authenticate(USER, old)).to.equal(false);
    expect((await secret())["previous-password"]).to.equal(old);

    // Recovery: nothing blocked, the rotation completes.
    unblock();
    updatesBefore += appliedUpdates();
    env.aws.resetCalls();
    op.start();
    const done = await env.waitForUser(
      NS,
      USER,
      (u) => isReady(u) && u.status?.passwordRotation?.phase === "Stable" && u.status.passwordSecretsPending === undefined,
      30_000,
    );
    expect(done.status?.passwordRotation?.lastRotationRequest).to.equal("crash-test");
    await env.until("previous-password is gone", async () => (await secret())["previous-password"] === undefined);
    await op.kill();
    await invariant("recovered");
    expect(await secret()).to.deep.equal({ username: USER, password: next });
    expect(held()).to.deep.equal([next]);
    // Nothing was sent twice: each kill fell after what the operator had recorded.
    expect(updatesBefore + appliedUpdates()).to.equal(2);
    expect((await env.eventsFor(NS, USER)).filter((e) => e.reason === "PasswordRotated")).to.have.length(1);
    expect(op.unexpectedExits).to.deep.equal([]);
    expect(op.crashLines).to.deep.equal([]);
  });
});
