// Benchmark: the real operator (in-process, as the integration tests run it) against the local
// control plane (fake Kubernetes API server + MemoryDB emulator on loopback, real clients), at
// N users. Prints figures; asserts nothing. See docs/performance.md.
//
//   npm run bench -- --users 2000 --concurrency 4,16 --aws-latency 20
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { availableParallelism, cpus, platform, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { WATCH_TIMINGS } from "../src/kube/watch-timings.ts";
import { GROUP, type MemoryDBUser, PLURAL, VERSION } from "../src/model.ts";
import { TestEnv } from "../test/integration/harness.ts";
import {
  type BenchArgs,
  cpuModel,
  cpuMsSince,
  fmtCounts,
  fmtMiB,
  fmtMs,
  gc,
  openFds,
  parseArgs,
  percentile,
  procCpuMs,
  procMemory,
  promSum,
  sleep,
  Table,
} from "./lib.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const NS = "bench";
/** Client-side parallelism of the bench's own API calls (creating Secrets and users). */
const CLIENT_PARALLELISM = 16;
const WAIT_TIMEOUT_MS = 15 * 60_000;

const userName = (i: number) => `u${String(i).padStart(5, "0")}`;
const secretName = (i: number) => `pw-${String(i).padStart(5, "0")}`;
const password = (i: number) => `initial-password-${String(i).padStart(5, "0")}`;

function progress(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** The operator's settings in every phase: production defaults except a resync that stays out of the way. */
function operatorEnv(concurrency: number): Record<string, string> {
  return { MAX_CONCURRENT_RECONCILES: String(concurrency), RESYNC_PERIOD: "1h", LOG_LEVEL: "info" };
}

/** Production watch timings (the harness shortens them for tests; a 3 s stall timeout would relist all N users when a watch is quiet). */
const PRODUCTION_WATCH = { watch: WATCH_TIMINGS };

async function pool(count: number, parallelism: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallelism, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

async function listUsers(env: TestEnv): Promise<MemoryDBUser[]> {
  const list = (await env.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL })) as {
    items: MemoryDBUser[];
  };
  return list.items;
}

const readyCondition = (u: MemoryDBUser) => u.status?.conditions?.find((c) => c.type === "Ready");
const isReady = (u: MemoryDBUser) => readyCondition(u)?.status === "True";

/**
 * Poll the API server (CustomObjectsApi list) until all `n` users satisfy `check`. Answers the
 * users as last listed. Used where the operator writes what is waited for (Ready in the create
 * phase): the figure comes from the timestamps the operator wrote into the statuses, not from
 * when the poll noticed, so the poll can be slow: listing N users shares the CPU with the
 * operator (at 100 ms it cost the operator ~10 % of its throughput at N=400).
 */
async function waitForAll(env: TestEnv, n: number, what: string, check: (u: MemoryDBUser) => boolean): Promise<MemoryDBUser[]> {
  const interval = 500;
  const start = Date.now();
  let lastReport = start;
  for (;;) {
    const users = await listUsers(env);
    const done = users.filter(check).length;
    if (users.length === n && done === n) return users;
    if (Date.now() - start > WAIT_TIMEOUT_MS) throw new Error(`timed out waiting until ${what}: ${done}/${n}`);
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      progress(`  ${what}: ${done}/${n} after ${fmtMs(Date.now() - start)}`);
    }
    await sleep(interval);
  }
}

/** Requests the operator has made so far (to notice that none come any more). */
const activityCount = (env: TestEnv, kube: KubeRequestCounter) => env.aws.callLog.length + kube.total;

/** Reconciles and reconcile errors so far, from the operator's Prometheus registry or /metrics text. */
function reconcileCounts(metricsText: string): { reconciles: number; errors: number } {
  return {
    reconciles: promSum(metricsText, "controller_runtime_reconcile_total"),
    errors: promSum(metricsText, "controller_runtime_reconcile_errors_total"),
  };
}

