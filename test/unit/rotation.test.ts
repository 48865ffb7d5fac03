import { expect } from "chai";
import { parseLabelSelector } from "../../src/kube/label-selector.ts";
import { desiredUser } from "../../src/reconcile/desired.ts";
import { GENERATED_LENGTH, generatePassword, passwordProblem } from "../../src/reconcile/passwords.ts";
import {
  believableTime,
  desiredKeys,
  type GeneratedState,
  nextSecretStep,
  nextStepIn,
  overdue,
  rotationSettings,
  rotationStatus,
  specDuration,
} from "../../src/reconcile/rotation.ts";
import { generatedPasswordKnowledge, PasswordVerifier } from "../../src/reconcile/verifier.ts";
import { sampleUser } from "./samples.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const settings = rotationSettings({ secretName: "s", rotateEvery: "10m", overlap: "1m" });
const state = (over: Partial<GeneratedState> = {}): GeneratedState => ({
  password: true,
  pending: false,
  previous: false,
  rotatedAt: T0,
  request: undefined,
  ...over,
});
const synced = { held: true, ready: true };

describe("generated passwords", () => {
  it("are 32 characters of MemoryDB's alphabet from the CSPRNG, each one different", () => {
    const seen = new Set<string>();
    const characters = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = generatePassword();
      expect(p.length).to.equal(GENERATED_LENGTH);
      expect(passwordProblem({ name: "s", key: "password" }, p)).to.equal(undefined);
      expect(String(p)).to.equal("[REDACTED]");
      seen.add(p.reveal());
      for (const c of p.reveal()) characters.add(c);
    }
    expect(seen.size).to.equal(200);
    for (const forbidden of [",", '"', "/", "@", " "]) expect(characters.has(forbidden)).to.equal(false);
    // 6400 draws over 90 characters: every one shows up.
    expect(characters.size).to.equal(90);
  });
});

describe("rotation settings", () => {
  it("read the CRD's durations", () => {
    expect(specDuration("720h")).to.equal(720 * 3_600_000);
    expect(specDuration("1h30m")).to.equal(5_400_000);
    expect(specDuration("1500ms")).to.equal(1500);
    expect(specDuration("10s")).to.equal(10_000);
    for (const bad of ["", "1.5h", "-1h", "10", "1d", "1h 30m", "ms"]) expect(specDuration(bad), bad).to.equal(undefined);
    expect(rotationSettings({ secretName: "s" })).to.deep.equal({
      secretName: "s",
      rotateEveryMs: undefined,
      overlapMs: 3_600_000,
      problem: undefined,
    });
  });

  it("say what is wrong where the API server did not check (no CEL)", () => {
    const problem = (rotateEvery?: string, overlap?: string) =>
      rotationSettings({ secretName: "s", ...(rotateEvery ? { rotateEvery } : {}), ...(overlap ? { overlap } : {}) }).problem;
    expect(problem("30 days")).to.match(/rotateEvery must be a duration such as 720h/);
    expect(problem(undefined, "x")).to.match(/overlap must be a duration/);
    expect(problem("9s", "1s")).to.equal("generatePassword.rotateEvery must be at least 10s");
    expect(problem(undefined, "999ms")).to.equal("generatePassword.overlap must be at least 1s");
    expect(problem("1h")).to.match(/rotateEvery must be longer than generatePassword\.overlap \(default 1h\)/);
    expect(problem("10s", "1s")).to.equal(undefined);
  });

  it("make the desired user's password refs the keys last applied, or the Secret's password", () => {
    const spec = { authenticationMode: { type: "password" as const, generatePassword: { secretName: "gen" } } };
    const fresh = desiredUser(sampleUser(spec), { clusterId: "c", region: "us-east-1", tags: {}, deletionPolicy: "Delete" });
    expect(fresh.passwordRefs).to.deep.equal([{ name: "gen", key: "password" }]);
    const applied = [
      { name: "gen", key: "password", resourceVersion: "5" },
      { name: "gen", key: "previous-password", resourceVersion: "5" },
    ];
    const later = desiredUser(sampleUser(spec, { passwordSecrets: applied }), {
      clusterId: "c",
      region: "us-east-1",
      tags: {},
      deletionPolicy: "Delete",
    });
    expect(later.passwordRefs).to.deep.equal([
      { name: "gen", key: "password" },
      { name: "gen", key: "previous-password" },
    ]);
    expect(later.generated?.secretName).to.equal("gen");
  });
});

