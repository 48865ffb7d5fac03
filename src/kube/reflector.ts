// List+watch of one resource type into a local cache, client-go style: list, then watch from
// the list's resourceVersion; resume a watch that ends from the last resourceVersion seen; list
// again on 410 Gone. Silence is normal (a real API server sends no bookmark in a quiet cluster),
// so a watch that ends quietly is resumed at once; only real errors back off. Handlers only see
// changes. (Longer than most modules: one state machine, kept in one place so that every
// transition between list, watch, resume and backoff can be read together.)
import type { KubeConfig, RequestContext } from "@kubernetes/client-node";
import type { Logger } from "../observability/log.ts";
import type { ListPage } from "./api.ts";
import { Backoff } from "./backoff.ts";
import type { CallOptions } from "./request.ts";
import { watch } from "./watch.ts";
import { WATCH_TIMINGS, type WatchTimings } from "./watch-timings.ts";

export interface KubeObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export interface ReflectorHandler<T> {
  /** An object appeared or changed; `old` is the cached version before the change. */
  upsert(obj: T, old: T | undefined): void;
  delete(obj: T): void;
}

export interface ReflectorOptions<T> {
  /** For logs, e.g. "memorydbusers". */
  name: string;
  list(continueToken: string | undefined, call: CallOptions): Promise<ListPage<T>>;
  /** API path to watch, e.g. /apis/g/v/memorydbusers. */
  watchPath: string;
  handler: ReflectorHandler<T>;
  logger: Logger;
  /** Accept header for the watch, e.g. metadata-only (PartialObjectMetadata). */
  accept?: string;
  /** Reduce each watched object to what is kept in the cache. */
  transform?: (obj: T) => T;
  /** Watch only objects with these labels (the list must ask for the same). */
  labelSelector?: string | undefined;
  /** Watch only objects matching these fields, e.g. metadata.name=x (the list must ask for the same). */
  fieldSelector?: string | undefined;
  timings?: WatchTimings;
}

export function objectKey(obj: KubeObject): string {
  const m = obj.metadata ?? {};
  return m.namespace ? `${m.namespace}/${m.name}` : `${m.name}`;
}

/** How one watch request ended. */
type WatchEnd =
  /** The server ended it (timeoutSeconds) or it was quiet for the idle timeout: resume. */
  | { kind: "ended"; why: string }
  /** 410 Gone: the resourceVersion is too old; list again. */
  | { kind: "expired" }
  | { kind: "failed"; error: unknown };

/** The same cluster and credentials, with a different Accept header on every request. */
function withAccept(kc: KubeConfig, accept: string): KubeConfig {
  return Object.create(kc, {
    applySecurityAuthentication: {
      value: async (ctx: RequestContext) => {
        await kc.applySecurityAuthentication(ctx);
        ctx.setHeaderParam("Accept", accept);
      },
    },
  }) as KubeConfig;
}

function message(err: unknown): string {
  return (err as Error)?.message ?? String(err);
}

export class Reflector<T extends KubeObject> {
  readonly cache = new Map<string, T>();
  readonly #kc: KubeConfig;
  readonly #options: ReflectorOptions<T> & { timings: WatchTimings };
  readonly #transform: (obj: T) => T;
  readonly #stop = new AbortController();
  #wake: (() => void) | undefined;
  #synced = false;
  readonly #syncedOnce: Promise<void>;
  #markSynced: () => void = () => undefined;
  #lastContact = performance.now();
  #running: Promise<void> | undefined;

  constructor(kc: KubeConfig, options: ReflectorOptions<T>) {
    this.#kc = options.accept ? withAccept(kc, options.accept) : kc;
    this.#transform = options.transform ?? ((obj) => obj);
    this.#options = { timings: WATCH_TIMINGS, ...options };
    this.#syncedOnce = new Promise((resolve) => (this.#markSynced = resolve));
  }

  /** Resolves once the first full list is in the cache. */
  get synced(): Promise<void> {
    return this.#syncedOnce;
  }

  /** True once the first full list is in the cache. */
  get hasSynced(): boolean {
    return this.#synced;
  }

  /**
   * When the API server last answered (monotonic ms): a list, a watch it accepted (200), an
   * event or a bookmark. A watch attempt that fails is not contact.
   */
  get lastContact(): number {
    return this.#lastContact;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    this.#wake?.();
    await this.#running;
  }