/**
 * "Done" for the in-process operator. Writes no longer mark it (an in-sync reconcile writes
 * nothing and may not even make a request), so: the controller is idle — caches synced, nothing
 * queued, nothing running (the condition of the harness's `env.idle()`) — on consecutive polls
 * 10 ms apart for IDLE_CONFIRM_MS, with no MemoryDB call or Kubernetes request meanwhile.
 * Answers the first poll of that idle stretch (10 ms resolution).
 */
const IDLE_CONFIRM_MS = 500;
async function settledInProcess(env: TestEnv, kube: KubeRequestCounter): Promise<number> {
  const start = Date.now();
  let idleSince: number | undefined;
  let seen = -1;
  for (;;) {
    const count = activityCount(env, kube);
    const idle = env.operator?.idle ?? false;
    if (!idle || count !== seen) idleSince = undefined;
    if (idle) idleSince ??= Date.now();
    seen = count;
    if (idleSince !== undefined && Date.now() - idleSince >= IDLE_CONFIRM_MS) return idleSince;
    if (Date.now() - start > WAIT_TIMEOUT_MS) throw new Error("the operator did not become idle");
    await sleep(10);
  }
}

async function inProcessMetrics(env: TestEnv): Promise<string> {
  return env.app!.metrics.registry.metrics();
}

async function queueIdle(env: TestEnv): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!env.operator!.idle) {
    if (Date.now() > deadline) throw new Error("work queue not idle after 60 s");
    await sleep(20);
  }
}

/** Counts the API server's requests by verb and resource from its request log. */
class KubeRequestCounter {
  counts: Record<string, number> = {};
  /** Requests logged since the last reset. */
  total = 0;

  constructor(env: TestEnv) {
    const log = env.kube.requests;
    const push = log.push.bind(log);
    log.push = (...items) => {
      for (const r of items) {
        const k = classify(r.method, r.path);
        this.counts[k] = (this.counts[k] ?? 0) + 1;
        this.total++;
      }
      return push(...items);
    };
  }

  reset(): void {
    this.counts = {};
    this.total = 0;
  }
}

function classify(method: string, path: string): string {
  const m = /^\/apis?\/(?:[^/]+\/)?[^/]+\/(?:namespaces\/[^/]+\/)?([a-z]+)(?:\/([^/]+))?(?:\/([a-z]+))?$/.exec(path);
  if (!m) return `${method} ${path}`;
  const [, resource, name, sub] = m;
  return `${name ? method : method === "GET" ? "LIST/WATCH" : method} ${resource}${sub ? `/${sub}` : ""}`;
}

/** The operator's own requests in the create phase (the bench's are POST memorydbusers and LIST). */
const OPERATOR_REQUESTS = ["PATCH memorydbusers", "PATCH memorydbusers/status", "GET secrets", "POST events"];

interface CreateResult {
  concurrency: number;
  submitMs: number;
  readyMs: number;
  throughput: number;
  aws: Record<string, number>;
  kube: Record<string, number>;
  cpuMs: number;
  loopP99Ms: number;
  loopMaxMs: number;
}

async function startEnv(args: BenchArgs, concurrency: number): Promise<{ env: TestEnv; kube: KubeRequestCounter }> {
  const env = await TestEnv.start({ startOperator: false, emulator: { maxUsers: args.users + 100 }, env: operatorEnv(concurrency) });
  env.aws.faults.latencyMs = args.awsLatencyMs;
  const kube = new KubeRequestCounter(env);
  await env.startOperator({}, PRODUCTION_WATCH);
  await env.createNamespace(NS);
  await pool(args.users, CLIENT_PARALLELISM, (i) => env.createSecret(NS, secretName(i), { password: password(i) }));
  return { env, kube };
}

