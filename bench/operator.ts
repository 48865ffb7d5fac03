// The operator as its own process, `node src/main.ts` (or the build), as the benchmark runs and
// watches it: from outside, through the endpoints a kubelet or Prometheus would use, and /proc.
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../local-control-plane/ports.ts";
import type { BenchEnv } from "./env.ts";
import { procCpuMs, procMemory, promSum, resetPeak, sleep } from "./lib.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PROBE = fileURLToPath(new URL("probe.mjs", import.meta.url));
/**
 * The operator's entry point, relative to the checkout: `src/main.ts` (Node strips the types as
 * it loads them), or with BENCH_OPERATOR_ENTRY=dist/main.js the build the image runs (`npm run
 * build` first), which spares the process Node's TypeScript stripper.
 */
export const OPERATOR_ENTRY = process.env.BENCH_OPERATOR_ENTRY ?? "src/main.ts";

/** NODE_OPTIONS as the image sets it (the Dockerfile's ENV), which a pod's own would replace. */
const IMAGE_NODE_OPTIONS: string = (() => {
  const env = readFileSync(join(ROOT, "Dockerfile"), "utf8").match(/^ENV\s+NODE_OPTIONS=(.*)$/m)?.[1];
  return env?.trim().replace(/^"(.*)"$/, "$1") ?? "";
})();

/** The operator's own namespace (POD_NAMESPACE): its verifier key Secret lives there. */
export const OPERATOR_NAMESPACE = "default";

/** NODE_OPTIONS of the operator process. */
export const BENCH_NODE_OPTIONS = process.env.BENCH_OPERATOR_NODE_OPTIONS ?? IMAGE_NODE_OPTIONS;
const WAIT_TIMEOUT_MS = 20 * 60_000;

/**
 * The container's memory limit, as the manifests set it (deploy/base/deployment.yaml, the Helm
 * chart's resources.limits.memory): the operator runs under it in a memory cgroup, so that Node
 * sizes its heap from it as in a pod and the kernel enforces it. BENCH_MEMORY_LIMIT_MIB overrides
 * it, 0 runs without one. Where no cgroup can be made (not root, no writable memory controller)
 * the operator runs without one and the bench says so.
 */
export const MEMORY_LIMIT_MIB = Number(process.env.BENCH_MEMORY_LIMIT_MIB ?? 256);

let cgroupPath: string | null | undefined;

/** A memory cgroup (v2, else v1) limited to MEMORY_LIMIT_MIB, made once per bench; null if none. */
export function memoryCgroup(): string | null {
  if (cgroupPath !== undefined) return cgroupPath;
  cgroupPath = null;
  if (!(MEMORY_LIMIT_MIB > 0)) return cgroupPath;
  const bytes = String(MEMORY_LIMIT_MIB * 1024 * 1024);
  const places: Array<[string, string]> = [];
  if (existsSync("/sys/fs/cgroup/cgroup.controllers")) places.push(["/sys/fs/cgroup", "memory.max"]);
  if (existsSync("/sys/fs/cgroup/memory/memory.limit_in_bytes")) places.push(["/sys/fs/cgroup/memory", "memory.limit_in_bytes"]);
  for (const [root, limitFile] of places) {
    const dir = join(root, `mdbu-bench-${process.pid}`);
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, limitFile), bytes);
      cgroupPath = dir;
      process.once("exit", () => {
        try {
          rmdirSync(dir);
        } catch {
          // a process still in it: left for the machine to clean up
        }
      });
      return cgroupPath;
    } catch {
      // not this one
    }
  }
  return cgroupPath;
}

let compileCacheDir: string | null | undefined;

/**
 * Node's compile cache (NODE_COMPILE_CACHE) for a TypeScript entry, as `npm start` sets it: a
 * start that finds the stripped modules there never loads Node's TypeScript stripper (about
 * 17 MiB resident), as the build never does. One per bench, empty at first, so that the bench's
 * first process is a cold start (the start phase measures it, and it fills the cache).
 * BENCH_COMPILE_CACHE=0 leaves it out: every start strips. None for the build, as in the image.
 */
export function compileCache(): string | null {
  if (compileCacheDir !== undefined) return compileCacheDir;
  compileCacheDir = null;
  if (!OPERATOR_ENTRY.endsWith(".ts") || process.env.BENCH_COMPILE_CACHE === "0") return compileCacheDir;
  const dir = mkdtempSync(join(tmpdir(), "mdbu-bench-compile-cache-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  compileCacheDir = dir;
  return compileCacheDir;
}

async function httpGet(url: string): Promise<{ ok: boolean; text: string } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return { ok: res.ok, text: await res.text() };
  } catch {
    return undefined; // not listening yet
  }
}

const IDLE_COLLECTIONS = "memorydb_operator_idle_collections_total";

