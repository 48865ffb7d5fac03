// The account mapping (--accounts-configmap), as plain functions: parsing a ConfigMap value, the
// identity a namespace gets, refusing to move a user between accounts, what a ConfigMap change
// touches, how STS refusals are classified, and the flags.
import { expect } from "chai";
import { AccountMap, accountChange, chooseIdentity, identityOf, OPERATOR_IDENTITY, parseMapping } from "../../src/aws/accounts.ts";
import { AssumeRoleError, classify } from "../../src/aws/faults.ts";
import { loadConfig } from "../../src/config.ts";

const ROLE = "arn:aws:iam::210987654321:role/memorydb-user-operator-access";
const role = (externalId?: string) => ({ roleArn: ROLE, accountId: "210987654321", ...(externalId ? { externalId } : {}) });

describe("account mapping", () => {
  it("parses a role ARN, optionally followed by a space and an external ID", () => {
    expect(parseMapping(ROLE)).to.deep.equal({ ok: true, role: role() });
    expect(parseMapping(`  ${ROLE}   ext-42:a/b  `)).to.deep.equal({ ok: true, role: role("ext-42:a/b") });
    expect(parseMapping("arn:aws-cn:iam::210987654321:role/path/to/name").ok).to.equal(true);
    expect(parseMapping("arn:aws-us-gov:iam::210987654321:role/n").ok).to.equal(true);
    for (const bad of [
      "",
      "team-b-role",
      "arn:aws:iam::21098765432:role/short-account",
      "arn:aws:iam::210987654321:user/not-a-role",
      "arn:aws:sts::210987654321:assumed-role/r/s",
      `${ROLE} ext extra`,
      `${ROLE} x`,
      `${ROLE} spaces?not`,
    ]) {
      expect(parseMapping(bad).ok, bad).to.equal(false);
    }
    expect(identityOf(role("a1")).key).to.not.equal(identityOf(role("b2")).key);
  });

  it("gives a mapped namespace its role, an unmapped one the operator's identity or a refusal, and nothing before the ConfigMap is read", () => {
    const mappings = new Map([
      ["team-b", parseMapping(ROLE)],
      ["broken", parseMapping("nope")],
    ]);
    expect(chooseIdentity("team-b", mappings, "ns/cm", false)).to.deep.equal({ ok: true, identity: identityOf(role()) });
    expect(chooseIdentity("team-a", mappings, "ns/cm", false)).to.deep.equal({ ok: true, identity: OPERATOR_IDENTITY });
    const refused = chooseIdentity("team-a", mappings, "ns/cm", true);
    expect(refused).to.include({ ok: false, reason: "AccountNotMapped" });
    expect(chooseIdentity("broken", mappings, "ns/cm", false)).to.include({ ok: false, reason: "AccountMappingInvalid" });
    const unknown = chooseIdentity("team-b", undefined, "ns/cm", false);
    expect(unknown).to.include({ ok: false, reason: "AccountMappingUnavailable" });
    expect(!unknown.ok && unknown.message).to.include("ConfigMap ns/cm");
  });

  it("never moves a user between accounts: a role of another account, or leaving a role for the operator's identity, is refused", () => {
    const arnB = "arn:aws:memorydb:us-east-1:210987654321:user/u";
    const arnA = "arn:aws:memorydb:us-east-1:123456789012:user/u";
    const inB = identityOf(role());
    expect(accountChange(undefined, undefined, inB), "no user yet").to.equal(undefined);
    expect(accountChange(arnB, ROLE, inB)).to.equal(undefined);
    expect(accountChange(arnB, "arn:aws:iam::210987654321:role/old", inB), "another role of the same account").to.equal(undefined);
    expect(accountChange(arnB, undefined, inB), "from the operator's identity to a role of the user's account").to.equal(undefined);
    expect(accountChange(arnA, undefined, inB)).to.match(/in AWS account 123456789012 .* now maps to AWS account 210987654321/);
    expect(accountChange(arnA, undefined, OPERATOR_IDENTITY)).to.equal(undefined);
    expect(accountChange(arnB, ROLE, OPERATOR_IDENTITY)).to.match(/no longer maps to a role/);
  });

  it("tells which namespaces a ConfigMap change touches (all when it appears or goes)", () => {
    const map = new AccountMap("ns/cm", false);
    expect(map.update({ a: ROLE })).to.deep.equal({ namespaces: [], all: true });
    expect(map.update({ a: ROLE, b: ROLE })).to.deep.equal({ namespaces: ["b"], all: false });
    expect(map.update({ a: `${ROLE} ext-1`, b: ROLE })).to.deep.equal({ namespaces: ["a"], all: false });
    expect(map.update({ b: ROLE })).to.deep.equal({ namespaces: ["a"], all: false });
    expect(map.update({ b: ROLE, c: "bad" }).namespaces).to.deep.equal(["c"]);
    expect(map.problems().map((p) => p.namespace)).to.deep.equal(["c"]);
    expect(map.update(undefined)).to.deep.equal({ namespaces: [], all: true });
    expect(map.choose("b")).to.include({ ok: false, reason: "AccountMappingUnavailable" });
  });
});

