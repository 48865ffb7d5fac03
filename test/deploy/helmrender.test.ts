// tools/helmrender is Helm's own rendering code: Helm's unit tests for the ported packages and
// Helm's `helm template` golden files pass on it (go test, with the Debian Go libraries that
// build.sh installs), so the chart tests see what Helm would render.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { expect } from "chai";
import { REPO } from "./manifests.ts";

describe("tools/helmrender", function () {
  this.timeout(180_000);

  it("passes Helm's own unit tests and golden files (go test)", () => {
    const r = spawnSync("go", ["test", "-count=1", "."], {
      cwd: join(REPO, "tools", "helmrender"),
      encoding: "utf8",
      env: {
        ...process.env,
        GO111MODULE: "off",
        GOPATH: "/usr/share/gocode",
        GOFLAGS: "",
        GOCACHE: process.env.GOCACHE ?? join(process.env.HELMRENDER_HOME ?? "/var/cache/helmrender", "go-build"),
      },
    });
    if (r.error) throw new Error(`go is not installed (tools/helmrender/build.sh installs Debian's): ${r.error.message}`);
    expect(r.status, `${r.stdout}${r.stderr}`).to.equal(0);
    expect(r.stdout).to.match(/^ok\s/m);
  });
});
