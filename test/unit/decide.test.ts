import { expect } from "chai";
import {
  decide,
  desiredUser,
  effectiveUserName,
  ownershipFromTags,
  ownershipKnown,
  ownershipTagValue,
  passwordProblem,
} from "../../src/reconcile/decide.ts";
import { type MemoryDBUser, type ObservedUser, OWNERSHIP_TAG_KEY } from "../../src/model.ts";

export function sampleUser(overrides: Partial<MemoryDBUser["spec"]> = {}, status?: MemoryDBUser["status"]): MemoryDBUser {
  return {
    apiVersion: "memorydb.operators.dev/v1alpha1",
    kind: "MemoryDBUser",
    metadata: { name: "app-user", namespace: "team-a", generation: 1, uid: "u1" },
    spec: {
      accessString: "on ~* &* +@all",
      authenticationMode: { type: "password", passwords: [{ secretKeyRef: { name: "pw", key: "password" } }] },
      tags: { team: "a" },
      ...overrides,
    },
    ...(status ? { status } : {}),
  };
}

export function observed(overrides: Partial<ObservedUser> = {}): ObservedUser {
  return {
    name: "app-user",
    arn: "arn:aws:memorydb:us-east-1:123456789012:user/app-user",
    status: "active",
    accessString: "on ~* &* +@all",
    aclNames: [],
    minimumEngineVersion: "6.2",
    authentication: { type: "password", passwordCount: 1 },
    ...overrides,
  };
}

describe("reconcile decisions", () => {
  const desired = desiredUser(sampleUser(), "cluster-1");

  it("derives the user name from metadata.name unless spec.userName is set", () => {
    expect(effectiveUserName(sampleUser())).to.equal("app-user");
    expect(effectiveUserName(sampleUser({ userName: "other" }))).to.equal("other");
  });

  it("adds an ownership tag naming cluster, namespace and resource", () => {
    expect(desired.tags).to.deep.equal({ team: "a", [OWNERSHIP_TAG_KEY]: "cluster-1/team-a/app-user" });
    expect(desired.ownerTag).to.equal("cluster-1/team-a/app-user");
  });

  it("keeps the ownership tag within MemoryDB's 256-character limit, deterministically", () => {
    const long = "x".repeat(253);
    const value = ownershipTagValue("c".repeat(64), "ns", long);
    expect(value.length).to.be.at.most(256);
    expect(value).to.equal(ownershipTagValue("c".repeat(64), "ns", long));
    expect(value).to.not.equal(ownershipTagValue("c".repeat(64), "ns", `${long.slice(1)}y`));
  });

  it("takes no passwords for IAM users", () => {
    const iam = desiredUser(sampleUser({ authenticationMode: { type: "iam" } }), "c");
    expect(iam.authType).to.equal("iam");
    expect(iam.passwordRefs).to.deep.equal([]);
  });

  it("creates an absent user", () => {
    expect(decide(desired, undefined, { kind: "ours" })).to.deep.equal({ type: "create" });
  });

  it("never touches a user owned by someone else", () => {
    const action = decide(desired, observed(), ownershipFromTags({ [OWNERSHIP_TAG_KEY]: "other/ns/x" }, desired));
    expect(action).to.deep.equal({ type: "notOwned", owner: "other/ns/x" });
    expect(decide(desired, observed(), ownershipFromTags({}, desired))).to.deep.equal({ type: "notOwned", owner: undefined });
  });

  it("recognises its own user by the ownership tag (e.g. after a crash following CreateUser)", () => {
    const ownership = ownershipFromTags({ [OWNERSHIP_TAG_KEY]: "cluster-1/team-a/app-user" }, desired);
    expect(ownership).to.deep.equal({ kind: "ours" });
    expect(decide(desired, observed(), ownership)).to.deep.equal({ type: "inSync" });
  });

  it("trusts the ARN in status, which only the operator writes", () => {
    expect(ownershipKnown(sampleUser({}, { arn: observed().arn }), observed())).to.equal(true);
    expect(ownershipKnown(sampleUser(), observed())).to.equal(false);
  });

  it("waits while MemoryDB is modifying", () => {
    expect(decide(desired, observed({ status: "modifying" }), { kind: "ours" })).to.deep.equal({ type: "wait", state: "modifying" });
  });

  it("updates access string and authentication type differences, ignoring normalisation", () => {
    expect(decide(desired, observed({ accessString: "on ~* &* -@all +@all" }), { kind: "ours" })).to.deep.equal({ type: "inSync" });
    expect(decide(desired, observed({ accessString: "off ~* &* +@all", authentication: { type: "iam" } }), { kind: "ours" })).to.deep.equal({
      type: "update",
      changes: { accessString: "on ~* &* +@all", authType: "password" },
    });
  });

  it("describes a bad password by its length only", () => {
    const ref = { name: "pw", key: "password" };
    expect(passwordProblem(ref, 16)).to.equal(undefined);
    expect(passwordProblem(ref, 128)).to.equal(undefined);
    expect(passwordProblem(ref, 15)).to.match(/15 characters long; MemoryDB needs 16-128/);
    expect(passwordProblem(ref, 129)).to.match(/129 characters/);
  });
});