describe("the rotation's steps", () => {
  it("want MemoryDB to hold the pending password with the current one, the previous one until the overlap ends", () => {
    expect(desiredKeys(state(), settings, T0)).to.deep.equal(["password"]);
    expect(desiredKeys(state({ pending: true }), settings, T0)).to.deep.equal(["password", "pending-password"]);
    expect(desiredKeys(state({ previous: true }), settings, T0 + 59_999)).to.deep.equal(["password", "previous-password"]);
    expect(desiredKeys(state({ previous: true }), settings, T0 + 60_000)).to.deep.equal(["password"]);
  });

  it("start when due or asked for with a new value, only with MemoryDB in sync and the user active", () => {
    expect(nextSecretStep(state(), settings, T0 + 599_999, undefined, synced)).to.equal(undefined);
    expect(nextSecretStep(state(), settings, T0 + 600_000, undefined, synced)).to.equal("start");
    expect(nextSecretStep(state(), settings, T0, "r1", synced)).to.equal("start");
    expect(nextSecretStep(state({ request: "r1" }), settings, T0, "r1", synced)).to.equal(undefined);
    expect(nextSecretStep(state(), settings, T0, "r1", { held: true, ready: false })).to.equal(undefined);
    expect(nextSecretStep(state(), settings, T0, "r1", { held: false, ready: true })).to.equal(undefined);
  });

  it("promote only once MemoryDB holds both and every node has them (active)", () => {
    expect(nextSecretStep(state({ pending: true }), settings, T0, undefined, synced)).to.equal("promote");
    expect(nextSecretStep(state({ pending: true }), settings, T0, undefined, { held: true, ready: false })).to.equal(undefined);
    expect(nextSecretStep(state({ pending: true }), settings, T0, undefined, { held: false, ready: true })).to.equal(undefined);
  });

  it("drop the previous password only after the overlap, once MemoryDB let it go; a request meanwhile waits", () => {
    expect(nextSecretStep(state({ previous: true }), settings, T0 + 59_999, "r2", synced)).to.equal(undefined);
    expect(nextSecretStep(state({ previous: true }), settings, T0 + 60_000, "r2", { held: true, ready: false })).to.equal("drop");
    expect(nextSecretStep(state({ previous: true }), settings, T0 + 60_000, undefined, { held: false, ready: true })).to.equal(undefined);
  });

  it("never step without a believable rotation time", () => {
    expect(nextSecretStep(state({ rotatedAt: undefined }), settings, T0 + 10 * 600_000, "r", synced)).to.equal(undefined);
    expect(believableTime("2026-01-01T00:00:30Z", T0)).to.equal(T0);
    expect(believableTime("2026-01-01T00:02:00Z", T0)).to.equal(undefined);
    expect(believableTime("yesterday", T0)).to.equal(undefined);
    expect(believableTime("2025-12-31T23:00:00Z", T0)).to.equal(T0 - 3_600_000);
  });
});

