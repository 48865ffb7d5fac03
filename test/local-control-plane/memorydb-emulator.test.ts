import * as sdk from "@aws-sdk/client-memorydb";
import {
  CreateUserCommand,
  DeleteUserCommand,
  DescribeUsersCommand,
  DuplicateUserNameFault,
  InvalidCredentialsException,
  ListTagsCommand,
  MemoryDBClient,
  paginateDescribeUsers,
  ServiceLinkedRoleNotFoundFault,
  TagNotFoundFault,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateUserCommand,
  type User,
  UserAlreadyExistsFault,
  UserNotFoundFault,
} from "@aws-sdk/client-memorydb";
import { expect } from "chai";
import { ACCESS_STRING_MODE_ENV, type EmulatorOptions, MemoryDBEmulator } from "../../local-control-plane/memorydb/emulator.ts";
import {
  type AclModel,
  aclModel,
  MODELLED_FAULT_STATUS,
  parseAccessString,
  passwordProblem,
} from "../../local-control-plane/memorydb/rules.ts";

const PW1 = "correct-horse-battery-1";
const PW2 = "correct-horse-battery-2";

function client(emu: MemoryDBEmulator, opts: { maxAttempts?: number; region?: string } = {}): MemoryDBClient {
  return new MemoryDBClient({
    endpoint: emu.endpoint,
    region: opts.region ?? emu.region,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: opts.maxAttempts ?? 1,
  });
}

/** Runs `fn`, expects it to reject, returns the error. */
async function failure(fn: () => Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number }; code?: string }> {
  try {
    await fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the call to fail");
}

/** Resolves once cond holds (the emulator's state transitions run on timers). */
async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}

const createInput = (name: string, extra: Record<string, unknown> = {}) => ({
  UserName: name,
  AuthenticationMode: { Type: "password" as const, Passwords: [PW1] },
  AccessString: "on ~app:* &* +@read",
  ...extra,
});

