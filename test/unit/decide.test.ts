import { expect } from "chai";
import { OWNERSHIP_TAG_KEY } from "../../src/model.ts";
import { parseAdoptionGrants } from "../../src/reconcile/adoption.ts";
import {
  acceptedAccessString,
  decide,
  decideDeletion,
  diffTags,
  mutates,
  type Observation,
  updateReason,
  wasInSync,
} from "../../src/reconcile/decide.ts";
import { describeIdentityChange, desiredUser, effectiveUserName, ownershipTagValue } from "../../src/reconcile/desired.ts";
import { earlierClaimant, ownershipFromTags, presumablyOurs } from "../../src/reconcile/ownership.ts";
import { passwordProblem } from "../../src/reconcile/passwords.ts";
import { Redacted } from "../../src/redacted.ts";
import { DEFAULTS as defaults, inSyncConditions, observed, sampleUser } from "./samples.ts";

const ours = { kind: "ours" } as const;
const obs = (o: Partial<Observation> = {}): Observation => ({
  user: observed(),
  ownership: ours,
  tags: undefined,
  passwords: { state: "same" },
  ...o,
});

describe("reconcile decisions", () => {
  const desired = desiredUser(sampleUser(), defaults);

  it("derives the user name from metadata.name unless spec.userName is set", () => {
    expect(effectiveUserName(sampleUser())).to.equal("app-user");
    expect(effectiveUserName(sampleUser({ userName: "other" }))).to.equal("other");
  });

  it("adds an ownership tag naming cluster, namespace, resource and its UID", () => {
    expect(desired.tags).to.deep.equal({ team: "a", [OWNERSHIP_TAG_KEY]: "cluster-1/team-a/app-user/u1" });
    expect(desired.ownerTag).to.equal("cluster-1/team-a/app-user/u1");
  });

  it("tells an earlier resource of the same name (force-deleted: another UID) from this one", () => {
    expect(ownershipFromTags({ [OWNERSHIP_TAG_KEY]: "cluster-1/team-a/app-user/u0" }, desired)).to.deep.equal({
      kind: "previousOwner",
      owner: "cluster-1/team-a/app-user/u0",
    });
    // Such a user is taken over only when asked, like an unowned one.
    const earlier = { kind: "previousOwner", owner: "cluster-1/team-a/app-user/u0" } as const;
    expect(decide(desired, obs({ ownership: earlier }))).to.deep.equal({
      type: "conflict",
      reason: "UserAlreadyExists",
      ownership: earlier,
    });
    // It was this namespace's: adopting it back needs no administrator's grant.
    const adopting = desiredUser(sampleUser({ adoptExisting: true }), defaults);
    expect(decide(adopting, obs({ ownership: earlier, tags: {} })).type).to.equal("sync");
    // Not a prefix match on the name: app-user-2 is another resource.
    expect(ownershipFromTags({ [OWNERSHIP_TAG_KEY]: "cluster-1/team-a/app-user-2/u9" }, desired).kind).to.equal("foreign");
  });

  it("keeps owning a user tagged before UIDs were recorded only if its status records the user", () => {
    const legacy = { [OWNERSHIP_TAG_KEY]: "cluster-1/team-a/app-user" };
    expect(ownershipFromTags(legacy, desiredUser(sampleUser({}, { arn: observed().arn }), defaults))).to.deep.equal({ kind: "ours" });
    expect(ownershipFromTags(legacy, desired).kind).to.equal("previousOwner");
  });

  it("keeps the ownership tag within MemoryDB's 256-character limit, deterministically", () => {
    const long = "x".repeat(253);
    const value = ownershipTagValue("c".repeat(64), "n".repeat(63), long, "0f8fad5b-d9cb-469f-a165-70867728950e");
    expect(value.length).to.be.at.most(256);
    expect(value.endsWith("/0f8fad5b-d9cb-469f-a165-70867728950e")).to.equal(true);
    expect(value).to.equal(ownershipTagValue("c".repeat(64), "n".repeat(63), long, "0f8fad5b-d9cb-469f-a165-70867728950e"));
    expect(value).to.not.equal(
      ownershipTagValue("c".repeat(64), "n".repeat(63), `${long.slice(1)}y`, "0f8fad5b-d9cb-469f-a165-70867728950e"),
    );
  });

  it("takes no passwords for IAM users", () => {
    const iam = desiredUser(sampleUser({ authenticationMode: { type: "iam" } }), defaults);
    expect(iam.authType).to.equal("iam");
    expect(iam.passwordRefs).to.deep.equal([]);
  });

  it("creates an absent user", () => {
    expect(decide(desired, obs({ user: undefined }))).to.deep.equal({ type: "create" });
  });

  it("never touches a user owned by another resource, nor an unowned one unless adopting", () => {
    const foreign = decide(desired, obs({ ownership: ownershipFromTags({ [OWNERSHIP_TAG_KEY]: "other/ns/x" }, desired) }));
    expect(foreign).to.deep.equal({ type: "conflict", reason: "UserNameConflict", ownership: { kind: "foreign", owner: "other/ns/x" } });
    expect(decide(desired, obs({ ownership: ownershipFromTags({}, desired) }))).to.deep.equal({
      type: "conflict",
      reason: "UserAlreadyExists",
      ownership: { kind: "unowned" },
    });
  });

  it("adopts only with an administrator's grant, unless the user was retained by this namespace", () => {
    const asking = desiredUser(sampleUser({ adoptExisting: true }), defaults);
    expect(decide(asking, obs({ ownership: { kind: "unowned" }, tags: {} }))).to.deep.equal({
      type: "conflict",
      reason: "AdoptionNotAllowed",
      ownership: { kind: "unowned" },
    });
    const elsewhere = { kind: "unowned", retainedFrom: "cluster-1/team-b/old" } as const;
    expect(decide(asking, obs({ ownership: elsewhere, tags: {} })).type).to.equal("conflict");
    const here = { kind: "unowned", retainedFrom: "cluster-1/team-a/old" } as const;
    expect(decide(asking, obs({ ownership: here, tags: {} })).type).to.equal("sync");
    // Retained by the same namespace of another cluster is not this namespace's.
    expect(decide(asking, obs({ ownership: { kind: "unowned", retainedFrom: "cluster-2/team-a/old" }, tags: {} })).type).to.equal(
      "conflict",
    );
    const granted = (grant: string) =>
      desiredUser(sampleUser({ adoptExisting: true }), { ...defaults, adoptionGrants: parseAdoptionGrants(grant) });
    expect(decide(granted("team-a"), obs({ ownership: { kind: "unowned" }, tags: {} })).type).to.equal("sync");
    expect(decide(granted("*/app-*"), obs({ ownership: { kind: "unowned" }, tags: {} })).type).to.equal("sync");
    expect(decide(granted("team-a/legacy-*"), obs({ ownership: { kind: "unowned" }, tags: {} })).type).to.equal("conflict");
    expect(decide(granted("team-b"), obs({ ownership: { kind: "unowned" }, tags: {} })).type).to.equal("conflict");
  });

  it("adopts an unowned user when asked and granted: tags it and sets its passwords", () => {
    const adopting = desiredUser(sampleUser({ adoptExisting: true }), { ...defaults, adoptionGrants: parseAdoptionGrants("team-a") });
    const action = decide(adopting, obs({ ownership: { kind: "unowned" }, tags: { other: "x" } }));
    expect(action).to.deep.equal({
      type: "sync",
      adopt: true,
      changes: { passwords: true },
      tags: { set: adopting.tags, remove: ["other"] },
    });
    // Never someone else's, adoption or not.
    expect(decide(adopting, obs({ ownership: { kind: "foreign", owner: "c/ns/x" } })).type).to.equal("conflict");
  });

  it("refuses the default user", () => {
    expect(decide(desiredUser(sampleUser({ userName: "default" }), defaults), obs()).type).to.equal("forbidden");
  });

  it("recognises its own user by the ownership tag (e.g. after a crash following CreateUser)", () => {
    const ownership = ownershipFromTags({ [OWNERSHIP_TAG_KEY]: "cluster-1/team-a/app-user/u1" }, desired);
    expect(ownership).to.deep.equal({ kind: "ours" });
    expect(decide(desired, obs({ ownership }))).to.deep.equal({ type: "inSync" });
  });

  it("presumes ownership from the ARN in status only for read-only conclusions", () => {
    expect(presumablyOurs(sampleUser({}, { arn: observed().arn }), observed())).to.equal(true);
    expect(presumablyOurs(sampleUser(), observed())).to.equal(false);
    expect(mutates({ type: "inSync" })).to.equal(false);
    expect(mutates({ type: "wait", state: "modifying" })).to.equal(false);
    expect(mutates({ type: "sync", adopt: false, changes: { passwords: true }, tags: undefined })).to.equal(true);
  });

  it("waits while MemoryDB is modifying", () => {
    expect(decide(desired, obs({ user: observed({ status: "modifying" }) }))).to.deep.equal({ type: "wait", state: "modifying" });
  });

  it("updates access string and authentication differences, ignoring normalisation", () => {
    expect(decide(desired, obs({ user: observed({ accessString: "on ~* &* -@all +@all" }) }))).to.deep.equal({ type: "inSync" });
    expect(decide(desired, obs({ user: observed({ accessString: "off ~* &* +@all", authentication: { type: "iam" } }) }))).to.deep.equal({
      type: "sync",
      adopt: false,
      changes: { accessString: "on ~* &* +@all", authType: "password", passwords: true },
      tags: undefined,
    });
  });

  it("sets the passwords when the Secrets changed or the count differs", () => {
    expect(decide(desired, obs({ passwords: { state: "changed", rotated: true } }))).to.deep.include({
      type: "sync",
      changes: { passwords: true },
    });
    expect(decide(desired, obs({ passwords: { state: "unknown" } }))).to.deep.include({ type: "sync", changes: { passwords: true } });
    // Interrupted while sending them with UpdateUser: MemoryDB cannot say; send again.
    expect(decide(desired, obs({ passwords: { state: "uncertain", rotated: true } }))).to.deep.include({ changes: { passwords: true } });
    // Interrupted while creating it: the user exists with our tag, so CreateUser took exactly those.
    expect(decide(desired, obs({ passwords: { state: "created" } }))).to.deep.equal({ type: "inSync" });
    expect(decide(desired, obs({ passwords: { state: "created" }, ownership: { kind: "unowned" } })).type).to.equal("conflict");
    expect(decide(desired, obs({ user: observed({ authentication: { type: "password", passwordCount: 2 } }) }))).to.deep.include({
      changes: { passwords: true },
    });
    const iam = desiredUser(sampleUser({ authenticationMode: { type: "iam" } }), defaults);
    expect(
      decide(iam, obs({ user: observed({ authentication: { type: "iam" } }), passwords: { state: "changed", rotated: true } })),
    ).to.deep.equal({ type: "inSync" });
  });

  it("diffs tags: sets missing and changed ones, removes extra ones but never aws: tags", () => {
    expect(diffTags({ a: "1", b: "2" }, { a: "1", b: "3", c: "x", "aws:cf": "y" })).to.deep.equal({ set: { b: "2" }, remove: ["c"] });
    expect(diffTags({ a: "1" }, { a: "1" })).to.equal(undefined);
    const withTags = decide(desired, obs({ tags: { ...desired.tags, stray: "1" } }));
    expect(withTags).to.deep.equal({ type: "sync", adopt: false, changes: {}, tags: { set: {}, remove: ["stray"] } });
  });

  it("applies default tags under the spec's own", () => {
    const d = desiredUser(sampleUser({ tags: { team: "mine" } }), { ...defaults, tags: { team: "default", env: "prod" } });
    expect(d.tags).to.deep.include({ team: "mine", env: "prod" });
  });

  it("lets the oldest resource claim a user name; one that already holds it keeps it", () => {
    const a = { ...sampleUser(), metadata: { ...sampleUser().metadata, uid: "a", name: "a", creationTimestamp: "2026-01-01T00:00:00Z" } };
    const b = { ...sampleUser(), metadata: { ...sampleUser().metadata, uid: "b", name: "b", creationTimestamp: "2026-01-02T00:00:00Z" } };
    a.spec = { ...a.spec, userName: "same" };
    b.spec = { ...b.spec, userName: "same" };
    expect(earlierClaimant(b, [a, b], "us-east-1")).to.equal(a);
    expect(earlierClaimant(a, [a, b], "us-east-1")).to.equal(undefined);
    const holding = { ...b, status: { arn: "arn" } };
    expect(earlierClaimant(a, [a, holding], "us-east-1")).to.equal(holding);
    expect(earlierClaimant(holding, [a, holding], "us-east-1")).to.equal(undefined);
    const otherRegion = { ...a, spec: { ...a.spec, region: "eu-west-1" } };
    expect(earlierClaimant(b, [otherRegion, b], "us-east-1")).to.equal(undefined);
  });

  it("decides deletion: never someone else's user, Retain keeps it, Delete waits for MemoryDB", () => {
    const retain = desiredUser(sampleUser({ deletionPolicy: "Retain" }), defaults);
    expect(decideDeletion(desired, undefined, ours)).to.deep.equal({ type: "release", why: "gone" });
    expect(decideDeletion(desired, observed(), { kind: "foreign", owner: "x" })).to.deep.equal({ type: "release", why: "notOurs" });
    expect(decideDeletion(desired, observed(), { kind: "unowned" })).to.deep.equal({ type: "release", why: "notOurs" });
    expect(decideDeletion(retain, observed(), ours)).to.deep.equal({ type: "retain" });
    expect(decideDeletion(desired, observed({ status: "deleting" }), ours)).to.deep.equal({ type: "wait", state: "deleting" });
    expect(decideDeletion(desired, observed({ status: "modifying" }), ours)).to.deep.equal({ type: "wait", state: "modifying" });
    expect(decideDeletion(desired, observed(), ours)).to.deep.equal({ type: "delete" });
  });

  it("checks MemoryDB's whole password rule, saying which part failed but never the value or its length", () => {
    const ref = { name: "pw", key: "password" };
    const problem = (value: string) => passwordProblem(ref, new Redacted(value));
    expect(problem("a".repeat(16))).to.equal(undefined);
    expect(problem("a".repeat(128))).to.equal(undefined);
    expect(problem("!#$%&'()*+-.0123456789:;<=>?ABCXYZ[\\]^_`abcxyz{|}~")).to.equal(undefined);
    expect(problem("a".repeat(15)))
      .to.match(/shorter than 16 characters/)
      .and.not.match(/15/);
    expect(problem("a".repeat(129)))
      .to.match(/longer than 128 characters/)
      .and.not.match(/129/);
    expect(problem(`${"a".repeat(20)}\n`)).to.match(/ends with a line break/);
    for (const bad of [",", '"', "/", "@", " ", "\t", "é", "\u0000"]) {
      const message = problem(`${"a".repeat(20)}${bad}${"b".repeat(4)}`);
      expect(message, JSON.stringify(bad)).to.match(
        /contains a character MemoryDB does not allow; MemoryDB needs 16-128 printable ASCII characters other than , " \/ @/,
      );
    }
  });

  it("trusts what MemoryDB returned for exactly the desired access string, whatever it normalised", () => {
    const odd = observed({ accessString: "on ~* &* +@all -debug|sleep" });
    expect(decide(desired, obs({ user: odd })).type).to.equal("sync");
    expect(decide(desired, obs({ user: odd, acceptedAccessString: "on ~* &* +@all -debug|sleep" }))).to.deep.equal({ type: "inSync" });
    // Just sent and not yet seen active: whatever MemoryDB shows is its form of it.
    expect(decide(desired, obs({ user: odd, accessStringPending: true }))).to.deep.equal({ type: "inSync" });
  });

  it("reads the accepted form from the status, for exactly the spec's access string (it survives restarts)", () => {
    const reported = "on ~* &* +@all -debug|sleep";
    const recorded = sampleUser({}, { acceptedAccessString: { requested: "on ~* &* +@all", reported } });
    expect(acceptedAccessString(recorded, desiredUser(recorded, defaults))).to.equal(reported);
    const edited = sampleUser({ accessString: "on ~* +@read" }, { acceptedAccessString: { requested: "on ~* &* +@all", reported } });
    expect(acceptedAccessString(edited, desiredUser(edited, defaults))).to.equal(undefined);
  });

  it("notices a user name or region that changed where the API server did not stop it", () => {
    const renamed = sampleUser({ userName: "new-name" }, { userName: "app-user", arn: observed().arn });
    expect(describeIdentityChange(renamed, desiredUser(renamed, defaults))).to.match(/user name changed from "app-user" to "new-name"/);
    const moved = sampleUser({ region: "eu-west-1" }, { userName: "app-user", arn: observed().arn });
    expect(describeIdentityChange(moved, desiredUser(moved, defaults))).to.match(/region changed from us-east-1 to eu-west-1/);
    const same = sampleUser({}, { userName: "app-user", arn: observed().arn });
    expect(describeIdentityChange(same, desiredUser(same, defaults))).to.equal(undefined);
  });

  it("names an update by what caused it", () => {
    const ready = sampleUser({}, { observedGeneration: 1, conditions: inSyncConditions(1) });
    expect(updateReason(ready, { passwords: true }, { state: "changed", rotated: true })).to.equal("PasswordRotated");
    // A second entry added (or one removed) changes the passwords without rotating one.
    expect(updateReason(ready, { passwords: true }, { state: "changed", rotated: false })).to.equal("Updated");
    expect(updateReason(ready, { accessString: "x" }, { state: "same" })).to.equal("DriftCorrected");
    expect(updateReason({ ...ready, metadata: { ...ready.metadata, generation: 2 } }, { accessString: "x" }, { state: "same" })).to.equal(
      "Updated",
    );
  });

  it("counts a user as in sync only when Ready and Synced are True for this generation", () => {
    expect(wasInSync(sampleUser({}, { observedGeneration: 1, conditions: inSyncConditions(1) }))).to.equal(true);
    // A passing fault after a spec change: observedGeneration moved on, the kept Ready did not.
    const kept = sampleUser(
      {},
      {
        observedGeneration: 2,
        conditions: [
          { type: "Ready", status: "True", reason: "Available", message: "", lastTransitionTime: "", observedGeneration: 1 },
          { type: "Synced", status: "False", reason: "ThrottlingException", message: "", lastTransitionTime: "", observedGeneration: 2 },
        ],
      },
    );
    expect(wasInSync({ ...kept, metadata: { ...kept.metadata, generation: 2 } })).to.equal(false);
  });
});
