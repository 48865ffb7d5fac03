// Helpers of the benchmark: command line, timing, statistics, table printing, /proc readers.
import { readdirSync, readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

export interface BenchArgs {
  users: number;
  concurrency: number[];
  awsLatencyMs: number;
  rotations: number;
  child: boolean;
}

export const USAGE = `usage: npm run bench -- [--users N] [--concurrency a,b] [--aws-latency MS] [--rotations N] [--no-child]

  --users N          MemoryDBUsers to create and keep in sync (default 1000)
  --concurrency a,b  MAX_CONCURRENT_RECONCILES values for the create phase (default 4,16);
                     the steady-state phases run with the first value
  --aws-latency MS   latency the MemoryDB emulator adds to every call (default 20)
  --rotations N      password rotations timed one after another (default 20)
  --no-child         skip the measurement of \`node src/main.ts\` as its own process`;

export function parseArgs(argv: string[]): BenchArgs {
  const args: BenchArgs = { users: 1000, concurrency: [4, 16], awsLatencyMs: 20, rotations: 20, child: true };
  const int = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < min) throw new Error(`${flag} needs an integer >= ${min}, got ${v ?? "nothing"}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split("=", 2) as [string, string | undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case "--users":
        args.users = int(flag, value(), 1);
        break;
      case "--concurrency": {
        const v = value();
        args.concurrency = (v ?? "").split(",").map((s) => int(flag, s.trim(), 1));
        break;
      }
      case "--aws-latency":
        args.awsLatencyMs = int(flag, value(), 0);
        break;
      case "--rotations":
        args.rotations = int(flag, value(), 1);
        break;
      case "--no-child":
        args.child = false;
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

/** Process CPU time (user + system) spent since `since`, in ms. */
export function cpuMsSince(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

/** `global.gc`, enabled at run time (the bench runs as plain `node bench/run.ts`). */
export function gc(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
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