describe("STS faults", () => {
  const stsError = (name: string, status: number) =>
    Object.assign(new Error(`${name} message`), { name, $metadata: { httpStatusCode: status } });

  it("classifies a refused AssumeRole as the administrator's problem, with the fix, retried slowly", () => {
    for (const [code, fix] of [
      ["AccessDenied", /trust policy .*sts:ExternalId/],
      ["ExpiredToken", /credentials expired/],
      ["InvalidClientTokenId", /does not recognise/],
      ["RegionDisabledException", /activate it .*--sts-endpoint/],
      ["ValidationError", /role ARN and external ID/],
    ] as const) {
      const fault = classify("DescribeUsers", new AssumeRoleError(ROLE, stsError(code, 403)))!;
      expect([fault.service, fault.operation, fault.code, fault.kind, fault.reason], code).to.deep.equal([
        "STS",
        "AssumeRole",
        code,
        "slow",
        "AssumeRoleFailed",
      ]);
      expect(fault.fix, code).to.match(fix);
      expect(fault.detail, code).to.include(ROLE).and.include(`(${code})`);
    }
  });

  it("retries a passing STS fault (throttling, 5xx, network) with backoff", () => {
    for (const err of [
      stsError("Throttling", 400),
      stsError("InternalFailure", 500),
      Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }),
    ]) {
      expect(classify("DescribeUsers", new AssumeRoleError(ROLE, err))!.kind, err.message).to.equal("transient");
    }
  });
});

describe("account flags", () => {
  const base = { AWS_REGION: "us-east-1" };
  it("reads --accounts-configmap, --sts-endpoint and --require-account-mapping (and their environment variables)", () => {
    const config = loadConfig([], {
      ...base,
      ACCOUNTS_CONFIGMAP: "memorydb-system/accounts",
      STS_ENDPOINT: "https://sts.eu-west-1.amazonaws.com",
      REQUIRE_ACCOUNT_MAPPING: "true",
    });
    expect(config.accountsConfigMap).to.deep.equal({ namespace: "memorydb-system", name: "accounts" });
    expect(config.stsEndpoint).to.equal("https://sts.eu-west-1.amazonaws.com");
    expect(config.requireAccountMapping).to.equal(true);
    const defaults = loadConfig([], base);
    expect([defaults.accountsConfigMap, defaults.stsEndpoint, defaults.requireAccountMapping]).to.deep.equal([undefined, undefined, false]);
    expect(loadConfig(["--accounts-configmap", "a/b", "--sts-endpoint", "http://127.0.0.1:1"], base).stsEndpoint).to.equal(
      "http://127.0.0.1:1",
    );
  });

  it("refuses bad values, naming the flag", () => {
    expect(() => loadConfig([], { ...base, ACCOUNTS_CONFIGMAP: "accounts" })).to.throw(
      /--accounts-configmap: "accounts" is not namespace\/name of a ConfigMap/,
    );
    expect(() => loadConfig([], { ...base, STS_ENDPOINT: "sts.amazonaws.com" })).to.throw(/--sts-endpoint: .* is not a URL/);
    expect(() => loadConfig([], { ...base, REQUIRE_ACCOUNT_MAPPING: "yes" })).to.throw(/--require-account-mapping/);
    expect(() => loadConfig([], { ...base, REQUIRE_ACCOUNT_MAPPING: "true" })).to.throw(/needs --accounts-configmap/);
  });
});