/** Figure 1: create N users, time until all are Ready. */
async function createPhase(args: BenchArgs, env: TestEnv, kube: KubeRequestCounter, concurrency: number): Promise<CreateResult> {
  const n = args.users;
  await sleep(500); // let the Secret watch events settle
  env.aws.resetCalls();
  kube.reset();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const cpu = process.cpuUsage();
  const t0 = Date.now();
  await pool(n, CLIENT_PARALLELISM, (i) =>
    env.createUser(NS, userName(i), {
      accessString: "on ~app:* &* +@read",
      authenticationMode: { type: "password", passwords: [{ secretKeyRef: { name: secretName(i), key: "password" } }] },
      tags: { team: "bench" },
    }),
  );
  const submitMs = Date.now() - t0;
  const users = await waitForAll(env, n, "all Ready", isReady);
  // When the last user turned Ready, as the operator recorded it (ms precision, same clock).
  const readyAt = Math.max(...users.map((u) => Date.parse(readyCondition(u)!.lastTransitionTime)));
  await queueIdle(env);
  loop.disable();
  const readyMs = readyAt - t0;
  return {
    concurrency,
    submitMs,
    readyMs,
    throughput: n / (readyMs / 1000),
    aws: { ...env.aws.calls },
    kube: Object.fromEntries(OPERATOR_REQUESTS.map((k) => [k, kube.counts[k] ?? 0])),
    cpuMs: cpuMsSince(cpu),
    loopP99Ms: loop.percentile(99) / 1e6,
    loopMaxMs: loop.max / 1e6,
  };
}

/** What a resync or a restart of N in-sync users cost. */
interface InSyncResult {
  wallMs: number;
  aws: Record<string, number>;
  kube: Record<string, number>;
  cpuMs: number;
  /** Reconciles and reconcile errors the operator counted (controller_runtime_reconcile_*). */
  reconciles: number;
  errors: number;
  /** Every user still Ready afterwards (one listing after the measurement). */
  allReady: boolean;
}

/** Figure 2: one resync of N in-sync users. */
async function resyncPhase(args: BenchArgs, env: TestEnv, kube: KubeRequestCounter): Promise<InSyncResult & { listMs: number }> {
  await env.idle(WAIT_TIMEOUT_MS);
  const before = reconcileCounts(await inProcessMetrics(env));
  env.aws.resetCalls();
  kube.reset();
  const cpu = process.cpuUsage();
  const t0 = Date.now();
  await env.operator!.resync();
  const listMs = Date.now() - t0;
  const wallMs = (await settledInProcess(env, kube)) - t0;
  const cpuMs = cpuMsSince(cpu);
  const counts = { kube: { ...kube.counts }, aws: { ...env.aws.calls } };
  const after = reconcileCounts(await inProcessMetrics(env));
  const users = await listUsers(env);
  return {
    listMs,
    wallMs,
    ...counts,
    cpuMs,
    reconciles: after.reconciles - before.reconciles,
    errors: after.errors - before.errors,
    allReady: users.length === args.users && users.every(isReady),
  };
}

/** Figure 3: password rotation latency, Secret write → new password held by MemoryDB. */
async function rotationPhase(args: BenchArgs, env: TestEnv): Promise<{ latencies: number[]; aws: Record<string, number> }> {
  await queueIdle(env);
  env.aws.resetCalls();
  const latencies: number[] = [];
  for (let r = 0; r < args.rotations; r++) {
    const i = Math.floor((r * args.users) / args.rotations);
    const next = `rotated-password-${r}-${Date.now()}`;
    const t0 = performance.now();
    await env.core.replaceNamespacedSecret({
      namespace: NS,
      name: secretName(i),
      body: { metadata: { name: secretName(i), namespace: NS }, stringData: { password: next } },
    });
    for (;;) {
      if (env.aws.user(userName(i))?.passwords.includes(next)) break;
      if (performance.now() - t0 > 30_000) throw new Error(`rotation of ${userName(i)} not seen in MemoryDB after 30 s`);
      await sleep(2);
    }
    latencies.push(performance.now() - t0);
    await queueIdle(env);
  }
  return { latencies, aws: { ...env.aws.calls } };
}