  get #stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  #contact(): void {
    this.#lastContact = performance.now();
  }

  async #run(): Promise<void> {
    const t = this.#options.timings;
    const errors = new Backoff({ minMs: t.minBackoffMs, maxMs: t.maxBackoffMs, resetAfterMs: t.backoffResetMs });
    const expiries = new Backoff({ minMs: t.minBackoffMs, maxMs: t.maxBackoffMs, resetAfterMs: t.backoffResetMs });
    const log = this.#options.logger;
    const resource = this.#options.name;
    while (!this.#stopped) {
      let rv: string;
      try {
        rv = await this.#relist();
      } catch (err) {
        if (this.#stopped) return;
        const delay = errors.fail();
        log.warn("list failed, retrying", { resource, error: message(err), retryInMs: delay });
        await this.#sleep(delay);
        continue;
      }
      // Watch from the last resourceVersion seen: a watch that ends is resumed from there, and
      // only an expired resourceVersion (410 Gone) costs a full list.
      for (;;) {
        if (this.#stopped) return;
        const end = await this.#watch(rv, (seen) => (rv = seen));
        if (this.#stopped) return;
        if (end.kind === "ended") {
          log.debug("watch ended, resuming", { resource, why: end.why, resourceVersion: rv });
          continue;
        }
        if (end.kind === "expired") {
          // The first expiry lists again at once; expiries that keep coming back off.
          const repeated = expiries.recentlyFailed;
          const delay = expiries.fail();
          log.info("watch expired (410 Gone), listing again", { resource, ...(repeated ? { retryInMs: delay } : {}) });
          if (repeated) await this.#sleep(delay);
          break;
        }
        const delay = errors.fail();
        log.warn("watch failed, retrying", { resource, error: message(end.error), retryInMs: delay });
        await this.#sleep(delay);
      }
    }
  }

  async #sleep(ms: number): Promise<void> {
    if (this.#stopped) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wake = undefined;
  }

  /** List everything, replace the cache, tell the handler what changed; returns the list RV. */
  async #relist(): Promise<string> {
    const seen = new Map<string, T>();
    let token: string | undefined;
    let rv = "";
    do {
      const page = await this.#options.list(token, { signal: this.#stop.signal });
      this.#contact();
      for (const item of page.items) seen.set(objectKey(item), this.#transform(item));
      token = page.continueToken;
      rv = page.resourceVersion;
    } while (token);
    for (const [key, old] of this.cache) {
      if (!seen.has(key)) {
        this.cache.delete(key);
        this.#options.handler.delete(old);
      }
    }
    for (const [key, obj] of seen) {
      const old = this.cache.get(key);
      this.cache.set(key, obj);
      if (old?.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.#options.handler.upsert(obj, old);
    }
    this.#synced = true;
    this.#markSynced();
    return rv;
  }

  /** One watch from `fromRv`; `onVersion` follows the resourceVersions seen (incl. bookmarks). */
  #watch(fromRv: string, onVersion: (rv: string) => void): Promise<WatchEnd> {
    const [minTimeout, maxTimeout] = this.#options.timings.serverTimeoutSeconds;
    let events = 0;
    let accepted = false;
    let inStream: WatchEnd | undefined;
    const started = performance.now();
    let finished = false;
    let abort: (() => void) | undefined;
    return new Promise((resolve) => {
      const end = (how: WatchEnd) => {
        finished = true;
        // A watch that stayed open until it ended (quietly or by the server's timeout) was contact.
        if (how.kind === "ended") this.#contact();
        if (abort) this.#stop.signal.removeEventListener("abort", abort);
        resolve(how);
      };
      const finish = (err: unknown) => {
        if (finished) return;
        if (inStream) return end(inStream);
        if ((err as { statusCode?: number } | null)?.statusCode === 410) return end({ kind: "expired" });
        if (err && (err as Error).name === "TimeoutError" && accepted) return end({ kind: "ended", why: "quiet for the idle timeout" });
        if (err) return end({ kind: "failed", error: err });
        // A watch the server accepts and closes at once without a word is a fault.
        if (events === 0 && performance.now() - started < 1000)
          return end({ kind: "failed", error: new Error("watch closed immediately") });
        end({ kind: "ended", why: "closed by the server" });
      };
      const watching = watch<T & { code?: number }>(this.#kc, {
        path: this.#options.watchPath,
        query: {
          resourceVersion: fromRv,
          allowWatchBookmarks: true,
          labelSelector: this.#options.labelSelector || undefined,
          fieldSelector: this.#options.fieldSelector || undefined,
          timeoutSeconds: minTimeout + Math.floor(Math.random() * (maxTimeout - minTimeout + 1)),
        },
        idleTimeoutMs: this.#options.timings.idleTimeoutMs,
        onEvent: (type, obj) => {
          accepted = true;
          this.#contact();
          events++;
          if (type === "ERROR") {
            inStream =
              obj.code === 410
                ? { kind: "expired" }
                : { kind: "failed", error: new Error(`watch error: ${JSON.stringify(obj).slice(0, 300)}`) };
            return;
          }
          if (obj.metadata?.resourceVersion) onVersion(obj.metadata.resourceVersion);
          if (type === "BOOKMARK") return;
          obj = this.#transform(obj);
          const key = objectKey(obj);
          const old = this.cache.get(key);
          if (type === "DELETED") {
            this.cache.delete(key);
            this.#options.handler.delete(obj);
          } else {
            this.cache.set(key, obj);
            this.#options.handler.upsert(obj, old);
          }
        },
        done: finish,
      });
      watching.then((request) => {
        // The server answered 200 unless the request already ended in an error. Not contact
        // yet: a server that cannot encode the events answers 200 and closes the stream.
        if (finished) return;
        accepted = true;
        abort = () => request.abort();
        if (this.#stopped) abort();
        else this.#stop.signal.addEventListener("abort", abort, { once: true });
      }, finish);
    });
  }
}
