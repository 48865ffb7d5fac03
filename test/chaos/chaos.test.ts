// The chaos suite at CI size (docs/reliability.md): 60 MemoryDBUsers, the operator as its own
// process SIGKILLed twice, faults on both sides, a fixed seed. Asserts the invariants, not timings;
// a failure prints the whole report, and the run's logs and dumps are kept (removed on success).
import { expect } from "chai";
import { defaultOptions } from "../../chaos/lib.ts";
import { type ChaosResult, removeLogs, runChaos } from "../../chaos/suite.ts";

const SEED = 11;
const USERS = 60;

describe(`chaos suite, CI size (${USERS} users, 2 kills, seed ${SEED})`, function () {
  this.timeout(240_000);
  let result: ChaosResult;
  const why = () => `\n${result.report}\n`;

  before(async function () {
    this.timeout(240_000);
    const o = defaultOptions(SEED);
    // Watch cuts every 5–10 s instead of 15–30 s, so that a run of half a minute meets several.
    result = await runChaos({
      ...o,
      users: USERS,
      kills: 2,
      timeoutMs: 120_000,
      rates: { ...o.rates, watchCutMinSeconds: 5, watchCutMaxSeconds: 10 },
    });
  });

  after(async () => {
    if (result?.pass) await removeLogs(result.logDir);
  });

  it("met the faults it is about: kills, lost answers, throttling, 5xx, resets, API 409/429/500, watch cuts", () => {
    const f = result.facts;
    expect(f.kills, why()).to.equal(2);
    expect(f.createsLost, why()).to.be.above(0);
    for (const code of ["ResponseLost", "ThrottlingException", "InternalFailure", "ConnectionReset"])
      expect(f.memorydbErrors[code] ?? 0, `${code}${why()}`).to.be.above(0);
    for (const status of [409, 429, 500]) expect(f.kubeStatuses[status] ?? 0, `HTTP ${status}${why()}`).to.be.above(0);
    expect(f.watchCuts, why()).to.be.above(0);
  });

  it("brought every user to Ready, with MemoryDB holding what the specs say", () => {
    expect(result.facts.ready, why()).to.equal(USERS);
    expect(result.facts.matching, why()).to.equal(USERS);
  });

  it("created every MemoryDB user exactly once (a CreateUser whose answer was lost counts)", () => {
    expect(result.facts.createsPerUser, why()).to.deep.equal(Array(USERS).fill(1));
  });

  it("sent one UpdateUser per rotated user, plus only re-sends in the window, and recorded the rotation", () => {
    const f = result.facts;
    expect(f.rotatedUsers, why()).to.be.at.least(3);
    expect(f.updatesPerRotatedUser, why()).to.deep.equal(Array(f.rotatedUsers).fill(1));
    expect(f.rotationRecorded, why()).to.equal(f.rotatedUsers);
  });

  it("sent no UpdateUser to an unchanged user, including those reading other keys of the rotated Secret", () => {
    const f = result.facts;
    expect(f.updatesPerUnchangedUser, why()).to.deep.equal(Array(USERS - f.rotatedUsers).fill(0));
    expect(f.sharers, why()).to.be.above(0);
    expect(f.sharersRecorded, why()).to.equal(f.sharers);
  });

  it("never turned a Ready resource whose spec and Secrets did not change un-Ready", () => {
    expect(result.facts.flaps, why()).to.equal(0);
    expect(result.facts.ownWatchExpired, why()).to.equal(0);
  });

  it("deleted everything: no stuck finalizer, no orphan, foreign users untouched", () => {
    expect(result.facts.stuck, why()).to.deep.equal([]);
    expect(result.facts.orphans, why()).to.deep.equal([]);
    expect(result.facts.foreignUntouched, why()).to.equal(true);
  });

  it("leaked no password (nor its base64) into logs, Events, resources or Secrets' metadata", () => {
    expect(result.facts.leaks, why()).to.equal(0);
  });

  it("showed no crash signature and exited only when killed, then 0 on SIGTERM", () => {
    expect(result.facts.crashLines, why()).to.deep.equal([]);
    expect(result.facts.unexpectedExits, why()).to.equal(0);
    expect(result.facts.shutdownCode, why()).to.equal(0);
  });

  it("printed every figure as PASS", () => {
    expect(
      result.figures.filter((f) => f.pass === false).map((f) => f.name),
      why(),
    ).to.deep.equal([]);
  });
});
