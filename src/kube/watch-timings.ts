// How long watches last and how their failures back off: the production values, and the same
// scaled by one factor for tests (which run every side of a timing, never one alone, faster).

/** How long watches last and how failures back off. All of them scale together in tests. */
export interface WatchTimings {
  /**
   * A watch that receives nothing for this long is ended by the client (30 s, as client-node's
   * Watch) and resumed at once from the last resourceVersion: not a failure.
   */
  idleTimeoutMs: number;
  /** The server ends each watch after a random time in this range (client-go: 5–10 min). */
  serverTimeoutSeconds: readonly [number, number];
  /** Backoff after errors (kube-rs: 0.8 s doubling to 30 s, reset after 120 s without one). */
  minBackoffMs: number;
  maxBackoffMs: number;
  backoffResetMs: number;
}

export const WATCH_TIMINGS: WatchTimings = {
  idleTimeoutMs: 30_000,
  serverTimeoutSeconds: [300, 600],
  minBackoffMs: 800,
  maxBackoffMs: 30_000,
  backoffResetMs: 120_000,
};

/** Every timing multiplied by `factor` (tests run the production timings, faster). */
export function scaleWatchTimings(factor: number, t: WatchTimings = WATCH_TIMINGS): WatchTimings {
  const ms = (v: number) => Math.max(1, Math.round(v * factor));
  const s = (v: number) => Math.max(1, Math.round(v * factor));
  return {
    idleTimeoutMs: ms(t.idleTimeoutMs),
    serverTimeoutSeconds: [s(t.serverTimeoutSeconds[0]), s(t.serverTimeoutSeconds[1])],
    minBackoffMs: ms(t.minBackoffMs),
    maxBackoffMs: ms(t.maxBackoffMs),
    backoffResetMs: ms(t.backoffResetMs),
  };
}
