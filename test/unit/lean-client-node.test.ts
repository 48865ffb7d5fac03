// The module hook that keeps client-node's generated API out of the operator's process: it must
// stand in for exactly what client-node's config.js imports from the generated index.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { expect } from "chai";
import { GENERATED_NAMES, leanIndex } from "../../src/kube/lean-client-node.ts";

const configJs = createRequire(import.meta.url).resolve("@kubernetes/client-node/dist/config.js");
const parentURL = pathToFileURL(configJs).href;

describe("lean client-node (the generated index kept out)", () => {
  it("offers every name the installed client-node's config.js imports from the generated index", () => {
    const source = readFileSync(configJs, "utf8");
    const imports = [...source.matchAll(/import\s*\{([^}]*)\}\s*from\s*['"]\.\/gen\/index\.js['"]/g)];
    expect(imports, "config.js imports from ./gen/index.js").to.have.length(1);
    const names = imports[0]![1]!
      .split(",")
      .map((n) => n.trim())
      .filter((n) => n !== "");
    expect(Object.keys(GENERATED_NAMES).sort()).to.deep.equal(names.sort());
  });

  it("answers that import with a module exporting those names, and leaves every other import alone", async () => {
    const url = leanIndex("./gen/index.js", parentURL);
    expect(url).to.match(/^data:text\/javascript,/);
    const lean = (await import(url!)) as Record<string, unknown>;
    for (const name of Object.keys(GENERATED_NAMES)) expect(typeof lean[name], name).to.equal("function");
    expect(Object.keys(lean).sort()).to.deep.equal(Object.keys(GENERATED_NAMES).sort());
    expect(leanIndex("./gen/index.js", pathToFileURL(configJs.replace("config.js", "index.js")).href)).to.equal(undefined);
    expect(leanIndex("./gen/http/http.js", parentURL)).to.equal(undefined);
  });
});
