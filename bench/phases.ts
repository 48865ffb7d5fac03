// The benchmark's phases, each against the operator as its own process (operator.ts), each
// answering what it measured. See docs/performance.md for what each figure means.

import { DEFAULT_VERIFIER_SECRET } from "../src/config.ts";
import { BenchEnv, CLIENT_PARALLELISM, type KubeRequests, pool, ReadyWatch, userName } from "./env.ts";
import type { BenchArgs } from "./lib.ts";
import { sleep } from "./lib.ts";
import { compileCache, type Memory, OPERATOR_NAMESPACE, OperatorProcess } from "./operator.ts";

const WAIT_TIMEOUT_MS = 20 * 60_000;

export interface Context {
  args: BenchArgs;
  env: BenchEnv;
  ready: ReadyWatch;
}

/** The operator's settings in the main phases: production defaults, except where a phase needs its own. */
export function operatorEnv(args: BenchArgs, extra: Record<string, string> = {}): Record<string, string> {
  return {
    MAX_CONCURRENT_RECONCILES: String(args.concurrency),
    // No periodic resync inside a measurement (the restart phase sets its own).
    RESYNC_PERIOD: "1h",
    // The main phases measure the operator, not its Kubernetes request bound: off (the rate phase keeps the default).
    KUBE_API_QPS: "0",
    ...extra,
  };
}

const counts = (requests: KubeRequests) => ({ ...requests.counts });

/** Its sizes: 2 s after it settled (`before`), and after its idle collection (`idle`). */
export interface StartResult extends IdleSizes {
  op: OperatorProcess;
  /** Spawn → idle, and spawn → the "operator started" log line. */
  wallMs: number;
  startupMs: number | undefined;
  aws: Record<string, number>;
  kube: Record<string, number>;
  cpuMs: number;
  /** With a compile cache (compileCache()): the first start, which filled it. */
  cold?: ColdStart;
}

/** Its sizes: 2 s after it settled (`before`), and after its idle collection (`idle`). */
export interface ColdStart extends IdleSizes {
  wallMs: number;
  cpuMs: number;
}

/** Spawn the operator with no users and let it settle; its idle size. */
export async function startPhase(ctx: Context): Promise<StartResult> {
  const { env, args } = ctx;
  const cold = compileCache() ? await coldStart(ctx) : undefined;
  env.resetCounts();
  const op = await OperatorProcess.spawn(env, operatorEnv(args));
  const figures = await idleFigures(env, op);
  if (cold && figures.idle.stripper !== false) throw new Error("Node loaded its TypeScript stripper although the compile cache was filled");
  return {
    op,
    startupMs: op.loggedStartAt === undefined ? undefined : op.loggedStartAt - op.startedAt,
    ...figures,
    ...(cold ? { cold } : {}),
  };
}

/**
 * A just spawned operator until idle: spawn → idle, the requests and CPU so far, its size 2 s
 * later, and its size once it has given the start-up's memory back (its idle collection).
 */
async function idleFigures(env: BenchEnv, op: OperatorProcess) {
  const { at } = await op.settled(env, 0);
  const figures = { wallMs: at - op.startedAt, aws: env.awsCalls(), kube: counts(env.requests), cpuMs: op.cpuMs() };
  await sleep(2000);
  return { ...figures, ...(await untilCollected(op, 0)) };
}

export interface IdleSizes {
  before: Memory;
  idle: Memory;
  /** Whether an idle collection came between them. */
  collected: boolean;
}

/**
 * The size now (`before`), then (`idle`) after the operator's next idle collection, once it has
 * made `collections` (the same as `before` for an operator without them).
 */
async function untilCollected(op: OperatorProcess, collections: number): Promise<IdleSizes> {
  const before = await op.memory();
  const collected = await op.idleCollected(collections);
  return { before, collected, idle: collected ? await op.memory() : before };
}

/**
 * A start with the compile cache still empty, until idle; its graceful stop fills the cache. The
 * verifier key Secret it made is deleted, so that the measured start makes it as a first one does.
 */
async function coldStart({ env, args }: Context): Promise<ColdStart> {
  const op = await OperatorProcess.spawn(env, operatorEnv(args));
  try {
    const { wallMs, cpuMs, before, idle, collected } = await idleFigures(env, op);
    return { wallMs, cpuMs, before, idle, collected };
  } finally {
    await op.stop();
    await env.core.deleteNamespacedSecret({ namespace: OPERATOR_NAMESPACE, name: DEFAULT_VERIFIER_SECRET });
  }
}

export interface LatencyResult {
  /** Create request sent → the user's Ready=True reaches a watcher, per sample. */
  totals: number[];
  /** Of each: the operator's MemoryDB calls as its own client timed them. */
  awsMs: number[];
  awsCalls: number[];
}

