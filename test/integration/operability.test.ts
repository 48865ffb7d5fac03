// Issue 5, operator side: probes and metrics answer as documented, leader election lets one
// replica reconcile and hands over, and the operator works under exactly the RBAC that the
// manifests in deploy/ grant.

import { PassThrough } from "node:stream";
import { expect } from "chai";
import { loadConfig } from "../../src/config.ts";
import { ROTATE_PASSWORD_ANNOTATION } from "../../src/model.ts";
import { createLogger } from "../../src/observability/log.ts";
import { Service } from "../../src/service.ts";
import { clusterScopedRbac, namespacedRbac, type RbacBundle } from "../deploy/rbac.ts";
import { condition, isReady, PASSWORD_1, PASSWORD_2, passwordSpec, reasonIs, TestEnv } from "./harness.ts";

async function get(port: number | undefined, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

/** Fast lease timings so that the tests do not wait 15 s for an expiry. */
const LEASE = { leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 200 };

describe("probes and metrics", function () {
  this.timeout(30_000);
  let env: TestEnv;
  before(async () => {
    env = await TestEnv.start();
    await env.createNamespace("m");
    await env.createSecret("m", "pw", { password: PASSWORD_1 });
  });
  after(async () => {
    await env?.stop();
  });

  it("answers /healthz, /readyz and /metrics with controller-runtime's metric names", async () => {
    const app = env.app!;
    await env.createUser("m", "metered", passwordSpec("pw"));
    await env.waitForUser("m", "metered", isReady);
    expect(await get(app.probePort, "/healthz")).to.deep.equal({ status: 200, body: "ok\n" });
    expect(await get(app.probePort, "/readyz")).to.deep.equal({ status: 200, body: "ok\n" });
    expect((await get(app.probePort, "/nope")).status).to.equal(404);
    const { status, body } = await get(app.metricsPort, "/metrics");
    expect(status).to.equal(200);
    for (const line of [
      /^controller_runtime_reconcile_total\{controller="memorydbuser",result="success"\} [1-9]/m,
      /^controller_runtime_reconcile_time_seconds_count\{controller="memorydbuser"\} [1-9]/m,
      /^controller_runtime_reconcile_errors_total\{controller="memorydbuser"\} \d/m,
      /^workqueue_depth\{name="memorydbuser"\} \d/m,
      /^workqueue_adds_total\{name="memorydbuser"\} [1-9]/m,
      /^memorydb_api_calls_total\{operation="CreateUser",outcome="success"\} 1$/m,
      /^memorydb_api_call_duration_seconds_count\{operation="DescribeUsers"\} [1-9]/m,
    ]) {
      expect(body).to.match(line);
    }
  });

  it("counts errors and retries", async () => {
    env.aws.faults.failNext("CreateUser", "InvalidParameterValueException", 1);
    await env.createUser("m", "broken", passwordSpec("pw"));
    await env.waitForUser("m", "broken", (u) => u.status?.conditions?.some((c) => c.reason === "InvalidParameterValueException") ?? false);
    // The log line's message is fixed; reason and detail are fields.
    const line = JSON.parse(env.logLines.find((l) => l.includes('"reason":"InvalidParameterValueException"'))!) as Record<string, string>;
    expect(line.message).to.equal("reconcile failed");
    expect(line.detail).to.match(/^MemoryDB CreateUser failed/);
    const { body } = await get(env.app!.metricsPort, "/metrics");
    expect(body).to.match(/^controller_runtime_reconcile_errors_total\{controller="memorydbuser"\} [1-9]/m);
    expect(body).to.match(/^memorydb_api_calls_total\{operation="CreateUser",outcome="InvalidParameterValueException"\} 1$/m);
  });

  it("fails /healthz when a watch keeps failing, though every attempt reaches the server", async () => {
    // Production timings scaled by one factor on every side (stale after 10 idle timeouts: 3 s).
    const t = await TestEnv.start({ startOperator: false, timeScale: 0.01 });
    try {
      const bundle = clusterScopedRbac();
      for (const obj of bundle.objects) {
        const rules = (obj as { rules?: Array<{ resources?: string[]; verbs?: string[] }> }).rules ?? [];
        for (const rule of rules) if (rule.resources?.includes("secrets")) rule.verbs = rule.verbs?.filter((v) => v !== "watch");
      }
      const kc = await t.grant(bundle);
      t.kube.enforceRbac();
      const app = await t.startOperator({ POD_NAMESPACE: bundle.serviceAccount.namespace }, { kc });
      await t.until("the caches are synced", () => app.operator?.hasSynced === true);
      expect((await get(app.probePort, "/healthz")).status).to.equal(200);
      await t.until("the Secret watch has been refused", () =>
        t.kube.requests.some((r) => r.status === 403 && r.path.endsWith("/secrets")),
      );
      await t.until("/healthz fails", async () => (await get(app.probePort, "/healthz")).status === 500, 10_000);
      expect((await get(app.probePort, "/healthz")).body).to.match(/watch stale: no answer from the API server/);
    } finally {
      await t.stop();
    }
  });

  it("keeps /healthz green through quiet watches (no bookmark, idle timeouts)", async () => {
    const t = await TestEnv.start({ timeScale: 0.01 });
    try {
      const app = t.app!;
      // Three times the stale threshold (10 idle timeouts) of silence on both watches: each quiet
      // watch is ended by the client at its idle timeout, resumed, and counts as contact.
      const resumes = () => t.logLines.filter((l) => l.includes("watch ended, resuming")).length;
      while (resumes() < 2 * 30) {
        expect((await get(app.probePort, "/healthz")).status).to.equal(200);
        const seen = resumes();
        await t.until("a quiet watch resumes", () => resumes() > seen, 5_000);
      }
      expect((await get(app.probePort, "/healthz")).status).to.equal(200);
      expect(t.logLines.filter((l) => l.includes("watch failed"))).to.deep.equal([]);
    } finally {
      await t.stop();
    }
  });
});

describe("start-up", function () {
  this.timeout(30_000);

  it("retries a passing API error at start-up instead of exiting; a refusal names the RBAC fix", async () => {
    const t = await TestEnv.start({ startOperator: false });
    try {
      t.kube.faults.failNext(3, { status: 503, pathIncludes: "/namespaces/kube-system" });
      await t.startOperator();
      expect(t.logLines.filter((l) => l.includes("cannot read the cluster identity yet, retrying"))).to.have.length(3);
      await t.stopOperator();

      t.kube.authorize = (attrs) => !(attrs.resource === "namespaces" && attrs.name === "kube-system");
      const refused = await t.startOperator().then(
        () => "started",
        (err: Error) => err.message,
      );
      expect(refused).to.match(/HTTP 403.*grant get on the kube-system namespace or set --cluster-id/);
    } finally {
      await t.stop();
    }
  });
});

describe("leader election", function () {
  this.timeout(30_000);
  let env: TestEnv;
  const apps: Service[] = [];
  const fatal: string[] = [];
  const elected = { LEADER_ELECT: "true", POD_NAMESPACE: "kube-system" };

  before(async () => {
    env = await TestEnv.start({ startOperator: false });
    await env.createNamespace("le");
    await env.createSecret("le", "pw", { password: PASSWORD_1 });
  });
  after(async () => {
    for (const app of apps) await app.stop();
    await env?.stop();
  });

  it("lets exactly one of two replicas reconcile, and the other take over when it stops", async () => {
    const a = await env.startOperator(elected, { identity: "replica-a", lease: LEASE, onFatal: (r) => fatal.push(`replica-a: ${r}`) });
    apps.push(a);
    // The second candidate never leads while the first renews: start it without waiting.
    const b = await env.startReplica(elected, { identity: "replica-b", lease: LEASE, onFatal: (r) => fatal.push(`replica-b: ${r}`) });
    apps.push(b);

    await env.createUser("le", "one", passwordSpec("pw"));
    await env.waitForUser("le", "one", isReady);
    await env.leaseRenewed(Math.ceil(LEASE.leaseDurationMs / LEASE.retryPeriodMs) + 1, "kube-system");
    expect(a.isLeader).to.equal(true);
    expect(b.isLeader).to.equal(false);
    expect(b.operator).to.equal(undefined);
    // A standby is ready (to take over); its metrics say it is not the leader.
    expect((await get(b.probePort, "/readyz")).status).to.equal(200);
    expect((await get(b.metricsPort, "/metrics")).body).to.match(/^leader_election_master_status\{name="memorydb-user-operator"\} 0$/m);
    expect((await get(a.metricsPort, "/metrics")).body).to.match(/^leader_election_master_status\{name="memorydb-user-operator"\} 1$/m);

    await a.stop();
    await env.until("replica-b leads", () => b.isLeader && b.operator !== undefined, 5_000);
    await env.createUser("le", "two", passwordSpec("pw"));
    await env.waitForUser("le", "two", isReady);
    expect(env.aws.calls.CreateUser).to.equal(2);
    expect(fatal).to.deep.equal([]);
  });

  it("never lets two replicas with one host name both lead (identity = name + UUID)", async () => {
    const t = await TestEnv.start({ startOperator: false });
    const podName = process.env.POD_NAME;
    process.env.POD_NAME = "same-pod-name";
    const twins: Service[] = [];
    try {
      const quiet = () => createLogger({ level: "info", format: "json", stream: new PassThrough() });
      const config = loadConfig([], {
        AWS_REGION: t.aws.region,
        MEMORYDB_ENDPOINT: t.aws.endpoint,
        METRICS_BIND_ADDRESS: "0",
        HEALTH_PROBE_BIND_ADDRESS: "0",
        ...elected,
      });
      for (let i = 0; i < 2; i++) {
        const app = new Service(config, t.kc, quiet(), { lease: LEASE, onFatal: () => undefined });
        await app.start();
        twins.push(app);
      }
      await t.until("one twin leads", () => twins.some((a) => a.isLeader));
      await t.leaseRenewed(Math.ceil(LEASE.leaseDurationMs / LEASE.retryPeriodMs) + 1, "kube-system");
      expect(twins.filter((a) => a.isLeader)).to.have.length(1);
    } finally {
      if (podName === undefined) delete process.env.POD_NAME;
      else process.env.POD_NAME = podName;
      for (const app of twins) await app.stop();
      await t.stop();
    }
  });

  it("stops (exits) when leadership is lost", async () => {
    const leader = apps.find((a) => a.isLeader)!;
    env.kube.faults.failNext(1000, { status: 500, pathIncludes: "/leases/" });
    try {
      await env.until("leadership is lost", () => fatal.length > 0, 5_000);
    } finally {
      env.kube.faults.reset();
    }
    expect(fatal[0]).to.match(/leadership lost/);
    expect(leader.isLeader).to.equal(false);
    // Each failed renew is one concise line: the server's status and message, no request dump.
    const failed = env.logLines.filter((l) => l.includes("lease update failed"));
    expect(failed.length).to.be.above(0);
    for (const line of failed) {
      const { error } = JSON.parse(line) as { error: string };
      expect(error)
        .to.match(/^update the Lease: HTTP 500: /)
        .and.not.match(/\n|[Hh]eaders/);
    }
  });
});

async function lifecycleUnderRbac(env: TestEnv, ns: string): Promise<void> {
  await env.createSecret(ns, "pw", { password: PASSWORD_1 });
  await env.createUser(ns, `${ns}-user`, passwordSpec("pw"));
  await env.waitForUser(ns, `${ns}-user`, isReady);
  await env.replaceSecret(ns, "pw", { password: PASSWORD_2 });
  await env.until("the rotated password reaches MemoryDB", () => env.aws.user(`${ns}-user`)?.passwords[0] === PASSWORD_2);
  await env.deleteUser(ns, `${ns}-user`);
  await env.waitForGone(ns, `${ns}-user`);
  expect(env.aws.user(`${ns}-user`)).to.equal(undefined);
  const events = (await env.events.listNamespacedEvent({ namespace: ns })).items.map((e) => e.reason);
  expect(events).to.include.members(["Created", "PasswordRotated", "Deleted"]);
  // A generated password: its Secret created, then patched through a whole rotation.
  const generated = `${ns}-generated`;
  await env.createUser(ns, generated, {
    accessString: "on ~app:* +get",
    authenticationMode: { generatePassword: { secretName: `${generated}-redis`, overlap: "1s" } },
  });
  await env.waitForUser(ns, generated, isReady);
  const first = (await env.secretValues(ns, `${generated}-redis`))!.password!;
  await env.patchUser(ns, generated, { metadata: { annotations: { [ROTATE_PASSWORD_ANNOTATION]: "1" } } });
  await env.waitForUser(
    ns,
    generated,
    (u) => isReady(u) && u.status?.passwordRotation?.lastRotationRequest === "1" && u.status.passwordRotation.phase === "Stable",
    20_000,
  );
  const second = (await env.secretValues(ns, `${generated}-redis`))!;
  expect(second.password).to.not.equal(first);
  expect(env.aws.authenticate(generated, second.password!)).to.equal(true);
}

describe("under exactly the RBAC the manifests grant", function () {
  this.timeout(60_000);

  /** Run the operator as the install's ServiceAccount, under RBAC enforcement, through a whole lifecycle. */
  async function installTest(bundle: RbacBundle, namespaces: string[], env: Record<string, string>): Promise<void> {
    const t = await TestEnv.start({ startOperator: false });
    try {
      for (const ns of namespaces) await t.createNamespace(ns);
      const kc = await t.grant(bundle);
      t.kube.enforceRbac();
      await t.startOperator({ LEADER_ELECT: "true", POD_NAMESPACE: bundle.serviceAccount.namespace, ...env }, { kc, lease: LEASE });
      await lifecycleUnderRbac(t, namespaces.at(-1)!);
      const denied = t.kube.requests.filter((r) => r.status === 403);
      expect(denied, JSON.stringify(denied.slice(0, 5))).to.deep.equal([]);
    } finally {
      await t.stop();
    }
  }

  it("cluster-scoped install (deploy/base): create, rotate, delete, with leader election", async () => {
    await installTest(clusterScopedRbac(), ["team-x"], {});
  });

  it("namespaced install (deploy/overlays/namespaced): only the watched namespaces", async () => {
    await installTest(namespacedRbac(["team-a", "team-b"]), ["team-a", "team-b"], {
      WATCH_NAMESPACES: "team-a,team-b",
      CLUSTER_ID: "test-cluster",
    });
  });

  it("without create and patch on Secrets, a generated password is reported on the resource: SecretWriteForbidden", async () => {
    const env = await TestEnv.start({ startOperator: false });
    try {
      const bundle = clusterScopedRbac();
      for (const obj of bundle.objects) {
        const rules = (obj as { rules?: Array<{ resources?: string[]; verbs?: string[] }> }).rules;
        if (rules && obj.kind === "ClusterRole")
          (obj as unknown as { rules: unknown[] }).rules = rules.filter(
            (r) => !(r.resources?.includes("secrets") && r.verbs?.includes("create")),
          );
      }
      const kc = await env.grant(bundle);
      env.kube.enforceRbac();
      await env.createNamespace("team-z");
      await env.startOperator({ POD_NAMESPACE: bundle.serviceAccount.namespace }, { kc });
      await env.createUser("team-z", "no-rights", {
        accessString: "on ~a:* +get",
        authenticationMode: { generatePassword: { secretName: "no-rights-redis" } },
      });
      const user = await env.waitForUser("team-z", "no-rights", reasonIs("SecretWriteForbidden"));
      expect(condition(user, "Ready")?.message).to.match(/may not write the Secret "no-rights-redis" in namespace "team-z" \(HTTP 403\)/);
      expect(env.aws.user("no-rights")).to.equal(undefined);
    } finally {
      await env.stop();
    }
  });

  it("a missing permission fails: without the status rule the operator cannot report", async () => {
    const env = await TestEnv.start({ startOperator: false });
    try {
      const bundle = clusterScopedRbac();
      for (const obj of bundle.objects) {
        const rules = (obj as { rules?: Array<{ resources?: string[] }> }).rules;
        if (rules) (obj as unknown as { rules: unknown[] }).rules = rules.filter((r) => !r.resources?.includes("memorydbusers/status"));
      }
      const kc = await env.grant(bundle);
      env.kube.enforceRbac();
      await env.createNamespace("team-y");
      await env.createSecret("team-y", "pw", { password: PASSWORD_1 });
      await env.startOperator({ POD_NAMESPACE: bundle.serviceAccount.namespace }, { kc });
      await env.createUser("team-y", "unreported", passwordSpec("pw"));
      await env.until("a 403 on the status write", () => env.kube.requests.some((r) => r.status === 403 && r.path.endsWith("/status")));
      expect((await env.getUser("team-y", "unreported")).status).to.equal(undefined);
    } finally {
      await env.stop();
    }
  });
});
