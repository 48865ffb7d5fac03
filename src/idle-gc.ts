// Gives the memory of a burst of work back to the system once the operator is idle: one
// memory-reducing full garbage collection, a few seconds after the work ends.
//
// Why the operator does what V8's memory reducer is meant to: after start-up (or a mass change)
// V8 keeps its young generation at the largest size it grew to, 16 MiB of it resident under the
// image's --max-semi-space-size=8, plus old-space pages it no longer needs. Its memory reducer,
// which would shrink both, judged the allocation rate "high" at every check of an idle operator
// (--trace-memory-reducer) and never ran, so ~20 MiB of an idle pod stayed resident for good.
// docs/performance.md (change 10) has the figures.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Logger } from "./observability/log.ts";

export interface IdleGcTimings {
  /** How long the operator must have been idle, after work, before collecting. */
  idleDelayMs: number;
  /**
   * The most of a core collections may take: after one that cost d ms of CPU, the next starts no
   * sooner than d / share ms after it started (a trickle of changes, each followed by an idle
   * spell, must not cost one each).
   */
  maxShare: number;
  /** How often idleness is looked at. */
  checkEveryMs: number;
}

export const IDLE_GC: IdleGcTimings = { idleDelayMs: 5000, maxShare: 0.01, checkEveryMs: 1000 };

/**
 * When to collect, from what each check sees: after work (start-up, or a reconcile since the last
 * collection), once idle for `idleDelayMs`, and no sooner after the last collection than its cost
 * allows (`maxShare`).
 */
export class IdleGcSchedule {
  readonly #timings: IdleGcTimings;
  #worked = true;
  #reconciles = 0;
  #idleSince: number | undefined;
  #notBefore = Number.NEGATIVE_INFINITY;

  constructor(timings: IdleGcTimings) {
    this.#timings = timings;
  }

  /** At `now` (monotonic ms), idle or not, `reconciles` started so far: collect now? */
  due(now: number, idle: boolean, reconciles: number): boolean {
    const worked = !idle || reconciles !== this.#reconciles;
    this.#reconciles = reconciles;
    if (worked) {
      this.#worked = true;
      // Work that began and ended since the last check ended by now.
      this.#idleSince = idle ? now : undefined;
      return false;
    }
    this.#idleSince ??= now;
    return this.#worked && now - this.#idleSince >= this.#timings.idleDelayMs && now >= this.#notBefore;
  }

  /** A collection that started at `startedAt` cost `cpuMs`. */
  collected(startedAt: number, cpuMs: number): void {
    this.#worked = false;
    this.#notBefore = startedAt + cpuMs / this.#timings.maxShare;
  }
}

/** What the operator is doing: the service (service.ts) answers. */
export interface Activity {
  readonly idle: boolean;
  readonly reconciles: number;
}

/** Collect once idle after work (see IdleGcSchedule), until stopped. Tests give their own `collect` and timings. */
export function collectWhenIdle(
  activity: Activity,
  logger: Logger,
  onCollected: () => void = () => undefined,
  { timings = IDLE_GC, collect = collectAllGarbage }: { timings?: IdleGcTimings; collect?: () => boolean } = {},
): { stop(): void } {
  const schedule = new IdleGcSchedule(timings);
  const timer = setInterval(() => {
    const t0 = performance.now();
    if (!schedule.due(t0, activity.idle, activity.reconciles)) return;
    const rssBefore = process.memoryUsage.rss();
    const cpu0 = process.cpuUsage();
    try {
      if (!collect()) throw new Error("V8 gives no gc function");
    } catch (err) {
      // Never a crash, nor a retry every second: memory is left to V8 from now on.
      logger.warn("idle collections are not available: memory is left to V8", { error: (err as Error).message });
      clearInterval(timer);
      return;
    }
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    schedule.collected(t0, cpuMs);
    logger.debug("idle: returned memory to the system", {
      ms: Math.round(performance.now() - t0),
      cpuMs: Math.round(cpuMs),
      rssMiB: { before: mib(rssBefore), after: mib(process.memoryUsage.rss()) },
    });
    onCollected();
  }, timings.checkEveryMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

let gc: NodeJS.GCFunction | undefined;

/**
 * V8's "last resort" collection: full GCs that reduce the heap's footprint (the young generation
 * shrunk, pooled pages released), as under memory pressure. The `gc` function is V8's: the
 * global one if the process was started with --expose-gc, else one taken from a context made
 * while that flag was set, so the operator's own globals never have it. False if V8 gives none.
 */
function collectAllGarbage(): boolean {
  if (!gc && typeof globalThis.gc === "function") gc = globalThis.gc;
  if (!gc) {
    setFlagsFromString("--expose-gc");
    try {
      gc = runInNewContext("typeof gc === 'function' ? gc : undefined") as NodeJS.GCFunction | undefined;
    } finally {
      setFlagsFromString("--no-expose-gc");
    }
    if (!gc) return false;
  }
  gc({ type: "major", execution: "sync", flavor: "last-resort" });
  return true;
}
