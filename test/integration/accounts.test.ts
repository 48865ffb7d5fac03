// Issue 15, part 1: MemoryDBUsers in many AWS accounts. An administrator maps namespaces to IAM
// roles in a ConfigMap (--accounts-configmap); the operator assumes them through STS (the SDK's
// own credential provider) against the local control plane's STS, whose MemoryDB front keeps the
// accounts apart by the credentials. A namespace mapped to account B never touches account A, a
// change of the ConfigMap takes effect without a restart, a refused AssumeRole is a clear
// condition, and unmapped namespaces are refused when the administrator says so.

import { readFileSync } from "node:fs";
import { expect } from "chai";
import { AwsAccounts, type RoleDefinition, type TrustPolicy } from "../../local-control-plane/aws/accounts.ts";
import { MemoryDBEmulator } from "../../local-control-plane/memorydb/emulator.ts";
import type { MemoryDBUser } from "../../src/model.ts";
import { condition, isReady, PASSWORD_1, passwordSpec, reasonIs, TestEnv } from "./harness.ts";

const A = "123456789012";
const B = "210987654321";
/** The operator's own role (IRSA or EKS Pod Identity give it a session of it), as docs/install.md names it. */
const OPERATOR = `arn:aws:iam::${A}:role/memorydb-user-operator`;
const ROLE_B = `arn:aws:iam::${B}:role/memorydb-user-operator-access`;
const ROLE_B2 = `arn:aws:iam::${B}:role/memorydb-user-operator-access-v2`;
const EXTERNAL_ID = "cluster-prod-7f3a";
const CONFIGMAP = { namespace: "default", name: "memorydb-accounts" };

/** The operator, account A (the operator's own) and account B behind one STS and one MemoryDB endpoint. */
async function accountsEnv(extraEnv: Record<string, string> = {}, roles: RoleDefinition[] = []) {
  const env = await TestEnv.start({ startOperator: false });
  const b = await MemoryDBEmulator.start({ region: env.aws.region, accountId: B });
  const cloud = await AwsAccounts.start({
    region: env.aws.region,
    accounts: { [A]: env.aws, [B]: b },
    // The harness gives the operator these long-term keys (the default chain's environment link).
    keys: { AKIDTEST: { secretAccessKey: "test-secret-key", principal: { arn: OPERATOR, mayAssume: assumable } } },
  });
  for (const role of roles) cloud.defineRole(role);
  const start = () =>
    env.startOperator({
      MEMORYDB_ENDPOINT: cloud.memorydbEndpoint,
      STS_ENDPOINT: cloud.stsEndpoint,
      ACCOUNTS_CONFIGMAP: `${CONFIGMAP.namespace}/${CONFIGMAP.name}`,
      ...extraEnv,
    });
  const stop = async () => {
    await env.stop();
    await b.stop();
    await cloud.stop();
  };
  return { env, b, cloud, start, stop };
}

async function setMapping(env: TestEnv, data: Record<string, string>): Promise<void> {
  const body = { metadata: { name: CONFIGMAP.name, namespace: CONFIGMAP.namespace }, data };
  try {
    await env.core.replaceNamespacedConfigMap({ ...CONFIGMAP, body });
  } catch {
    await env.core.createNamespacedConfigMap({ namespace: CONFIGMAP.namespace, body });
  }
}

/** Every call account `emulator` received that names `userName` (by name, ARN or listing). */
function callsNaming(emulator: MemoryDBEmulator, userName: string): string[] {
  return emulator.callLog.filter((c) => JSON.stringify(c.input).includes(userName)).map((c) => c.op);
}

/** A deploy/iam document with its placeholders filled. */
function iamDocument<T>(file: string, values: Record<string, string>): T {
  let text = readFileSync(new URL(`../../deploy/iam/${file}`, import.meta.url), "utf8");
  for (const [k, v] of Object.entries(values)) text = text.replaceAll(`<${k}>`, v);
  return JSON.parse(text) as T;
}

/** The target roles' trust policy as docs/install.md ships it; the operator's own policy lets it assume them. */
const trustPolicy = (externalId: string) =>
  iamDocument<TrustPolicy>("trust-policy-account-role.json", { OPERATOR_ACCOUNT_ID: A, EXTERNAL_ID: externalId });
// The operator's own policy as shipped (it names ROLE_B), plus the role it is moved to below.
const assumable = [
  ...iamDocument<{ Statement: Array<{ Resource: string[] }> }>("policy-assume-account-roles.json", { TARGET_ACCOUNT_ID: B }).Statement[0]!
    .Resource,
  ROLE_B2,
];
const trusted: RoleDefinition = { arn: ROLE_B, trustPolicy: trustPolicy(EXTERNAL_ID) };

