// Issue 9: the operator right where AWS differs from a kind emulator: tag calls that answer
// UserNotFound while a user is busy, DuplicateUserNameFault, credential and permission errors,
// page sizes, regions, force-deleted owners, a tampered status, and Events that say what
// happened.

import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { expect } from "chai";
import { GROUP, OWNERSHIP_TAG_KEY, PLURAL, VERSION } from "../../src/model.ts";
import { condition, isReady, PASSWORD_1, PASSWORD_2, passwordSpec, reasonIs, TestEnv } from "./harness.ts";

const NS = "aws";

describe("where AWS differs", function () {
  this.timeout(30_000);
  let env: TestEnv;

  before(async () => {
    env = await TestEnv.start({
      emulator: { modifyingMs: 150, deletingMs: 200 },
      extraRegion: "eu-west-1",
      env: { ALLOWED_REGIONS: "us-east-1,ap-nowhere-1" },
    });
    await env.createNamespace(NS);
    await env.createSecret(NS, "pw", { password: PASSWORD_1, second: PASSWORD_2 });
  });
  afterEach(() => env.aws.faults.clear());
  after(async () => {
    await env?.stop();
  });

  const reasons = async (name: string) => (await env.eventsFor(NS, name)).map((e) => e.reason);

  it("never takes a tag call's UserNotFoundFault during deletion for a deleted user", async () => {
    await env.createUser(NS, "busy-delete", passwordSpec("pw"));
    await env.waitForUser(NS, "busy-delete", isReady);
    env.aws.resetCalls();
    // More than the in-call retries: the reconcile itself must come back and look again.
    env.aws.faults.failNext("ListTags", "UserNotFoundFault", 6, "User busy-delete is not available for tagging");
    await env.deleteUser(NS, "busy-delete");
    await env.waitForGone(NS, "busy-delete", 20_000);
    expect(env.aws.calls.DeleteUser).to.equal(1);
    expect(env.aws.user("busy-delete")).to.equal(undefined);
  });

  it("takes DuplicateUserNameFault from CreateUser as 'the user exists': looks again", async () => {
    env.aws.faults.failNext("CreateUser", "DuplicateUserNameFault", 1, "A user with this name already exists");
    await env.createUser(NS, "dup", passwordSpec("pw"));
    await env.waitForUser(NS, "dup", isReady);
    expect(env.aws.user("dup")?.passwords).to.deep.equal([PASSWORD_1]);
  });

  it("says what an administrator must fix for a permission error, and retries slowly", async () => {
    env.aws.faults.failNext(
      "CreateUser",
      "AccessDeniedException",
      1,
      "User: arn:aws:sts::1:assumed-role/op is not authorized to perform: memorydb:CreateUser",
    );
    await env.createUser(NS, "denied", passwordSpec("pw"));
    const user = await env.waitForUser(NS, "denied", reasonIs("AccessDenied"));
    expect(condition(user, "Ready")!.message).to.match(/not authorized.*administrator must allow this call in the operator's IAM policy/);
    await env.until("a Warning Event for it", async () =>
      (await env.eventsFor(NS, "denied")).some((e) => e.type === "Warning" && e.reason === "AccessDenied"),
    );
    // The slow retry (RETRY_MAX_DELAY) then succeeds.
    await env.waitForUser(NS, "denied", isReady, 10_000);
  });

  it("lists again without a page size when MemoryDB refuses it, instead of one call per user", async () => {
    env.aws.faults.failNext(
      "DescribeUsers",
      "InvalidParameterValueException",
      1,
      "1 validation error detected: Value '100' at 'maxResults' failed to satisfy constraint",
    );
    env.aws.resetCalls();
    await env.operator!.resync();
    await env.idle();
    const listings = env.aws.callLog.filter((c) => c.op === "DescribeUsers");
    expect(listings.map((c) => c.input)).to.deep.equal([{ MaxResults: 100 }, {}]);
  });

  it("refuses a region the administrator does not allow, calling nothing there", async () => {
    await env.createUser(NS, "elsewhere", { ...passwordSpec("pw"), region: "eu-west-1" });
    const user = await env.waitForUser(NS, "elsewhere", reasonIs("RegionNotAllowed"));
    expect(condition(user, "Ready")!.message).to.match(/may not use region eu-west-1 \(allowed: us-east-1, ap-nowhere-1\)/);
    expect(env.otherRegion!.callLog).to.deep.equal([]);
  });

  it("reports a region that cannot be reached, retrying it slowly rather than in a loop", async () => {
    await env.createUser(NS, "nowhere", { ...passwordSpec("pw"), region: "ap-nowhere-1" });
    const user = await env.waitForUser(NS, "nowhere", reasonIs("RegionUnreachable"), 15_000);
    expect(condition(user, "Ready")!.message).to.match(/does not resolve/);
    await env.deleteUser(NS, "nowhere");
  });

  it("does not hand a force-deleted resource's user to a new resource of the same name", async () => {
    await env.createUser(NS, "reborn", passwordSpec("pw"));
    const first = await env.waitForUser(NS, "reborn", isReady);
    // Force-deleted: the finalizer stripped, so the operator never released the user.
    await env.patchUser(NS, "reborn", { metadata: { finalizers: null } });
    await env.deleteUser(NS, "reborn");
    await env.waitForGone(NS, "reborn");
    expect(env.aws.user("reborn")?.tags[OWNERSHIP_TAG_KEY]).to.match(new RegExp(`/${first.metadata.uid}$`));

    await env.createUser(NS, "reborn", passwordSpec("pw", "second"));
    const second = await env.waitForUser(NS, "reborn", reasonIs("UserAlreadyExists"));
    expect(condition(second, "Ready")!.message).to.match(/earlier MemoryDBUser of this name that no longer exists/);
    expect(env.aws.user("reborn")?.passwords).to.deep.equal([PASSWORD_1]);
    await env.patchUserSpec(NS, "reborn", { adoptExisting: true });
    await env.waitForUser(NS, "reborn", (u) => isReady(u) && u.status?.observedGeneration === 2);
    expect(env.aws.user("reborn")?.passwords).to.deep.equal([PASSWORD_2]);
    expect(env.aws.user("reborn")?.tags[OWNERSHIP_TAG_KEY]).to.match(new RegExp(`/${second.metadata.uid}$`));
  });

  it("deletes only the user the spec names, whatever the status says", async () => {
    env.aws.seedUser({ name: "bystander", accessString: "on ~* +@all", passwords: ["bystander-password-123"] });
    await env.createUser(NS, "target", passwordSpec("pw"));
    await env.waitForUser(NS, "target", isReady);
    const bystander = env.aws.user("bystander")!;
    // Someone with write access to the status points it at another user.
    await env.custom.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        namespace: NS,
        plural: PLURAL,
        name: "target",
        body: { status: { userName: "bystander", arn: bystander.arn } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    await env.deleteUser(NS, "target");
    await env.waitForGone(NS, "target");
    expect(env.aws.user("target")).to.equal(undefined);
    expect(env.aws.user("bystander")).to.not.equal(undefined);
    expect(await reasons("target")).to.include("ImmutableFieldChanged");
  });

  it("records Deleted only for a user that existed, and PasswordRotated only for a changed value", async () => {
    await env.createUser(NS, "never", passwordSpec("missing-secret"));
    await env.waitForUser(NS, "never", reasonIs("SecretNotFound"));
    await env.deleteUser(NS, "never");
    await env.waitForGone(NS, "never");
    expect(await reasons("never")).to.not.include("Deleted");

    await env.createSecret(NS, "two", { a: PASSWORD_1, b: PASSWORD_2 });
    await env.createUser(NS, "grows", passwordSpec("two", "a"));
    await env.waitForUser(NS, "grows", isReady);
    await env.patchUserSpec(NS, "grows", {
      authenticationMode: {
        type: "password",
        passwords: [{ secretKeyRef: { name: "two", key: "a" } }, { secretKeyRef: { name: "two", key: "b" } }],
      },
    });
    await env.until("both passwords reach MemoryDB", () => env.aws.user("grows")?.passwords.length === 2);
    await env.until("the Updated Event", async () => (await reasons("grows")).includes("Updated"));
    expect(await reasons("grows")).to.not.include("PasswordRotated");
  });
});