describe("the rotation's status and schedule", () => {
  it("mirrors the Secret: times only", () => {
    expect(rotationStatus(state({ request: "r1" }), settings)).to.deep.equal({
      phase: "Stable",
      lastRotationTime: "2026-01-01T00:00:00.000Z",
      nextRotationTime: "2026-01-01T00:10:00.000Z",
      lastRotationRequest: "r1",
    });
    expect(rotationStatus(state({ previous: true }), settings)).to.deep.include({
      phase: "Overlap",
      overlapEndTime: "2026-01-01T00:01:00.000Z",
    });
    expect(rotationStatus(state({ pending: true }), settings)).to.deep.include({ phase: "Rotating" });
    expect(rotationStatus(state(), rotationSettings({ secretName: "s" }))).to.not.have.property("nextRotationTime");
  });

  it("says when the next step falls due, from the status alone", () => {
    const stable = rotationStatus(state(), settings);
    expect(nextStepIn(stable, undefined, T0 + 1000)).to.equal(599_000);
    expect(nextStepIn(stable, undefined, T0 + 700_000)).to.equal(0);
    expect(nextStepIn(stable, "new", T0)).to.equal(0);
    const overlap = rotationStatus(state({ previous: true }), settings);
    expect(nextStepIn(overlap, "new", T0 + 1000)).to.equal(59_000);
    expect(nextStepIn(rotationStatus(state({ pending: true }), settings), undefined, T0)).to.equal(0);
    expect(nextStepIn(rotationStatus(state(), rotationSettings({ secretName: "s" })), undefined, T0)).to.equal(undefined);
    expect(nextStepIn(undefined, undefined, T0)).to.equal(0);
  });

  it("counts a scheduled rotation as overdue once its time has passed", () => {
    const status = rotationStatus(state(), settings);
    expect(overdue(status, settings, T0 + 600_000)).to.equal(false);
    expect(overdue(status, settings, T0 + 600_001)).to.equal(true);
    expect(overdue(status, rotationSettings({ secretName: "s" }), T0 + 10 * 600_000)).to.equal(false);
  });
});

describe("generated password verifiers", () => {
  const verifier = new PasswordVerifier(Buffer.alloc(32, 7));
  const pw = (s: string) => ({ reveal: () => s }) as never;
  const src = (key: string, value: string, rv = "1") => ({
    name: "s",
    key,
    resourceVersion: rv,
    verifier: verifier.ofGenerated("u1", "s", pw(value)),
  });

  it("do not depend on the key holding the password, and differ from a referenced password's", () => {
    expect(verifier.ofGenerated("u1", "s", pw("a-password-here-0000"))).to.equal(
      verifier.ofGenerated("u1", "s", pw("a-password-here-0000")),
    );
    expect(verifier.ofGenerated("u1", "s", pw("a-password-here-0000"))).to.not.equal(
      verifier.of("u1", { name: "s", key: "password" }, pw("a-password-here-0000")),
    );
  });

  it("compare as sets: a promotion moves passwords between keys, MemoryDB holds the same ones", () => {
    const applied = [src("password", "old"), src("pending-password", "new")];
    const promoted = [src("password", "new", "2"), src("previous-password", "old", "2")];
    expect(generatedPasswordKnowledge(promoted, applied, undefined, verifier.keyId)).to.deep.equal({ state: "same" });
    expect(generatedPasswordKnowledge([src("password", "new", "3")], promoted, undefined, verifier.keyId)).to.deep.equal({
      state: "changed",
      rotated: false,
    });
    const pending = { operation: "UpdateUser" as const, secrets: applied };
    expect(generatedPasswordKnowledge(applied, [src("password", "old")], pending, verifier.keyId)).to.deep.equal({
      state: "uncertain",
      rotated: false,
    });
    expect(
      generatedPasswordKnowledge(
        [src("password", "x")],
        undefined,
        { operation: "CreateUser", secrets: [src("password", "x")] },
        verifier.keyId,
      ),
    ).to.deep.equal({
      state: "created",
    });
    expect(generatedPasswordKnowledge([src("password", "x")], undefined, undefined, verifier.keyId)).to.deep.equal({ state: "unknown" });
    expect(
      generatedPasswordKnowledge([src("password", "x")], [{ ...src("password", "x"), verifier: "other:1" }], undefined, verifier.keyId),
    ).to.deep.equal({
      state: "unknown",
    });
  });
});

describe("label selectors for Secrets the operator makes", () => {
  it("give labels that satisfy =, in and exists requirements", () => {
    const s = parseLabelSelector("memorydb.operators.dev/password=true,tier in (a,b),owned,!legacy,env!=prod");
    expect(s.labels).to.deep.equal({ "memorydb.operators.dev/password": "true", tier: "a", owned: "true" });
    expect(s.matches(s.labels)).to.equal(true);
  });
});