/** Single creates one after another (users `from` … `from+count-1`), each on an idle operator. */
export async function latencyPhase(ctx: Context, op: OperatorProcess, from: number, count: number): Promise<LatencyResult> {
  const { env, ready } = ctx;
  const result: LatencyResult = { totals: [], awsMs: [], awsCalls: [] };
  for (let i = from; i < from + count; i++) {
    const before = (await op.settled(env, 0, { quietMs: 300, everyMs: 20 })).scrape;
    const t0 = performance.now();
    await env.createUser(i);
    await ready.until(() => ready.readyAt.has(userName(i)), `${userName(i)} is Ready`, 60_000);
    const total = ready.readyAt.get(userName(i))! - t0;
    const after = (await op.settled(env, before.reconciles + 1, { quietMs: 300, everyMs: 20 })).scrape;
    result.totals.push(total);
    result.awsMs.push(after.awsMs - before.awsMs);
    result.awsCalls.push(after.awsCalls - before.awsCalls);
  }
  return result;
}

export interface CreateResult {
  users: number;
  submitMs: number;
  /** First create request → the last user's Ready reaches a watcher. */
  readyMs: number;
  aws: Record<string, number>;
  kube: Record<string, number>;
  kubePeakPerSecond: number;
  /** The operator's CPU time from the first create until it settled. */
  cpuMs: number;
  errors: number;
  peakRss: number;
  /** 3 s after it settled (`before`), and after its idle collection (`idle`, the same without one). */
  settled: IdleSizes;
}

/** Create users `from` … `to-1` at once (16 requests at a time), until all are Ready. */
export async function createPhase(ctx: Context, op: OperatorProcess, from: number, to: number): Promise<CreateResult> {
  const { env, ready } = ctx;
  const before = (await op.settled(env, 0)).scrape;
  env.resetCounts();
  op.resetPeak();
  const cpu0 = op.cpuMs();
  const t0 = performance.now();
  let submitted = 0;
  const submitting = (async () => {
    await pool(to - from, CLIENT_PARALLELISM, (k) => env.createUser(from + k));
    submitted = performance.now();
  })();
  const names = Array.from({ length: to - from }, (_, k) => userName(from + k));
  await ready.until(() => names.every((n) => ready.readyAt.has(n)), `${to - from} users are Ready`, WAIT_TIMEOUT_MS);
  await submitting;
  const readyMs = Math.max(...names.map((n) => ready.readyAt.get(n)!)) - t0;
  const { scrape } = await op.settled(env, before.reconciles + (to - from), { everyMs: 200 });
  const result = {
    users: to - from,
    submitMs: submitted - t0,
    readyMs,
    aws: env.awsCalls(),
    kube: counts(env.requests),
    kubePeakPerSecond: env.requests.peakPerSecond(),
    cpuMs: op.cpuMs() - cpu0,
    errors: scrape.errors - before.errors,
    peakRss: op.peak(),
  };
  await sleep(3000);
  return { ...result, settled: await untilCollected(op, scrape.idleCollections ?? 0) };
}

export interface RotationResult {
  latencies: number[];
  aws: Record<string, number>;
  kube: Record<string, number>;
}

/** Password rotations one after another: Secret write → the new password held by MemoryDB. */
export async function rotationPhase(ctx: Context, op: OperatorProcess): Promise<RotationResult> {
  const { env, args } = ctx;
  await op.settled(env, 0);
  env.resetCounts();
  const latencies: number[] = [];
  for (let r = 0; r < args.rotations; r++) {
    const i = Math.floor((r * args.users) / args.rotations);
    const value = `rotated-password-${r}-${Date.now()}`;
    const t0 = performance.now();
    await env.rotate(i, value);
    for (;;) {
      if (env.regionOf(i).user(userName(i))?.passwords.includes(value)) break;
      if (performance.now() - t0 > 30_000) throw new Error(`rotation of ${userName(i)} not seen in MemoryDB after 30 s`);
      await sleep(2);
    }
    latencies.push(performance.now() - t0);
    await op.settled(env, 0, { quietMs: 300, everyMs: 20 });
  }
  return { latencies, aws: env.awsCalls(), kube: counts(env.requests) };
}

export interface InSyncResult {
  wallMs: number;
  aws: Record<string, number>;
  kube: Record<string, number>;
  cpuMs: number;
  reconciles: number;
  errors: number;
}

export interface RestartResult extends InSyncResult {
  op: OperatorProcess;
  stopMs: number;
  startupMs: number | undefined;
  settledAt: number;
  settled: Memory;
}

/**
 * Stop the operator (SIGTERM), start a new process, until it is idle having reconciled all `n`
 * users. Its RESYNC_PERIOD is `resyncAfterMs`, so that the resync phase can time its first resync.
 */
