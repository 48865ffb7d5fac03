import { expect } from "chai";
import { FieldIndex } from "../../src/controller/watches.ts";

type Obj = { metadata: { name: string }; refs: string[] };
const obj = (name: string, ...refs: string[]): Obj => ({ metadata: { name }, refs });

describe("a field index", () => {
  it("follows each object's values as they change, are kept, and go", () => {
    const index = new FieldIndex<Obj>((o) => o.refs);
    index.set("a", obj("a", "s1", "s2"));
    index.set("b", obj("b", "s2"));
    expect(index.keysFor("s2")).to.have.members(["a", "b"]);
    // An update that keeps the values (a status write) keeps the entries.
    index.set("a", obj("a", "s1", "s2"));
    expect(index.keysFor("s1")).to.deep.equal(["a"]);
    expect(index.keysFor("s2")).to.have.members(["a", "b"]);
    index.set("a", obj("a", "s3"));
    expect(index.keysFor("s1")).to.deep.equal([]);
    expect(index.keysFor("s2")).to.deep.equal(["b"]);
    expect(index.keysFor("s3")).to.deep.equal(["a"]);
    index.delete("b");
    expect(index.keysFor("s2")).to.deep.equal([]);
  });
});