describe("MemoryDB emulator", () => {
  let emu: MemoryDBEmulator;
  let mdb: MemoryDBClient;

  async function startWith(opts: EmulatorOptions = {}): Promise<void> {
    emu = await MemoryDBEmulator.start(opts);
    mdb = client(emu);
  }

  afterEach(async () => {
    mdb?.destroy();
    await emu?.stop();
  });

  describe("protocol", () => {
    beforeEach(() => startWith());

    it("maps error codes to err.name and the modelled exception class", async () => {
      const err = await failure(() => mdb.send(new DescribeUsersCommand({ UserName: "nobody" })));
      expect(err.name).to.equal("UserNotFoundFault");
      expect(err).to.be.instanceOf(UserNotFoundFault);
      expect(err.message).to.match(/nobody/);
    });

    it("answers raw requests in AWS JSON 1.1 with __type and X-Amzn-ErrorType", async () => {
      const headers = {
        "content-type": "application/x-amz-json-1.1",
        authorization: `AWS4-HMAC-SHA256 Credential=test/20250101/${emu.region}/memorydb/aws4_request, SignedHeaders=host, Signature=abcdef`,
      };
      const unknown = await fetch(emu.endpoint, {
        method: "POST",
        headers: { ...headers, "x-amz-target": "AmazonMemoryDB.Frobnicate" },
        body: "{}",
      });
      expect(unknown.status).to.equal(400);
      expect(unknown.headers.get("x-amzn-errortype")).to.equal("UnknownOperationException");
      expect(await unknown.json()).to.include({ __type: "UnknownOperationException" });

      const noAuth = await fetch(emu.endpoint, {
        method: "POST",
        headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonMemoryDB.DescribeUsers" },
        body: "{}",
      });
      expect(((await noAuth.json()) as { __type: string }).__type).to.equal("MissingAuthenticationTokenException");

      const ok = await fetch(emu.endpoint, {
        method: "POST",
        headers: { ...headers, "x-amz-target": "AmazonMemoryDB.DescribeUsers" },
        body: "{}",
      });
      expect(ok.status).to.equal(200);
      expect(ok.headers.get("content-type")).to.equal("application/x-amz-json-1.1");
      const body = (await ok.json()) as { Users: Array<Record<string, unknown>> };
      expect(body.Users[0]).to.have.all.keys("Name", "Status", "AccessString", "ACLNames", "MinimumEngineVersion", "Authentication", "ARN");
    });

    it("rejects a credential scoped to another region", async () => {
      const other = client(emu, { region: "eu-west-1" });
      try {
        const err = await failure(() => other.send(new DescribeUsersCommand({})));
        expect(err.name).to.equal("InvalidSignatureException");
      } finally {
        other.destroy();
      }
      expect(emu.calls.DescribeUsers ?? 0).to.equal(0);
    });
  });

  describe("lifecycle", () => {
    it("create → modifying → active → update → delete → deleting → gone (with timings)", async () => {
      await startWith({ modifyingMs: 150, deletingMs: 150 });
      const created = await mdb.send(new CreateUserCommand(createInput("App-User", { Tags: [{ Key: "owner", Value: "op" }] })));
      expect(created.User).to.deep.equal({
        Name: "app-user",
        Status: "modifying",
        AccessString: "on ~app:* &* +@read".replace("&* +@read", "&* -@all +@read"),
        ACLNames: [],
        MinimumEngineVersion: "6.2",
        Authentication: { Type: "password", PasswordCount: 1 },
        ARN: "arn:aws:memorydb:us-east-1:123456789012:user/app-user",
      });
      expect((await failure(() => mdb.send(new UpdateUserCommand({ UserName: "app-user", AccessString: "on ~* +get" })))).name).to.equal(
        "InvalidUserStateFault",
      );
      expect((await failure(() => mdb.send(new DeleteUserCommand({ UserName: "app-user" })))).name).to.equal("InvalidUserStateFault");
      // describe by name is case-insensitive and returns exactly that user
      const d1 = await mdb.send(new DescribeUsersCommand({ UserName: "APP-USER" }));
      expect(d1.Users?.map((u) => [u.Name, u.Status])).to.deep.equal([["app-user", "modifying"]]);

      await until(() => emu.user("app-user")?.status === "active");
      expect(emu.user("app-user")?.status).to.equal("active");
      const updated = await mdb.send(
        new UpdateUserCommand({ UserName: "app-user", AuthenticationMode: { Type: "password", Passwords: [PW1, PW2] } }),
      );
      expect(updated.User?.Status).to.equal("modifying");
      expect(updated.User?.Authentication).to.deep.equal({ Type: "password", PasswordCount: 2 });
      expect(emu.user("app-user")?.passwords).to.deep.equal([PW1, PW2]);

      await until(() => emu.user("app-user")?.status === "active");
      const deleted = await mdb.send(new DeleteUserCommand({ UserName: "app-user" }));
      expect(deleted.User?.Status).to.equal("deleting");
      expect((await mdb.send(new DescribeUsersCommand({ UserName: "app-user" }))).Users?.[0]?.Status).to.equal("deleting");
      expect((await failure(() => mdb.send(new DeleteUserCommand({ UserName: "app-user" })))).name).to.equal("InvalidUserStateFault");
      expect((await failure(() => mdb.send(new UpdateUserCommand({ UserName: "app-user", AccessString: "off" })))).name).to.equal(
        "InvalidUserStateFault",
      );
      // tags stay readable while deleting
      expect((await mdb.send(new ListTagsCommand({ ResourceArn: deleted.User!.ARN }))).TagList).to.deep.equal([
        { Key: "owner", Value: "op" },
      ]);

      await until(() => emu.user("app-user") === undefined);
      expect((await failure(() => mdb.send(new DescribeUsersCommand({ UserName: "app-user" })))).name).to.equal("UserNotFoundFault");
      expect(emu.user("app-user")).to.equal(undefined);
      expect((await failure(() => mdb.send(new DeleteUserCommand({ UserName: "app-user" })))).name).to.equal("UserNotFoundFault");
    });

    it("with zero timings: active at once; DeleteUser answers deleting and the user is gone", async () => {
      await startWith();
      expect((await mdb.send(new CreateUserCommand(createInput("u1")))).User?.Status).to.equal("active");
      expect((await mdb.send(new UpdateUserCommand({ UserName: "u1", AccessString: "on ~* &* +@all" }))).User?.Status).to.equal("active");
      expect((await mdb.send(new DeleteUserCommand({ UserName: "u1" }))).User?.Status).to.equal("deleting");
      expect((await failure(() => mdb.send(new DescribeUsersCommand({ UserName: "u1" })))).name).to.equal("UserNotFoundFault");
    });

    it("iam users: no passwords, no PasswordCount, engine 7.0", async () => {
      await startWith();
      const r = await mdb.send(
        new CreateUserCommand({ UserName: "svc", AuthenticationMode: { Type: "iam" }, AccessString: "on ~* &* +@all" }),
      );
      expect(r.User?.Authentication).to.deep.equal({ Type: "iam" });
      expect(r.User?.MinimumEngineVersion).to.equal("7.0");
      // switching to password and back
      await mdb.send(new UpdateUserCommand({ UserName: "svc", AuthenticationMode: { Type: "password", Passwords: [PW1] } }));
      expect(emu.user("svc")).to.include({ authType: "password", minimumEngineVersion: "6.2" });
      await mdb.send(new UpdateUserCommand({ UserName: "svc", AuthenticationMode: { Type: "iam" } }));
      expect(emu.user("svc")?.passwords).to.deep.equal([]);
    });

    it("the default user exists, is no-password and can be neither deleted nor modified", async () => {
      await startWith();
      const d = await mdb.send(new DescribeUsersCommand({ UserName: "default" }));
      expect(d.Users?.[0]).to.deep.include({
        Name: "default",
        Status: "active",
        AccessString: "on ~* &* +@all",
        Authentication: { Type: "no-password" },
        ACLNames: ["open-access"],
      });
      expect((await failure(() => mdb.send(new DeleteUserCommand({ UserName: "default" })))).name).to.equal(
        "InvalidParameterValueException",
      );
      expect((await failure(() => mdb.send(new UpdateUserCommand({ UserName: "default", AccessString: "off" })))).name).to.equal(
        "InvalidParameterValueException",
      );
      expect((await failure(() => mdb.send(new CreateUserCommand(createInput("default"))))).name).to.equal("UserAlreadyExistsFault");
      expect((await failure(() => mdb.send(new CreateUserCommand(createInput("Default"))))).name).to.equal("DuplicateUserNameFault");
    });
  });

  describe("constraints", () => {
    beforeEach(() => startWith({ accessStringMode: "memorydb" }));

    const cases: Array<[string, Record<string, unknown>, string]> = [
      ["name starting with a digit", { UserName: "1abc" }, "InvalidParameterValueException"],
      ["name with underscore", { UserName: "a_b" }, "InvalidParameterValueException"],
      ["name with --", { UserName: "a--b" }, "InvalidParameterValueException"],
      ["name ending with -", { UserName: "ab-" }, "InvalidParameterValueException"],
      ["name of 41 characters", { UserName: "a".repeat(41) }, "InvalidParameterValueException"],
      ["password type without passwords", { AuthenticationMode: { Type: "password" } }, "InvalidParameterCombinationException"],
      [
        "password type with [] passwords",
        { AuthenticationMode: { Type: "password", Passwords: [] } },
        "InvalidParameterCombinationException",
      ],
      ["three passwords", { AuthenticationMode: { Type: "password", Passwords: [PW1, PW2, `${PW1}x`] } }, "InvalidParameterValueException"],
      [
        "15-character password",
        { AuthenticationMode: { Type: "password", Passwords: ["x".repeat(15)] } },
        "InvalidParameterValueException",
      ],
      [
        "129-character password",
        { AuthenticationMode: { Type: "password", Passwords: ["x".repeat(129)] } },
        "InvalidParameterValueException",
      ],
      ["iam with a password", { AuthenticationMode: { Type: "iam", Passwords: [PW1] } }, "InvalidParameterCombinationException"],
      ["unknown auth type", { AuthenticationMode: { Type: "no-password" } }, "InvalidParameterValueException"],
      ["blank access string", { AccessString: "   " }, "InvalidParameterValueException"],
      ["access string with >password", { AccessString: "on >secretsecretsecret ~* +@all" }, "InvalidParameterValueException"],
      ["access string with <password", { AccessString: "on <secretsecretsecret ~* +@all" }, "InvalidParameterValueException"],
      ["access string with #hash", { AccessString: `on #${"a".repeat(64)} ~* +@all` }, "InvalidParameterValueException"],
      ["access string with nopass", { AccessString: "on nopass ~* +@all" }, "InvalidParameterValueException"],
      ["access string with resetpass", { AccessString: "on resetpass ~* +@all" }, "InvalidParameterValueException"],
      ["access string with reset", { AccessString: "reset on ~* +@all" }, "InvalidParameterValueException"],
      ["access string with garbage", { AccessString: "on ~* +@all frobnicate" }, "InvalidParameterValueException"],
      ["tag key starting with aws:", { Tags: [{ Key: "aws:x", Value: "y" }] }, "InvalidParameterValueException"],
      ["tag key of 129 characters", { Tags: [{ Key: "k".repeat(129), Value: "y" }] }, "InvalidParameterValueException"],
      ["tag value of 257 characters", { Tags: [{ Key: "k", Value: "v".repeat(257) }] }, "InvalidParameterValueException"],
      ["51 tags", { Tags: Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: "v" })) }, "TagQuotaPerResourceExceeded"],
    ];
    for (const [title, override, code] of cases) {
      it(`CreateUser: ${title} → ${code}`, async () => {
        const err = await failure(() => mdb.send(new CreateUserCommand(createInput("valid-name", override) as never)));
        expect(err.name).to.equal(code);
        expect(emu.users().map((u) => u.name)).to.deep.equal(["default"]);
      });
    }

    it("accepts the boundaries: 40-character name, 2 passwords of 16 and 128 characters, resetchannels/resetkeys", async () => {
      const name = `a${"b1-c".repeat(9)}xyz`;
      expect(name).to.have.length(40);
      await mdb.send(
        new CreateUserCommand({
          UserName: name,
          AuthenticationMode: { Type: "password", Passwords: ["p".repeat(16), "q".repeat(128)] },
          AccessString: "on resetkeys ~k:* resetchannels &c:* -@all +get",
        }),
      );
      expect(emu.user(name)?.accessString).to.equal("on resetkeys ~k:* resetchannels &c:* -@all +get");
    });

    it("names are case-insensitively unique, stored lower-case: the same name is UserAlreadyExistsFault, a case variant DuplicateUserNameFault", async () => {
      await mdb.send(new CreateUserCommand(createInput("Alice")));
      const same = await failure(() => mdb.send(new CreateUserCommand(createInput("alice"))));
      expect(same).to.be.instanceOf(UserAlreadyExistsFault);
      expect([same.name, same.$metadata?.httpStatusCode]).to.deep.equal(["UserAlreadyExistsFault", 400]);
      for (const variant of ["ALICE", "Alice"]) {
        const dup = await failure(() => mdb.send(new CreateUserCommand(createInput(variant))));
        expect(dup, variant).to.be.instanceOf(DuplicateUserNameFault);
        expect([dup.name, dup.$metadata?.httpStatusCode], variant).to.deep.equal(["DuplicateUserNameFault", 400]);
        expect(dup.message).to.include("alice");
      }
      expect(emu.users().map((u) => u.name)).to.deep.equal(["alice", "default"]);
      // validation comes first: an invalid request naming an existing user is still InvalidParameterValueException
      expect((await failure(() => mdb.send(new CreateUserCommand(createInput("ALICE", { AccessString: "on nopass" }))))).name).to.equal(
        "InvalidParameterValueException",
      );
    });

    it("normalises access strings", async () => {
      const cases: Array<[string, string]> = [
        ["on ~* &* +@all", "on ~* &* +@all"],
        ["on +get", "on resetchannels -@all +get"],
        ["on ~app:* +get +set", "on ~app:* resetchannels -@all +get +set"],
        ["~* on  allchannels +@read", "on ~* allchannels -@all +@read"],
        ["off ~*", "off ~* resetchannels -@all"],
        ["ON ~* &* +@ALL -FLUSHALL", "on ~* &* +@all -flushall"],
      ];
      let i = 0;
      for (const [input, stored] of cases) {
        const r = await mdb.send(new CreateUserCommand(createInput(`n${i++}`, { AccessString: input })));
        expect(r.User?.AccessString, input).to.equal(stored);
      }
    });

    it("UpdateUser validates like CreateUser and needs something to change", async () => {
      await mdb.send(new CreateUserCommand(createInput("bob")));
      expect((await failure(() => mdb.send(new UpdateUserCommand({ UserName: "bob" })))).name).to.equal(
        "InvalidParameterCombinationException",
      );
      expect((await failure(() => mdb.send(new UpdateUserCommand({ UserName: "bob", AccessString: "on nopass" })))).name).to.equal(
        "InvalidParameterValueException",
      );
      expect((await failure(() => mdb.send(new UpdateUserCommand({ UserName: "ghost", AccessString: "on" })))).name).to.equal(
        "UserNotFoundFault",
      );
      expect(emu.user("bob")?.accessString).to.equal("on ~app:* &* -@all +@read");
    });

    it("enforces the user quota", async () => {
      emu.maxUsers = 3;
      for (const n of ["q1", "q2", "q3"]) await mdb.send(new CreateUserCommand(createInput(n)));
      expect((await failure(() => mdb.send(new CreateUserCommand(createInput("q4"))))).name).to.equal("UserQuotaExceededFault");
      await mdb.send(new DeleteUserCommand({ UserName: "q1" }));
      await mdb.send(new CreateUserCommand(createInput("q4")));
    });
  });

  describe("DescribeUsers pagination", () => {
    beforeEach(() => startWith());

    it("pages through 250 users (incl. default) with an opaque NextToken", async () => {
      for (let i = 0; i < 249; i++)
        emu.seedUser({ name: `user-${String(i).padStart(3, "0")}`, accessString: "on ~* +get", passwords: [PW1] });
      const first = await mdb.send(new DescribeUsersCommand({}));
      expect(first.Users).to.have.length(100);
      expect(first.NextToken).to.be.a("string");
      const seen: string[] = [];
      let pages = 0;
      for await (const page of paginateDescribeUsers({ client: mdb, pageSize: 20 }, {})) {
        pages++;
        seen.push(...(page.Users ?? []).map((u: User) => u.Name!));
      }
      expect(pages).to.equal(13);
      expect(seen).to.have.length(250);
      expect(new Set(seen).size).to.equal(250);
      expect(seen).to.include("default");
    });

    it("validates MaxResults and NextToken; supports a UserName filter", async () => {
      emu.seedUser({ name: "a1", accessString: "on" });
      emu.seedUser({ name: "a2", accessString: "on" });
      for (const mr of [0, 19, 101]) {
        expect((await failure(() => mdb.send(new DescribeUsersCommand({ MaxResults: mr })))).name, String(mr)).to.equal(
          "InvalidParameterValueException",
        );
      }
      expect((await failure(() => mdb.send(new DescribeUsersCommand({ NextToken: "garbage" })))).name).to.equal(
        "InvalidParameterValueException",
      );
      const f = await mdb.send(new DescribeUsersCommand({ Filters: [{ Name: "UserName", Values: ["A2", "nope"] }] }));
      expect(f.Users?.map((u) => u.Name)).to.deep.equal(["a2"]);
      expect(
        (await failure(() => mdb.send(new DescribeUsersCommand({ UserName: "a1", Filters: [{ Name: "UserName", Values: ["a1"] }] })))).name,
      ).to.equal("InvalidParameterCombinationException");
    });
  });

  describe("tags", () => {
    beforeEach(() => startWith());

    it("adds, overwrites, lists and removes tags; enforces the quota and ARN rules", async () => {
      const { User: u } = await mdb.send(new CreateUserCommand(createInput("tagged", { Tags: [{ Key: "a", Value: "1" }] })));
      const arn = u!.ARN!;
      const r1 = await mdb.send(
        new TagResourceCommand({
          ResourceArn: arn,
          Tags: [
            { Key: "a", Value: "2" },
            { Key: "b", Value: "x" },
          ],
        }),
      );
      expect(r1.TagList).to.deep.equal([
        { Key: "a", Value: "2" },
        { Key: "b", Value: "x" },
      ]);
      expect(emu.user("tagged")?.tags).to.deep.equal({ a: "2", b: "x" });
      const r2 = await mdb.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: ["a"] }));
      expect(r2.TagList).to.deep.equal([{ Key: "b", Value: "x" }]);
      expect((await failure(() => mdb.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: ["a"] })))).name).to.equal(
        "TagNotFoundFault",
      );
      expect((await mdb.send(new ListTagsCommand({ ResourceArn: arn }))).TagList).to.deep.equal([{ Key: "b", Value: "x" }]);

      const many = Array.from({ length: 49 }, (_, i) => ({ Key: `k${i}`, Value: "v" }));
      await mdb.send(new TagResourceCommand({ ResourceArn: arn, Tags: many })); // 50 now
      expect(
        (await failure(() => mdb.send(new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: "one-more", Value: "v" }] })))).name,
      ).to.equal("TagQuotaPerResourceExceeded");
      // overwriting an existing key at the quota is fine
      await mdb.send(new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: "b", Value: "y" }] }));
      expect(
        (await failure(() => mdb.send(new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: "aws:x", Value: "v" }] })))).name,
      ).to.equal("InvalidParameterValueException");

      expect((await failure(() => mdb.send(new ListTagsCommand({ ResourceArn: "not-an-arn" })))).name).to.equal("InvalidARNFault");
      expect((await failure(() => mdb.send(new ListTagsCommand({ ResourceArn: arn.replace("tagged", "ghost") })))).name).to.equal(
        "UserNotFoundFault",
      );
      expect((await failure(() => mdb.send(new ListTagsCommand({ ResourceArn: arn.replace("user/tagged", "acl/x") })))).name).to.equal(
        "ACLNotFoundFault",
      );
      expect((await failure(() => mdb.send(new ListTagsCommand({ ResourceArn: arn.replace("us-east-1", "eu-west-1") })))).name).to.equal(
        "InvalidARNFault",
      );
    });
  });

  describe("faults", () => {
    beforeEach(() => startWith());

    it("throttling happens before any effect and is retried by the SDK", async () => {
      emu.faults.throttleRate = 1;
      const err = await failure(() => mdb.send(new CreateUserCommand(createInput("t1"))));
      expect(err.name).to.equal("ThrottlingException");
      expect(err.message).to.equal("Rate exceeded");
      expect(emu.user("t1")).to.equal(undefined);
      emu.faults.clear();

      emu.faults.failNext("CreateUser", "ThrottlingException", 2);
      const retrying = client(emu, { maxAttempts: 3 });
      try {
        const r = await retrying.send(new CreateUserCommand(createInput("t1")));
        expect(r.User?.Name).to.equal("t1");
        expect(r.$metadata.attempts).to.equal(3);
      } finally {
        retrying.destroy();
      }
      expect(emu.calls.CreateUser).to.equal(4); // 1 with throttleRate, then 2 throttled + 1 success
      expect(emu.callLog.map((c) => c.error)).to.deep.equal([
        "ThrottlingException",
        "ThrottlingException",
        "ThrottlingException",
        undefined,
      ]);
    });

    it("a rate limit answers ThrottlingException (400) beyond its burst, applies nothing, and refills", async () => {
      emu.rateLimit = { perSecond: 1, burst: 3 };
      const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => mdb.send(new CreateUserCommand(createInput(`rl${i}`)))));
      const throttled = results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason);
      expect(results.filter((r) => r.status === "fulfilled")).to.have.length(3);
      expect(throttled).to.have.length(2);
      for (const err of throttled) {
        expect([err.name, err.message, err.$metadata?.httpStatusCode]).to.deep.equal(["ThrottlingException", "Rate exceeded", 400]);
      }
      // Throttled calls count as calls, and created nothing.
      expect(emu.calls.CreateUser).to.equal(5);
      expect(emu.callLog.filter((c) => c.error === "ThrottlingException")).to.have.length(2);
      expect(emu.users().filter((u) => u.name.startsWith("rl"))).to.have.length(3);
      // Every operation shares the bucket; it refills at perSecond.
      expect((await failure(() => mdb.send(new DescribeUsersCommand({})))).name).to.equal("ThrottlingException");
      const deadline = Date.now() + 5000;
      for (;;) {
        const ok = await mdb.send(new DescribeUsersCommand({})).then(
          () => true,
          () => false,
        );
        if (ok) break;
        if (Date.now() > deadline) throw new Error("the bucket never refilled");
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(emu.rateLimit).to.deep.equal({ perSecond: 1, burst: 3 });
      emu.rateLimit = undefined;
      await Promise.all(Array.from({ length: 5 }, () => mdb.send(new DescribeUsersCommand({}))));
      expect(() => (emu.rateLimit = { perSecond: 0, burst: 1 })).to.throw(/perSecond > 0/);
    });

    it("failNext answers the given code (5xx for InternalFailure) and then recovers", async () => {
      emu.faults.failNext("DescribeUsers", "InternalFailure");
      emu.faults.failNext("DescribeUsers", "InvalidParameterValueException", 1, "nope");
      const e1 = await failure(() => mdb.send(new DescribeUsersCommand({})));
      expect(e1.name).to.equal("InternalFailure");
      expect(e1.$metadata?.httpStatusCode).to.equal(500);
      const e2 = await failure(() => mdb.send(new DescribeUsersCommand({})));
      expect([e2.name, e2.message, e2.$metadata?.httpStatusCode]).to.deep.equal(["InvalidParameterValueException", "nope", 400]);
      expect((await mdb.send(new DescribeUsersCommand({}))).Users).to.have.length(1);

      // 5xx is transient for the SDK's default retry strategy
      emu.faults.failNext("DescribeUsers", "ServiceUnavailable");
      const retrying = client(emu, { maxAttempts: 2 });
      try {
        expect((await retrying.send(new DescribeUsersCommand({}))).$metadata.attempts).to.equal(2);
      } finally {
        retrying.destroy();
      }
    });

    it("ResponseLost applies the change but the client sees a network error; a retry sees UserAlreadyExistsFault", async () => {
      emu.faults.failNext("CreateUser", "ResponseLost");
      const err = await failure(() => mdb.send(new CreateUserCommand(createInput("lost"))));
      expect(err.name).to.not.equal("UserAlreadyExistsFault");
      expect(emu.user("lost")?.status).to.equal("active");

      emu.faults.failNext("CreateUser", "ResponseLost");
      const retrying = client(emu, { maxAttempts: 2 });
      try {
        const e2 = await failure(() => retrying.send(new CreateUserCommand(createInput("lost2"))));
        expect(e2.name).to.equal("UserAlreadyExistsFault");
      } finally {
        retrying.destroy();
      }
      expect(emu.calls.CreateUser).to.equal(3);
    });

    it("responseLostRate applies the operations it names and loses their answers, drawing from the random source", async () => {
      emu.faults.responseLostRate = 1;
      emu.faults.responseLostOperations = ["CreateUser", "UpdateUser", "DeleteUser"];
      const e1 = await failure(() => mdb.send(new CreateUserCommand(createInput("rl1"))));
      expect(e1.code).to.equal("ECONNRESET");
      expect(emu.user("rl1")?.status).to.equal("active");
      // other operations answer
      expect((await mdb.send(new DescribeUsersCommand({ UserName: "rl1" }))).Users?.[0]?.Name).to.equal("rl1");
      await failure(() => mdb.send(new UpdateUserCommand({ UserName: "rl1", AuthenticationMode: { Type: "password", Passwords: [PW2] } })));
      expect(emu.user("rl1")?.passwords).to.deep.equal([PW2]);
      await failure(() => mdb.send(new DeleteUserCommand({ UserName: "rl1" })));
      expect(emu.user("rl1")).to.equal(undefined);
      expect(emu.callLog.map((c) => [c.op, c.error])).to.deep.equal([
        ["CreateUser", "ResponseLost"],
        ["DescribeUsers", undefined],
        ["UpdateUser", "ResponseLost"],
        ["DeleteUser", "ResponseLost"],
      ]);
      // a lost call that fails loses its answer too, and the log keeps the code
      await failure(() => mdb.send(new DeleteUserCommand({ UserName: "rl1" })));
      expect(emu.callLog.at(-1)?.error).to.equal("UserNotFoundFault");
      emu.faults.clear();
      expect([emu.faults.responseLostRate, emu.faults.responseLostOperations]).to.deep.equal([0, []]);
    });

    it("responseLostRate draws after the other rates; an empty operation list means every operation; random is told the call and the rate", async () => {
      mdb.destroy();
      await emu.stop();
      const draws = [0.9, 0.1, 0.9];
      const asked: string[] = [];
      await startWith({
        random: (d) => {
          asked.push(`${d.op} ${(d.input as { UserName?: string }).UserName} ${d.rate}`);
          return draws.shift() ?? 0.9;
        },
      });
      emu.faults.throttleRate = 0.5;
      emu.faults.responseLostRate = 0.5;
      // CreateUser: throttle draw 0.9 passes, lost draw 0.1 loses; DescribeUsers: 0.9, 0.9 answer
      await failure(() => mdb.send(new CreateUserCommand(createInput("rl2"))));
      expect((await mdb.send(new DescribeUsersCommand({ UserName: "rl2" }))).Users).to.have.length(1);
      expect(emu.callLog.map((c) => c.error)).to.deep.equal(["ResponseLost", undefined]);
      // the source is told what it draws for, so a seeded one can decide per call
      expect(asked).to.deep.equal([
        "CreateUser rl2 throttle",
        "CreateUser rl2 responseLost",
        "DescribeUsers rl2 throttle",
        "DescribeUsers rl2 responseLost",
      ]);
    });

    it("resetRate destroys the socket before any effect; latencyMs delays answers", async () => {
      emu.faults.resetRate = 1;
      await failure(() => mdb.send(new CreateUserCommand(createInput("r1"))));
      expect(emu.user("r1")).to.equal(undefined);
      emu.faults.clear();
      emu.faults.latencyMs = 120;
      const t0 = Date.now();
      await mdb.send(new DescribeUsersCommand({}));
      expect(Date.now() - t0).to.be.at.least(110);
    });
  });

  describe("inspection", () => {
    beforeEach(() => startWith());

    it("never exposes passwords over HTTP or in the call log", async () => {
      await mdb.send(new CreateUserCommand(createInput("secretive", { AuthenticationMode: { Type: "password", Passwords: [PW1, PW2] } })));
      const text = await (await fetch(`${emu.endpoint}/_emulator/users`)).text();
      expect(text).to.not.include(PW1);
      expect(text).to.not.include(PW2);
      const users = (JSON.parse(text) as { users: Array<Record<string, unknown>> }).users;
      const u = users.find((x) => x.name === "secretive")!;
      expect(u).to.not.have.property("passwords");
      expect(u.passwordCount).to.equal(2);
      expect(JSON.stringify(emu.callLog)).to.not.include(PW1);
      expect(emu.callLog[0]?.input).to.deep.include({ AuthenticationMode: { Type: "password", Passwords: ["***", "***"] } });
      const calls = (await (await fetch(`${emu.endpoint}/_emulator/calls`)).json()) as { calls: Record<string, number> };
      expect(calls.calls).to.deep.equal({ CreateUser: 1 });
      emu.resetCalls();
      expect(emu.calls).to.deep.equal({});
      expect(emu.callLog).to.have.length(0);
    });

    it("out-of-band changes are visible through the API", async () => {
      emu.seedUser({ name: "foreign", accessString: "on ~* +@all", passwords: [PW1], tags: { team: "other" } });
      emu.mutateUser("foreign", { accessString: "off ~* +@all", passwords: [PW1, PW2] });
      const d = await mdb.send(new DescribeUsersCommand({ UserName: "foreign" }));
      expect(d.Users?.[0]).to.deep.include({
        AccessString: "off ~* resetchannels +@all",
        Authentication: { Type: "password", PasswordCount: 2 },
      });
      emu.mutateUser("foreign", { status: "modifying" });
      expect((await failure(() => mdb.send(new DeleteUserCommand({ UserName: "foreign" })))).name).to.equal("InvalidUserStateFault");
      emu.mutateUser("foreign", { status: "modifying", statusMs: 30 });
      await until(() => emu.user("foreign")?.status === "active");
      expect(emu.user("foreign")?.status).to.equal("active");
      emu.deleteUserOutOfBand("foreign");
      expect((await failure(() => mdb.send(new DescribeUsersCommand({ UserName: "foreign" })))).name).to.equal("UserNotFoundFault");
    });
  });

  describe("authentication (what a Redis AUTH would get)", () => {
    it("accepts any of the user's passwords, and nothing else", async () => {
      await startWith();
      await mdb.send(new CreateUserCommand(createInput("app", { AuthenticationMode: { Type: "password", Passwords: [PW1, PW2] } })));
      expect(emu.authenticate("app", PW1)).to.equal(true);
      expect(emu.authenticate("app", PW2)).to.equal(true);
      expect(emu.authenticate("app", "correct-horse-battery-3")).to.equal(false);
      expect(emu.authenticate("nobody", PW1)).to.equal(false);
      // Redis matches user names exactly; MemoryDB stored it lower-case.
      expect(emu.authenticate("App", PW1)).to.equal(false);
      await mdb.send(new UpdateUserCommand({ UserName: "app", AuthenticationMode: { Type: "password", Passwords: [PW2] } }));
      expect(emu.authenticate("app", PW1)).to.equal(false);
      expect(emu.authenticate("app", PW2)).to.equal(true);
    });

    it("refuses a disabled (off) user, an iam user, a user being deleted", async () => {
      await startWith({ deletingMs: 200 });
      await mdb.send(new CreateUserCommand(createInput("off-user", { AccessString: "~app:* +get" })));
      expect(emu.user("off-user")?.accessString).to.match(/^off /);
      expect(emu.authenticate("off-user", PW1)).to.equal(false);
      await mdb.send(new CreateUserCommand(createInput("iam-user", { AuthenticationMode: { Type: "iam" } })));
      expect(emu.authenticate("iam-user", PW1)).to.equal(false);
      await mdb.send(new CreateUserCommand(createInput("going")));
      expect(emu.authenticate("going", PW1)).to.equal(true);
      await mdb.send(new DeleteUserCommand({ UserName: "going" }));
      expect(emu.user("going")?.status).to.equal("deleting");
      expect(emu.authenticate("going", PW1)).to.equal(false);
    });

    it("while modifying, accepts only what both the configuration before and the one after accept", async () => {
      await startWith({ modifyingMs: 150 });
      await mdb.send(new CreateUserCommand(createInput("app")));
      // Not on any node yet.
      expect(emu.authenticate("app", PW1)).to.equal(false);
      await until(() => emu.user("app")?.status === "active");
      expect(emu.authenticate("app", PW1)).to.equal(true);
      // Adding a password: the old one works throughout, the new one once every node has it.
      await mdb.send(new UpdateUserCommand({ UserName: "app", AuthenticationMode: { Type: "password", Passwords: [PW1, PW2] } }));
      expect(emu.user("app")?.status).to.equal("modifying");
      expect(emu.authenticate("app", PW1)).to.equal(true);
      expect(emu.authenticate("app", PW2)).to.equal(false);
      await until(() => emu.user("app")?.status === "active");
      expect(emu.authenticate("app", PW2)).to.equal(true);
      // Removing one: the kept one works throughout, the removed one stops at once.
      await mdb.send(new UpdateUserCommand({ UserName: "app", AuthenticationMode: { Type: "password", Passwords: [PW2] } }));
      expect(emu.authenticate("app", PW2)).to.equal(true);
      expect(emu.authenticate("app", PW1)).to.equal(false);
      await until(() => emu.user("app")?.status === "active");
      // Disabling: refused at once.
      await mdb.send(new UpdateUserCommand({ UserName: "app", AccessString: "off ~app:* +get" }));
      expect(emu.authenticate("app", PW2)).to.equal(false);
    });

    it("answers POST /_emulator/auth as Redis answers AUTH, and counts it as no MemoryDB call", async () => {
      await startWith();
      await mdb.send(new CreateUserCommand(createInput("app")));
      emu.resetCalls();
      const auth = async (body: unknown) => {
        const res = await fetch(`${emu.endpoint}/_emulator/auth`, { method: "POST", body: JSON.stringify(body) });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      };
      expect(await auth({ userName: "app", password: PW1 })).to.deep.equal({ status: 200, body: { accepted: true, reply: "OK" } });
      expect(await auth({ userName: "app", password: PW2 })).to.deep.equal({
        status: 200,
        body: { accepted: false, reply: "WRONGPASS invalid username-password pair or user is disabled." },
      });
      expect((await auth({ userName: "app" })).status).to.equal(400);
      expect(emu.calls).to.deep.equal({});
      expect(emu.callLog).to.deep.equal([]);
    });
  });

  describe("password rule", () => {
    beforeEach(() => startWith());

    const PRINTABLE = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i));
    const ALLOWED = PRINTABLE.filter((c) => !',"/@'.includes(c)).join("");

    it('accepts every printable ASCII character except space , " / @, at 16 and 128 characters', async () => {
      expect(ALLOWED).to.have.length(90);
      const passwords = [
        ALLOWED.slice(0, 16),
        ALLOWED.slice(16, 32),
        ALLOWED.slice(32, 48),
        ALLOWED.slice(48, 64),
        ALLOWED.slice(64, 80),
        ALLOWED.slice(74),
        "x".repeat(128),
      ];
      let i = 0;
      for (const pw of passwords) {
        expect(passwordProblem(pw), pw).to.equal(undefined);
        await mdb.send(new CreateUserCommand(createInput(`pw${i++}`, { AuthenticationMode: { Type: "password", Passwords: [pw] } })));
      }
      expect(emu.user("pw5")?.passwords).to.deep.equal([ALLOWED.slice(74)]);
    });

    const invalid: Array<[string, string]> = [
      ["a space", "correct horse battery"],
      ["a comma", "correct,horse-battery"],
      ["a double quote", 'correct"horse-battery'],
      ["a slash", "correct/horse-battery"],
      ["an at sign", "correct@horse-battery"],
      ["a tab", "correct\thorse-battery"],
      ["a newline", "correct-horse-battery\n"],
      ["DEL", "correct-horse-battery\x7f"],
      ["a NUL", "correct-horse-battery\0"],
      ["a non-ASCII letter (16 code points)", "correct-horse-bé"],
      ["an emoji", "correct-horse-battery-\u{1F40E}"],
      ["a lone surrogate", "correct-horse-battery-\ud800"],
      ["15 characters", "x".repeat(15)],
      ["129 characters", "x".repeat(129)],
    ];
    for (const [title, pw] of invalid) {
      it(`refuses a password with ${title} in CreateUser and UpdateUser (InvalidParameterValueException, 400, message without the password)`, async () => {
        expect(passwordProblem(pw)).to.be.a("string");
        const create = await failure(() =>
          mdb.send(new CreateUserCommand(createInput("pw", { AuthenticationMode: { Type: "password", Passwords: [PW1, pw] } }))),
        );
        expect([create.name, create.$metadata?.httpStatusCode]).to.deep.equal(["InvalidParameterValueException", 400]);
        expect(create.message).to.not.include(pw);
        expect(emu.user("pw")).to.equal(undefined);

        await mdb.send(new CreateUserCommand(createInput("pw")));
        const update = await failure(() =>
          mdb.send(new UpdateUserCommand({ UserName: "pw", AuthenticationMode: { Type: "password", Passwords: [pw] } })),
        );
        expect([update.name, update.$metadata?.httpStatusCode]).to.deep.equal(["InvalidParameterValueException", 400]);
        expect(update.message).to.not.include(pw);
        expect(emu.user("pw")?.passwords).to.deep.equal([PW1]);
      });
    }

    it("counts length in code points and says which rule is broken", () => {
      expect(passwordProblem("é".repeat(16))).to.match(/printable ASCII/);
      expect(passwordProblem("é".repeat(15))).to.match(/16-128/);
      expect(passwordProblem(`${"x".repeat(15)} `)).to.match(/printable ASCII/);
    });
  });

  describe("access strings as MemoryDB and Redis write them", () => {
    /** A model's meaning: a read+write pattern `*` grants what allkeys grants (Redis prints both as `~*`). */
    const meaning = (m: AclModel): AclModel =>
      !m.allKeys && m.keys.some((k) => k.pattern === "*" && k.read && k.write) ? { ...m, allKeys: true, keys: [] } : m;
    const modelOf = (s: string): AclModel => meaning(aclModel(parseAccessString(s)));

    // Recorded against real MemoryDB: identical in both modes.
    const recorded: Array<[string, string, string]> = [
      [
        "AWS CLI example (awscli/examples/memorydb/create-user.rst)",
        "~objects:* ~items:* ~public:*",
        "off ~objects:* ~items:* ~public:* resetchannels -@all",
      ],
      ["ACK e2e user_create_update", "on +get", "on resetchannels -@all +get"],
      ["ACK e2e user_create_update", "off +get", "off resetchannels -@all +get"],
      ["terraform TestAccMemoryDBUser_basic", "on ~* &* +@all", "on ~* &* +@all"],
      ["terraform TestAccMemoryDBUser_update_accessString", "off ~* &* +@all", "off ~* &* +@all"],
    ];

    const cases: Array<[string, string, string]> = [
      // input, memorydb form, acl-list form
      ["on allkeys allchannels allcommands", "on allkeys allchannels allcommands", "on ~* &* +@all"],
      ["on +get ~k:*", "on resetchannels -@all +get ~k:*", "on ~k:* resetchannels -@all +get"],
      ["on %RW~a %r~b %W~b ~a +get", "on %RW~a %R~b %W~b ~a resetchannels -@all +get", "on ~a ~b resetchannels -@all +get"],
      ["on %r~x -@all +@read -get +get", "on %R~x resetchannels -@all +@read -get +get", "on %R~x resetchannels -@all +@read +get"],
      ["on %W~x nocommands +set", "on %W~x resetchannels nocommands +set", "on %W~x resetchannels -@all +set"],
      ["ON ~* &* +@ALL -FLUSHALL", "on ~* &* +@all -flushall", "on ~* &* +@all -flushall"],
      [
        "on resetkeys ~k:* resetchannels &c:* -@all +get",
        "on resetkeys ~k:* resetchannels &c:* -@all +get",
        "on ~k:* resetchannels &c:* -@all +get",
      ],
      ["on &a &b &a -@all +config|get +config", "on &a &b &a -@all +config|get +config", "on resetchannels &a &b -@all +config"],
      ["~a allkeys", "off ~a allkeys resetchannels -@all", "off ~* resetchannels -@all"],
      ["on ~x resetkeys +get", "on ~x resetkeys resetchannels -@all +get", "on resetchannels -@all +get"],
      ["on ~* resetkeys ~y +get", "on ~* resetkeys ~y resetchannels -@all +get", "on ~y resetchannels -@all +get"],
      ["on +@all -@dangerous +@all", "on resetchannels +@all -@dangerous +@all", "on resetchannels +@all"],
      ["on allchannels resetchannels &c", "on allchannels resetchannels &c -@all", "on resetchannels &c -@all"],
      ["on off ~a on", "on ~a resetchannels -@all", "on ~a resetchannels -@all"],
      ["off", "off resetchannels -@all", "off resetchannels -@all"],
      ["on %RW~* +get", "on %RW~* resetchannels -@all +get", "on ~* resetchannels -@all +get"],
    ];

    for (const mode of ["memorydb", "acl-list"] as const) {
      it(`${mode}: reads back the strings recorded against real MemoryDB`, async () => {
        await startWith({ accessStringMode: mode });
        let i = 0;
        for (const [source, input, stored] of recorded) {
          const r = await mdb.send(new CreateUserCommand(createInput(`r${i++}`, { AccessString: input })));
          expect(r.User?.AccessString, `${source}: ${input}`).to.equal(stored);
        }
      });

      it(`${mode}: rewrites access strings without changing their meaning; rewriting is idempotent`, async () => {
        await startWith({ accessStringMode: mode });
        let i = 0;
        for (const [input, memorydb, aclList] of cases) {
          const expected = mode === "memorydb" ? memorydb : aclList;
          const created = await mdb.send(new CreateUserCommand(createInput(`c${i}`, { AccessString: input })));
          expect(created.User?.AccessString, input).to.equal(expected);
          expect(modelOf(expected), input).to.deep.equal(modelOf(input));
          const again = await mdb.send(new UpdateUserCommand({ UserName: `c${i}`, AccessString: expected }));
          expect(again.User?.AccessString, `rewriting ${expected}`).to.equal(expected);
          i++;
        }
        expect(emu.accessStringMode).to.equal(mode);
        // seeded and mutated users are stored the same way
        emu.seedUser({ name: "seeded", accessString: "on +get ~k:*" });
        expect(emu.user("seeded")?.accessString).to.equal(
          mode === "memorydb" ? "on resetchannels -@all +get ~k:*" : "on ~k:* resetchannels -@all +get",
        );
        emu.mutateUser("seeded", { accessString: "allkeys" });
        expect(emu.user("seeded")?.accessString).to.equal(
          mode === "memorydb" ? "off allkeys resetchannels -@all" : "off ~* resetchannels -@all",
        );
      });

      it(`${mode}: MinimumEngineVersion follows the Redis 7 syntax of the request, whatever the stored form`, async () => {
        await startWith({ accessStringMode: mode });
        expect(
          (await mdb.send(new CreateUserCommand(createInput("k7", { AccessString: "on %RW~x +get" })))).User?.MinimumEngineVersion,
        ).to.equal("7.0");
        expect(
          (await mdb.send(new CreateUserCommand(createInput("s7", { AccessString: "on ~x +config|get" })))).User?.MinimumEngineVersion,
        ).to.equal("7.0");
        expect(
          (await mdb.send(new CreateUserCommand(createInput("k6", { AccessString: "on ~x +get" })))).User?.MinimumEngineVersion,
        ).to.equal("6.2");
      });
    }

    it("refuses a pattern after ~*/allkeys or &*/allchannels (as Redis ACL SETUSER does) in CreateUser and UpdateUser", async () => {
      await startWith();
      await mdb.send(new CreateUserCommand(createInput("acl")));
      for (const bad of [
        "on ~* ~foo +@all",
        "on allkeys %R~x +get",
        "on &* &c +@all",
        "on allchannels &c +get",
        "on ~* resetkeys ~a allkeys ~b",
      ]) {
        const c = await failure(() => mdb.send(new CreateUserCommand(createInput("bad", { AccessString: bad }))));
        expect(c.name, bad).to.equal("InvalidParameterValueException");
        const u = await failure(() => mdb.send(new UpdateUserCommand({ UserName: "acl", AccessString: bad })));
        expect(u.name, bad).to.equal("InvalidParameterValueException");
      }
      expect(emu.user("bad")).to.equal(undefined);
      expect(emu.user("acl")?.accessString).to.equal("on ~app:* &* -@all +@read");
    });

    it(`takes the mode from ${ACCESS_STRING_MODE_ENV}; the option wins; an unknown mode fails at start`, async () => {
      const saved = process.env[ACCESS_STRING_MODE_ENV];
      try {
        process.env[ACCESS_STRING_MODE_ENV] = "acl-list";
        await startWith();
        expect(emu.accessStringMode).to.equal("acl-list");
        expect((await mdb.send(new CreateUserCommand(createInput("e1", { AccessString: "on allkeys +get" })))).User?.AccessString).to.equal(
          "on ~* resetchannels -@all +get",
        );
        mdb.destroy();
        await emu.stop();
        await startWith({ accessStringMode: "memorydb" });
        expect(emu.accessStringMode).to.equal("memorydb");
        process.env[ACCESS_STRING_MODE_ENV] = "acl";
        let thrown: unknown;
        try {
          await MemoryDBEmulator.start();
        } catch (err) {
          thrown = err;
        }
        expect(String(thrown)).to.match(/accessStringMode must be one of memorydb, acl-list/);
      } finally {
        if (saved === undefined) delete process.env[ACCESS_STRING_MODE_ENV];
        else process.env[ACCESS_STRING_MODE_ENV] = saved;
      }
    });
  });

  describe("tag calls while a user is busy", () => {
    it('with tagsUnavailableWhileModifying, ListTags/TagResource/UntagResource on a modifying user answer UserNotFoundFault 404 "not available for tagging"', async () => {
      await startWith({ modifyingMs: 150, tagsUnavailableWhileModifying: true });
      expect(emu.tagsUnavailableWhileModifying).to.equal(true);
      const { User: u } = await mdb.send(new CreateUserCommand(createInput("busy", { Tags: [{ Key: "a", Value: "1" }] })));
      expect(u?.Status).to.equal("modifying");
      const arn = u!.ARN!;
      const calls: Array<[string, () => Promise<unknown>]> = [
        ["ListTags", () => mdb.send(new ListTagsCommand({ ResourceArn: arn }))],
        ["TagResource", () => mdb.send(new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: "b", Value: "2" }] }))],
        ["UntagResource", () => mdb.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: ["a"] }))],
      ];
      for (const [op, call] of calls) {
        const err = await failure(call);
        expect(err, op).to.be.instanceOf(UserNotFoundFault);
        expect([err.name, err.$metadata?.httpStatusCode, err.message], op).to.deep.equal([
          "UserNotFoundFault",
          404,
          "busy is not available for tagging",
        ]);
      }
      expect(emu.user("busy")?.tags).to.deep.equal({ a: "1" });
      // the user itself is there all along
      expect((await mdb.send(new DescribeUsersCommand({ UserName: "busy" }))).Users?.[0]?.Status).to.equal("modifying");
      await until(() => emu.user("busy")?.status === "active");
      expect((await mdb.send(new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: "b", Value: "2" }] }))).TagList).to.have.length(2);
      // an UpdateUser makes it busy again; the field can be turned off at run time
      await mdb.send(new UpdateUserCommand({ UserName: "busy", AccessString: "on ~* +get" }));
      expect((await failure(() => mdb.send(new ListTagsCommand({ ResourceArn: arn })))).name).to.equal("UserNotFoundFault");
      emu.tagsUnavailableWhileModifying = false;
      expect((await mdb.send(new ListTagsCommand({ ResourceArn: arn }))).TagList).to.have.length(2);
    });

    it("by default tag calls on a modifying user succeed", async () => {
      await startWith({ modifyingMs: 500 });
      expect(emu.tagsUnavailableWhileModifying).to.equal(false);
      const { User: u } = await mdb.send(new CreateUserCommand(createInput("busy2")));
      expect(u?.Status).to.equal("modifying");
      expect((await mdb.send(new TagResourceCommand({ ResourceArn: u!.ARN!, Tags: [{ Key: "b", Value: "2" }] }))).TagList).to.deep.equal([
        { Key: "b", Value: "2" },
      ]);
    });
  });

  describe("DescribeUsers page size", () => {
    it("with refuseMaxResults any MaxResults is InvalidParameterValueException; listing without it pages by 100", async () => {
      await startWith({ refuseMaxResults: true });
      expect(emu.refuseMaxResults).to.equal(true);
      for (let i = 0; i < 120; i++) emu.seedUser({ name: `u-${String(i).padStart(3, "0")}`, accessString: "on ~* +get", passwords: [PW1] });
      for (const mr of [20, 50, 100]) {
        const err = await failure(() => mdb.send(new DescribeUsersCommand({ MaxResults: mr })));
        expect([err.name, err.$metadata?.httpStatusCode], String(mr)).to.deep.equal(["InvalidParameterValueException", 400]);
      }
      expect(
        (
          await failure(async () => {
            for await (const _ of paginateDescribeUsers({ client: mdb, pageSize: 50 }, {})) void _;
          })
        ).name,
      ).to.equal("InvalidParameterValueException");
      const seen: string[] = [];
      for await (const page of paginateDescribeUsers({ client: mdb }, {})) seen.push(...(page.Users ?? []).map((u: User) => u.Name!));
      expect(seen).to.have.length(121);
      emu.refuseMaxResults = false;
      expect((await mdb.send(new DescribeUsersCommand({ MaxResults: 50 }))).Users).to.have.length(50);
    });
  });

  describe("error statuses", () => {
    beforeEach(() => startWith());

    it("answers every fault with the HTTP status of the service model (@aws-sdk/client-memorydb)", () => {
      const model: Record<string, number> = {};
      for (const [key, value] of Object.entries(sdk)) {
        if (!key.endsWith("$") || !Array.isArray(value) || value[0] !== -3) continue;
        const traits = value[3] as { httpError?: number } | undefined;
        if (traits?.httpError !== undefined) model[value[2] as string] = traits.httpError;
      }
      expect(Object.keys(model).length).to.be.greaterThan(50);
      expect(MODELLED_FAULT_STATUS).to.deep.equal(model);
      expect(model.UserNotFoundFault).to.equal(404);
      expect(model.TagNotFoundFault).to.equal(404);
    });

    it("UserNotFoundFault, TagNotFoundFault and other resources' NotFound faults are 404; InvalidARNFault and validation errors 400", async () => {
      const notFound = await failure(() => mdb.send(new DescribeUsersCommand({ UserName: "nobody" })));
      expect([notFound.name, notFound.$metadata?.httpStatusCode]).to.deep.equal(["UserNotFoundFault", 404]);
      for (const call of [
        () => mdb.send(new UpdateUserCommand({ UserName: "nobody", AccessString: "on" })),
        () => mdb.send(new DeleteUserCommand({ UserName: "nobody" })),
        () => mdb.send(new ListTagsCommand({ ResourceArn: `arn:aws:memorydb:us-east-1:123456789012:user/nobody` })),
      ]) {
        const err = await failure(call);
        expect([err.name, err.$metadata?.httpStatusCode]).to.deep.equal(["UserNotFoundFault", 404]);
      }
      const { User: u } = await mdb.send(new CreateUserCommand(createInput("st")));
      const tagNotFound = await failure(() => mdb.send(new UntagResourceCommand({ ResourceArn: u!.ARN!, TagKeys: ["absent"] })));
      expect(tagNotFound).to.be.instanceOf(TagNotFoundFault);
      expect(tagNotFound.$metadata?.httpStatusCode).to.equal(404);
      const acl = await failure(() => mdb.send(new ListTagsCommand({ ResourceArn: "arn:aws:memorydb:us-east-1:123456789012:acl/x" })));
      expect([acl.name, acl.$metadata?.httpStatusCode]).to.deep.equal(["ACLNotFoundFault", 404]);
      const arn = await failure(() => mdb.send(new ListTagsCommand({ ResourceArn: "not-an-arn" })));
      expect([arn.name, arn.$metadata?.httpStatusCode]).to.deep.equal(["InvalidARNFault", 400]);
      const dup = await failure(() => mdb.send(new CreateUserCommand(createInput("st"))));
      expect([dup.name, dup.$metadata?.httpStatusCode]).to.deep.equal(["UserAlreadyExistsFault", 400]);
    });

    const injected: Array<[string, number, RegExp, (new (...args: never[]) => Error) | undefined]> = [
      ["ExpiredTokenException", 400, /^The security token included in the request is expired$/, undefined],
      ["UnrecognizedClientException", 400, /^The security token included in the request is invalid\.$/, undefined],
      ["InvalidClientTokenId", 403, /^The security token included in the request is invalid\.$/, undefined],
      [
        "AccessDeniedException",
        400,
        /is not authorized to perform: memorydb:CreateUser on resource: arn:aws:memorydb:us-east-1:123456789012:user\/inj/,
        undefined,
      ],
      ["ServiceLinkedRoleNotFoundFault", 400, /service-linked role/, ServiceLinkedRoleNotFoundFault],
      ["ValidationException", 400, /validation error/, undefined],
      ["DuplicateUserNameFault", 400, /Injected failure/, DuplicateUserNameFault],
      ["InvalidCredentialsException", 408, /Injected failure/, InvalidCredentialsException],
      ["UserNotFoundFault", 404, /^User inj not found\.$/, UserNotFoundFault],
      ["ThrottlingException", 400, /^Rate exceeded$/, undefined],
      ["ServiceUnavailable", 503, /unavailable/, undefined],
    ];
    for (const [code, status, message, cls] of injected) {
      it(`failNext injects ${code} as AWS answers it: HTTP ${status}, err.name, AWS's message, nothing done`, async () => {
        emu.faults.failNext("CreateUser", code);
        const err = await failure(() => mdb.send(new CreateUserCommand(createInput("inj"))));
        expect([err.name, err.$metadata?.httpStatusCode]).to.deep.equal([code, status]);
        expect(err.message).to.match(message);
        if (cls) expect(err).to.be.instanceOf(cls);
        expect(emu.user("inj")).to.equal(undefined);
        expect(emu.callLog.at(-1)?.error).to.equal(code);
      });
    }

    it("injected errors have the AWS JSON 1.1 shape; the tag calls name the user in UserNotFoundFault as the tagging service does", async () => {
      emu.faults.failNext("DescribeUsers", "AccessDeniedException");
      const raw = await fetch(emu.endpoint, {
        method: "POST",
        headers: {
          "content-type": "application/x-amz-json-1.1",
          "x-amz-target": "AmazonMemoryDB.DescribeUsers",
          authorization: `AWS4-HMAC-SHA256 Credential=test/20250101/${emu.region}/memorydb/aws4_request, SignedHeaders=host, Signature=abcdef`,
        },
        body: "{}",
      });
      expect(raw.status).to.equal(400);
      expect(raw.headers.get("x-amzn-errortype")).to.equal("AccessDeniedException");
      const body = (await raw.json()) as Record<string, string>;
      expect(Object.keys(body).sort()).to.deep.equal(["__type", "message"]);
      expect(body.__type).to.equal("AccessDeniedException");
      expect(body.message).to.match(/memorydb:DescribeUsers on resource: \*/);

      const { User: u } = await mdb.send(new CreateUserCommand(createInput("tagged")));
      emu.faults.failNext("TagResource", "UserNotFoundFault");
      const err = await failure(() => mdb.send(new TagResourceCommand({ ResourceArn: u!.ARN!, Tags: [{ Key: "k", Value: "v" }] })));
      expect([err.name, err.$metadata?.httpStatusCode, err.message]).to.deep.equal([
        "UserNotFoundFault",
        404,
        "tagged is not available for tagging",
      ]);
    });
  });
});
