// The operator as a process: `node src/main.ts`, as `npm start` runs it.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isReady, PASSWORD_1, passwordSpec, TestEnv } from "./harness.ts";

const MAIN = fileURLToPath(new URL("../../src/main.ts", import.meta.url));

interface Run {
  code: Promise<number | null>;
  output: () => string;
  kill: (signal: NodeJS.Signals) => void;
}

function run(env: Record<string, string>, args: string[] = []): Run {
  const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  return {
    code: new Promise((resolve) => child.on("exit", (code) => resolve(code))),
    output: () => out,
    kill: (signal) => child.kill(signal),
  };
}

describe("operator process", function () {
  this.timeout(30_000);

  it("exits with a clear message when no Kubernetes configuration exists", async () => {
    const home = await mkdtemp(join(tmpdir(), "mdbu-home-"));
    const r = run({ HOME: home, AWS_REGION: "us-east-1" });
    expect(await r.code).to.equal(1);
    expect(r.output()).to.include("no Kubernetes configuration found");
  });

  it("exits with usage on a bad flag", async () => {
    const r = run({ AWS_REGION: "us-east-1" }, ["--max-concurrent-reconciles", "zero"]);
    expect(await r.code).to.equal(2);
    expect(r.output()).to.include("--max-concurrent-reconciles");
  });

  it("reconciles from a kubeconfig and shuts down cleanly on SIGTERM", async () => {
    const env = await TestEnv.start({ startOperator: false });
    try {
      const dir = await mkdtemp(join(tmpdir(), "mdbu-kc-"));
      const kubeconfig = join(dir, "kubeconfig");
      await writeFile(kubeconfig, env.kube.kubeconfig());
      await env.createNamespace("proc");
      await env.createSecret("proc", "pw", { password: PASSWORD_1 });
      const r = run({
        HOME: dir,
        KUBECONFIG: kubeconfig,
        AWS_REGION: env.aws.region,
        MEMORYDB_ENDPOINT: env.aws.endpoint,
        AWS_ACCESS_KEY_ID: "AKIDTEST",
        AWS_SECRET_ACCESS_KEY: "test",
        POLL_INTERVAL: "100ms",
        LOG_FORMAT: "text",
        METRICS_BIND_ADDRESS: "127.0.0.1:0",
        HEALTH_PROBE_BIND_ADDRESS: "127.0.0.1:0",
      });
      await env.createUser("proc", "proc-user", passwordSpec("pw"));
      await env.waitForUser("proc", "proc-user", isReady, 20_000);
      r.kill("SIGTERM");
      expect(await r.code).to.equal(0);
      expect(r.output()).to.include("shutting down").and.include("[proc/proc-user]");
      expect(r.output()).to.not.include(PASSWORD_1);
    } finally {
      await env.stop();
    }
  });
});
