import { expect } from "chai";
import { accessStringsEquivalent, parseAccessString } from "../../src/reconcile/access-string.ts";

describe("access strings", () => {
  it("treats MemoryDB's normalised form as the same string", () => {
    expect(accessStringsEquivalent("on +get", "on resetchannels -@all +get")).to.equal(true);
    expect(accessStringsEquivalent("on ~* &* +@all", "on ~* &* +@all")).to.equal(true);
    expect(accessStringsEquivalent("on allkeys allchannels allcommands", "on ~* &* +@all")).to.equal(true);
  });

  it("sees a real difference", () => {
    expect(accessStringsEquivalent("on ~* +@all", "off ~* +@all")).to.equal(false);
    expect(accessStringsEquivalent("on ~app:* +@read", "on ~* +@read")).to.equal(false);
    expect(accessStringsEquivalent("on ~* +@all -flushall", "on ~* -flushall +@all")).to.equal(false);
    expect(accessStringsEquivalent("on ~* &chan +get", "on ~* +get")).to.equal(false);
  });

  it("defaults to disabled without on/off, as Redis does", () => {
    expect(parseAccessString("~* +@all").enabled).to.equal(false);
    expect(accessStringsEquivalent("~* +@all", "off ~* +@all")).to.equal(true);
  });

  it("ignores key pattern order and repeats", () => {
    expect(accessStringsEquivalent("on ~a ~b +get", "on ~b ~a ~a +get")).to.equal(true);
  });
});