export async function restartPhase(ctx: Context, op: OperatorProcess, n: number): Promise<RestartResult> {
  const { env, args } = ctx;
  await op.settled(env, 0);
  const stopMs = await op.stop();
  await sleep(500); // the API server logs the old watches' ends after the client has let go of them
  env.resetCounts();
  const next = await OperatorProcess.spawn(env, operatorEnv(args, { RESYNC_PERIOD: `${Math.round(args.resyncAfterMs / 1000)}s` }));
  const { at, scrape } = await next.settled(env, n);
  const result = {
    op: next,
    stopMs,
    wallMs: at - next.startedAt,
    startupMs: next.loggedStartAt === undefined ? undefined : next.loggedStartAt - next.startedAt,
    settledAt: at,
    aws: env.awsCalls(),
    kube: counts(env.requests),
    cpuMs: next.cpuMs(),
    reconciles: scrape.reconciles,
    errors: scrape.errors,
  };
  return { ...result, settled: await next.memory() };
}

export interface ResyncResult extends InSyncResult {
  /** The resync's listing began after the restart had settled (else it overlapped the restart). */
  afterRestart: boolean;
  /** From the restarted process's spawn to the resync's first listing. */
  sinceStartMs: number;
}

/** The restarted operator's first periodic resync: its first listing → idle with every user reconciled again. */
export async function resyncPhase(ctx: Context, restart: RestartResult, n: number): Promise<ResyncResult> {
  const { env } = ctx;
  const op = restart.op;
  env.resetCounts();
  const cpu0 = op.cpuMs();
  const isListing = (c: { op: string; input: unknown }) =>
    c.op === "DescribeUsers" && (c.input as { UserName?: string }).UserName === undefined;
  const deadline = Date.now() + ctx.args.resyncAfterMs + 60_000;
  let listedAt: number | undefined;
  while (listedAt === undefined) {
    const first = env.awsLog().find(isListing);
    if (first) listedAt = performance.now() - (Date.now() - first.at);
    else if (Date.now() > deadline) throw new Error("no periodic resync came");
    else await sleep(5);
  }
  const { at, scrape } = await op.settled(env, restart.reconciles + n);
  return {
    afterRestart: listedAt > restart.settledAt,
    sinceStartMs: listedAt - op.startedAt,
    wallMs: at - listedAt,
    aws: env.awsCalls(),
    kube: counts(env.requests),
    cpuMs: op.cpuMs() - cpu0,
    reconciles: scrape.reconciles - restart.reconciles,
    errors: scrape.errors - restart.errors,
  };
}

export interface RateResult {
  users: number;
  perSecond: number;
  burst: number;
  /** First MemoryDB call → last accepted one. */
  windowMs: number;
  accepted: number;
  throttled: number;
  aws: Record<string, number>;
  kube: Record<string, number>;
  kubePeakPerSecond: number;
  readyMs: number;
}

/**
 * A fresh control plane, one region whose emulator has a token-bucket rate limit; the operator at
 * its production defaults (its Kubernetes request bound included); create `users` at once.
 */
export async function ratePhase(args: BenchArgs): Promise<RateResult> {
  const rate = args.rate!;
  const env = await BenchEnv.start({
    regions: 1,
    awsLatencyMs: args.awsLatencyMs,
    rateLimit: { perSecond: rate.perSecond, burst: rate.burst },
  });
  const ready = new ReadyWatch(env.kc);
  let op: OperatorProcess | undefined;
  try {
    await env.createSecrets(0, rate.users);
    op = await OperatorProcess.spawn(env, { MAX_CONCURRENT_RECONCILES: String(args.concurrency), RESYNC_PERIOD: "1h" });
    await op.settled(env, 0);
    await ready.start();
    // A full bucket at the start of the measurement.
    env.emulators[0]!.rateLimit = { perSecond: rate.perSecond, burst: rate.burst };
    env.resetCounts();
    const t0 = performance.now();
    await pool(rate.users, CLIENT_PARALLELISM, (i) => env.createUser(i));
    await ready.until(() => ready.count >= rate.users, `${rate.users} users are Ready`, WAIT_TIMEOUT_MS);
    const readyMs = Math.max(...ready.readyAt.values()) - t0;
    await op.settled(env, rate.users);
    const log = env.awsLog();
    const accepted = log.filter((c) => c.error !== "ThrottlingException");
    const first = Math.min(...log.map((c) => c.at));
    const last = Math.max(...accepted.map((c) => c.at));
    return {
      users: rate.users,
      perSecond: rate.perSecond,
      burst: rate.burst,
      windowMs: last - first,
      accepted: accepted.length,
      throttled: log.length - accepted.length,
      aws: env.awsCalls(),
      kube: counts(env.requests),
      kubePeakPerSecond: env.requests.peakPerSecond(),
      readyMs,
    };
  } finally {
    ready.stop();
    await op?.stop();
    await env.stop();
  }
}
