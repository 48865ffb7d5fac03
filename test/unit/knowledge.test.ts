// What the process remembers about a resource, and when that knowledge expires: the one place
// that decides what the reconciler may trust without asking.
import { expect } from "chai";
import { OPERATOR_IDENTITY } from "../../src/aws/accounts.ts";
import type { MemoryDBApi } from "../../src/aws/api.ts";
import { UserDirectory } from "../../src/aws/directory.ts";
import type { MemoryDBUser, ObservedUser, PasswordSource } from "../../src/model.ts";
import { desiredUser } from "../../src/reconcile/desired.ts";
import { Knowledge, neverRecorded, ResourceKnowledge } from "../../src/reconcile/knowledge.ts";
import { DEFAULTS, inSyncConditions, observed, sampleUser } from "./samples.ts";

const TAG_PERIOD = 60_000;
const SNAPSHOT_AGE = 30_000;

/** A directory answering from one snapshot taken at `takenAt`. */
function directory(users: ObservedUser[], takenAt: number): UserDirectory {
  return {
    lookup: (_place: unknown, name: string, notBefore: number, maxAgeMs: number, now: number) => {
      if (takenAt <= notBefore || now - takenAt > maxAgeMs) return undefined;
      return users.find((u) => u.name === name) ?? null;
    },
  } as unknown as UserDirectory;
}

