import { inspect } from "node:util";
import { expect } from "chai";
import { parseLabelSelector } from "../../src/kube/label-selector.ts";
import { inputsFingerprint, resolvePasswords } from "../../src/reconcile/passwords.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const good = "correct-horse-battery-staple";

describe("password resolution", () => {
  const refs = [{ name: "pw", key: "password" }];

  it("reads a password from its Secret key", () => {
    const r = resolvePasswords("ns", refs, new Map([["pw", { resourceVersion: "1", labels: {}, data: { password: b64(good) } }]]));
    expect(r.ok).to.equal(true);
    if (r.ok) expect(r.passwords.map((p) => p.reveal())).to.deep.equal([good]);
  });

  it("reports a missing Secret or key as SecretNotFound", () => {
    const none = resolvePasswords("ns", refs, new Map([["pw", undefined]]));
    expect(none).to.deep.include({ ok: false, reason: "SecretNotFound" });
    const noKey = resolvePasswords("ns", refs, new Map([["pw", { resourceVersion: "1", labels: {}, data: { other: b64(good) } }]]));
    expect(noKey).to.deep.include({ ok: false, reason: "SecretNotFound", message: 'Secret "pw" in namespace "ns" has no key "password"' });
  });

  it("rejects a short password without echoing it", () => {
    const r = resolvePasswords(
      "ns",
      refs,
      new Map([["pw", { resourceVersion: "1", labels: {}, data: { password: b64("tooshort-secret") } }]]),
    );
    expect(r).to.deep.include({ ok: false, reason: "InvalidPassword" });
    expect(JSON.stringify(r)).to.not.include("tooshort-secret");
  });

  it("decodes Secret bytes as strict UTF-8: invalid bytes are refused, never replaced", () => {
    const invalid = Buffer.from([0x61, 0x62, 0xff, 0xfe, ...Buffer.from("-then-more-text-here")]).toString("base64");
    const r = resolvePasswords("ns", refs, new Map([["pw", { resourceVersion: "1", labels: {}, data: { password: invalid } }]]));
    expect(r).to.deep.include({
      ok: false,
      reason: "InvalidPassword",
      message: 'the password in Secret "pw" key "password" is not valid UTF-8 text',
    });
  });

  it("with a label selector, treats an unlabelled Secret exactly as a missing one", () => {
    const selector = parseLabelSelector("memorydb.operators.dev/password=true");
    const unlabelled = resolvePasswords(
      "ns",
      refs,
      new Map([["pw", { resourceVersion: "1", labels: {}, data: { password: b64(good) } }]]),
      selector,
    );
    const missing = resolvePasswords("ns", refs, new Map([["pw", undefined]]), selector);
    expect(unlabelled).to.deep.equal(missing);
    expect(missing).to.deep.include({ ok: false, reason: "SecretNotFound" });
    expect((missing as { message: string }).message).to.include(
      "only Secrets labelled memorydb.operators.dev/password=true may hold passwords",
    );
    const labelled = resolvePasswords(
      "ns",
      refs,
      new Map([["pw", { resourceVersion: "1", labels: { "memorydb.operators.dev/password": "true" }, data: { password: b64(good) } }]]),
      selector,
    );
    expect(labelled.ok).to.equal(true);
  });

  it("never prints a resolved password", () => {
    const r = resolvePasswords("ns", refs, new Map([["pw", { resourceVersion: "1", labels: {}, data: { password: b64(good) } }]]));
    expect(JSON.stringify(r)).to.not.include(good);
    expect(inspect(r, { depth: 10 })).to.not.include(good);
    expect(String(r.ok && r.passwords[0])).to.not.include(good);
  });

  it("fingerprints inputs by generation and Secret versions, not values", () => {
    const a = inputsFingerprint(2, new Map([["pw", "7"]]));
    expect(a).to.equal("2;pw@7");
    expect(inputsFingerprint(2, new Map([["pw", undefined]]))).to.equal("2;pw@-");
  });

  it("rejects two identical passwords, which MemoryDB would hold as one", () => {
    const r = resolvePasswords(
      "ns",
      [
        { name: "pw", key: "a" },
        { name: "pw", key: "b" },
      ],
      new Map([["pw", { resourceVersion: "1", labels: {}, data: { a: b64(good), b: b64(good) } }]]),
    );
    expect(r).to.deep.include({ ok: false, reason: "InvalidPassword" });
    expect(JSON.stringify(r)).to.not.include(good);
  });
});
