// The operator against a real kube-apiserver v1.20.2 (with etcd), through the real
// @kubernetes/client-node, under exactly the RBAC the manifests grant: the whole lifecycle,
// watches at production timings through a quiet period, and leader election with two replicas.
// The CRD is installed without its CEL rules (1.20 predates them); test/unit/crd.test.ts and the
// local API server's tests cover those.

import { CoordinationV1Api, type KubeConfig } from "@kubernetes/client-node";
import { expect } from "chai";
import { OWNERSHIP_TAG_KEY, ROTATE_PASSWORD_ANNOTATION } from "../../src/model.ts";
import type { Service } from "../../src/service.ts";
import { clusterScopedRbac } from "../deploy/rbac.ts";
import { condition, isReady, PASSWORD_1, PASSWORD_2, passwordSpec, reasonIs } from "../integration/harness.ts";
import { OPERATOR_SA, RealClusterEnv } from "./env.ts";

const NS = "team-real";
const PASSWORD_3 = "third-password-klmnopqrstu";
/** client-go's lease timings scaled by 0.1 (all three: the lease has no server-side timing). */
const LEASE = { leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 200 };

describe("against a real kube-apiserver v1.20.2", function () {
  this.timeout(60_000);
  let env: RealClusterEnv;
  let operatorKc: KubeConfig;

  before(async function () {
    this.timeout(120_000);
    env = await RealClusterEnv.start({ startOperator: false, emulator: { modifyingMs: 200, deletingMs: 300 } });
    operatorKc = await env.grant(clusterScopedRbac());
    await env.createNamespace(NS);
    await env.startOperator({ LEADER_ELECT: "true", POD_NAMESPACE: OPERATOR_SA.namespace }, { kc: operatorKc, lease: LEASE });
  });
  afterEach(function () {
    // The operator's log tells what went wrong on a server whose requests cannot be inspected.
    if (this.currentTest?.state === "failed") console.log(env.logLines.slice(-60).join("\n"));
  });
  after(async () => {
    await env?.stop();
  });

  const reasons = async (name: string) => (await env.eventsFor(NS, name)).map((e) => e.reason);

  it("creates a user, writes the status through the status subresource, and records Events the server accepts", async () => {
    await env.createSecret(NS, "pw", { password: PASSWORD_1, second: PASSWORD_2 });
    await env.createUser(NS, "app-user", passwordSpec("pw"));
    const user = await env.waitForUser(NS, "app-user", isReady);
    expect(user.metadata.finalizers).to.deep.equal(["memorydb.operators.dev/finalizer"]);
    expect(user.status).to.deep.include({
      userName: "app-user",
      status: "active",
      arn: "arn:aws:memorydb:us-east-1:123456789012:user/app-user",
    });
    expect(user.status?.authentication).to.deep.equal({ type: "password", passwordCount: 1 });
    expect(env.aws.user("app-user")?.passwords).to.deep.equal([PASSWORD_1]);
    await env.until("the Created Event is stored", async () => (await reasons("app-user")).includes("Created"));
    expect(env.logLines.filter((l) => l.includes("could not record Event"))).to.deep.equal([]);
  });

  it("updates the access string; a spec write keeps the status", async () => {
    await env.patchUserSpec(NS, "app-user", { accessString: "on +get" });
    const user = await env.waitForUser(NS, "app-user", (u) => isReady(u) && u.status?.observedGeneration === 2);
    expect(user.status?.accessString).to.equal("on resetchannels -@all +get");
    expect(user.status?.arn).to.match(/user\/app-user$/);
    await env.until("the Updated Event is stored", async () => (await reasons("app-user")).includes("Updated"));
  });

  it("rotates the password through the Secret, noticed by the metadata-only watch", async () => {
    const since = Date.now();
    await env.replaceSecret(NS, "pw", { password: PASSWORD_3, second: PASSWORD_2 });
    await env.until("MemoryDB holds the new password", () => env.aws.user("app-user")?.passwords[0] === PASSWORD_3, 10_000);
    expect(Date.now() - since).to.be.below(5_000);
    await env.until("the PasswordRotated Event is stored", async () => (await reasons("app-user")).includes("PasswordRotated"));
  });

  it("keeps tags in step with spec.tags and keeps the ownership tag", async () => {
    await env.patchUserSpec(NS, "app-user", { tags: { team: "billing", tier: "gold" } });
    await env.until("MemoryDB has the new tags", () => {
      const tags = env.aws.user("app-user")?.tags ?? {};
      return tags.team === "billing" && tags.tier === "gold" && tags[OWNERSHIP_TAG_KEY] !== undefined;
    });
  });

  it("switches to iam: no stale passwordCount, and no further status writes", async () => {
    await env.patchUserSpec(NS, "app-user", { authenticationMode: { type: "iam", passwords: null } });
    const user = await env.waitForUser(NS, "app-user", (u) => isReady(u) && u.status?.authentication?.type === "iam");
    expect(user.status?.authentication).to.deep.equal({ type: "iam" });
    await env.idle();
    const rv = (await env.getUser(NS, "app-user")).metadata.resourceVersion;
    await env.operator!.resync();
    await env.idle();
    expect((await env.getUser(NS, "app-user")).metadata.resourceVersion).to.equal(rv);
  });

  it("enforces the CRD's OpenAPI schema (enums, patterns, defaults): the CRD was installed whole", async () => {
    const rejected = await env.createUser(NS, "keep-policy", { ...passwordSpec("pw"), deletionPolicy: "Keep" }).then(
      () => "accepted",
      (err: { code?: number }) => err.code,
    );
    expect(rejected).to.equal(422);
    const defaulted = await env.createUser(NS, "defaulted", {
      accessString: "on ~* +@all",
      authenticationMode: { passwords: [{ secretKeyRef: { name: "pw", key: "password" } }] },
    });
    expect(defaulted.spec.authenticationMode.type).to.equal("password");
    await env.waitForUser(NS, "defaulted", isReady);
  });

  it("reports bad input on the resource: a short password, a missing Secret", async () => {
    await env.createSecret(NS, "short", { password: "too-short" });
    await env.createUser(NS, "short-user", passwordSpec("short"));
    const short = await env.waitForUser(NS, "short-user", reasonIs("InvalidPassword"));
    expect(JSON.stringify(short)).to.not.include("too-short");
    await env.createUser(NS, "late-user", passwordSpec("late"));
    await env.waitForUser(NS, "late-user", reasonIs("SecretNotFound"));
    await env.createSecret(NS, "late", { password: PASSWORD_1 });
    await env.waitForUser(NS, "late-user", isReady);
  });

  it("deletes the user with the resource, keeping another controller's finalizer", async () => {
    await env.patchUser(NS, "late-user", { metadata: { finalizers: ["memorydb.operators.dev/finalizer", "example.com/other"] } });
    await env.deleteUser(NS, "late-user");
    await env.until("the MemoryDB user is deleted", () => env.aws.user("late-user") === undefined);
    await env.waitForUser(NS, "late-user", (u) => JSON.stringify(u.metadata.finalizers) === JSON.stringify(["example.com/other"]));
    await env.patchUser(NS, "late-user", { metadata: { finalizers: null } });
    await env.waitForGone(NS, "late-user");
  });

  it("Retain keeps the MemoryDB user and drops the ownership tag", async () => {
    await env.createUser(NS, "kept", { ...passwordSpec("pw"), deletionPolicy: "Retain" });
    await env.waitForUser(NS, "kept", isReady);
    await env.deleteUser(NS, "kept");
    await env.waitForGone(NS, "kept");
    expect(env.aws.user("kept")?.tags[OWNERSHIP_TAG_KEY]).to.equal(undefined);
  });

  it("generates a password into a Secret the server accepts (owner reference, guarded patches), rotates it, keeps it with Retain", async () => {
    await env.createUser(NS, "generated", {
      accessString: "on ~app:* +get",
      authenticationMode: { generatePassword: { secretName: "generated-redis", overlap: "1s" } },
    });
    const user = await env.waitForUser(NS, "generated", isReady);
    const secret = await env.core.readNamespacedSecret({ namespace: NS, name: "generated-redis" });
    expect(secret.metadata?.ownerReferences?.map((r) => [r.uid, r.controller, r.blockOwnerDeletion])).to.deep.equal([
      [user.metadata.uid, true, false],
    ]);
    const first = (await env.secretValues(NS, "generated-redis"))!.password!;
    expect(env.aws.authenticate("generated", first)).to.equal(true);
    await env.patchUser(NS, "generated", { metadata: { annotations: { [ROTATE_PASSWORD_ANNOTATION]: "1" } } });
    await env.waitForUser(
      NS,
      "generated",
      (u) => isReady(u) && u.status?.passwordRotation?.lastRotationRequest === "1" && u.status.passwordRotation.phase === "Stable",
    );
    const second = (await env.secretValues(NS, "generated-redis"))!;
    expect(second.password).to.not.equal(first);
    expect(second["previous-password"]).to.equal(undefined);
    expect(env.aws.user("generated")?.passwords).to.deep.equal([second.password]);
    await env.until("a PasswordRotated Event is stored", async () => (await reasons("generated")).includes("PasswordRotated"));
    await env.patchUserSpec(NS, "generated", { deletionPolicy: "Retain" });
    await env.until("the owner reference is dropped", async () => {
      return (await env.core.readNamespacedSecret({ namespace: NS, name: "generated-redis" })).metadata?.ownerReferences === undefined;
    });
    await env.deleteUser(NS, "generated");
    await env.waitForGone(NS, "generated");
    expect(env.aws.authenticate("generated", second.password!)).to.equal(true);
    expect((await env.secretValues(NS, "generated-redis"))!.password).to.equal(second.password);
  });

  it("lets the first of two resources naming one user keep it", async () => {
    await env.createUser(NS, "first", { ...passwordSpec("pw"), userName: "shared-name" });
    await env.waitForUser(NS, "first", isReady);
    await env.createUser(NS, "second", { ...passwordSpec("pw"), userName: "shared-name" });
    const second = await env.waitForUser(NS, "second", reasonIs("UserNameConflict"));
    expect(condition(second, "Ready")?.status).to.equal("False");
  });

  it("stays connected through 3 minutes of silence at production timings", async function () {
    this.timeout(240_000);
    await env.idle();
    const from = env.logLines.length;
    // Both watches (MemoryDBUsers, Secrets) ended at their 30 s idle timeout and resumed six times.
    const resumes = () => env.logLines.slice(from).filter((l) => l.includes("watch ended, resuming")).length;
    await env.until("three minutes of quiet watches", () => resumes() >= 12, 230_000);
    const quiet = env.logLines.slice(from);
    expect(quiet.filter((l) => /watch failed|list failed|watch expired/.test(l))).to.deep.equal([]);
    expect(env.app!.healthz()).to.equal(undefined);
    const since = Date.now();
    await env.replaceSecret(NS, "pw", { password: PASSWORD_1, second: PASSWORD_2 });
    await env.until("MemoryDB holds the password again", () => env.aws.user("shared-name")?.passwords[0] === PASSWORD_1, 10_000);
    expect(Date.now() - since).to.be.below(5_000);
  });

  it("lists an empty namespace (the server answers items: null)", async () => {
    await env.createNamespace("empty");
    const from = env.logLines.length;
    const lone = await env.startReplica({ WATCH_NAMESPACES: "empty", CLUSTER_ID: "lone" });
    try {
      await env.until("the lone operator's caches are synced", () => lone.operator?.hasSynced === true);
      expect(env.logLines.slice(from).filter((l) => l.includes("list failed"))).to.deep.equal([]);
    } finally {
      await lone.stop();
    }
  });

  it("elects one leader of two replicas and fails over when it stops", async () => {
    const first = env.app!;
    const second: Service = await env.startReplica(
      { LEADER_ELECT: "true", POD_NAMESPACE: OPERATOR_SA.namespace },
      { kc: operatorKc, lease: LEASE },
    );
    await env.leaseRenewed(Math.ceil(LEASE.leaseDurationMs / LEASE.retryPeriodMs) + 1, OPERATOR_SA.namespace);
    expect(first.isLeader).to.equal(true);
    expect(second.isLeader).to.equal(false);
    await env.stopOperator();
    await env.until("the second replica leads", () => second.isLeader && second.operator !== undefined, 10_000);
    const lease = await env.kc
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ namespace: OPERATOR_SA.namespace, name: "memorydb-user-operator" });
    expect(lease.spec?.holderIdentity).to.match(/_[0-9a-f-]{36}$/);
    await env.createUser(NS, "after-failover", passwordSpec("pw"));
    await env.waitForUser(NS, "after-failover", isReady);
    await second.stop();
  });
});