/** What the operator's /metrics say. */
export interface Scrape {
  reconciles: number;
  errors: number;
  depth: number;
  active: number;
  /** Client-side time of its MemoryDB calls so far (memorydb_api_call_duration_seconds), in ms, and their number. */
  awsMs: number;
  awsCalls: number;
  /** The idle collections so far (memorydb_operator_idle_collections_total); undefined: an operator without them. */
  idleCollections: number | undefined;
}

export interface Memory {
  rss: number;
  /** heapUsed after a forced GC (the probe). */
  liveHeap: number;
  external: number;
  /** Whether Node's TypeScript stripper is loaded in the process (the probe); undefined: no answer. */
  stripper: boolean | undefined;
}

/** What the probe writes. */
type Probed = NodeJS.MemoryUsage & { stripper: boolean };

export class OperatorProcess {
  readonly startedAt: number;
  /** When the process logged "operator started" (performance.now()). */
  loggedStartAt: number | undefined;
  readonly #child: ChildProcess;
  readonly #ports: { probe: number; metrics: number };
  readonly #dir: string;
  readonly #tail: string[] = [];
  readonly #exited: Promise<number | null>;
  #probeWaiters: Array<(m: Probed) => void> = [];

  private constructor(child: ChildProcess, ports: { probe: number; metrics: number }, dir: string, startedAt: number) {
    this.#child = child;
    this.#ports = ports;
    this.#dir = dir;
    this.startedAt = startedAt;
    this.#exited = new Promise((res) => child.once("exit", (code) => res(code)));
    let partial = "";
    // BENCH_OPERATOR_LOG=<file>: everything the process writes, e.g. with --trace-gc in BENCH_OPERATOR_NODE_OPTIONS.
    const log = process.env.BENCH_OPERATOR_LOG ? createWriteStream(process.env.BENCH_OPERATOR_LOG, { flags: "a" }) : undefined;
    for (const s of [child.stdout!, child.stderr!]) {
      if (log) s.pipe(log, { end: false });
      s.setEncoding("utf8");
      s.on("data", (chunk: string) => {
        const lines = (partial + chunk).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) {
          if (this.loggedStartAt === undefined && line.includes("operator started")) this.loggedStartAt = performance.now();
          if (line.startsWith("BENCH-PROBE ")) {
            const m = JSON.parse(line.slice("BENCH-PROBE ".length)) as Probed;
            for (const w of this.#probeWaiters.splice(0)) w(m);
            continue;
          }
          this.#tail.push(line);
          if (this.#tail.length > 50) this.#tail.shift();
        }
      });
    }
  }

  /** Spawns `node <OPERATOR_ENTRY>` against the bench's servers; `env` adds or overrides settings. */
  static async spawn(bench: BenchEnv, env: Record<string, string>): Promise<OperatorProcess> {
    const dir = await mkdtemp(join(tmpdir(), "mdbu-bench-"));
    const kubeconfig = join(dir, "kubeconfig");
    await bench.kube.writeKubeconfig(kubeconfig);
    const ports = { probe: await freePort(), metrics: await freePort() };
    const startedAt = performance.now();
    // BENCH_OPERATOR_NODE_ARGS: node flags NODE_OPTIONS does not take, e.g. --trace-gc.
    const nodeArgs = (process.env.BENCH_OPERATOR_NODE_ARGS ?? "").split(" ").filter((a) => a !== "");
    const entry = resolve(ROOT, OPERATOR_ENTRY);
    if (!existsSync(entry)) throw new Error(`${OPERATOR_ENTRY} does not exist (npm run build makes dist/)`);
    const command = [process.execPath, ...nodeArgs, "--expose-gc", "--import", PROBE, entry];
    // In the memory cgroup, if there is one: the shell moves itself there, then becomes node (same pid).
    const cgroup = memoryCgroup();
    const cache = compileCache();
    const [file, ...args] = cgroup ? ["/bin/sh", "-c", `echo $$ > ${cgroup}/cgroup.procs && exec "$@"`, "sh", ...command] : command;
    const child = spawn(file!, args, {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: dir,
        KUBECONFIG: kubeconfig,
        AWS_REGION: bench.regions[0]!,
        MEMORYDB_ENDPOINT: bench.endpoints,
        AWS_ACCESS_KEY_ID: "AKIDBENCH",
        AWS_SECRET_ACCESS_KEY: "bench-secret",
        AWS_EC2_METADATA_DISABLED: "true",
        // The verifier key Secret lives here, so a restarted operator recognises the passwords.
        POD_NAMESPACE: OPERATOR_NAMESPACE,
        METRICS_BIND_ADDRESS: `127.0.0.1:${ports.metrics}`,
        HEALTH_PROBE_BIND_ADDRESS: `127.0.0.1:${ports.probe}`,
        LOG_LEVEL: "info",
        ...(process.env.BENCH_HEAP_SNAPSHOT_DIR ? { BENCH_HEAP_SNAPSHOT_DIR: process.env.BENCH_HEAP_SNAPSHOT_DIR } : {}),
        // The image's NODE_OPTIONS, unless BENCH_OPERATOR_NODE_OPTIONS replaces it as a pod's own would.
        NODE_OPTIONS: BENCH_NODE_OPTIONS,
        ...(cache ? { NODE_COMPILE_CACHE: cache } : {}),
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    return new OperatorProcess(child, ports, dir, startedAt);
  }

  get pid(): number {
    return this.#child.pid!;
  }

  get output(): string {
    return this.#tail.join("\n");
  }

  cpuMs(): number {
    return procCpuMs(this.pid) ?? Number.NaN;
  }

  rss(): number {
    return procMemory(this.pid)?.rss ?? Number.NaN;
  }

  peak(): number {
    return procMemory(this.pid)?.peak ?? Number.NaN;
  }

  resetPeak(): void {
    resetPeak(this.pid);
  }

  /** Resident size, and the live heap after a forced GC (which the probe runs on SIGUSR2). */
  async memory(): Promise<Memory> {
    const rss = this.rss();
    const probed = new Promise<Probed>((resolve) => this.#probeWaiters.push(resolve));
    this.#child.kill("SIGUSR2");
    const m = await Promise.race([probed, sleep(10_000).then(() => undefined)]);
    return { rss, liveHeap: m?.heapUsed ?? Number.NaN, external: m?.external ?? Number.NaN, stripper: m?.stripper };
  }

  async ready(): Promise<boolean> {
    return (await httpGet(`http://127.0.0.1:${this.#ports.probe}/readyz`))?.ok ?? false;
  }

  async scrape(): Promise<Scrape | undefined> {
    const res = await httpGet(`http://127.0.0.1:${this.#ports.metrics}/metrics`);
    if (!res?.ok) return undefined;
    const m = res.text;
    return {
      reconciles: promSum(m, "controller_runtime_reconcile_total"),
      errors: promSum(m, "controller_runtime_reconcile_errors_total"),
      depth: promSum(m, "workqueue_depth"),
      active: promSum(m, "controller_runtime_active_workers"),
      awsMs: promSum(m, "memorydb_api_call_duration_seconds_sum") * 1000,
      awsCalls: promSum(m, "memorydb_api_call_duration_seconds_count"),
      idleCollections: m.includes(`\n${IDLE_COLLECTIONS} `) ? promSum(m, IDLE_COLLECTIONS) : undefined,
    };
  }

  /**
   * Waits (up to 30 s) for an idle collection beyond the first `count`, which an operator makes a
   * few seconds after its work ends (src/idle-gc.ts); false if it made none, or has none to make.
   */
  async idleCollected(count: number): Promise<boolean> {
    const until = performance.now() + 30_000;
    for (;;) {
      const collections = (await this.scrape())?.idleCollections;
      if (collections === undefined) return false;
      if (collections > count) return true;
      if (performance.now() > until) return false;
      await sleep(200);
    }
  }

  /**
   * "Done", seen from outside: /readyz answers 200 (caches synced), /metrics shows an empty work
   * queue, no busy worker and at least `minReconciles` reconciles, on consecutive polls `everyMs`
   * apart for `quietMs`, with no MemoryDB call or Kubernetes request reaching the servers
   * meanwhile. Answers the first poll of that stretch (performance.now()) and the last scrape.
   */
  async settled(bench: BenchEnv, minReconciles: number, options: { quietMs?: number; everyMs?: number } = {}) {
    const { quietMs = 1000, everyMs = 50 } = options;
    let idleSince: number | undefined;
    let seen = -1;
    const t0 = Date.now();
    for (;;) {
      const activity = bench.activity;
      const polledAt = performance.now();
      const scrape = (await this.ready()) ? await this.scrape() : undefined;
      const idle = scrape !== undefined && scrape.depth === 0 && scrape.active === 0 && scrape.reconciles >= minReconciles;
      if (!idle || activity !== seen) idleSince = undefined;
      if (idle) idleSince ??= polledAt;
      seen = activity;
      if (idleSince !== undefined && performance.now() - idleSince >= quietMs) return { at: idleSince, scrape: scrape! };
      if (this.#child.exitCode !== null) throw new Error(`the operator process exited (${this.#child.exitCode}):\n${this.output}`);
      if (Date.now() - t0 > WAIT_TIMEOUT_MS)
        throw new Error(`the operator did not settle: ${scrape?.reconciles ?? "?"}/${minReconciles} reconciles`);
      await sleep(everyMs);
    }
  }

  /** SIGTERM, and the time until it exited. */
  async stop(): Promise<number> {
    const t0 = performance.now();
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill("SIGTERM");
      const timer = setTimeout(() => this.#child.kill("SIGKILL"), 30_000);
      await this.#exited;
      clearTimeout(timer);
    }
    await rm(this.#dir, { recursive: true, force: true });
    return performance.now() - t0;
  }
}
