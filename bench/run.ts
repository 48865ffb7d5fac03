// Benchmark: the operator as its own process (`node src/main.ts`) against the local control plane
// (fake Kubernetes API server and one MemoryDB emulator per region, in this process, on loopback;
// the real clients), at N users over R regions. Prints every figure next to its target; asserts
// nothing. See docs/performance.md.
//
//   npm run bench -- --users 10000 --regions 5
import { availableParallelism, cpus, loadavg, platform, release, totalmem } from "node:os";
import { BenchEnv, ReadyWatch } from "./env.ts";
import { type BenchArgs, cpuModel, fmtCounts, fmtMiB, fmtMs, parseArgs, percentile, Table } from "./lib.ts";
import { BENCH_NODE_OPTIONS, compileCache, MEMORY_LIMIT_MIB, type Memory, memoryCgroup, OPERATOR_ENTRY } from "./operator.ts";
import {
  type Context,
  createPhase,
  type IdleSizes,
  latencyPhase,
  ratePhase,
  restartPhase,
  resyncPhase,
  rotationPhase,
  startPhase,
} from "./phases.ts";

/**
 * CPU per created user before this benchmark's targets were worked on (the operator of commit
 * 91814d6, this benchmark, 10,000 users in 5 regions; docs/performance.md): figure 6's target is
 * half of it.
 */
const CPU_PER_CREATE_BEFORE_MS = 11.71;

