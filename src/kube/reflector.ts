// List+watch of one resource type into a local cache, client-go style: list, then watch from
// the list's resourceVersion; re-list on 410 Gone; restart a watch that errors or goes quiet
// for too long, with exponential backoff and jitter. Handlers only see changes.
import { type KubeConfig, type RequestContext, Watch } from "@kubernetes/client-node";
import type { Logger } from "../log.ts";
import type { ListPage } from "./api.ts";

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
  list(continueToken: string | undefined): Promise<ListPage<T>>;
  /** API path to watch, e.g. /apis/g/v/memorydbusers. */
  watchPath: string;
  handler: ReflectorHandler<T>;
  logger: Logger;
  /** Accept header for the watch, e.g. metadata-only (PartialObjectMetadata). */
  accept?: string;
  /** Reduce each watched object to what is kept in the cache. */
  transform?: (obj: T) => T;
  /** Restart a watch that delivers nothing (not even a bookmark) for this long. */
  stallTimeoutMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export function objectKey(obj: KubeObject): string {
  const m = obj.metadata ?? {};
  return m.namespace ? `${m.namespace}/${m.name}` : `${m.name}`;
}

class Expired extends Error {}

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

/** Delay for attempt `n` (0-based): exponential, capped, with ±50% jitter. */
export function backoffDelay(n: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, minMs * 2 ** n);
  return Math.round(base * (0.5 + random()));
}

export class Reflector<T extends KubeObject> {
  readonly cache = new Map<string, T>();
  readonly #kc: KubeConfig;
  readonly #o: Required<Omit<ReflectorOptions<T>, "accept" | "transform">>;
  readonly #transform: (obj: T) => T;
  #stopped = false;
  #abort: AbortController | undefined;
  #wake: (() => void) | undefined;
  #synced = false;
  #lastActivity = Date.now();
  #running: Promise<void> | undefined;

  constructor(kc: KubeConfig, options: ReflectorOptions<T>) {
    this.#kc = options.accept ? withAccept(kc, options.accept) : kc;
    this.#transform = options.transform ?? ((obj) => obj);
    this.#o = { stallTimeoutMs: 90_000, minBackoffMs: 500, maxBackoffMs: 30_000, ...options };
  }

  /** True once the first full list is in the cache. */
  get hasSynced(): boolean {
    return this.#synced;
  }

  /** When the reflector last heard from the API server (list, event or bookmark). */
  get lastActivity(): number {
    return this.#lastActivity;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort?.abort();
    this.#wake?.();
    await this.#running;
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      let rv: string;
      try {
        rv = await this.#relist();
        failures = 0;
      } catch (err) {
        if (this.#stopped) return;
        await this.#backoff(failures++, "list", err);
        continue;
      }
      // Watch from the last resourceVersion seen; a broken watch is resumed from there, and only
      // an expired resourceVersion (410 Gone) costs a full list.
      for (;;) {
        if (this.#stopped) return;
        const started = Date.now();
        try {
          const result = await this.#watch(rv, (seen) => (rv = seen));
          // A watch the server closes at once without a word is a fault, not a timeout.
          if (result.events === 0 && Date.now() - started < 1000) throw new Error("watch closed immediately");
          failures = 0;
        } catch (err) {
          if (this.#stopped) return;
          if (err instanceof Expired) {
            this.#o.logger.info("watch expired (410 Gone), listing again", { resource: this.#o.name });
            break;
          }
          await this.#backoff(failures++, "watch", err);
        }
      }
    }
  }

  async #backoff(attempt: number, what: string, err: unknown): Promise<void> {
    const delay = backoffDelay(attempt, this.#o.minBackoffMs, this.#o.maxBackoffMs);
    this.#o.logger.warn(`${what} failed, retrying`, { resource: this.#o.name, error: (err as Error)?.message ?? String(err), retryInMs: delay });
    await this.#sleep(delay);
  }

  async #sleep(ms: number): Promise<void> {
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
      const page = await this.#o.list(token);
      for (const item of page.items) seen.set(objectKey(item), this.#transform(item));
      token = page.continueToken;
      rv = page.resourceVersion;
    } while (token);
    this.#lastActivity = Date.now();
    for (const [key, old] of this.cache) {
      if (!seen.has(key)) {
        this.cache.delete(key);
        this.#o.handler.delete(old);
      }
    }
    for (const [key, obj] of seen) {
      const old = this.cache.get(key);
      this.cache.set(key, obj);
      if (old?.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.#o.handler.upsert(obj, old);
    }
    this.#synced = true;
    return rv;
  }

  /** One watch from `fromRv`; `onVersion` follows the resourceVersions seen (incl. bookmarks). */
  #watch(fromRv: string, onVersion: (rv: string) => void): Promise<{ events: number }> {
    let events = 0;
    let expired = false;
    let failure: unknown;
    return new Promise((resolve, reject) => {
      let stall: NodeJS.Timeout | undefined;
      const controller = new AbortController();
      this.#abort = controller;
      const touch = () => {
        this.#lastActivity = Date.now();
        clearTimeout(stall);
        stall = setTimeout(() => {
          failure = new Error(`watch stalled: nothing for ${this.#o.stallTimeoutMs} ms`);
          controller.abort();
          void watching.then((c) => c.abort());
        }, this.#o.stallTimeoutMs);
        stall.unref();
      };
      touch();
      const finish = (err: unknown) => {
        clearTimeout(stall);
        if (expired || (err as { statusCode?: number } | null)?.statusCode === 410) reject(new Expired());
        else if (failure || (err && !this.#stopped)) reject(failure ?? err);
        else resolve({ events });
      };
      const watching = new Watch(this.#kc).watch(
        this.#o.watchPath,
        { resourceVersion: fromRv, allowWatchBookmarks: true, timeoutSeconds: 300 + Math.floor(Math.random() * 300) },
        (type: string, obj: T & { code?: number }) => {
          touch();
          events++;
          if (type === "ERROR") {
            if (obj.code === 410) expired = true;
            else failure = new Error(`watch error: ${JSON.stringify(obj).slice(0, 300)}`);
            return;
          }
          if (obj.metadata?.resourceVersion) onVersion(obj.metadata.resourceVersion);
          if (type === "BOOKMARK") return;
          obj = this.#transform(obj);
          const key = objectKey(obj);
          const old = this.cache.get(key);
          if (type === "DELETED") {
            this.cache.delete(key);
            this.#o.handler.delete(obj);
          } else {
            this.cache.set(key, obj);
            this.#o.handler.upsert(obj, old);
          }
        },
        finish,
      );
      // The server accepted the watch: that is contact, even if nothing changes for a while.
      void watching.then(touch, () => undefined);
      // Stop also aborts a watch still connecting.
      controller.signal.addEventListener("abort", () => void watching.then((c) => c.abort()));
      watching.catch(finish);
    });
  }
}
