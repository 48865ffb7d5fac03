// Kubernetes Events on MemoryDBUsers. Recording never blocks or fails a reconcile: Events are
// queued and sent in the background, as client-go's broadcaster does; a send the API server
// throttles or fails (429, 5xx, no answer) is retried with backoff, honouring Retry-After, a
// bounded number of times; what is finally dropped is counted. Repeats of the same Event are
// suppressed for a while, so a resource that keeps failing the same way does not flood the
// namespace.

import type { Logger } from "../observability/log.ts";
import type { EventInput, KubeApi } from "./api.ts";
import { transientStatus } from "./backoff.ts";
import { type CallOptions, httpStatus, KubeError } from "./request.ts";

export type EventSink = Pick<KubeApi, "createEvent">;

/** Why an Event was not delivered. */
export type DropReason = "rejected" | "retries_exhausted" | "queue_full";

export interface EventRecorderOptions {
  /** Identical Events within this window are sent once (default 10 minutes). */
  windowMs?: number;
  /** Send attempts per Event (default 5). */
  attempts?: number;
  /** First retry delay, doubling (default 1 s); Retry-After wins when the server gives one. */
  retryDelayMs?: number;
  /** Events waiting beyond this many are dropped, oldest first (default 1000). */
  maxQueued?: number;
  onDropped?: (reason: DropReason) => void;
  /** Milliseconds for the repeat window; default Date.now (tests move it themselves). */
  now?: () => number;
}

interface Queued {
  event: EventInput;
  call: CallOptions | undefined;
}

export class EventRecorder {
  readonly #sink: EventSink;
  readonly #logger: Logger;
  readonly #options: Required<Omit<EventRecorderOptions, "onDropped">> & Pick<EventRecorderOptions, "onDropped">;
  /** Last time each (object, type, reason, note) was emitted. */
  readonly #recent = new Map<string, number>();
  readonly #queue: Queued[] = [];
  #sending: Promise<void> | undefined;

  constructor(sink: EventSink, logger: Logger, options: EventRecorderOptions = {}) {
    this.#sink = sink;
    this.#logger = logger;
    this.#options = { windowMs: 10 * 60_000, attempts: 5, retryDelayMs: 1000, maxQueued: 1000, now: Date.now, ...options };
  }

  /** Queue the Event unless an identical one was recorded within the window. Never throws, never waits on the API server. */
  record(event: EventInput, call?: CallOptions): void {
    const m = event.regarding.metadata;
    const id = `${m.uid ?? `${m.namespace}/${m.name}`}|${event.type}|${event.reason}|${event.note}`;
    const now = this.#options.now();
    const last = this.#recent.get(id);
    if (last !== undefined && now - last < this.#options.windowMs) return;
    this.#recent.set(id, now);
    if (this.#recent.size > 10_000) this.#prune(now);
    if (this.#queue.length >= this.#options.maxQueued) {
      const dropped = this.#queue.shift()!;
      this.#dropped(dropped.event, "queue_full", "too many Events waiting");
    }
    this.#queue.push({ event, call });
    this.#sending ??= this.#send().finally(() => (this.#sending = undefined));
  }

  /** Resolves once every queued Event is sent or dropped, or after `timeoutMs`. */
  async flush(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#sending, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  async #send(): Promise<void> {
    for (let next = this.#queue.shift(); next; next = this.#queue.shift()) await this.#deliver(next);
  }

  async #deliver({ event, call }: Queued): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#sink.createEvent(event, call);
        return;
      } catch (err) {
        const status = httpStatus(err);
        const message = (err as Error).message;
        if (call?.signal?.aborted) return this.#dropped(event, "retries_exhausted", message);
        if (!transientStatus(status)) return this.#dropped(event, "rejected", message);
        if (attempt >= this.#options.attempts) return this.#dropped(event, "retries_exhausted", message);
        const retryAfter = err instanceof KubeError ? err.retryAfterSeconds : undefined;
        const delay = retryAfter !== undefined ? Math.min(retryAfter, 60) * 1000 : this.#options.retryDelayMs * 2 ** (attempt - 1);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  #dropped(event: EventInput, reason: DropReason, error: string): void {
    const m = event.regarding.metadata;
    this.#logger.warn("could not record Event", { key: `${m.namespace}/${m.name}`, reason: event.reason, dropped: reason, error });
    this.#options.onDropped?.(reason);
  }

  #prune(now: number): void {
    for (const [id, at] of this.#recent) if (now - at >= this.#options.windowMs) this.#recent.delete(id);
  }
}
