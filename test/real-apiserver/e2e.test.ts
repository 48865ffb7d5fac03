// `npm run e2e` (test/e2e/run.ts, driving the real kubectl) against a real kube-apiserver v1.20.2
// with the operator running under the shipped RBAC at production watch timings: the suite users
// and contributors run against their own clusters must pass against a real server here too.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { ROOT } from "../../scripts/dev-env.ts";
import { clusterScopedRbac } from "../deploy/rbac.ts";
import { STEPS } from "../e2e/steps.ts";
import { OPERATOR_SA, RealClusterEnv } from "./env.ts";

const RUNNER = join(ROOT, "test", "e2e", "run.ts");

describe("npm run e2e against a real kube-apiserver v1.20.2", function () {
  this.timeout(600_000);
  let env: RealClusterEnv;
  let dir: string;

  before(async function () {
    this.timeout(120_000);
    // Short, but not zero: the runner must wait through `modifying` and `deleting`.
    env = await RealClusterEnv.start({ startOperator: false, emulator: { modifyingMs: 150, deletingMs: 150 } });
    const operatorKc = await env.grant(clusterScopedRbac());
    await env.startOperator({ POD_NAMESPACE: OPERATOR_SA.namespace }, { kc: operatorKc });
    dir = await mkdtemp(join(tmpdir(), "mdbu-e2e-real-"));
    await writeFile(join(dir, "kubeconfig"), env.server.kubeconfig(), { mode: 0o600 });
  });
  after(async () => {
    await env?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("passes every step and cleans up", async () => {
    const out = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [RUNNER, "--kubeconfig", join(dir, "kubeconfig"), "--emulator-url", env.aws.endpoint, "--timeout", "90s"],
        // Own HOME: kubectl's discovery cache goes to the temp dir, not ~/.kube.
        { cwd: ROOT, env: { ...process.env, HOME: dir }, stdio: ["ignore", "pipe", "pipe"] },
      );
      let text = "";
      child.stdout.on("data", (d: Buffer) => {
        text += d.toString("utf8");
      });
      child.stderr.on("data", (d: Buffer) => {
        text += d.toString("utf8");
      });
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, out: text }));
    });
    const tail = `\n--- runner output ---\n${out.out}\n--- operator log tail ---\n${env.logLines.slice(-40).join("\n")}`;
    expect(out.code, tail).to.equal(0);
    expect(out.out.trimEnd().split("\n").at(-1), tail).to.equal(`e2e: ${STEPS.length + 1} passed, 0 failed`);
    const prefix = /^e2e: run (e2e-[a-z0-9]{6}) against /m.exec(out.out)?.[1];
    expect(prefix, tail).to.be.a("string");
    expect(
      env.aws
        .users()
        .map((u) => u.name)
        .filter((n) => n.startsWith(prefix!)),
      "MemoryDB users left",
    ).to.deep.equal([]);
  });
});
