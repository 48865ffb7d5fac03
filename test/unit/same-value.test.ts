import { expect } from "chai";
import { sameValue } from "../../src/same-value.ts";

describe("sameValue", () => {
  it("compares as JSON would with object keys in any order", () => {
    expect(sameValue({ a: 1, b: { c: [1, { d: "x" }] } }, { b: { c: [1, { d: "x" }] }, a: 1 })).to.equal(true);
    expect(sameValue({ a: 1, b: undefined }, { a: 1 })).to.equal(true);
    expect(sameValue({ a: 1 }, { a: 2 })).to.equal(false);
    expect(sameValue({ a: 1 }, { a: 1, b: null })).to.equal(false);
    expect(sameValue([1, 2], [2, 1])).to.equal(false);
    expect(sameValue([1], { 0: 1 })).to.equal(false);
    expect(sameValue("1", 1)).to.equal(false);
  });

  it("compares Buffers by their bytes", () => {
    expect(sameValue({ ca: Buffer.from("pem") }, { ca: Buffer.from("pem") })).to.equal(true);
    expect(sameValue({ ca: Buffer.from("pem") }, { ca: Buffer.from("other") })).to.equal(false);
    expect(sameValue(Buffer.from("x"), "x")).to.equal(false);
  });
});
