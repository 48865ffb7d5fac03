// The local control plane's STS (AssumeRole over the query protocol, STS's XML) and the MemoryDB
// front that keeps accounts apart: the AWS SDK's own STS provider and MemoryDB client work
// against them unchanged, and they refuse what AWS refuses (untrusted callers, a wrong external
// ID, unknown or expired credentials, malformed parameters).
import { DescribeUsersCommand, MemoryDBClient } from "@aws-sdk/client-memorydb";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import { expect } from "chai";
import { AwsAccounts, type TrustPolicy, trusts } from "../../local-control-plane/aws/accounts.ts";
import { MemoryDBEmulator } from "../../local-control-plane/memorydb/emulator.ts";

const A = "123456789012";
const B = "210987654321";
const OPERATOR_ROLE = `arn:aws:iam::${A}:role/memorydb-user-operator`;
const ROLE = `arn:aws:iam::${B}:role/access`;
const KEYS = { accessKeyId: "AKIDOPERATOR", secretAccessKey: "operator-secret" };
const trust = (principal: string | string[], externalId?: string): TrustPolicy => ({
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Principal: { AWS: principal },
      Action: "sts:AssumeRole",
      ...(externalId ? { Condition: { StringEquals: { "sts:ExternalId": externalId } } } : {}),
    },
  ],
});

