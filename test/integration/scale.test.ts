// Issue 3 at scale: drift on 200 users corrected by one resync that lists the region once,
// and an operator restart with 50 Ready users that changes nothing in MemoryDB.
import { expect } from "chai";
import { GROUP, type MemoryDBUser, PLURAL, VERSION } from "../../src/model.ts";
import { PASSWORD_1, passwordSpec, TestEnv } from "./harness.ts";

async function allReady(env: TestEnv, namespace: string, count: number): Promise<MemoryDBUser[]> {
  let users: MemoryDBUser[] = [];
  await env.until(
    `${count} users Ready in ${namespace}`,
    async () => {
      const list = (await env.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL })) as {
        items: MemoryDBUser[];
      };
      users = list.items;
      return (
        users.length === count &&
        users.every((u) => {
          const ready = u.status?.conditions?.find((c) => c.type === "Ready");
          return ready?.status === "True";
        })
      );
    },
    60_000,
  );
  return users;
}

describe("at scale", function () {
  this.timeout(120_000);
  let env: TestEnv;

  before(async () => {
    env = await TestEnv.start({ env: { MAX_CONCURRENT_RECONCILES: "16", RESYNC_PERIOD: "1h", LOG_LEVEL: "info" } });
  });
  after(async () => {
    await env?.stop();
  });

  it("corrects drift on 200 users with one paginated DescribeUsers listing, not one call per user", async () => {
    await env.createNamespace("drift");
    await env.createSecret("drift", "pw", { password: PASSWORD_1 });
    for (let i = 0; i < 200; i++) await env.createUser("drift", `u${i}`, passwordSpec("pw"));
    await allReady(env, "drift", 200);

    // Out-of-band changes, as made in the console.
    for (const i of [3, 50, 99, 150, 199]) env.aws.mutateUser(`u${i}`, { accessString: "on ~* &* +@all" });
    env.aws.mutateUser("u7", { authType: "iam", passwords: [] });
    for (const i of [10, 20]) env.aws.deleteUserOutOfBand(`u${i}`);
    env.aws.resetCalls();
    expect(env.aws.users()).to.have.length(199);
    const secretReads = () => env.kube.requests.filter((r) => r.method === "GET" && r.path.endsWith("/namespaces/drift/secrets/pw")).length;
    const statusWrites = () =>
      env.kube.requests.filter(
        (r) =>
          r.method === "PATCH" &&
          r.path.startsWith("/apis/memorydb.operators.dev/v1alpha1/namespaces/drift/") &&
          r.path.endsWith("/status"),
      ).length;
    const [readsBefore, writesBefore] = [secretReads(), statusWrites()];

    await env.operator!.resync();
    await env.until(
      "drift corrected",
      () =>
        [3, 50, 99, 150, 199].every((i) => env.aws.user(`u${i}`)?.accessString === "on ~app:* &* -@all +@read") &&
        env.aws.user("u7")?.authType === "password" &&
        env.aws.user("u10") !== undefined &&
        env.aws.user("u20") !== undefined,
    );
    await env.idle();
    await allReady(env, "drift", 200);
    // In-sync resources cost the API server nothing either: no Secret read, no status write.
    expect(secretReads() - readsBefore).to.be.at.most(8 * 2);
    expect(statusWrites() - writesBefore).to.be.at.most(8 * 3);

    const calls = env.aws.calls;
    // 199 users (198 of ours and `default`) at 100 per page: 2 listing calls; then a fresh read
    // per drifted user only.
    const listings = env.aws.callLog.filter((c) => c.op === "DescribeUsers" && !(c.input as { UserName?: string }).UserName).length;
    expect(listings).to.equal(2);
    expect(calls.DescribeUsers).to.be.at.most(2 + 8 * 3);
    expect(calls.UpdateUser).to.equal(6);
    expect(calls.CreateUser).to.equal(2);
    // Ownership is read from the tags before changing a user, and only then.
    expect(calls.ListTags ?? 0).to.equal(6);
    expect(env.aws.user("u7")!.passwords).to.deep.equal([PASSWORD_1]);

    const events = (await env.events.listNamespacedEvent({ namespace: "drift" })).items;
    expect(
      events
        .filter((e) => e.reason === "DriftCorrected")
        .map((e) => e.regarding?.name)
        .sort(),
    ).to.deep.equal(["u150", "u199", "u3", "u50", "u7", "u99"].sort());
    expect(
      events
        .filter((e) => e.reason === "Recreated")
        .map((e) => e.regarding?.name)
        .sort(),
    ).to.deep.equal(["u10", "u20"]);
  });

  it("restarts with 50 Ready users without any UpdateUser or CreateUser", async () => {
    await env.createNamespace("restart");
    await env.createSecret("restart", "pw", { password: PASSWORD_1 });
    for (let i = 0; i < 50; i++) await env.createUser("restart", `r${i}`, passwordSpec("pw"));
    await allReady(env, "restart", 50);
    await env.stopOperator();
    env.aws.resetCalls();
    await env.startOperator({ MAX_CONCURRENT_RECONCILES: "16", RESYNC_PERIOD: "1h", LOG_LEVEL: "info" });
    await env.idle();
    await allReady(env, "restart", 50);
    expect(env.aws.calls.UpdateUser ?? 0).to.equal(0);
    expect(env.aws.calls.CreateUser ?? 0).to.equal(0);
    expect(env.aws.calls.TagResource ?? 0).to.equal(0);
    // A restart lists the region once; in-sync users need no call of their own, and their
    // tag checks are spread over the tag resync period.
    expect(env.aws.calls.DescribeUsers).to.equal(Math.ceil(env.aws.users().length / 100));
    expect(env.aws.calls.ListTags ?? 0).to.equal(0);
  });

  it("checks an in-sync user's tags with one ListTags, the listing standing for DescribeUsers, and corrects tag drift", async () => {
    await env.createNamespace("tagcheck");
    await env.createSecret("tagcheck", "pw", { password: PASSWORD_1 });
    for (let i = 0; i < 20; i++) await env.createUser("tagcheck", `t${i}`, { ...passwordSpec("pw"), tags: { team: "a" } });
    await allReady(env, "tagcheck", 20);
    // A restart spreads the users' tag checks over the period; after one period all are due.
    await env.stopOperator();
    await env.startOperator({ MAX_CONCURRENT_RECONCILES: "16", RESYNC_PERIOD: "1h", LOG_LEVEL: "info", TAG_RESYNC_PERIOD: "1s" });
    await env.idle();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const tagged = env.aws.user("t3")!.tags;
    env.aws.mutateUser("t3", { tags: { ...tagged, team: "changed-in-the-console" } });
    env.aws.resetCalls();
    await env.operator!.resync();
    await env.idle();
    expect(env.aws.user("t3")!.tags).to.deep.equal(tagged);
    const listings = env.aws.callLog.filter((c) => c.op === "DescribeUsers" && !(c.input as { UserName?: string }).UserName).length;
    const describes = env.aws.callLog.filter((c) => c.op === "DescribeUsers" && (c.input as { UserName?: string }).UserName);
    const inNamespace = (c: { input: unknown }) => /:user\/t\d+$/.test((c.input as { ResourceArn?: string }).ResourceArn ?? "");
    // Every user of the namespace: one ListTags; the drifted one the careful way as well (describe, tags, fix).
    expect(env.aws.callLog.filter((c) => c.op === "ListTags" && inNamespace(c))).to.have.length(21);
    expect(describes.map((c) => (c.input as { UserName: string }).UserName).filter((n) => /^t\d+$/.test(n))).to.deep.equal(["t3"]);
    expect(listings).to.equal(Math.ceil(env.aws.users().length / 100));
    expect(env.aws.calls.TagResource).to.equal(1);
  });
});