function progress(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
const verdict = (ok: boolean) => (ok ? "met" : "NOT MET");
const stripperLoaded = (m: Memory) =>
  m.stripper === undefined
    ? "the probe did not say whether Node's TypeScript stripper is loaded"
    : `Node's TypeScript stripper ${m.stripper ? "" : "not "}loaded`;
/** How an idle size was taken: after the operator's idle collection (src/idle-gc.ts), or without one. */
const collection = (m: IdleSizes) =>
  m.collected
    ? `after its idle collection (${fmtMiB(m.before.rss)} before it)`
    : "no idle collection (none within 30 s, or an operator without them)";
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(", ");

/** One paginated DescribeUsers listing per region: ceil((users + default) / 100) pages each. */
function expectedListing(args: BenchArgs): number {
  let pages = 0;
  for (let r = 0; r < args.regions; r++) {
    const inRegion = Math.floor(args.users / args.regions) + (r < args.users % args.regions ? 1 : 0);
    pages += Math.ceil((inRegion + 1) / 100);
  }
  return pages;
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
  const loadBefore = load();
  progress(`${n} users in ${args.regions} region(s), MAX_CONCURRENT_RECONCILES ${args.concurrency}, AWS latency ${args.awsLatencyMs} ms`);

  const env = await BenchEnv.start({ regions: args.regions, awsLatencyMs: args.awsLatencyMs });
  const ready = new ReadyWatch(env.kc);
  const ctx: Context = { args, env, ready };
  progress(`creating ${n} Secrets`);
  await env.createSecrets(0, n);
  await ready.start();
  progress("operator start, no users");
  const start = await startPhase(ctx);
  progress(`${args.latencySamples} single creates`);
  const latency = await latencyPhase(ctx, start.op, 0, args.latencySamples);
  progress(`create ${n - args.latencySamples} users at once`);
  const create = await createPhase(ctx, start.op, args.latencySamples, n);
  progress(`  all Ready after ${fmtMs(create.readyMs)}`);
  progress(`password rotation ×${args.rotations}`);
  const rotation = await rotationPhase(ctx, start.op);
  progress("operator restart");
  const restart = await restartPhase(ctx, start.op, n);
  progress(`periodic resync (RESYNC_PERIOD ${fmtMs(args.resyncAfterMs)})`);
  const resync = await resyncPhase(ctx, restart, n);
  await new Promise((r) => setTimeout(r, 3000));
  const steady = await restart.op.memory();
  await restart.op.stop();
  ready.stop();
  await env.stop();
  let rate: Awaited<ReturnType<typeof ratePhase>> | undefined;
  if (args.rate) {
    progress(`rate-limited create: ${args.rate.users} users, ${args.rate.perSecond} requests/s, burst ${args.rate.burst}`);
    rate = await ratePhase(args);
  }

  const t = new Table();
  t.section("Machine and conditions");
  t.row("CPU", `${availableParallelism()} cores available (${cpus().length} online), ${cpuModel(cpus()[0]?.model)}`);
  t.row("memory", fmtMiB(totalmem()));
  t.row("runtime", `Node ${process.version}, ${platform()} ${release()}`);
  t.row("date", new Date().toISOString());
  t.row(
    "load average",
    `${loadBefore} at the start, ${load()} at the end (1, 5, 15 min)`,
    "other processes on this machine skew wall times",
  );
  t.row(
    "setup",
    `${n} users in ${args.regions} region(s), one Secret each; emulated AWS latency ${args.awsLatencyMs} ms per call; MAX_CONCURRENT_RECONCILES ${args.concurrency}`,
    `the operator runs as its own process (NODE_OPTIONS=${BENCH_NODE_OPTIONS}${compileCache() ? " NODE_COMPILE_CACHE=…" : ""} node ${OPERATOR_ENTRY}); the API server, the emulators and the bench client share this one`,
  );
  const cgroup = memoryCgroup();
  t.row(
    "operator memory limit",
    cgroup
      ? `${MEMORY_LIMIT_MIB} MiB, as the manifests set it (memory cgroup ${cgroup})`
      : "none (no writable memory cgroup, or BENCH_MEMORY_LIMIT_MIB=0)",
    cgroup
      ? "Node sizes its heap from it, as in a pod; the kernel enforces it"
      : "V8 sizes its heap from the machine's memory: resident sizes are higher than under a limit",
  );

  const created = create.users;
  const awsPerUser = sum(create.aws) / created;
  t.section(`1. AWS calls per created user (${created} created at once)`);
  t.row(
    "calls per created user",
    `${awsPerUser.toFixed(3)}  (target ≤ 1.05: ${verdict(awsPerUser <= 1.05)})`,
    `AWS: ${fmtCounts(create.aws)}`,
  );

  const listing = expectedListing(args);
  const onlyListing = (aws: Record<string, number>) =>
    (aws.DescribeUsers ?? 0) === listing && sum(aws) === listing ? "as expected" : "DIFFERENT";
  const kubeWrites = (kube: Record<string, number>) =>
    Object.entries(kube)
      .filter(([k]) => /^(PATCH|PUT|POST|DELETE) /.test(k) && !k.includes("events"))
      .reduce((a, [, v]) => a + v, 0);
  t.section(`2. ${n} users: every phase, with its AWS calls and Kubernetes requests`);
  t.row(
    "operator start, no users",
    `${fmtMs(start.wallMs)} from spawn to idle`,
    `"operator started" after ${start.startupMs === undefined ? "n/a" : fmtMs(start.startupMs)}; CPU ${fmtMs(start.cpuMs)}; AWS: ${fmtCounts(start.aws)}; Kubernetes: ${fmtCounts(start.kube)}`,
  );
  t.row(
    `create ${created} at once`,
    `${fmtMs(create.readyMs)} → ${(created / (create.readyMs / 1000)).toFixed(1)} users/s`,
    `creates submitted in ${fmtMs(create.submitMs)}; ${create.errors} reconcile errors; Kubernetes: ${fmtCounts(create.kube)} ` +
      `(${(sum(create.kube) / created).toFixed(2)} per user, peak ${create.kubePeakPerSecond}/s)`,
  );
  const lat = rotation.latencies;
  t.row(
    `rotate ${lat.length} passwords, one by one`,
    `p50 ${fmtMs(percentile(lat, 50))}, p95 ${fmtMs(percentile(lat, 95))}, max ${fmtMs(Math.max(...lat))}`,
    `per rotation: AWS ${(sum(rotation.aws) / lat.length).toFixed(1)} (${fmtCounts(rotation.aws)}), Kubernetes ${(sum(rotation.kube) / lat.length).toFixed(1)} (${fmtCounts(rotation.kube)})`,
  );
  t.row(
    "restart",
    `${fmtMs(restart.wallMs)} from spawn to idle`,
    `graceful stop ${fmtMs(restart.stopMs)}; "operator started" after ${restart.startupMs === undefined ? "n/a" : fmtMs(restart.startupMs)}; ` +
      `${restart.reconciles} reconciles, ${restart.errors} errors; CPU ${fmtMs(restart.cpuMs)}`,
  );
  t.row("", `AWS: ${fmtCounts(restart.aws)} (one listing per region, ${listing} pages, nothing else: ${onlyListing(restart.aws)})`);
  t.row("", `Kubernetes: ${fmtCounts(restart.kube)}; writes ${kubeWrites(restart.kube)} (expected 0)`);
  t.row(
    "periodic resync",
    `${fmtMs(resync.wallMs)} from its first listing to idle`,
    `${resync.reconciles} reconciles, ${resync.errors} errors; CPU ${fmtMs(resync.cpuMs)}${resync.afterRestart ? "" : "; OVERLAPPED the restart: raise --resync-after"}`,
  );
  // A restart spreads the users' tag checks over TAG_RESYNC_PERIOD (1 h): those that fell due
  // since are one ListTags each, the listing standing for DescribeUsers.
  const tagChecksDue = Math.round((n * resync.sinceStartMs) / 3_600_000);
  const tagChecks = resync.aws.ListTags ?? 0;
  const listingAndTagChecks =
    (resync.aws.DescribeUsers ?? 0) === listing && sum(resync.aws) === listing + tagChecks ? "as expected" : "DIFFERENT";
  t.row(
    "",
    `AWS: ${fmtCounts(resync.aws)} (one listing per region, ${listing} pages, and one ListTags per tag check due, ≈${tagChecksDue} expected: ${listingAndTagChecks})`,
  );
  t.row("", `Kubernetes: ${fmtCounts(resync.kube)} (expected none)`);

  t.section("3. Memory of the operator process (VmRSS, VmHWM; live heap after a forced GC)");
  t.row(
    "idle, no users",
    `${fmtMiB(start.idle.rss)}  (target ≤ 120 MiB: ${verdict(start.idle.rss <= 120 * 1024 * 1024)})`,
    `${collection(start)}; live heap ${fmtMiB(start.idle.liveHeap)}, external ${fmtMiB(start.idle.external)}; ${stripperLoaded(start.idle)}` +
      (start.cold ? " (the compile cache filled by a first start)" : ""),
  );
  if (start.cold) {
    const { cold } = start;
    t.row(
      "idle, first start",
      `${fmtMiB(cold.idle.rss)}  (the compile cache still empty)`,
      `${collection(cold)}; live heap ${fmtMiB(cold.idle.liveHeap)}, external ${fmtMiB(cold.idle.external)}; ${stripperLoaded(cold.idle)}; ` +
        `${fmtMs(cold.wallMs)} from spawn to idle, CPU ${fmtMs(cold.cpuMs)}`,
    );
  }
  t.row("peak during the creates", `${fmtMiB(create.peakRss)}  (target ≤ 230 MiB: ${verdict(create.peakRss <= 230 * 1024 * 1024)})`);
  for (const [what, m, how] of [
    [`${n} users, after the creates`, create.settled.before, "3 s after they settled"],
    [`${n} users, after the creates, idle`, create.settled.idle, collection(create.settled)],
    [`${n} users, after restart and resync`, steady, "3 s after the resync"],
  ] as const) {
    t.row(
      what,
      `${fmtMiB(m.rss)}  (target ≤ 200 MiB: ${verdict(m.rss <= 200 * 1024 * 1024)})`,
      `${how}; live heap ${fmtMiB(m.liveHeap)}: ${((m.liveHeap - start.idle.liveHeap) / n / 1024).toFixed(1)} KiB per user above idle; ` +
        `rss ${((m.rss - start.idle.rss) / n / 1024).toFixed(1)} KiB per user above idle`,
    );
  }

  t.section("4. The AWS rate limit used, not exceeded");
  if (rate) {
    const allowed = rate.burst + (rate.perSecond * rate.windowMs) / 1000;
    const used = rate.accepted / allowed;
    const throttledShare = rate.throttled / (rate.accepted + rate.throttled);
    t.row(
      `create ${rate.users} at ${rate.perSecond}/s, burst ${rate.burst}`,
      `${(used * 100).toFixed(1)} % of the allowed rate (target ≥ 90 %: ${verdict(used >= 0.9)}), ` +
        `${(throttledShare * 100).toFixed(2)} % throttled (target < 2 %: ${verdict(throttledShare < 0.02)})`,
      `${rate.accepted} calls accepted in ${fmtMs(rate.windowMs)} (allowed ${allowed.toFixed(0)}), ${rate.throttled} throttled; ` +
        `all Ready after ${fmtMs(rate.readyMs)}; AWS: ${fmtCounts(rate.aws)}`,
    );
    t.row("", `Kubernetes at the operator's default bound: peak ${rate.kubePeakPerSecond} requests/s; ${fmtCounts(rate.kube)}`);
  } else t.row("rate-limited create", "skipped (--no-rate-phase)");

  t.section(`5. Single create → Ready (${latency.totals.length}×, one after another, AWS latency ${args.awsLatencyMs} ms)`);
  const shares = latency.totals.map((total, i) => total - latency.awsMs[i]!);
  const rtt = percentile(
    latency.awsMs.map((ms, i) => ms / Math.max(1, latency.awsCalls[i]!)),
    50,
  );
  const calls = percentile(latency.awsCalls, 50);
  t.row(
    "create → Ready",
    `p50 ${fmtMs(percentile(latency.totals, 50))}, p95 ${fmtMs(percentile(latency.totals, 95))}, max ${fmtMs(Math.max(...latency.totals))}`,
    `create request sent → a watcher sees Ready=True; AWS calls per create p50 ${calls} (target 1: ${verdict(calls === 1)}), ` +
      `a call's round trip p50 ${fmtMs(rtt)}`,
  );
  t.row(
    "operator's share",
    `p50 ${fmtMs(percentile(shares, 50))}, p95 ${fmtMs(percentile(shares, 95))}  (target ≤ 30 ms: ${verdict(percentile(shares, 50) <= 30)})`,
    "the total less the MemoryDB calls as the operator's client timed them: its Kubernetes requests, watch delivery and its own work",
  );

  t.section("6. CPU per created user (the operator's own process: utime + stime from /proc)");
  const cpuPerUser = create.cpuMs / created;
  const cpuTarget = CPU_PER_CREATE_BEFORE_MS / 2;
  t.row(
    "CPU per created user",
    `${cpuPerUser.toFixed(2)} ms  (target ≤ ${Number.isNaN(cpuTarget) ? "half of before" : `${cpuTarget.toFixed(2)} ms, half of before`}: ${verdict(cpuPerUser <= cpuTarget)})`,
    `${fmtMs(create.cpuMs)} of CPU for ${created} creates (first create → settled), ${((create.cpuMs / create.readyMs) * 100).toFixed(0)} % of a core`,
  );

  process.stdout.write(`${t.render()}\n\nbench finished in ${fmtMs(Date.now() - started)}\n`);
}

await main();
