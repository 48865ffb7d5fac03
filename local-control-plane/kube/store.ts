// Object storage with one etcd-like global revision counter and a per-resource event history
// (the watch cache) that watches replay from and that consistent paginated lists read snapshots from.
import { expired } from "./errors.ts";
import { clone } from "./patch.ts";
import type { JsonObject } from "./resources.ts";

export type EventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoreEvent {
  rv: number;
  type: EventType;
  key: string; // "<namespace>/<name>"
  object: JsonObject; // the new state (for DELETED: the last state, with the deletion's resourceVersion)
  prev?: JsonObject; // the state before (absent for ADDED)
}

interface Bucket {
  objects: Map<string, JsonObject>;
  history: StoreEvent[];
  /** every event with rv > historyStart is in history */
  historyStart: number;
  /** resourceVersion of the last event since the server started (0: none), like the cacher's lastProcessedResourceVersion */
  lastEventRv: number;
  listeners: Set<(e: StoreEvent) => void>;
}

export function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ""}/${name}`;
}

export class Store {
  private revision = 1;
  private expiredAt = 0;
  private readonly buckets = new Map<string, Bucket>();
  private readonly historySize: number;
  /** How many times a watcher's bookmark timer has fired (sent or not): lets tests wait for rounds, not sleep. */
  bookmarkRounds = 0;

  constructor(historySize: number) {
    this.historySize = historySize;
  }

  get currentRevision(): number {
    return this.revision;
  }

  private bucket(rk: string): Bucket {
    let b = this.buckets.get(rk);
    if (!b) {
      // A resource that never had objects has a complete (empty) history since the last expiry.
      b = { objects: new Map(), history: [], historyStart: this.expiredAt, lastEventRv: 0, listeners: new Set() };
      this.buckets.set(rk, b);
    }
    return b;
  }

  get(rk: string, key: string): JsonObject | undefined {
    return this.bucket(rk).objects.get(key);
  }

  /** Current objects sorted by key (etcd key order). */
  list(rk: string): Array<[string, JsonObject]> {
    return [...this.bucket(rk).objects.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /** The last event's resourceVersion of this resource since the server started (or its CRD was installed); 0 if none. */
  lastEventRevision(rk: string): number {
    return this.bucket(rk).lastEventRv;
  }

  historyStart(rk: string): number {
    return this.bucket(rk).historyStart;
  }

  /** Events with rv > after; throws 410 Expired when the history no longer covers them. */
  eventsSince(rk: string, after: number): StoreEvent[] {
    const b = this.bucket(rk);
    if (after < b.historyStart) throw expired(`too old resource version: ${after} (${b.historyStart})`);
    return b.history.filter((e) => e.rv > after);
  }

  /** The objects as they were at revision `at` (for continue tokens and resourceVersionMatch=Exact). */
  snapshot(rk: string, at: number): Array<[string, JsonObject]> | undefined {
    const b = this.bucket(rk);
    if (at < b.historyStart) return undefined;
    const m = new Map(b.objects);
    const newer = b.history.filter((e) => e.rv > at);
    for (let i = newer.length - 1; i >= 0; i--) {
      const e = newer[i]!;
      if (e.prev) m.set(e.key, e.prev);
      else m.delete(e.key);
    }
    return [...m.entries()].sort((a, c) => (a[0] < c[0] ? -1 : a[0] > c[0] ? 1 : 0));
  }

  /** Creates or replaces an object; stamps and returns it with a new resourceVersion. */
  put(rk: string, key: string, obj: JsonObject): JsonObject {
    const b = this.bucket(rk);
    const prev = b.objects.get(key);
    const rv = ++this.revision;
    const stored = clone(obj);
    stored.metadata = { ...(stored.metadata ?? {}), resourceVersion: String(rv) };
    b.objects.set(key, stored);
    this.record(b, { rv, type: prev ? "MODIFIED" : "ADDED", key, object: stored, ...(prev ? { prev } : {}) });
    return clone(stored);
  }

  /** Deletes an object; returns its last state with the deletion's resourceVersion. */
  remove(rk: string, key: string): JsonObject | undefined {
    const b = this.bucket(rk);
    const prev = b.objects.get(key);
    if (!prev) return undefined;
    b.objects.delete(key);
    const rv = ++this.revision;
    const last = clone(prev);
    last.metadata = { ...last.metadata, resourceVersion: String(rv) };
    this.record(b, { rv, type: "DELETED", key, object: last, prev });
    return clone(last);
  }

  /** Drops a whole resource (CRD deleted) after deleting its objects. */
  dropResource(rk: string): void {
    for (const [key] of this.list(rk)) this.remove(rk, key);
    // A re-created CRD gets a new cacher, which has processed no event yet.
    this.bucket(rk).lastEventRv = 0;
  }

  subscribe(rk: string, fn: (e: StoreEvent) => void): () => void {
    const b = this.bucket(rk);
    b.listeners.add(fn);
    return () => b.listeners.delete(fn);
  }

  /** Forgets all watch history: watches and snapshot reads from older revisions answer 410. */
  expireHistory(): void {
    this.expiredAt = this.revision;
    for (const b of this.buckets.values()) {
      b.history = [];
      b.historyStart = this.revision;
    }
  }

  private record(b: Bucket, e: StoreEvent): void {
    b.history.push(e);
    b.lastEventRv = e.rv;
    while (b.history.length > this.historySize) b.historyStart = b.history.shift()!.rv;
    for (const l of [...b.listeners]) l(e);
  }
}
