// What the process may trust without asking MemoryDB: the create-at-once rule, over the region's
// listing (UserDirectory), with a stand-in for MemoryDB and a clock of the test's own.
import { expect } from "chai";
import type { MemoryDBApi } from "../../src/aws/api.ts";
import { UserDirectory } from "../../src/aws/directory.ts";
import type { MemoryDBUser, ObservedUser } from "../../src/model.ts";
import { desiredUser } from "../../src/reconcile/desired.ts";
import { Knowledge, neverRecorded } from "../../src/reconcile/knowledge.ts";
import { observed, sampleUser } from "./samples.ts";

const defaults = { clusterId: "cluster-1", region: "us-east-1", tags: {}, deletionPolicy: "Delete" as const };
const MAX_AGE = 600_000;

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

describe("knowledge: what may be trusted without asking", () => {
  let now = 1_000_000;
  const clock = () => now;

  function knowledgeOf(directory: UserDirectory) {
    return new Knowledge({ tagResyncPeriodMs: 3_600_000, snapshotMaxAgeMs: MAX_AGE, directory, now: clock }).of("team-a/app-user");
  }

  it("a resource that has never recorded a user, absent from a fresh listing of its region, may create at once", async () => {
    const { directory } = directoryOf([observed({ name: "someone-else" })]);
    await directory.refresh("us-east-1", undefined, now);
    const user = sampleUser();
    expect(knowledgeOf(directory).absentPerListing(user, desiredUser(user, defaults))).to.equal(true);
  });

  it("does not when the listing shows the user, however it shows it", async () => {
    const { directory } = directoryOf([observed({ name: "app-user", status: "deleting" })]);
    await directory.refresh("us-east-1", undefined, now);
    const user = sampleUser();
    expect(knowledgeOf(directory).absentPerListing(user, desiredUser(user, defaults))).to.equal(false);
  });

  it("does not for a resource whose status records a user, passwords applied, or a send in flight", async () => {
    const { directory } = directoryOf([]);
    await directory.refresh("us-east-1", undefined, now);
    const statuses = [
      { arn: observed().arn },
      { passwordSecrets: [{ name: "pw", key: "password", resourceVersion: "1" }] },
      { passwordSecretsPending: { operation: "CreateUser" as const, secrets: [{ name: "pw", key: "password", resourceVersion: "1" }] } },
    ];
    for (const status of statuses) {
      const user = sampleUser({}, status);
      expect(neverRecorded(user), JSON.stringify(status)).to.equal(false);
      expect(knowledgeOf(directory).absentPerListing(user, desiredUser(user, defaults)), JSON.stringify(status)).to.equal(false);
    }
  });

  it("does not without a listing of the resource's region, nor with one too old or older than its own last change", async () => {
    const { directory } = directoryOf([]);
    const inOtherRegion = sampleUser({ region: "eu-west-1" });
    await directory.refresh("us-east-1", undefined, now);
    expect(knowledgeOf(directory).absentPerListing(inOtherRegion, desiredUser(inOtherRegion, defaults))).to.equal(false);

    const user = sampleUser();
    const knowledge = knowledgeOf(directory);
    now += MAX_AGE + 1;
    expect(knowledge.absentPerListing(user, desiredUser(user, defaults))).to.equal(false);
    await directory.refresh("us-east-1", undefined, now);
    expect(knowledge.absentPerListing(user, desiredUser(user, defaults))).to.equal(true);
    // This process changed the user after the listing (a CreateUser whose status write was lost, say).
    now += 1;
    knowledge.mutated();
    expect(knowledge.absentPerListing(user, desiredUser(user, defaults))).to.equal(false);
  });

  it("lists a region when a resource there first needs it: once for concurrent callers, not again while fresh", async () => {
    const d = directoryOf([]);
    d.hold();
    const waiting = [d.directory.ensure("eu-west-1", MAX_AGE, undefined, now), d.directory.ensure("eu-west-1", MAX_AGE, undefined, now)];
    d.open();
    await Promise.all(waiting);
    expect(d.listings()).to.equal(1);
    expect(d.directory.lookup("eu-west-1", "app-user", 0, MAX_AGE, now)).to.equal(null);
    await d.directory.ensure("eu-west-1", MAX_AGE, undefined, now + MAX_AGE);
    expect(d.listings()).to.equal(1);
    await d.directory.ensure("eu-west-1", MAX_AGE, undefined, now + MAX_AGE + 1);
    expect(d.listings()).to.equal(2);
  });

  it("does not retry a failed listing within the period, and a failure is no snapshot", async () => {
    const d = directoryOf([], { fail: true });
    await d.directory.ensure("eu-west-1", MAX_AGE, undefined, now);
    await d.directory.ensure("eu-west-1", MAX_AGE, undefined, now + 1000);
    expect(d.listings()).to.equal(1);
    expect(d.directory.lookup("eu-west-1", "app-user", 0, MAX_AGE, now + 1000)).to.equal(undefined);
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
