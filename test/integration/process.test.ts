// The operator as a process: `node src/main.ts`, as `npm start` runs it (less its compile cache,
// which changes only how Node loads the modules).

import { spawn } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CoordinationV1Api } from "@kubernetes/client-node";
import { expect } from "chai";
import { freePort } from "../../local-control-plane/ports.ts";
import { isReady, PASSWORD_1, passwordSpec, TestEnv } from "./harness.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MAIN = join(ROOT, "src/main.ts");

interface Run {
  code: Promise<number | null>;
  output: () => string;
  kill: (signal: NodeJS.Signals) => void;
}

/** Exits within `ms` of `since`, with code 0. */
async function exitsWithin(r: Run, since: number, ms: number): Promise<void> {
  const code = await Promise.race([r.code, new Promise<string>((resolve) => setTimeout(() => resolve("still running"), ms))]);
  if (code === "still running") r.kill("SIGKILL");
  expect(code, r.output()).to.equal(0);
  expect(Date.now() - since).to.be.below(ms);
}

function kubeconfigFor(server: string, token = "t"): string {
  return `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "${server}", insecure-skip-tls-verify: true } }]
users: [{ name: u, user: { token: ${token} } }]
contexts: [{ name: c, context: { cluster: c, user: u } }]
current-context: c
`;
}

/** `node src/main.ts <args>` with `env` (and PATH). */
function run(env: Record<string, string>, args: string[] = []): Run {
  return runCommand([process.execPath, MAIN, ...args], env);
}

/** `node src/main.ts` against `env`'s API server (through a kubeconfig of its own) and emulator, with `settings` added. */
async function runAgainst(env: TestEnv, settings: Record<string, string>): Promise<Run> {
  const dir = await mkdtemp(join(tmpdir(), "mdbu-kc-"));
  const kubeconfig = join(dir, "kubeconfig");
  await writeFile(kubeconfig, env.kube.kubeconfig());
  return run({
    HOME: dir,
    KUBECONFIG: kubeconfig,
    AWS_REGION: env.aws.region,
    MEMORYDB_ENDPOINT: env.aws.endpoint,
    AWS_ACCESS_KEY_ID: "AKIDTEST",
    AWS_SECRET_ACCESS_KEY: "test",
    LOG_FORMAT: "text",
    ...settings,
  });
}

