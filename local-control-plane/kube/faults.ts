// Fault injection for the fake API server.
import type { ServerResponse } from "node:http";
import { type ApiError, conflict, expired, internalError, serviceUnavailable, tooManyRequests, unknownError } from "./errors.ts";

/** Which requests a fault rule matches (every field that is given must match). */
export interface FaultMatch {
  status: 500 | 409 | 410 | 429 | 503;
  /** HTTP method to match (GET, POST, PUT, PATCH, DELETE); any when absent */
  method?: string;
  /** substring of the request path (without query) to match */
  pathIncludes?: string;
  /** true: only watch requests; false: only non-watch requests; absent: both */
  watch?: boolean;
  /** Retry-After seconds for 429 (default 1) */
  retryAfterSeconds?: number;
  /** authenticated user name to match (e.g. 'system:serviceaccount:ns:name'); any when absent */
  user?: string;
}

export interface FailNextOptions extends FaultMatch {
  /** let this many matching requests through first (default 0) */
  after?: number;
}

/** Options of failRate: which requests, and the error they answer. */
export type FailRateOptions = FaultMatch;

export interface WatchHandle {
  res: ServerResponse;
  stalled: boolean;
  close(): void;
}

export interface FaultRequest {
  method: string;
  path: string;
  watch: boolean;
  group: string;
  resource: string;
  name: string;
  user?: string;
}

export class FaultInjector {
  private readonly rules: Array<{ remaining: number; skip: number; opts: FailNextOptions }> = [];
  private readonly rateRules: Array<{ rate: number; opts: FailRateOptions }> = [];
  /**
   * Random source of failRate (0 <= x < 1), given the request drawn for; replace it with a seeded
   * one for reproducible runs (one that decides by the request rather than by arrival order
   * reproduces which request fails even when clients interleave differently).
   */
  random: (r: FaultRequest) => number = Math.random;
  private stalled = false;
  /** Events (bookmarks included) that stalled watches did not send: lets tests wait for one, not sleep. */
  withheldEvents = 0;
  /** @internal open watch streams, maintained by the watch module */
  readonly watches = new Set<WatchHandle>();
  /** @internal set by the server so that expireWatchHistory reaches the store */
  onExpire: () => void = () => {};

  /** Abruptly ends every open watch stream (socket destroyed, no terminating chunk). */
  dropWatches(): void {
    for (const w of [...this.watches]) {
      this.watches.delete(w);
      w.res.socket?.destroy();
      w.res.destroy();
    }
  }

  /**
   * While on, watch streams (open ones and new ones) stay connected but deliver nothing, bookmarks
   * included. A watch that was stalled stays stalled (events it missed are never sent), as a hung
   * connection would; turning it off only affects watches opened afterwards.
   */
  stallWatches(on: boolean): void {
    this.stalled = on;
    if (on) for (const w of this.watches) w.stalled = true;
  }

  get watchesStalled(): boolean {
    return this.stalled;
  }

  /** The next `count` matching requests answer the given error. */
  failNext(count: number, opts: FailNextOptions): void {
    this.rules.push({ remaining: count, skip: opts.after ?? 0, opts });
  }

  /**
   * From now on, each matching request fails with probability `rate` (0..1), drawn from `random`,
   * until the returned function is called or reset(). failNext rules are consulted first; rate
   * rules in the order they were added, the first that fires answers.
   */
  failRate(rate: number, opts: FailRateOptions): () => void {
    if (!(rate >= 0 && rate <= 1)) throw new Error(`failRate: rate must be within 0..1, got ${rate}`);
    const rule = { rate, opts };
    this.rateRules.push(rule);
    return () => {
      const i = this.rateRules.indexOf(rule);
      if (i >= 0) this.rateRules.splice(i, 1);
    };
  }

  /** Forgets the watch event history: the next watch (or snapshot list) from an older resourceVersion gets 410. */
  expireWatchHistory(): void {
    this.onExpire();
  }

  /** Number of open watch streams. */
  get openWatches(): number {
    return this.watches.size;
  }

  /** Clears pending failNext rules, failRate rules and the stall flag. */
  reset(): void {
    this.rules.length = 0;
    this.rateRules.length = 0;
    this.stalled = false;
  }

  /** @internal returns the error to answer for this request, if a rule matches. */
  match(r: FaultRequest): ApiError | undefined {
    for (const rule of this.rules) {
      const o = rule.opts;
      if (rule.remaining <= 0 || !matches(o, r)) continue;
      if (rule.skip > 0) {
        rule.skip--;
        continue;
      }
      rule.remaining--;
      return injectedError(o, r);
    }
    for (const rule of this.rateRules) {
      if (rule.rate > 0 && matches(rule.opts, r) && this.random(r) < rule.rate) return injectedError(rule.opts, r);
    }
    return undefined;
  }
}

function matches(o: FaultMatch, r: FaultRequest): boolean {
  if (o.method && o.method.toUpperCase() !== r.method) return false;
  if (o.pathIncludes && !r.path.includes(o.pathIncludes)) return false;
  if (o.watch !== undefined && o.watch !== r.watch) return false;
  if (o.user !== undefined && o.user !== r.user) return false;
  return true;
}

function injectedError(o: FaultMatch, r: FaultRequest): ApiError {
  const gr = { group: r.group, resource: r.resource };
  switch (o.status) {
    case 409:
      return conflict(gr, r.name);
    case 410:
      return expired("too old resource version: injected fault");
    case 429:
      return tooManyRequests("Too many requests, please try again later.", o.retryAfterSeconds ?? 1);
    case 503:
      return serviceUnavailable("the server is currently unable to handle the request (injected fault)");
    case 500:
      return internalError("injected fault");
    default:
      return unknownError(o.status, "injected fault");
  }
}
