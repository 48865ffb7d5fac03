import { expect } from "chai";
import { x } from "../../src/hello.ts";
describe("hello", () => { it("works", () => { expect(x).to.equal(1); }); });
