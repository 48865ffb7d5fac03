// Helpers of the benchmark: command line, timing, statistics, table printing, /proc readers.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

export interface BenchArgs {
  users: number;
  regions: number;
  concurrency: number;
  awsLatencyMs: number;
  rotations: number;
  /** Single creates timed one after another (figure 5), out of `users`. */
  latencySamples: number;
  /** When the restarted operator's periodic resync falls (its RESYNC_PERIOD), in ms. */
  resyncAfterMs: number;
  /** The rate-limited create phase (figure 4): users, and the emulator's token bucket. */
  rate: { users: number; perSecond: number; burst: number } | undefined;
}

/** MemoryDB's user quota per region. */
export const USERS_PER_REGION = 2000;

export const USAGE = `usage: npm run bench -- [--users N] [--regions R] [--concurrency C] [--aws-latency MS] [--rotations N]
                          [--latency-samples N] [--resync-after S] [--rate-users N] [--rate R] [--burst B] [--no-rate-phase]

  --users N            MemoryDBUsers to create and keep in sync, spread over the regions (default 1000;
                       at most ${USERS_PER_REGION} per region, MemoryDB's quota)
  --regions R          regions, each its own MemoryDB emulator (default 1)
  --concurrency C      MAX_CONCURRENT_RECONCILES (default 4, the operator's default)
  --aws-latency MS     latency every emulator adds to every call (default 20)
  --rotations N        password rotations timed one after another (default 20)
  --latency-samples N  single creates timed one after another before the bulk create (default 20)
  --resync-after S     the restarted operator's RESYNC_PERIOD in seconds: its first periodic resync is
                       timed (default 30; must be longer than the restart takes)
  --rate-users N       users created in the rate-limited phase, one region (default 1000)
  --rate R, --burst B  that emulator's token bucket (default 10 requests/s, burst 20)
  --no-rate-phase      skip the rate-limited phase`;

export function parseArgs(argv: string[]): BenchArgs {
  const args: BenchArgs = {
    users: 1000,
    regions: 1,
    concurrency: 4,
    awsLatencyMs: 20,
    rotations: 20,
    latencySamples: 20,
    resyncAfterMs: 30_000,
    rate: { users: 1000, perSecond: 10, burst: 20 },
  };
  let rate = args.rate!;
  let ratePhase = true;
  const num = (flag: string, v: string | undefined, min: number, integer = true): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min)
      throw new Error(`${flag} needs ${integer ? "an integer" : "a number"} >= ${min}, got ${v ?? "nothing"}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split("=", 2) as [string, string | undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case "--users":
        args.users = num(flag, value(), 1);
        break;
      case "--regions":
        args.regions = num(flag, value(), 1);
        break;
      case "--concurrency":
        args.concurrency = num(flag, value(), 1);
        break;
      case "--aws-latency":
        args.awsLatencyMs = num(flag, value(), 0);
        break;
      case "--rotations":
        args.rotations = num(flag, value(), 1);
        break;
      case "--latency-samples":
        args.latencySamples = num(flag, value(), 1);
        break;
      case "--resync-after":
        args.resyncAfterMs = num(flag, value(), 5) * 1000;
        break;
      case "--rate-users":
        rate = { ...rate, users: num(flag, value(), 1) };
        break;
      case "--rate":
        rate = { ...rate, perSecond: num(flag, value(), 0.1, false) };
        break;
      case "--burst":
        rate = { ...rate, burst: num(flag, value(), 1) };
        break;
      case "--no-rate-phase":
        ratePhase = false;
        break;
      case "-h":
      case "--help":
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
  }
  args.rate = ratePhase ? rate : undefined;
  if (Math.ceil(args.users / args.regions) > USERS_PER_REGION)
    throw new Error(
      `${args.users} users in ${args.regions} region(s) is more than MemoryDB's ${USERS_PER_REGION} per region: add --regions`,
    );
  if (args.rate && args.rate.users > USERS_PER_REGION) throw new Error(`--rate-users: at most ${USERS_PER_REGION} (one region)`);
  if (args.latencySamples >= args.users) throw new Error("--latency-samples must be smaller than --users");
  return args;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Nearest-rank percentile of `values` (0 < p <= 100). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const fmtMs = (ms: number) =>
  ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
export const fmtMiB = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

/** `{CreateUser: 3, DescribeUsers: 10}` → `CreateUser 3, DescribeUsers 10` (sorted, zeros left out). */
export function fmtCounts(counts: Record<string, number>): string {
  const parts = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${n}`);
  return parts.length > 0 ? parts.join(", ") : "none";
}

/** A two-column table (figure, value), with optional notes under each row. */
export class Table {
  readonly #rows: Array<{ section?: string; name?: string; value?: string; note?: string }> = [];

  section(title: string): void {
    this.#rows.push({ section: title });
  }

  row(name: string, value: string, note?: string): void {
    this.#rows.push({ name, value, ...(note ? { note } : {}) });
  }

  render(): string {
    const w = Math.max(...this.#rows.map((r) => r.name?.length ?? 0));
    const out: string[] = [];
    for (const r of this.#rows) {
      if (r.section !== undefined) {
        out.push("", r.section, "-".repeat(r.section.length));
        continue;
      }
      out.push(`  ${r.name!.padEnd(w)}  ${r.value}`);
      if (r.note) out.push(`  ${"".padEnd(w)}    ${r.note}`);
    }
    return out.join("\n");
  }
}

/** VmRSS and VmHWM (peak RSS) of a process, in bytes; undefined where /proc is missing. */
export function procMemory(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb("VmRSS"), peak: kb("VmHWM") };
  } catch {
    return undefined;
  }
}

/** Resets VmHWM (the peak) to the current resident size, so that a phase's peak can be read. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** How many file descriptors (sockets included) a process has open. */
export function openFds(pid: number): number | undefined {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

/** User + system CPU time a process has used so far, in ms (from /proc/<pid>/stat). */
export function procCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/** The CPU model, from /proc/cpuinfo where there is one. */
export function cpuModel(fallback: string | undefined): string {
  try {
    return /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? fallback ?? "unknown";
  } catch {
    return fallback ?? "unknown";
  }
}

/** Sum of a metric's samples (all label sets) in Prometheus text exposition; 0 when absent. */
export function promSum(text: string, metric: string): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(metric)) continue;
    const rest = line.slice(metric.length);
    if (rest[0] !== "{" && rest[0] !== " ") continue;
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}