describe("knowledge", () => {
  let now: number;
  const make = (dir?: UserDirectory) =>
    new ResourceKnowledge({
      tagResyncPeriodMs: TAG_PERIOD,
      snapshotMaxAgeMs: SNAPSHOT_AGE,
      directory: dir,
      now: () => now,
      random: () => 0.5,
    });
  beforeEach(() => {
    now = 1_000_000;
  });

  const recorded = (status: MemoryDBUser["status"] = {}) =>
    sampleUser({}, { arn: observed().arn, observedGeneration: 1, conditions: inSyncConditions(1), ...status });

  describe("the operator's own writes", () => {
    it("stands in for every version its writes replaced, and for none other", () => {
      const k = make();
      const v1 = { ...recorded(), metadata: { ...recorded().metadata, resourceVersion: "1" } };
      const v2 = { ...v1, metadata: { ...v1.metadata, resourceVersion: "2" } };
      const v3 = { ...v1, metadata: { ...v1.metadata, resourceVersion: "3" } };
      k.wrote(v1, v2);
      k.wrote(v2, v3);
      expect(k.latest(v1)).to.equal(v3);
      expect(k.latest(v2)).to.equal(v3);
      const other = { ...v1, metadata: { ...v1.metadata, resourceVersion: "9" } };
      expect(k.latest(other)).to.equal(other);
    });
  });

  describe("terminal failures", () => {
    it("hold for the inputs they were decided on only", () => {
      const k = make();
      k.terminalOn("gen1|pw:5");
      expect(k.isTerminal("gen1|pw:5")).to.equal(true);
      expect(k.isTerminal("gen1|pw:6")).to.equal(false);
      k.terminalOn(undefined);
      expect(k.terminal).to.equal(false);
    });
  });

  describe("tags", () => {
    const desired = desiredUser(sampleUser(), DEFAULTS);
    it("are due until matched, again after the period, and at once when the desired tags change", () => {
      const k = make();
      expect(k.tagsDue(desired)).to.equal(true);
      k.tagsMatched(desired);
      expect(k.tagsDue(desired)).to.equal(false);
      now += TAG_PERIOD - 1;
      expect(k.tagsDue(desired)).to.equal(false);
      now += 1;
      expect(k.tagsDue(desired)).to.equal(true);
      k.tagsMatched(desired);
      expect(k.tagsDue(desiredUser(sampleUser({ tags: { team: "b" } }), DEFAULTS))).to.equal(true);
    });
    it("of a resource in sync before a restart fall due at a random point of the period", () => {
      const k = make();
      k.spreadTagChecks(recorded(), desired);
      now += TAG_PERIOD / 2 - 1;
      expect(k.tagsDue(desired)).to.equal(false);
      now += 1;
      expect(k.tagsDue(desired)).to.equal(true);
      const fresh = make();
      fresh.spreadTagChecks(sampleUser(), desired); // never in sync: due at once
      expect(fresh.tagsDue(desired)).to.equal(true);
    });
  });

  describe("the access string", () => {
    it("is pending from sending until the user is seen active, which teaches MemoryDB's form", () => {
      const desired = desiredUser(sampleUser({ accessString: "on +get" }), DEFAULTS);
      const k = make();
      k.accessStringSent("on +get");
      expect(k.accessStringPending(desired)).to.equal(true);
      expect(k.accessStringSeen(desired, observed({ status: "modifying" }))).to.equal(undefined);
      expect(k.accessStringSeen(desired, observed({ accessString: "on resetchannels -@all +get" }))).to.deep.equal({
        requested: "on +get",
        reported: "on resetchannels -@all +get",
      });
      expect(k.accessStringPending(desired)).to.equal(false);
    });
  });

  describe("the resync snapshot", () => {
    const desired = desiredUser(recorded(), DEFAULTS);
    it("stands for a DescribeUsers when young, taken after the last change, of the recorded user, with no tag check due", () => {
      const k = make(directory([observed()], now - 1000));
      k.tagsMatched(desired);
      expect(k.trustedSnapshot(recorded(), desired, OPERATOR_IDENTITY)).to.deep.equal(observed());
      // not the user the status records
      expect(k.trustedSnapshot(sampleUser(), desired, OPERATOR_IDENTITY)).to.equal(undefined);
      // a tag check is due
      now += TAG_PERIOD;
      expect(k.trustedSnapshot(recorded(), desired, OPERATOR_IDENTITY)).to.equal(undefined);
    });
    it("is stale once the operator changed the user after it was taken, or once too old", () => {
      const k = make(directory([observed()], now - 1000));
      k.tagsMatched(desired);
      k.mutated();
      expect(k.trustedSnapshot(recorded(), desired, OPERATOR_IDENTITY)).to.equal(undefined);
      const old = make(directory([observed()], now - SNAPSHOT_AGE - 1));
      old.tagsMatched(desired);
      expect(old.trustedSnapshot(recorded(), desired, OPERATOR_IDENTITY)).to.equal(undefined);
    });
    it("lets a resync of an in-sync resource read nothing, but never with the Secret's version moved", () => {
      const sources: PasswordSource[] = [{ name: "pw", key: "password", resourceVersion: "7" }];
      const user = recorded({ passwordSecrets: sources, lastSyncTime: new Date(now).toISOString() });
      const k = make(directory([observed()], now - 1000));
      k.tagsMatched(desired);
      expect(k.inSyncWithoutReads(user, desired, () => "7", OPERATOR_IDENTITY)).to.equal(true);
      expect(k.inSyncWithoutReads(user, desired, () => "8", OPERATOR_IDENTITY)).to.equal(false);
      k.terminalOn("x");
      expect(k.inSyncWithoutReads(user, desired, () => "7", OPERATOR_IDENTITY)).to.equal(false);
    });
  });

  describe("passwords", () => {
    const a: PasswordSource[] = [{ name: "pw", key: "password", resourceVersion: "1", verifier: "k:a" }];
    const b: PasswordSource[] = [{ name: "pw", key: "password", resourceVersion: "2", verifier: "k:b" }];
    it("an answer this process saw outranks the pending record a failed status write left, for exactly those passwords", () => {
      const k = make();
      const status = { passwordSecrets: a, passwordSecretsPending: { operation: "UpdateUser" as const, secrets: b } };
      expect(k.passwordsApplied(status)).to.equal(a);
      k.passwordsAnswered(b);
      expect(k.passwordsApplied(status)).to.equal(b);
      // a later send that was not answered is uncertain again
      const c: PasswordSource[] = [{ name: "pw", key: "password", resourceVersion: "3", verifier: "k:c" }];
      expect(k.passwordsApplied({ ...status, passwordSecretsPending: { operation: "UpdateUser", secrets: c } })).to.equal(a);
      // a CreateUser's pending record is decided by the ownership tag, not by memory
      expect(k.passwordsApplied({ passwordSecretsPending: { operation: "CreateUser", secrets: b } })).to.equal(undefined);
    });
  });

  it("is kept per resource and forgotten with it", () => {
    const all = new Knowledge({ tagResyncPeriodMs: TAG_PERIOD, snapshotMaxAgeMs: SNAPSHOT_AGE });
    const k = all.of("ns/a");
    expect(all.of("ns/a")).to.equal(k);
    all.forget("ns/a");
    expect(all.of("ns/a")).to.not.equal(k);
  });
});

