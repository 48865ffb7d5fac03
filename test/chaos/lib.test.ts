// The chaos suite's own checks, fed made-up records: each one must catch what it is there to catch.
import { expect } from "chai";
import {
  acceptedByUser,
  defaultOptions,
  expectedPasswords,
  FlapDetector,
  judgeUpdates,
  keyedRandom,
  LeakScanner,
  parseArgs,
  prng,
  promValue,
  renderFigures,
  rotatedUsers,
  workload,
} from "../../chaos/lib.ts";
import { passwordProblem } from "../../local-control-plane/memorydb/emulator.ts";

describe("chaos suite: its checks", () => {
  describe("command line", () => {
    it("has the documented defaults and flags, and refuses nonsense", () => {
      const o = parseArgs([
        "--users",
        "60",
        "--namespaces=2",
        "--kills",
        "0",
        "--seed",
        "5",
        "--timeout",
        "90",
        "--rates",
        "awsLost=0.2,watchCutMinSeconds=5,watchCutMaxSeconds=10",
      ]);
      expect(o).to.not.equal("help");
      if (o === "help") return;
      expect([o.users, o.namespaces, o.kills, o.seed, o.timeoutMs, o.rates.awsLost, o.rates.watchCutMaxSeconds]).to.deep.equal([
        60, 2, 0, 5, 90_000, 0.2, 10,
      ]);
      const d = defaultOptions(1);
      expect([d.users, d.namespaces, d.kills, d.timeoutMs, d.timeScale]).to.deep.equal([500, 3, 6, 300_000, 0.1]);
      expect(parseArgs(["--help"])).to.equal("help");
      expect(() => parseArgs(["--users", "0"])).to.throw("--users");
      expect(() => parseArgs(["--bogus"])).to.throw("unknown option");
      expect(() => parseArgs(["--rates", "awsLost=2"])).to.throw("0..1");
      expect(() => parseArgs(["--rates", "nope=0.1"])).to.throw("unknown rate");
      expect(() => parseArgs(["--users", "2", "--namespaces", "3"])).to.throw("at least");
    });
  });

  describe("workload", () => {
    const w = workload(500, 3, 42);

    it("is the same for a seed, different for another", () => {
      expect(workload(500, 3, 42)).to.deep.equal(w);
      expect(workload(500, 3, 43).passwords).to.not.deep.equal(w.passwords);
    });

    it("mixes the kinds, names, tags and Secrets the brief asks for, with unique MemoryDB user names", () => {
      const kinds = new Set(w.users.map((u) => u.kind));
      expect([...kinds].sort()).to.deep.equal(["iam", "password1", "password2"]);
      expect(new Set(w.users.map((u) => u.namespace)).size).to.equal(3);
      expect(w.users.some((u) => u.userName !== u.name)).to.equal(true);
      expect(w.users.some((u) => u.spec.tags !== undefined)).to.equal(true);
      expect(new Set(w.users.map((u) => u.userName)).size).to.equal(500);
      for (const u of w.users) expect(u.userName).to.match(/^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,39}$/);
    });

    it("generates passwords MemoryDB accepts, distinct, with one prefix, and two entries never equal", () => {
      expect(new Set(w.passwords).size).to.equal(w.passwords.length);
      for (const p of w.passwords) {
        expect(p.startsWith(w.prefix)).to.equal(true);
        expect(passwordProblem(p)).to.equal(undefined);
      }
      for (const u of w.users.filter((x) => x.kind === "password2")) {
        const [a, b] = expectedPasswords(w, u, false);
        expect(a).to.not.equal(b);
      }
    });

    it("rotates a key that some users reference, while others read other keys of the same Secret", () => {
      const rotated = rotatedUsers(w);
      expect(rotated.length).to.be.within(20, 60);
      const r = w.rotation;
      const sharers = w.users.filter(
        (u) => u.namespace === r.namespace && !rotated.includes(u) && u.refs.some((ref) => ref.name === r.secret),
      );
      expect(sharers.length).to.be.above(10);
      const u = rotated[0]!;
      expect(expectedPasswords(w, u, true)).to.include(r.value);
      expect(expectedPasswords(w, u, false)).to.not.include(r.value);
      expect(rotatedUsers(workload(60, 3, 11)).length).to.be.at.least(3);
    });
  });

  describe("seeded randomness", () => {
    it("prng repeats for a seed; keyedRandom gives the n-th draw of a key the same value whatever the order", () => {
      const a = prng(7);
      const b = prng(7);
      expect([a(), a(), a()]).to.deep.equal([b(), b(), b()]);
      const r1 = keyedRandom(3, "x");
      const r2 = keyedRandom(3, "x");
      const first = [r1("GET /a"), r1("GET /b"), r1("GET /a")];
      const second = [r2("GET /b"), r2("GET /a"), r2("GET /a")];
      expect([first[0], first[1], first[2]]).to.deep.equal([second[1], second[0], second[2]]);
      expect(first[0]).to.not.equal(first[2]);
      expect(keyedRandom(4, "x")("GET /a")).to.not.equal(first[0]);
    });
  });

  describe("counting MemoryDB calls", () => {
    it("counts the calls that took effect (answered, or applied and lost) per user name", () => {
      const log = [
        { op: "CreateUser", input: { UserName: "a" }, error: "ResponseLost", at: 1 },
        { op: "CreateUser", input: { UserName: "a" }, error: "UserAlreadyExistsFault", at: 2 },
        { op: "CreateUser", input: { UserName: "b" }, error: "ThrottlingException", at: 3 },
        { op: "CreateUser", input: { UserName: "b" }, at: 4 },
        { op: "CreateUser", input: { UserName: "b" }, error: "ConnectionReset", at: 5 },
        { op: "UpdateUser", input: { UserName: "a" }, at: 6 },
      ];
      const created = acceptedByUser(log, "CreateUser");
      expect(created.get("a")).to.deep.equal([{ at: 1, lost: true }]);
      expect(created.get("b")).to.deep.equal([{ at: 4, lost: false }]);
      expect(acceptedByUser(log, "UpdateUser").get("a")).to.have.length(1);
    });

    it("allows a rotated user's re-send only after a lost answer or a kill before the status recorded it", () => {
      const never = () => undefined;
      expect(judgeUpdates([{ at: 10, lost: false }], true, [], never)).to.include({ outside: 0 });
      expect(judgeUpdates([], true, [], never).outside).to.equal(-1);
      const lost = judgeUpdates(
        [
          { at: 10, lost: true },
          { at: 20, lost: false },
        ],
        true,
        [],
        never,
      );
      expect([lost.window, lost.outside]).to.deep.equal([["lost answer"], 0]);
      // killed after the first was sent, before its status was recorded (at 30): the second is in the window
      const killed = judgeUpdates(
        [
          { at: 10, lost: false },
          { at: 40, lost: false },
        ],
        true,
        [15],
        () => 30,
      );
      expect([killed.window, killed.outside]).to.deep.equal([["kill"], 0]);
      // killed only after the status recorded the first: the second is outside
      expect(
        judgeUpdates(
          [
            { at: 10, lost: false },
            { at: 40, lost: false },
          ],
          true,
          [35],
          () => 30,
        ).outside,
      ).to.equal(1);
      // answered, no kill, sent again (e.g. after a failed status write): outside
      expect(
        judgeUpdates(
          [
            { at: 10, lost: false },
            { at: 12, lost: false },
          ],
          true,
          [],
          never,
        ).outside,
      ).to.equal(1);
    });

    it("allows an unchanged user no UpdateUser at all", () => {
      expect(judgeUpdates([], false, [], () => undefined).outside).to.equal(0);
      const v = judgeUpdates(
        [
          { at: 1, lost: true },
          { at: 2, lost: false },
        ],
        false,
        [1.5],
        () => undefined,
      );
      expect([v.window.length, v.outside]).to.deep.equal([0, 2]);
    });
  });

  describe("Ready flaps", () => {
    const obj = (ready: string, extra: Record<string, unknown> = {}, generation = 1) => ({
      metadata: { namespace: "ns", name: "u", generation, ...extra },
      status: { conditions: [{ type: "Ready", status: ready, reason: ready === "True" ? "Available" : "Modifying", message: "m" }] },
    });

    it("reports Ready True → False with the same generation, nothing else", () => {
      const f = new FlapDetector();
      f.observe("ADDED", obj("False"), 1);
      f.observe("MODIFIED", obj("True"), 2);
      f.observe("MODIFIED", obj("True"), 3);
      expect(f.flaps).to.have.length(0);
      f.observe("MODIFIED", obj("False"), 4);
      expect(f.flaps.map((x) => [x.key, x.reason])).to.deep.equal([["ns/u", "Modifying"]]);
      // a spec change, or a deletion, may turn it False
      const g = new FlapDetector();
      g.observe("ADDED", obj("True"), 1);
      g.observe("MODIFIED", obj("False", {}, 2), 2);
      g.observe("MODIFIED", obj("True", {}, 2), 3);
      g.observe("MODIFIED", obj("False", { deletionTimestamp: "now" }, 2), 4);
      expect(g.flaps).to.have.length(0);
    });

    it("lets an expected change through until it is done, and watches again afterwards", () => {
      const f = new FlapDetector();
      f.observe("ADDED", obj("True"), 1);
      f.expect("ns/u", (o) => (o as { status: { conditions: Array<{ status: string }> } }).status.conditions[0]!.status === "True");
      f.observe("MODIFIED", obj("False"), 2);
      expect(f.expecting).to.equal(1);
      f.observe("MODIFIED", obj("True"), 3);
      expect(f.expecting).to.equal(0);
      f.observe("MODIFIED", obj("False"), 4);
      expect(f.flaps).to.have.length(1);
    });
  });

  describe("password leaks", () => {
    const w = workload(10, 1, 1);
    const scanner = new LeakScanner(w.passwords, w.prefix);
    const p = w.passwords[3]!;

    it("finds a password and its base64 anywhere, and nothing in clean text", () => {
      expect(scanner.scan('{"message":"reconciled","password":"[REDACTED]"}', "log")).to.deep.equal([]);
      const found = scanner.scan(`{"note":"set ${p} now"}\nsecret: ${Buffer.from(p).toString("base64")}\n`, "log");
      expect(found.map((l) => l.form)).to.deep.equal(["password", "base64"]);
      for (const l of found) expect(l.context).to.not.include(p).and.not.include(w.prefix);
    });

    it("reports a partial password (the prefix followed by something else) too", () => {
      expect(scanner.scan(`truncated ${p.slice(0, 10)}…`, "log").map((l) => l.form)).to.deep.equal(["prefix"]);
    });
  });

  describe("figures", () => {
    it("prints one line per figure with PASS or FAIL against its target; information lines have neither", () => {
      const text = renderFigures([
        { name: "seed", value: "1", target: "", pass: undefined },
        { name: "orphans", value: "0", target: "0", pass: true },
        { name: "Ready flaps", value: "2", target: "0", pass: false, details: ["ns/u: Modifying"] },
      ]);
      const lines = text.split("\n");
      expect(lines[0]).to.match(/^ {6}seed {9}1$/);
      expect(lines[1]).to.match(/^PASS {2}orphans +0 +\(target: 0\)$/);
      expect(lines[2]).to.match(/^FAIL {2}Ready flaps +2 +\(target: 0\)$/);
      expect(lines[3]).to.include("ns/u: Modifying");
    });

    it("reads a labelled counter from Prometheus text", () => {
      const text =
        'memorydb_operator_password_updates_total{why="changed"} 3\nmemorydb_operator_password_updates_total{why="uncertain"} 2\n';
      expect(promValue(text, "memorydb_operator_password_updates_total", 'why="uncertain"')).to.equal(2);
      expect(promValue(text, "memorydb_operator_password_updates_total")).to.equal(5);
    });
  });
});