describe("local control plane: AWS accounts and STS", function () {
  this.timeout(20_000);
  let a: MemoryDBEmulator;
  let b: MemoryDBEmulator;
  let cloud: AwsAccounts;
  before(async () => {
    a = await MemoryDBEmulator.start({ accountId: A });
    b = await MemoryDBEmulator.start({ accountId: B });
    cloud = await AwsAccounts.start({
      region: "us-east-1",
      accounts: { [A]: a, [B]: b },
      keys: { [KEYS.accessKeyId]: { secretAccessKey: KEYS.secretAccessKey, principal: { arn: OPERATOR_ROLE, mayAssume: [ROLE] } } },
    });
  });
  after(async () => {
    await Promise.all([cloud?.stop(), a?.stop(), b?.stop()]);
  });

  const assume = (params: { RoleArn: string; ExternalId?: string; RoleSessionName?: string }) =>
    fromTemporaryCredentials({
      params: { RoleSessionName: "test-session", ...params },
      masterCredentials: KEYS,
      clientConfig: { region: "us-east-1", endpoint: cloud.stsEndpoint, maxAttempts: 1 },
    })();
  const memorydb = (credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) =>
    new MemoryDBClient({ region: "us-east-1", endpoint: cloud.memorydbEndpoint, credentials, maxAttempts: 1 });
  const fail = (p: Promise<unknown>) =>
    p.then(
      () => expect.fail("resolved"),
      (e: Error & { $metadata?: { httpStatusCode?: number } }) => e,
    );

  it("answers AssumeRole as STS does: the SDK's provider gets temporary credentials that reach the role's account only", async () => {
    cloud.defineRole({ arn: ROLE, trustPolicy: trust(OPERATOR_ROLE, "ext-1") });
    const creds = await assume({ RoleArn: ROLE, ExternalId: "ext-1" });
    expect(creds.accessKeyId).to.match(/^ASIA[0-9A-F]{16}$/);
    expect(creds.sessionToken).to.be.a("string");
    expect(creds.expiration!.getTime()).to.be.greaterThan(Date.now() + 50 * 60_000);
    a.resetCalls();
    b.resetCalls();
    const out = await memorydb(creds).send(new DescribeUsersCommand({}));
    expect(out.Users?.map((u) => u.ARN)).to.deep.equal([`arn:aws:memorydb:us-east-1:${B}:user/default`]);
    expect([a.callLog.length, b.callLog.length]).to.deep.equal([0, 1]);
    // The operator's own keys reach its own account.
    const own = await memorydb(KEYS).send(new DescribeUsersCommand({}));
    expect(own.Users?.[0]?.ARN).to.include(`:${A}:`);
    expect(cloud.stsCalls.at(-1)).to.deep.include({
      action: "AssumeRole",
      roleArn: ROLE,
      externalId: "ext-1",
      sessionName: "test-session",
    });
  });

  it("refuses with AccessDenied (403, STS's XML error) a wrong or missing external ID, an untrusted caller and an unknown role, alike", async () => {
    cloud.defineRole({ arn: ROLE, trustPolicy: trust(OPERATOR_ROLE, "ext-1") });
    for (const params of [{ RoleArn: ROLE, ExternalId: "ext-2" }, { RoleArn: ROLE }, { RoleArn: `arn:aws:iam::${B}:role/none` }]) {
      const err = await fail(assume(params));
      expect([err.name, err.$metadata?.httpStatusCode], JSON.stringify(params)).to.deep.equal(["AccessDenied", 403]);
      expect(err.message).to.equal(
        `User: arn:aws:sts::${A}:assumed-role/memorydb-user-operator/emulator is not authorized to perform: sts:AssumeRole on resource: ${params.RoleArn}`,
      );
    }
    cloud.defineRole({ arn: ROLE, trustPolicy: trust(`arn:aws:iam::${A}:role/someone-else`) });
    expect((await fail(assume({ RoleArn: ROLE }))).name).to.equal("AccessDenied");
  });

  it("evaluates trust policies as IAM does: named principal, account root with an identity policy, Deny wins, cross-account needs the caller's own policy", () => {
    const op = { arn: OPERATOR_ROLE, mayAssume: [ROLE] };
    expect(trusts(trust(OPERATOR_ROLE), op, ROLE, undefined)).to.equal(true);
    expect(trusts(trust(OPERATOR_ROLE), { arn: OPERATOR_ROLE }, ROLE, undefined), "across accounts without its own policy").to.equal(false);
    expect(trusts(trust(OPERATOR_ROLE), { arn: OPERATOR_ROLE }, `arn:aws:iam::${A}:role/same-account`, undefined)).to.equal(true);
    expect(trusts(trust(`arn:aws:iam::${A}:root`), op, ROLE, undefined)).to.equal(true);
    expect(
      trusts(trust(A), { arn: OPERATOR_ROLE }, `arn:aws:iam::${A}:role/r`, undefined),
      "account root needs the caller's policy",
    ).to.equal(false);
    expect(trusts(trust([OPERATOR_ROLE], "x1"), op, ROLE, "x1")).to.equal(true);
    const denied: TrustPolicy = {
      ...trust(OPERATOR_ROLE),
      Statement: [...trust(OPERATOR_ROLE).Statement, { Effect: "Deny", Principal: { AWS: OPERATOR_ROLE }, Action: "sts:*" }],
    };
    expect(trusts(denied, op, ROLE, undefined)).to.equal(false);
    expect(() =>
      cloud.defineRole({
        arn: ROLE,
        trustPolicy: {
          ...trust(OPERATOR_ROLE),
          Statement: [{ ...trust(OPERATOR_ROLE).Statement[0]!, Condition: { StringLike: { "sts:ExternalId": "x*" } } }],
        },
      }),
    ).to.throw(/only StringEquals on sts:ExternalId/);
  });

  it("refuses malformed parameters with ValidationError, unknown keys with InvalidClientTokenId", async () => {
    cloud.defineRole({ arn: ROLE, trustPolicy: trust(OPERATOR_ROLE) });
    const bad = await fail(assume({ RoleArn: ROLE, RoleSessionName: "has space" }));
    expect([bad.name, bad.$metadata?.httpStatusCode]).to.deep.equal(["ValidationError", 400]);
    expect(bad.message).to.match(/^1 validation error detected: Value 'has space' at 'roleSessionName' failed to satisfy constraint/);
    const unknown = await fail(
      fromTemporaryCredentials({
        params: { RoleArn: ROLE, RoleSessionName: "session" },
        masterCredentials: { accessKeyId: "AKIDUNKNOWN", secretAccessKey: "x" },
        clientConfig: { region: "us-east-1", endpoint: cloud.stsEndpoint, maxAttempts: 1 },
      })(),
    );
    expect([unknown.name, unknown.$metadata?.httpStatusCode]).to.deep.equal(["InvalidClientTokenId", 403]);
  });

  it("keeps accounts apart at MemoryDB: unknown keys, a session token that does not match, and expired credentials are refused", async () => {
    cloud.defineRole({ arn: ROLE, trustPolicy: trust(OPERATOR_ROLE) });
    const unknown = await fail(memorydb({ accessKeyId: "AKIDNOBODY", secretAccessKey: "x" }).send(new DescribeUsersCommand({})));
    expect(unknown.name).to.equal("UnrecognizedClientException");
    const creds = await assume({ RoleArn: ROLE });
    const forged = await fail(memorydb({ ...creds, sessionToken: "forged" }).send(new DescribeUsersCommand({})));
    expect(forged.name).to.equal("UnrecognizedClientException");
    cloud.sessionSeconds = 0;
    try {
      const expired = await assume({ RoleArn: ROLE });
      const err = await fail(memorydb(expired).send(new DescribeUsersCommand({})));
      expect(err.name).to.equal("ExpiredTokenException");
      expect(err.message).to.equal("The security token included in the request is expired");
    } finally {
      cloud.sessionSeconds = 3600;
    }
  });
});