const defaults = { clusterId: "cluster-1", region: "us-east-1", tags: {}, deletionPolicy: "Delete" as const };
const MAX_AGE = 600_000;
const US_EAST = { region: "us-east-1" };
const EU_WEST = { region: "eu-west-1" };

/** A directory over a region holding `users`, counting its listings; `fail` makes them fail. */
function directoryOf(users: ObservedUser[], options: { fail?: boolean } = {}) {
  let listings = 0;
  let release: () => void = () => undefined;
  let gate: Promise<void> | undefined;
  const api = {
    listUsers: async () => {
      listings++;
      await gate;
      if (options.fail) throw new Error("AccessDenied");
      return users;
    },
  } as unknown as MemoryDBApi;
  return {
    directory: new UserDirectory(() => api),
    listings: () => listings,
    /** Listings wait until `open()` is called. */
    hold: () => (gate = new Promise((resolve) => (release = resolve))),
    open: () => release(),
  };
}

describe("knowledge: creating at once, and the copy of the own last write", () => {
  let now = 1_000_000;
  const clock = () => now;

  function knowledgeOf(directory: UserDirectory) {
    return new Knowledge({ tagResyncPeriodMs: 3_600_000, snapshotMaxAgeMs: MAX_AGE, directory, now: clock }).of("team-a/app-user");
  }

  it("a resource that has never recorded a user, absent from a fresh listing of its region, may create at once", async () => {
    const { directory } = directoryOf([observed({ name: "someone-else" })]);
    await directory.refresh(US_EAST, undefined, now);
    const user = sampleUser();
    expect(knowledgeOf(directory).absentPerListing(user, desiredUser(user, defaults), OPERATOR_IDENTITY)).to.equal(true);
  });

  it("does not when the listing shows the user, however it shows it", async () => {
    const { directory } = directoryOf([observed({ name: "app-user", status: "deleting" })]);
    await directory.refresh(US_EAST, undefined, now);
    const user = sampleUser();
    expect(knowledgeOf(directory).absentPerListing(user, desiredUser(user, defaults), OPERATOR_IDENTITY)).to.equal(false);
  });

  it("does not for a resource whose status records a user, passwords applied, or a send in flight", async () => {
    const { directory } = directoryOf([]);
    await directory.refresh(US_EAST, undefined, now);
    const statuses = [
      { arn: observed().arn },
      { passwordSecrets: [{ name: "pw", key: "password", resourceVersion: "1" }] },
      { passwordSecretsPending: { operation: "CreateUser" as const, secrets: [{ name: "pw", key: "password", resourceVersion: "1" }] } },
    ];
    for (const status of statuses) {
      const user = sampleUser({}, status);
      expect(neverRecorded(user), JSON.stringify(status)).to.equal(false);
      expect(
        knowledgeOf(directory).absentPerListing(user, desiredUser(user, defaults), OPERATOR_IDENTITY),
        JSON.stringify(status),
      ).to.equal(false);
    }
  });

  it("does not without a listing of the resource's region, nor with one too old or older than its own last change", async () => {
    const { directory } = directoryOf([]);
    const inOtherRegion = sampleUser({ region: "eu-west-1" });
    await directory.refresh(US_EAST, undefined, now);
    expect(knowledgeOf(directory).absentPerListing(inOtherRegion, desiredUser(inOtherRegion, defaults), OPERATOR_IDENTITY)).to.equal(false);

    const user = sampleUser();
    const knowledge = knowledgeOf(directory);
    now += MAX_AGE + 1;
    expect(knowledge.absentPerListing(user, desiredUser(user, defaults), OPERATOR_IDENTITY)).to.equal(false);
    await directory.refresh(US_EAST, undefined, now);
    expect(knowledge.absentPerListing(user, desiredUser(user, defaults), OPERATOR_IDENTITY)).to.equal(true);
    // This process changed the user after the listing (a CreateUser whose status write was lost, say).
    now += 1;
    knowledge.mutated();
    expect(knowledge.absentPerListing(user, desiredUser(user, defaults), OPERATOR_IDENTITY)).to.equal(false);
  });

  it("lists a region when a resource there first needs it: once for concurrent callers, not again while fresh", async () => {
    const d = directoryOf([]);
    d.hold();
    const waiting = [d.directory.ensure(EU_WEST, MAX_AGE, undefined, now), d.directory.ensure(EU_WEST, MAX_AGE, undefined, now)];
    d.open();
    await Promise.all(waiting);
    expect(d.listings()).to.equal(1);
    expect(d.directory.lookup(EU_WEST, "app-user", 0, MAX_AGE, now)).to.equal(null);
    await d.directory.ensure(EU_WEST, MAX_AGE, undefined, now + MAX_AGE);
    expect(d.listings()).to.equal(1);
    await d.directory.ensure(EU_WEST, MAX_AGE, undefined, now + MAX_AGE + 1);
    expect(d.listings()).to.equal(2);
  });

  it("does not retry a failed listing within the period, and a failure is no snapshot", async () => {
    const d = directoryOf([], { fail: true });
    await d.directory.ensure(EU_WEST, MAX_AGE, undefined, now);
    await d.directory.ensure(EU_WEST, MAX_AGE, undefined, now + 1000);
    expect(d.listings()).to.equal(1);
    expect(d.directory.lookup(EU_WEST, "app-user", 0, MAX_AGE, now + 1000)).to.equal(undefined);
  });

  describe("the copy of the operator's own last write", () => {
    const at = (rv: string, status?: MemoryDBUser["status"]): MemoryDBUser => {
      const user = sampleUser({}, status);
      return { ...user, metadata: { ...user.metadata, resourceVersion: rv } };
    };
    const knowledge = () => knowledgeOf(directoryOf([]).directory);

    it("stands in for older copies until the watch delivers that write, then is let go", () => {
      const k = knowledge();
      const written = at("2", { userName: "app-user" });
      k.wrote(at("1"), written);
      expect(k.latest(at("1"))).to.equal(written);
      // Another writer's version is not the operator's write: kept.
      k.delivered(at("1b"));
      expect(k.latest(at("1"))).to.equal(written);
      k.delivered(at("2"));
      const old = at("1");
      expect(k.latest(old)).to.equal(old);
    });

    it("is kept while a reconcile runs, whose next write chains on it", () => {
      const k = knowledge();
      const first = at("2");
      k.reconciling(true);
      k.wrote(at("1"), first);
      k.delivered(at("2"));
      expect(k.latest(at("1"))).to.equal(first);
      const second = at("3");
      k.wrote(k.latest(at("1")), second);
      // Both older copies stand for the newest write.
      expect(k.latest(at("1"))).to.equal(second);
      expect(k.latest(at("2"))).to.equal(second);
      k.reconciling(false);
      expect(k.latest(at("2"))).to.equal(second);
      k.delivered(at("3"));
      const cached = at("2");
      expect(k.latest(cached)).to.equal(cached);
    });
  });
});