/** Figure 4: operator restart with N Ready users. */
async function restartPhase(
  args: BenchArgs,
  env: TestEnv,
  kube: KubeRequestCounter,
  concurrency: number,
): Promise<InSyncResult & { stopMs: number }> {
  await env.idle(WAIT_TIMEOUT_MS);
  const s0 = Date.now();
  await env.stopOperator();
  const stopMs = Date.now() - s0;
  await sleep(500); // the API server logs the old watches' ends after the client has let go of them
  env.aws.resetCalls();
  kube.reset();
  const cpu = process.cpuUsage();
  const t0 = Date.now();
  await env.startOperator(operatorEnv(concurrency), PRODUCTION_WATCH);
  const wallMs = (await settledInProcess(env, kube)) - t0;
  const cpuMs = cpuMsSince(cpu);
  const counts = { kube: { ...kube.counts }, aws: { ...env.aws.calls } };
  const { reconciles, errors } = reconcileCounts(await inProcessMetrics(env));
  const users = await listUsers(env);
  return { stopMs, wallMs, ...counts, cpuMs, reconciles, errors, allReady: users.length === args.users && users.every(isReady) };
}

interface MemoryResult {
  withOperator: NodeJS.MemoryUsage;
  withoutOperator: NodeJS.MemoryUsage;
}

/** Figure 5a: this process's memory with and without the in-process operator (after a GC). */
async function memoryPhase(env: TestEnv): Promise<MemoryResult> {
  await queueIdle(env);
  await sleep(500);
  gc();
  const withOperator = process.memoryUsage();
  await env.stopOperator();
  await sleep(500);
  gc();
  gc();
  const withoutOperator = process.memoryUsage();
  return { withOperator, withoutOperator };
}

interface ChildResult {
  /** Spawn → the "operator started" log line (Node start-up, module loading, first API calls). */
  startupMs: number | undefined;
  /** Spawn → first 200 from /readyz (caches synced), as polled. */
  readyMs: number | undefined;
  startToSyncedMs: number;
  /** controller_runtime_reconcile_total and _errors_total when done, from the child's /metrics. */
  reconciles: number;
  errors: number;
  aws: Record<string, number>;
  kube: Record<string, number>;
  rssAtSync: number;
  idleRss: number;
  peakRss: number;
  cpuMs: number | undefined;
  fds: number | undefined;
}

/** A loopback port nothing listens on right now (for the child's probe and metrics servers). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((res, rej) => server.once("error", rej).listen(0, "127.0.0.1", res));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((res) => server.close(() => res()));
  return port;
}

async function httpGet(url: string): Promise<{ ok: boolean; text: string } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return { ok: res.ok, text: await res.text() };
  } catch {
    return undefined; // not listening yet
  }
}

/**
 * "Done" for the operator as its own process, seen from outside: its /readyz answers 200 (caches
 * synced) and its /metrics show an empty work queue (workqueue_depth 0), no busy worker
 * (controller_runtime_active_workers 0) and at least `n` reconciles, on consecutive polls 50 ms
 * apart for QUIET_MS, with no MemoryDB call or Kubernetes request reaching the servers meanwhile.
 * Answers the first poll of that stretch (50 ms resolution, plus a scrape).
 */
async function settledChild(
  env: TestEnv,
  kube: KubeRequestCounter,
  ports: { probe: number; metrics: number },
  n: number,
  t0: number,
): Promise<{ doneAt: number; readyAt: number | undefined; reconciles: number; errors: number }> {
  const QUIET_MS = 1000;
  let readyAt: number | undefined;
  let idleSince: number | undefined;
  let seen = -1;
  let lastReport = Date.now();
  for (;;) {
    const count = activityCount(env, kube);
    const polledAt = Date.now();
    const ready = await httpGet(`http://127.0.0.1:${ports.probe}/readyz`);
    if (ready?.ok && readyAt === undefined) readyAt = polledAt;
    const metrics = ready?.ok ? await httpGet(`http://127.0.0.1:${ports.metrics}/metrics`) : undefined;
    const m = metrics?.ok ? metrics.text : "";
    const { reconciles, errors } = reconcileCounts(m);
    const idle =
      m !== "" && promSum(m, "workqueue_depth") === 0 && promSum(m, "controller_runtime_active_workers") === 0 && reconciles >= n;
    if (!idle || count !== seen) idleSince = undefined;
    if (idle) idleSince ??= polledAt;
    seen = count;
    if (idleSince !== undefined && Date.now() - idleSince >= QUIET_MS) return { doneAt: idleSince, readyAt, reconciles, errors };
    if (Date.now() - t0 > WAIT_TIMEOUT_MS) throw new Error(`the operator process did not settle: ${reconciles}/${n} reconciles`);
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      progress(`  child operator: ${reconciles}/${n} reconciles after ${fmtMs(Date.now() - t0)}`);
    }
    await sleep(50);
  }
}