describe("many AWS accounts (--accounts-configmap)", function () {
  this.timeout(60_000);

  describe("a namespace mapped to account B", () => {
    let t: Awaited<ReturnType<typeof accountsEnv>>;
    before(async () => {
      t = await accountsEnv({}, [trusted, { arn: ROLE_B2, trustPolicy: trustPolicy(EXTERNAL_ID) }]);
      await setMapping(t.env, { "team-b": `${ROLE_B} ${EXTERNAL_ID}` });
      await t.start();
      for (const ns of ["team-a", "team-b"]) {
        await t.env.createNamespace(ns);
        await t.env.createSecret(ns, "pw", { password: PASSWORD_1 });
      }
    });
    after(async () => {
      await t?.stop();
    });

    it("is served in account B through the role, and never touches account A; an unmapped one stays in A", async () => {
      await t.env.createUser("team-b", "b-user", passwordSpec("pw"));
      await t.env.createUser("team-a", "a-user", passwordSpec("pw"));
      const bUser = await t.env.waitForUser("team-b", "b-user", isReady);
      const aUser = await t.env.waitForUser("team-a", "a-user", isReady);

      expect(t.b.user("b-user")?.tags["memorydb.operators.dev/owner"]).to.match(/\/team-b\/b-user\//);
      expect(t.env.aws.user("b-user")).to.equal(undefined);
      expect(callsNaming(t.env.aws, "b-user"), "account A's calls naming b-user").to.deep.equal([]);
      expect(
        t.env.aws.callLog.some((c) => JSON.stringify(c.input).includes(B)),
        "account A never sees account B's ARNs",
      ).to.equal(false);
      expect(t.b.user("a-user")).to.equal(undefined);
      expect(callsNaming(t.b, "a-user")).to.deep.equal([]);
      expect(t.env.aws.user("a-user")).to.not.equal(undefined);

      // Status and Events say which account.
      expect(bUser.status?.arn).to.equal(`arn:aws:memorydb:${t.env.aws.region}:${B}:user/b-user`);
      expect(bUser.status?.account).to.deep.equal({ id: B, roleArn: ROLE_B });
      expect(aUser.status?.account).to.deep.equal({ id: A });
      const created = (await t.env.eventsFor("team-b", "b-user")).find((e) => e.reason === "Created");
      expect(created?.note).to.include(`AWS account ${B} (role ${ROLE_B})`);

      // The SDK's provider assumed the role once, with the external ID and the operator's session name.
      const assumed = t.cloud.stsCalls.filter((c) => c.roleArn === ROLE_B);
      expect(assumed.map((c) => [c.action, c.externalId, c.sessionName, c.caller, c.error])).to.deep.equal([
        ["AssumeRole", EXTERNAL_ID, "memorydb-user-operator", `arn:aws:sts::${A}:assumed-role/memorydb-user-operator/emulator`, undefined],
      ]);
    });

    it("lists each account once per resync, through its own identity", async () => {
      t.env.aws.resetCalls();
      t.b.resetCalls();
      await t.env.operator!.resync();
      await t.env.idle();
      const listings = (e: MemoryDBEmulator) =>
        e.callLog.filter((c) => c.op === "DescribeUsers" && !("UserName" in (c.input as object))).length;
      expect([listings(t.env.aws), listings(t.b)]).to.deep.equal([1, 1]);
    });

    it("takes a role change in the ConfigMap without a restart", async () => {
      await setMapping(t.env, { "team-b": `${ROLE_B2} ${EXTERNAL_ID}` });
      await t.env.until("the new role is assumed", () => t.cloud.stsCalls.some((c) => c.roleArn === ROLE_B2 && !c.error));
      await t.env.patchUserSpec("team-b", "b-user", { accessString: "on ~b:* +get" });
      const u = await t.env.waitForUser("team-b", "b-user", (u) => isReady(u) && u.status?.accessString?.includes("~b:*") === true);
      expect(u.status?.account).to.deep.equal({ id: B, roleArn: ROLE_B2 });
      expect(t.b.user("b-user")?.accessString).to.include("~b:*");
      // The update went to account B with the new role's credentials.
      const updates = t.cloud.memorydbCalls.filter((c) => c.op === "UpdateUser");
      expect(updates.map((c) => [c.account, c.caller])).to.deep.equal([
        [B, `arn:aws:sts::${B}:assumed-role/memorydb-user-operator-access-v2/memorydb-user-operator`],
      ]);
      expect(t.env.aws.user("b-user")).to.equal(undefined);
    });

    it("refuses to move a namespace's existing users to another account (AccountChanged) and calls nothing", async () => {
      await setMapping(t.env, { "team-b": `${ROLE_B2} ${EXTERNAL_ID}`, "team-a": `${ROLE_B2} ${EXTERNAL_ID}` });
      const aUser = await t.env.waitForUser("team-a", "a-user", reasonIs("AccountChanged"));
      expect(condition(aUser, "Ready")?.message).to.include(`account ${A}`).and.include(`AWS account ${B}`);
      expect(callsNaming(t.b, "a-user")).to.deep.equal([]);
      // Deleting is refused too: the finalizer stays until the mapping is restored.
      await t.env.deleteUser("team-a", "a-user");
      await setMapping(t.env, { "team-b": `${ROLE_B2} ${EXTERNAL_ID}` });
      await t.env.waitForGone("team-a", "a-user", 20_000);
      expect(t.env.aws.user("a-user")).to.equal(undefined);
      expect(callsNaming(t.b, "a-user")).to.deep.equal([]);
    });
  });

  describe("failures", () => {
    let t: Awaited<ReturnType<typeof accountsEnv>>;
    before(async () => {
      t = await accountsEnv({ REQUIRE_ACCOUNT_MAPPING: "true" }, [trusted]);
      await setMapping(t.env, { "team-b": `${ROLE_B} ${EXTERNAL_ID}`, "wrong-id": `${ROLE_B} not-the-id`, "bad-entry": "team-b-role" });
      await t.start();
      for (const ns of ["team-b", "wrong-id", "bad-entry", "unmapped"]) {
        await t.env.createNamespace(ns);
        await t.env.createSecret(ns, "pw", { password: PASSWORD_1 });
      }
    });
    after(async () => {
      await t?.stop();
    });

    it("shows a refused AssumeRole as AssumeRoleFailed, naming the role and the trust policy fix, and calls no MemoryDB", async () => {
      await t.env.createUser("wrong-id", "denied", passwordSpec("pw"));
      const u = await t.env.waitForUser("wrong-id", "denied", reasonIs("AssumeRoleFailed"));
      const message = condition(u, "Ready")!.message;
      expect(message).to.include(`STS AssumeRole failed: role ${ROLE_B} (AccessDenied)`).and.include("trust policy");
      expect(message).to.not.include("not-the-id");
      expect(t.b.user("denied")).to.equal(undefined);
      expect(callsNaming(t.b, "denied").concat(callsNaming(t.env.aws, "denied"))).to.deep.equal([]);
      const metrics = await (await fetch(`http://127.0.0.1:${t.env.app!.metricsPort}/metrics`)).text();
      expect(metrics).to.match(/^memorydb_api_calls_total\{operation="DescribeUsers",outcome="AssumeRole:AccessDenied"\} [1-9]/m);
      const events = await t.env.eventsFor("wrong-id", "denied");
      expect(events.some((e) => e.type === "Warning" && e.reason === "AssumeRoleFailed")).to.equal(true);
    });

    it("refuses unmapped namespaces (AccountNotMapped) and invalid entries (AccountMappingInvalid), then serves them once mapped", async () => {
      await t.env.createUser("unmapped", "lonely", passwordSpec("pw"));
      await t.env.createUser("bad-entry", "broken", passwordSpec("pw"));
      const lonely = await t.env.waitForUser("unmapped", "lonely", reasonIs("AccountNotMapped"));
      expect(condition(lonely, "Ready")!.message).to.include(`ConfigMap ${CONFIGMAP.namespace}/${CONFIGMAP.name}`);
      const broken = await t.env.waitForUser("bad-entry", "broken", reasonIs("AccountMappingInvalid"));
      expect(condition(broken, "Ready")!.message).to.include("IAM role ARN");
      for (const name of ["lonely", "broken"]) {
        expect(callsNaming(t.env.aws, name).concat(callsNaming(t.b, name)), name).to.deep.equal([]);
      }
      await setMapping(t.env, {
        "team-b": `${ROLE_B} ${EXTERNAL_ID}`,
        unmapped: `${ROLE_B} ${EXTERNAL_ID}`,
        "bad-entry": `${ROLE_B} ${EXTERNAL_ID}`,
      });
      for (const [ns, name] of [
        ["unmapped", "lonely"],
        ["bad-entry", "broken"],
      ] as const) {
        const u: MemoryDBUser = await t.env.waitForUser(ns, name, isReady);
        expect(u.status?.account?.id).to.equal(B);
        expect(t.b.user(name)).to.not.equal(undefined);
        expect(t.env.aws.user(name)).to.equal(undefined);
      }
    });
  });
});
