// Watch streams: newline-delimited JSON watch events over a chunked response, as the apiserver's
// watch cache serves them.
import type { ServerResponse } from 'node:http';
import type { ApiError } from './errors.ts';
import type { FaultInjector, WatchHandle } from './faults.ts';
import type { Matcher } from './selectors.ts';
import type { Store, StoreEvent } from './store.ts';
import type { JsonObject } from './resources.ts';

export interface WatchParams {
  rk: string;
  namespace?: string;
  matches: Matcher;
  /** undefined: from now with synthetic ADDED events for current objects; else replay events after it */
  resourceVersion?: number;
  sendInitialEvents: boolean;
  allowBookmarks: boolean;
  timeoutSeconds?: number;
  bookmarkIntervalMs: number;
  kind: string;
  apiVersion: string;
  /** renders a stored object for the client (apiVersion, defaults) */
  present: (obj: JsonObject) => JsonObject;
}

export function startWatch(res: ServerResponse, store: Store, faults: FaultInjector, p: WatchParams, injected?: ApiError): void {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
  res.flushHeaders();
  const inScope = (o: JsonObject | undefined) => !!o && (p.namespace === undefined || o.metadata?.namespace === p.namespace);
  const matches = (o: JsonObject | undefined) => inScope(o) && p.matches(o!);
  const handle: WatchHandle = { res, stalled: faults.watchesStalled, close: () => finish() };
  let closed = false;
  const timers: NodeJS.Timeout[] = [];
  let unsubscribe: () => void = () => {};

  const write = (type: string, object: JsonObject) => {
    if (closed || handle.stalled) return;
    res.write(JSON.stringify({ type, object }) + '\n');
  };
  function finish(): void {
    if (closed) return;
    closed = true;
    unsubscribe();
    for (const t of timers) clearTimeout(t);
    faults.watches.delete(handle);
    if (!res.destroyed) res.end();
  }
  res.on('close', () => { closed = true; unsubscribe(); for (const t of timers) clearTimeout(t); faults.watches.delete(handle); });
  faults.watches.add(handle);

  const deliver = (e: StoreEvent) => {
    const now = matches(e.object), before = e.type === 'MODIFIED' && matches(e.prev);
    if (e.type === 'ADDED') { if (now) write('ADDED', p.present(e.object)); return; }
    if (e.type === 'DELETED') { if (matches(e.object)) write('DELETED', p.present(e.object)); return; }
    if (now && before) write('MODIFIED', p.present(e.object));
    else if (now) write('ADDED', p.present(e.object));
    else if (before) write('DELETED', p.present(e.object));
  };

  if (injected) {
    write('ERROR', injected.status as unknown as JsonObject);
    finish();
    return;
  }

  let replay: StoreEvent[] = [];
  if (p.resourceVersion === undefined) {
    for (const [, obj] of store.list(p.rk)) if (matches(obj)) write('ADDED', p.present(obj));
    if (p.sendInitialEvents && p.allowBookmarks) {
      write('BOOKMARK', { kind: p.kind, apiVersion: p.apiVersion,
        metadata: { resourceVersion: String(store.currentRevision), annotations: { 'k8s.io/initial-events-end': 'true' } } });
    }
  } else {
    try {
      replay = store.eventsSince(p.rk, p.resourceVersion);
    } catch (e) {
      write('ERROR', (e as ApiError).status as unknown as JsonObject);
      finish();
      return;
    }
  }
  for (const e of replay) deliver(e);
  unsubscribe = store.subscribe(p.rk, deliver);

  if (p.allowBookmarks) {
    const tick = () => {
      write('BOOKMARK', { kind: p.kind, apiVersion: p.apiVersion, metadata: { resourceVersion: String(store.currentRevision) } });
      timers[0] = setTimeout(tick, p.bookmarkIntervalMs);
    };
    timers[0] = setTimeout(tick, p.bookmarkIntervalMs);
  }
  if (p.timeoutSeconds !== undefined) timers.push(setTimeout(finish, p.timeoutSeconds * 1000));
}