/** Figure 5b: `node src/main.ts` as its own process against the servers of this process. */
async function childPhase(args: BenchArgs, env: TestEnv, kube: KubeRequestCounter, concurrency: number): Promise<ChildResult> {
  const dir = await mkdtemp(join(tmpdir(), "mdbu-bench-"));
  const kubeconfig = join(dir, "kubeconfig");
  await env.kube.writeKubeconfig(kubeconfig);
  const ports = { probe: await freePort(), metrics: await freePort() };
  env.aws.resetCalls();
  kube.reset();
  const tail: string[] = [];
  let startedAt: number | undefined;
  const t0 = Date.now();
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, "src", "main.ts")], {
    cwd: ROOT,
    env: {
      ...process.env,
      KUBECONFIG: kubeconfig,
      AWS_REGION: env.aws.region,
      MEMORYDB_ENDPOINT: env.aws.endpoint,
      AWS_ACCESS_KEY_ID: "AKIDBENCH",
      AWS_SECRET_ACCESS_KEY: "bench-secret",
      AWS_EC2_METADATA_DISABLED: "true",
      METRICS_BIND_ADDRESS: `127.0.0.1:${ports.metrics}`,
      HEALTH_PROBE_BIND_ADDRESS: `127.0.0.1:${ports.probe}`,
      ...operatorEnv(concurrency),
      // e.g. --max-old-space-size=64, to see how much of the resident size is uncollected garbage.
      ...(process.env.BENCH_OPERATOR_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_OPERATOR_NODE_OPTIONS } : {}),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  for (const s of [child.stdout!, child.stderr!]) {
    s.setEncoding("utf8");
    s.on("data", (chunk: string) => {
      if (startedAt === undefined && chunk.includes("operator started")) startedAt = Date.now();
      tail.push(chunk);
      if (tail.length > 50) tail.shift();
    });
  }
  const exited = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
  try {
    const settled = await Promise.race([
      settledChild(env, kube, ports, args.users, t0),
      exited.then((code) => {
        throw new Error(`the operator process exited (${code}):\n${tail.join("")}`);
      }),
    ]);
    const startToSyncedMs = settled.doneAt - t0;
    const aws = { ...env.aws.calls };
    const kubeCounts = { ...kube.counts };
    const cpuMs = procCpuMs(child.pid!);
    const atSync = procMemory(child.pid!);
    // Steady state: let it idle a little, then read its resident size again.
    await sleep(3000);
    const idle = procMemory(child.pid!);
    const fds = openFds(child.pid!);
    return {
      startupMs: startedAt === undefined ? undefined : startedAt - t0,
      readyMs: settled.readyAt === undefined ? undefined : settled.readyAt - t0,
      startToSyncedMs,
      reconciles: settled.reconciles,
      errors: settled.errors,
      aws,
      kube: kubeCounts,
      rssAtSync: atSync?.rss ?? NaN,
      idleRss: idle?.rss ?? NaN,
      peakRss: idle?.peak ?? NaN,
      fds,
      cpuMs,
    };
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  let args: BenchArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  const n = args.users;
  const started = Date.now();
  const steadyConcurrency = args.concurrency[0]!;
  progress(`${n} users, MAX_CONCURRENT_RECONCILES ${args.concurrency.join(", ")}, AWS latency ${args.awsLatencyMs} ms`);

  // Figure 1 for every concurrency; the first one's environment carries on to the other figures.
  const creates: CreateResult[] = [];
  let steady: { env: TestEnv; kube: KubeRequestCounter } | undefined;
  for (const c of [...args.concurrency.slice(1), steadyConcurrency]) {
    progress(`create ${n} users at concurrency ${c}`);
    const setup = await startEnv(args, c);
    creates.push(await createPhase(args, setup.env, setup.kube, c));
    progress(`  all Ready after ${fmtMs(creates.at(-1)!.readyMs)}`);
    if (c === steadyConcurrency && creates.length === args.concurrency.length) steady = setup;
    else await setup.env.stop();
  }
  creates.sort((a, b) => args.concurrency.indexOf(a.concurrency) - args.concurrency.indexOf(b.concurrency));
  const { env, kube } = steady!;

  progress("resync of all users");
  const resync = await resyncPhase(args, env, kube);
  progress(`password rotation ×${args.rotations}`);
  const rotation = await rotationPhase(args, env);
  progress("operator restart");
  const restart = await restartPhase(args, env, kube, steadyConcurrency);
  progress("memory");
  const memory = await memoryPhase(env);
  let child: ChildResult | undefined;
  let childError: string | undefined;
  if (args.child) {
    progress("operator as its own process (node src/main.ts)");
    try {
      child = await childPhase(args, env, kube, steadyConcurrency);
    } catch (err) {
      childError = (err as Error).message;
      progress(`  failed: ${childError}`);
    }
  }
  await env.stop();

  const t = new Table();
  t.section("Machine");
  t.row("CPU", `${availableParallelism()} cores available (${cpus().length} online), ${cpuModel(cpus()[0]?.model)}`);
  t.row("memory", fmtMiB(totalmem()));
  t.row("runtime", `Node ${process.version}, ${platform()} ${release()}`);
  t.row("date", new Date().toISOString());
  t.row(
    "setup",
    `${n} users (one Secret each), emulated AWS latency ${args.awsLatencyMs} ms per call`,
    "API server, MemoryDB emulator, bench client and operator share this one process",
  );

  t.section(`1. Create ${n} MemoryDBUsers until all Ready`);
  for (const r of creates) {
    t.row(
      `concurrency ${r.concurrency}`,
      `${fmtMs(r.readyMs)}  →  ${r.throughput.toFixed(1)} users/s`,
      `creates submitted in ${fmtMs(r.submitMs)}; CPU ${fmtMs(r.cpuMs)} (${(r.cpuMs / r.readyMs).toFixed(2)} cores); event-loop delay p99 ${r.loopP99Ms.toFixed(0)} ms, max ${r.loopMaxMs.toFixed(0)} ms`,
    );
    t.row("", `AWS: ${fmtCounts(r.aws)}`);
    t.row("", `Kubernetes (operator): ${fmtCounts(r.kube)}`);
  }

  const expectedListing = Math.ceil((n + 1) / 100);
  /** Whether `aws` is exactly the one paginated listing of the region. */
  const onlyListing = (aws: Record<string, number>) =>
    (aws.DescribeUsers ?? 0) === expectedListing && Object.entries(aws).every(([k, v]) => k === "DescribeUsers" || v === 0)
      ? "as expected"
      : "DIFFERENT";
  const statusPatches = (kube: Record<string, number>) => (kube["PATCH memorydbusers/status"] ?? 0) + (kube["PATCH memorydbusers"] ?? 0);
  t.section(`2. One resync of ${n} in-sync users`);
  t.row(
    "wall time",
    fmtMs(resync.wallMs),
    `resync() → controller idle (${resync.reconciles} reconciles, ${resync.errors} errors); of which the DescribeUsers listing ${fmtMs(resync.listMs)}; CPU ${fmtMs(resync.cpuMs)}`,
  );
  t.row(
    "AWS calls",
    fmtCounts(resync.aws),
    `expected DescribeUsers ${expectedListing} (ceil((N+1)/100)) and nothing else: ${onlyListing(resync.aws)}`,
  );
  t.row(
    "Kubernetes requests",
    fmtCounts(resync.kube),
    `writes (PATCH) ${statusPatches(resync.kube)} (expected 0 for in-sync users); all still Ready: ${resync.allReady ? "yes" : "NO"}`,
  );

  const lat = rotation.latencies;
  t.section(`3. Password rotation (${lat.length}×, Secret write → new password in MemoryDB)`);
  t.row("latency", `p50 ${fmtMs(percentile(lat, 50))}, p95 ${fmtMs(percentile(lat, 95))}, max ${fmtMs(Math.max(...lat))}`);
  t.row(
    "AWS calls",
    fmtCounts(rotation.aws),
    `per rotation: ${Object.entries(rotation.aws)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k} ${(v / lat.length).toFixed(1)}`)
      .join(", ")}`,
  );

  const mutations = (restart.aws.CreateUser ?? 0) + (restart.aws.UpdateUser ?? 0);
  t.section(`4. Operator restart with ${n} Ready users (in-process)`);
  t.row(
    "start → all re-synced",
    fmtMs(restart.wallMs),
    `start → controller idle (${restart.reconciles} reconciles, ${restart.errors} errors); graceful stop took ${fmtMs(restart.stopMs)}; CPU ${fmtMs(restart.cpuMs)}`,
  );
  t.row(
    "AWS calls",
    fmtCounts(restart.aws),
    `CreateUser + UpdateUser = ${mutations} (expected 0); expected DescribeUsers ${expectedListing} and nothing else: ${onlyListing(restart.aws)}`,
  );
  t.row(
    "Kubernetes requests",
    fmtCounts(restart.kube),
    `writes (PATCH) ${statusPatches(restart.kube)} (expected 0); all still Ready: ${restart.allReady ? "yes" : "NO"}`,
  );
  if (child) {
    t.row(
      "as its own process",
      `${fmtMs(child.startToSyncedMs)} from spawn`,
      `spawn → /readyz 200 and an idle queue in /metrics (${child.reconciles} reconciles, ${child.errors} errors), then 1 s without requests; ` +
        `of which start-up (spawn → "operator started") ${child.startupMs === undefined ? "n/a" : fmtMs(child.startupMs)}, /readyz 200 after ${child.readyMs === undefined ? "n/a" : fmtMs(child.readyMs)}`,
    );
    t.row("", `AWS: ${fmtCounts(child.aws)} (${onlyListing(child.aws)})`);
    t.row("", `Kubernetes: ${fmtCounts(child.kube)}`);
  } else if (childError) {
    t.row("as its own process", "failed", childError.split("\n").slice(0, 3).join(" | "));
  }

  t.section(`5. Memory after steady state (${n} users)`);
  const m = memory;
  t.row(
    "bench process, operator running",
    `rss ${fmtMiB(m.withOperator.rss)}, heapUsed ${fmtMiB(m.withOperator.heapUsed)}`,
    "includes the fake API server, the emulator and the bench client: not the operator alone",
  );
  t.row("bench process, operator stopped", `rss ${fmtMiB(m.withoutOperator.rss)}, heapUsed ${fmtMiB(m.withoutOperator.heapUsed)}`);
  t.row(
    "→ operator's heap (difference)",
    fmtMiB(m.withOperator.heapUsed - m.withoutOperator.heapUsed),
    "after a forced GC; rss is not given back to the OS, so only the heap difference means something",
  );
  if (child) {
    t.row(
      "operator process (node src/main.ts)",
      `rss ${fmtMiB(child.rssAtSync)} when settled, ${fmtMiB(child.idleRss)} 3 s later; peak ${fmtMiB(child.peakRss)}`,
      `VmRSS/VmHWM from /proc/<pid>/status; CPU to sync ${n} users ${child.cpuMs === undefined ? "n/a" : fmtMs(child.cpuMs)}; open file descriptors ${child.fds ?? "n/a"}`,
    );
  }

  process.stdout.write(`${t.render()}\n\nbench finished in ${fmtMs(Date.now() - started)}\n`);
}

await main();