function runCommand([file, ...args]: string[], env: Record<string, string>, cwd?: string): Run {
  const child = spawn(file!, args, {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    ...(cwd ? { cwd } : {}),
  });
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

  it("as `npm start` runs it, strips the types once: later starts read Node's compile cache", async () => {
    const { start } = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")).scripts as { start: string };
    const dir = await mkdtemp(join(tmpdir(), "mdbu-start-"));
    // Loaded before the entry point; says at exit whether Node loaded its TypeScript stripper (amaro).
    const probe = join(dir, "stripper.mjs");
    await writeFile(
      probe,
      'process.on("exit", () => process.stderr.write("stripper loaded: " + process.moduleLoadList.some((m) => m.includes("amaro")) + "\\n"));\n',
    );
    const startWith = async (command: string) => {
      const r = runCommand(
        ["/bin/sh", "-c", `${command} --help`],
        // No NODE_COMPILE_CACHE of its own: the script's default (under node_modules/.cache) applies.
        { PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}`, NODE_OPTIONS: `--import ${probe}` },
        ROOT,
      );
      await r.code;
      return r.output();
    };
    // The probe sees the stripper where it is loaded: plain `node src/main.ts`, no cache.
    expect(await startWith("node src/main.ts")).to.include("stripper loaded: true");
    // The first start may be the first ever (it strips, and fills the cache) or not; the second is not.
    expect(await startWith(start))
      .to.include("Usage: memorydb-user-operator")
      .and.include("stripper loaded:");
    const second = await startWith(start);
    expect(second, `${second}\n(node_modules/.cache must be writable)`)
      .to.include("Usage: memorydb-user-operator")
      .and.include("stripper loaded: false");
  });

  it("reconciles from a kubeconfig and shuts down cleanly on SIGTERM", async () => {
    const env = await TestEnv.start({ startOperator: false });
    try {
      await env.createNamespace("proc");
      await env.createSecret("proc", "pw", { password: PASSWORD_1 });
      const r = await runAgainst(env, {
        POLL_INTERVAL: "100ms",
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

  it("gives memory back once idle: after the start-up, and again after work", async () => {
    const env = await TestEnv.start({ startOperator: false });
    try {
      await env.createNamespace("idle");
      await env.createSecret("idle", "pw", { password: PASSWORD_1 });
      const metricsPort = await freePort();
      const r = await runAgainst(env, {
        LOG_LEVEL: "debug",
        METRICS_BIND_ADDRESS: `127.0.0.1:${metricsPort}`,
        HEALTH_PROBE_BIND_ADDRESS: "0",
      });
      const collections = async () => {
        const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        return Number(/^memorydb_operator_idle_collections_total (\d+)$/m.exec(text)?.[1]);
      };
      const returned = () => [...r.output().matchAll(/idle: returned memory to the system .*"before":([\d.]+),"after":([\d.]+)/g)];
      // The second may wait for 1 % of a core: 100 times the first one's CPU, after it.
      const until = async (what: string, ok: () => boolean) => {
        for (const t0 = Date.now(); !ok(); await new Promise((res) => setTimeout(res, 100)))
          if (Date.now() - t0 > 60_000) throw new Error(`${what} not seen in 60 s:\n${r.output()}`);
      };
      await until("the start-up's collection", () => returned().length === 1);
      const [, before, after] = returned()[0]!;
      expect(Number(after)).to.be.below(Number(before));
      expect(await collections()).to.equal(1);
      await env.createUser("idle", "idle-user", passwordSpec("pw"));
      await env.waitForUser("idle", "idle-user", isReady, 20_000);
      await until("a collection after the create", () => returned().length === 2);
      expect(await collections()).to.equal(2);
      r.kill("SIGTERM");
      expect(await r.code).to.equal(0);
    } finally {
      await env.stop();
    }
  });

  describe("shutdown is bounded by --shutdown-timeout at every phase", () => {
    const common = (env: TestEnv, kubeconfig: string) => ({
      HOME: "/nonexistent",
      KUBECONFIG: kubeconfig,
      AWS_REGION: env.aws.region,
      MEMORYDB_ENDPOINT: env.aws.endpoint,
      AWS_ACCESS_KEY_ID: "AKIDTEST",
      AWS_SECRET_ACCESS_KEY: "test",
      SHUTDOWN_TIMEOUT: "2s",
      LOG_FORMAT: "text",
      METRICS_BIND_ADDRESS: "0",
      HEALTH_PROBE_BIND_ADDRESS: "0",
    });

    it("while the start-up listing waits on an API server that never answers", async () => {
      const held: Socket[] = [];
      const blackHole = createServer((socket) => void held.push(socket));
      await new Promise<void>((resolve) => blackHole.listen(0, "127.0.0.1", resolve));
      const env = await TestEnv.start({ startOperator: false });
      try {
        const dir = await mkdtemp(join(tmpdir(), "mdbu-kc-"));
        const kubeconfig = join(dir, "kubeconfig");
        await writeFile(kubeconfig, kubeconfigFor(`http://127.0.0.1:${(blackHole.address() as { port: number }).port}`));
        const r = run({ ...common(env, kubeconfig), CLUSTER_ID: "test" });
        await env.until("the operator's lists reach the API server", () => held.length > 0, 20_000);
        const since = Date.now();
        r.kill("SIGTERM");
        await exitsWithin(r, since, 3500);
      } finally {
        for (const s of held) s.destroy();
        blackHole.close();
        await env.stop();
      }
    });

    it("while the start-up MemoryDB listing, then a reconcile's MemoryDB call, hang; the Lease is handed back", async () => {
      const env = await TestEnv.start({ startOperator: false });
      try {
        const dir = await mkdtemp(join(tmpdir(), "mdbu-kc-"));
        const kubeconfig = join(dir, "kubeconfig");
        await writeFile(kubeconfig, env.kube.kubeconfig());
        await env.createNamespace("hang");
        await env.createSecret("hang", "pw", { password: PASSWORD_1 });
        await env.createUser("hang", "slow", passwordSpec("pw"));
        env.aws.faults.latencyMs = 60_000;
        const r = run({ ...common(env, kubeconfig), LEADER_ELECT: "true", POD_NAMESPACE: "default" });
        await env.until("the operator lists MemoryDB", () => (env.aws.calls.DescribeUsers ?? 0) > 0, 10_000);
        let since = Date.now();
        r.kill("SIGTERM");
        await exitsWithin(r, since, 3500);

        // Again, with a reconcile's call to MemoryDB in flight.
        env.aws.faults.latencyMs = 0;
        env.aws.resetCalls();
        const r2 = run({ ...common(env, kubeconfig), LEADER_ELECT: "true", POD_NAMESPACE: "default" });
        await env.until("the operator lists MemoryDB", () => (env.aws.calls.DescribeUsers ?? 0) > 0, 20_000);
        env.aws.faults.latencyMs = 60_000;
        await env.until(
          "a reconcile calls MemoryDB",
          () => env.aws.callLog.some((c) => (c.input as { UserName?: string }).UserName === "slow"),
          20_000,
        );
        since = Date.now();
        r2.kill("SIGTERM");
        await exitsWithin(r2, since, 2000 + 3500);
        expect(r2.output()).to.include("released the lease");
        const lease = await env.kc
          .makeApiClient(CoordinationV1Api)
          .readNamespacedLease({ namespace: "default", name: "memorydb-user-operator" });
        expect(lease.spec?.holderIdentity).to.equal("");
      } finally {
        env.aws.faults.latencyMs = 0;
        await env.stop();
      }
    });
  });

  it("reads KUBECONFIG as a path list, merged as kubectl merges it", async () => {
    const env = await TestEnv.start({ startOperator: false });
    try {
      const dir = await mkdtemp(join(tmpdir(), "mdbu-kc-"));
      const real = join(dir, "real.yaml");
      await writeFile(real, env.kube.kubeconfig());
      const r = run({
        HOME: dir,
        KUBECONFIG: [join(dir, "absent.yaml"), real].join(delimiter),
        AWS_REGION: env.aws.region,
        MEMORYDB_ENDPOINT: env.aws.endpoint,
        AWS_ACCESS_KEY_ID: "AKIDTEST",
        AWS_SECRET_ACCESS_KEY: "test",
        METRICS_BIND_ADDRESS: "0",
        HEALTH_PROBE_BIND_ADDRESS: "0",
      });
      await env.createNamespace("kcl");
      await env.createSecret("kcl", "pw", { password: PASSWORD_1 });
      await env.createUser("kcl", "listed", passwordSpec("pw"));
      await env.waitForUser("kcl", "listed", isReady, 20_000);
      r.kill("SIGTERM");
      expect(await r.code).to.equal(0);
    } finally {
      await env.stop();
    }
  });
});
