// Watch streams: newline-delimited JSON watch events over a chunked response, as the apiserver's
// watch cache (storage/cacher/cacher.go, v1.20) serves them, bookmarks included.
import type { ServerResponse } from "node:http";
import type { ApiError } from "./errors.ts";
import type { FaultInjector, WatchHandle } from "./faults.ts";
import type { JsonObject } from "./resources.ts";
import type { Matcher } from "./selectors.ts";
import type { Store, StoreEvent } from "./store.ts";

/** The apiserver's --min-request-timeout default: a watch without timeoutSeconds lasts 1800 s × (1 + rand). */
export const MIN_REQUEST_TIMEOUT_S = 1800;
/** cacheWatcher.nextBookmarkTime: a bookmark is also due this long before the watch's deadline. */
const PRE_TIMEOUT_MS = 2000;

export interface WatchParams {
  rk: string;
  namespace?: string;
  matches: Matcher;
  /** undefined: from now with synthetic ADDED events for current objects; else replay events after it */
  resourceVersion?: number;
  sendInitialEvents: boolean;
  allowBookmarks: boolean;
  timeoutSeconds?: number;
  /** the cacher's bookmarkFrequency (v1.20: one minute) */
  bookmarkIntervalMs: number;
  /** a BOOKMARK event's object with this resourceVersion, rendered for the client */
  bookmark: (rv: number, annotations?: Record<string, string>) => JsonObject;
  /** renders a stored object for the client (apiVersion, defaults, transformation) */
  present: (obj: JsonObject) => JsonObject;
  /** no event object can be encoded (as=PartialObjectMetadataList): the first one ends the stream unsent */
  unencodable: boolean;
  /** served from the watch cache (false for Events, whose watch cache v1.20 disables: no bookmarks) */
  cached: boolean;
}

export function startWatch(res: ServerResponse, store: Store, faults: FaultInjector, p: WatchParams, injected?: ApiError): void {
  res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-cache, private" });
  res.flushHeaders();
  const inScope = (o: JsonObject | undefined) => !!o && (p.namespace === undefined || o.metadata?.namespace === p.namespace);
  const matches = (o: JsonObject | undefined) => inScope(o) && p.matches(o!);
  const handle: WatchHandle = { res, stalled: faults.watchesStalled, close: () => finish() };
  let closed = false;
  const timers: NodeJS.Timeout[] = [];
  let unsubscribe: () => void = () => {};

  const write = (type: string, object: () => JsonObject) => {
    if (closed) return;
    if (handle.stalled) {
      faults.withheldEvents++;
      return;
    }
    // WatchServer.ServeHTTP: an event whose object cannot be encoded is logged and ends the stream.
    if (p.unencodable && type !== "ERROR") {
      finish();
      return;
    }
    res.write(`${JSON.stringify({ type, object: object() })}\n`);
  };
  function finish(): void {
    if (closed) return;
    closed = true;
    unsubscribe();
    for (const t of timers) clearTimeout(t);
    faults.watches.delete(handle);
    if (!res.destroyed) res.end();
  }
  res.on("close", () => {
    closed = true;
    unsubscribe();
    for (const t of timers) clearTimeout(t);
    faults.watches.delete(handle);
  });
  faults.watches.add(handle);

  const deliver = (e: StoreEvent) => {
    const now = matches(e.object),
      before = e.type === "MODIFIED" && matches(e.prev);
    if (e.type === "ADDED") {
      if (now) write("ADDED", () => p.present(e.object));
      return;
    }
    if (e.type === "DELETED") {
      if (matches(e.object)) write("DELETED", () => p.present(e.object));
      return;
    }
    if (now && before) write("MODIFIED", () => p.present(e.object));
    else if (now) write("ADDED", () => p.present(e.object));
    else if (before) write("DELETED", () => p.present(e.object));
  };

  if (injected) {
    write("ERROR", () => injected.status as unknown as JsonObject);
    finish();
    return;
  }

  // The watch's starting resourceVersion in the cacher (Cacher.Watch): the requested one, moved to the
  // last replayed event; from 0 the watch cache's own resourceVersion when it holds any object at
  // all (GetAllEventsSinceThreadUnsafe returns every object, in every namespace, as an init event).
  let startRv = p.resourceVersion ?? 0;
  let replay: StoreEvent[] = [];
  if (p.resourceVersion === undefined) {
    const all = store.list(p.rk);
    if (all.length) startRv = store.lastEventRevision(p.rk) || store.currentRevision;
    for (const [, obj] of all) if (matches(obj)) write("ADDED", () => p.present(obj));
    if (p.sendInitialEvents && p.allowBookmarks) {
      write("BOOKMARK", () => p.bookmark(store.currentRevision, { "k8s.io/initial-events-end": "true" }));
    }
  } else {
    try {
      replay = store.eventsSince(p.rk, p.resourceVersion);
    } catch (e) {
      write("ERROR", () => (e as ApiError).status as unknown as JsonObject);
      finish();
      return;
    }
    if (replay.length) startRv = replay[replay.length - 1]!.rv;
  }
  for (const e of replay) deliver(e);
  if (closed) return;
  unsubscribe = store.subscribe(p.rk, deliver);

  const timeoutMs = p.timeoutSeconds !== undefined ? p.timeoutSeconds * 1000 : MIN_REQUEST_TIMEOUT_S * 1000 * (1 + Math.random());
  const deadline = Date.now() + timeoutMs;
  if (p.allowBookmarks && p.cached) {
    // cacheWatcher.nextBookmarkTime: every bookmarkFrequency, or 2 s before the deadline if sooner; none
    // when that is already past. dispatchEvents sends a bookmark carrying the last resourceVersion the
    // cacher processed (none while it processed no event since it started, and then the watcher is
    // dropped from the bookmark queue for good); cacheWatcher.process drops it unless it is newer than
    // the watch's starting resourceVersion.
    const nextAt = (now: number): number | undefined => {
      const at = Math.min(now + p.bookmarkIntervalMs, deadline - PRE_TIMEOUT_MS);
      return at <= now ? undefined : at;
    };
    const schedule = (at: number | undefined) => {
      if (at !== undefined) timers.push(setTimeout(fire, at - Date.now()));
    };
    const fire = () => {
      store.bookmarkRounds++;
      const last = store.lastEventRevision(p.rk);
      if (last === 0) return;
      if (last > startRv) write("BOOKMARK", () => p.bookmark(last));
      schedule(nextAt(Date.now()));
    };
    schedule(nextAt(Date.now()));
  }
  timers.push(setTimeout(finish, timeoutMs));
}
