import { randomBytes } from "node:crypto";
import { expect } from "chai";
import type { PasswordSource } from "../../src/model.ts";
import { PasswordVerifier, passwordKnowledge } from "../../src/reconcile/verifier.ts";
import { Redacted } from "../../src/redacted.ts";

const ref = { name: "pw", key: "a" };
const pw = (v: string) => new Redacted(v);

describe("password verifiers", () => {
  const verifier = new PasswordVerifier(randomBytes(32));

  it("are keyed HMACs bound to the key, the resource and the Secret key: never a plain hash of the value", () => {
    const v = verifier.of("uid-1", ref, pw("correct-horse-battery"));
    expect(v).to.match(/^[0-9a-f]{8}:[0-9a-f]{64}$/);
    expect(v).to.not.include("correct-horse");
    expect(verifier.of("uid-1", ref, pw("correct-horse-battery"))).to.equal(v);
    // The same password elsewhere gives another verifier: nothing to compare across users.
    expect(verifier.of("uid-2", ref, pw("correct-horse-battery"))).to.not.equal(v);
    expect(verifier.of("uid-1", { name: "pw", key: "b" }, pw("correct-horse-battery"))).to.not.equal(v);
    expect(new PasswordVerifier(randomBytes(32)).of("uid-1", ref, pw("correct-horse-battery"))).to.not.equal(v);
  });

  describe("what they tell about MemoryDB's passwords", () => {
    const src = (key: string, rv: string, value?: string): PasswordSource => ({
      name: "pw",
      key,
      resourceVersion: rv,
      ...(value === undefined ? {} : { verifier: verifier.of("u", { name: "pw", key }, pw(value)) }),
    });
    const k = verifier.keyId;

    it("the same values under a new Secret version (a label or another key edited) are the same", () => {
      expect(passwordKnowledge([src("a", "2", "one")], [src("a", "1", "one")], undefined, k)).to.deep.equal({ state: "same" });
    });

    it("a changed value of a kept entry is a rotation; an added entry is a change, not a rotation", () => {
      expect(passwordKnowledge([src("a", "2", "two")], [src("a", "1", "one")], undefined, k)).to.deep.equal({
        state: "changed",
        rotated: true,
      });
      expect(passwordKnowledge([src("a", "1", "one"), src("b", "1", "x")], [src("a", "1", "one")], undefined, k)).to.deep.equal({
        state: "changed",
        rotated: false,
      });
    });

    it("values recorded as pending (sent, answer unseen) are uncertain after UpdateUser, created after CreateUser", () => {
      const pending = [src("a", "2", "two")];
      expect(
        passwordKnowledge([src("a", "2", "two")], [src("a", "1", "one")], { operation: "UpdateUser", secrets: pending }, k),
      ).to.deep.equal({ state: "uncertain", rotated: true });
      expect(passwordKnowledge([src("a", "2", "two")], undefined, { operation: "CreateUser", secrets: pending }, k)).to.deep.equal({
        state: "created",
      });
      // Pending values that are not the Secret's any more tell nothing.
      expect(passwordKnowledge([src("a", "3", "three")], undefined, { operation: "CreateUser", secrets: pending }, k)).to.deep.equal({
        state: "unknown",
      });
    });

    it("without verifiers (an older status) unchanged versions still prove the same, else nothing is known", () => {
      expect(passwordKnowledge([src("a", "1", "one")], [src("a", "1")], undefined, k)).to.deep.equal({ state: "same" });
      expect(passwordKnowledge([src("a", "2", "one")], [src("a", "1")], undefined, k)).to.deep.equal({ state: "unknown" });
      expect(passwordKnowledge([src("a", "1", "one")], undefined, undefined, k)).to.deep.equal({ state: "unknown" });
    });

    it("verifiers of another key (the key Secret was replaced) are not compared: unknown once the version moves", () => {
      const other = { ...src("a", "1", "one"), verifier: `ffffffff:${"0".repeat(64)}` };
      expect(passwordKnowledge([src("a", "1", "one")], [other], undefined, k)).to.deep.equal({ state: "same" });
      expect(passwordKnowledge([src("a", "2", "one")], [other], undefined, k)).to.deep.equal({ state: "unknown" });
    });

    it("a removed entry is a change", () => {
      expect(passwordKnowledge([src("a", "1", "one")], [src("a", "1", "one"), src("b", "1", "x")], undefined, k)).to.deep.equal({
        state: "changed",
        rotated: false,
      });
    });
  });
});
