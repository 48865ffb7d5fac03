// The image runs the compiled build (`node dist/main.js`): it must compile and start.

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const OUT = join(ROOT, ".local", "build-test");

describe("production build", function () {
  this.timeout(120_000);
  after(() => rmSync(OUT, { recursive: true, force: true }));

  it("compiles src/ to JavaScript that starts with plain node (no type stripping)", () => {
    rmSync(OUT, { recursive: true, force: true });
    execFileSync(
      process.execPath,
      [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(ROOT, "tsconfig.build.json"), "--outDir", OUT],
      { cwd: ROOT },
    );
    expect(existsSync(join(OUT, "main.js"))).to.equal(true);
    const run = spawnSync(process.execPath, ["--no-experimental-strip-types", join(OUT, "main.js"), "--help"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(run.status).to.equal(2);
    expect(run.stderr).to.include("Usage: memorydb-user-operator");
  });
});
