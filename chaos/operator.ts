// The operator as its own process (`node src/main.ts`), as a kubelet would run it: started,
// SIGKILLed at the driver's moments, restarted after a pause, and restarted too if it ever exits
// on its own (which counts as a crash). Every line it writes goes to one log file per run of it;
// lines with a crash signature are kept aside.
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CRASH_PATTERN, promValue } from "./lib.ts";

export const MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("..", import.meta.url));

export interface Incarnation {
  n: number;
  pid: number | undefined;
  startedAt: number;
  exitedAt?: number;
  code?: number | null;
  signal?: NodeJS.Signals | null;
  /** The signal the driver sent, when the exit was its doing. */
  sent?: NodeJS.Signals;
  logFile: string;
  /** Highest memorydb_operator_password_updates_total{why="uncertain"} scraped from it. */
  uncertain: number;
}

export interface UnexpectedExit {
  n: number;
  code: number | null | undefined;
  signal: NodeJS.Signals | null | undefined;
}

export class OperatorProcess {
  readonly incarnations: Incarnation[] = [];
  readonly unexpectedExits: UnexpectedExit[] = [];
  /** Log lines with a crash signature: `<log file>: <line>`. */
  readonly crashLines: string[] = [];
  readonly #env: Record<string, string>;
  readonly #logDir: string;
  readonly #metricsPort: number;
  #child: ChildProcess | undefined;
  #current: Incarnation | undefined;
  #exited: Promise<void> = Promise.resolve();
  #log: WriteStream | undefined;
  #scraper: NodeJS.Timeout | undefined;
  #stopping = false;

  constructor(env: Record<string, string>, logDir: string, metricsPort: number) {
    this.#env = env;
    this.#logDir = logDir;
    this.#metricsPort = metricsPort;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  get logFiles(): string[] {
    return this.incarnations.map((i) => i.logFile);
  }

  /** Sum over every run of the highest `uncertain` count scraped (increments just before a kill may be missed). */
  get uncertainScraped(): number {
    return this.incarnations.reduce((sum, i) => sum + i.uncertain, 0);
  }

  start(): void {
    if (this.#child) throw new Error("the operator is already running");
    const n = this.incarnations.length + 1;
    const logFile = join(this.#logDir, `operator-${n}.log`);
    const inc: Incarnation = { n, pid: undefined, startedAt: Date.now(), logFile, uncertain: 0 };
    this.incarnations.push(inc);
    const log = createWriteStream(logFile);
    const child = spawn(process.execPath, [MAIN], { cwd: ROOT, env: this.#env, stdio: ["ignore", "pipe", "pipe"] });
    inc.pid = child.pid;
    this.#child = child;
    this.#current = inc;
    this.#log = log;
    for (const [stream, name] of [
      [child.stdout!, "stdout"],
      [child.stderr!, "stderr"],
    ] as const) {
      let partial = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        const lines = (partial + chunk).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) this.#line(inc, log, name, line);
      });
      stream.on("end", () => {
        if (partial) this.#line(inc, log, name, partial);
        partial = "";
      });
    }
    this.#exited = new Promise<void>((resolve) => {
      child.once("exit", (code, signal) => {
        inc.exitedAt = Date.now();
        inc.code = code;
        inc.signal = signal;
        if (this.#child === child) this.#child = undefined;
        // Let the pipes drain before the file closes.
        setTimeout(() => log.end(() => resolve()), 50);
        const expected = (inc.sent === "SIGKILL" && signal === "SIGKILL") || (inc.sent === "SIGTERM" && code === 0);
        if (!expected) {
          this.unexpectedExits.push({ n, code, signal });
          // As a kubelet would: start it again (unless the driver is stopping it).
          if (!this.#stopping && inc.sent === undefined) setTimeout(() => this.#child ?? this.start(), 500);
        }
      });
    });
    this.#scraper ??= setInterval(() => void this.scrape(), 1000);
  }

  #line(inc: Incarnation, log: WriteStream, stream: string, line: string): void {
    log.write(`${stream === "stderr" ? "[stderr] " : ""}${line}\n`);
    if (CRASH_PATTERN.test(line)) this.crashLines.push(`operator-${inc.n}.log: ${line.slice(0, 2000)}`);
  }

  /** Reads /metrics of the running process, keeping its `uncertain` count. */
  async scrape(): Promise<string | undefined> {
    const inc = this.#current;
    if (!inc || !this.#child) return undefined;
    try {
      const res = await fetch(`http://127.0.0.1:${this.#metricsPort}/metrics`, { signal: AbortSignal.timeout(1000) });
      const text = await res.text();
      inc.uncertain = Math.max(inc.uncertain, promValue(text, "memorydb_operator_password_updates_total", 'why="uncertain"'));
      return text;
    } catch {
      return undefined; // not listening yet, or just killed
    }
  }

  /** SIGKILL, as the OOM killer or a node failure would; resolves when it is gone. */
  async kill(): Promise<number> {
    const child = this.#child;
    if (!child || !this.#current) throw new Error("the operator is not running");
    await this.scrape();
    const at = Date.now();
    this.#current.sent = "SIGKILL";
    child.kill("SIGKILL");
    await this.#exited;
    return at;
  }

  /** SIGTERM, and waits for the exit (at most `ms`, then SIGKILL). Answers the exit code and signal. */
  async stop(ms: number): Promise<{ code: number | null | undefined; signal: NodeJS.Signals | null | undefined; ms: number }> {
    this.#stopping = true;
    if (this.#scraper) clearInterval(this.#scraper);
    this.#scraper = undefined;
    const child = this.#child;
    const inc = this.#current;
    if (!child || !inc) return { code: undefined, signal: undefined, ms: 0 };
    await this.scrape();
    const t0 = Date.now();
    inc.sent = "SIGTERM";
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), ms);
    await this.#exited;
    clearTimeout(timer);
    return { code: inc.code, signal: inc.signal, ms: Date.now() - t0 };
  }

  /** Last resort on the way out: nothing of ours keeps running. */
  abort(): void {
    this.#stopping = true;
    if (this.#scraper) clearInterval(this.#scraper);
    this.#child?.kill("SIGKILL");
    this.#log?.end();
  }
}
