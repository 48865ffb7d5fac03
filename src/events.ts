// Kubernetes Events on MemoryDBUsers, with repeats of the same Event suppressed for a while
// so a resource that keeps failing the same way does not flood the namespace.
import type { CallOptions, EventInput, KubeApi } from "./kube/api.ts";
import type { Logger } from "./log.ts";

export type EventSink = Pick<KubeApi, "createEvent">;

export class EventRecorder {
  readonly #sink: EventSink;
  readonly #logger: Logger;
  readonly #windowMs: number;
  /** Last time each (object, type, reason, note) was emitted. */
  readonly #recent = new Map<string, number>();

  constructor(sink: EventSink, logger: Logger, windowMs = 10 * 60_000) {
    this.#sink = sink;
    this.#logger = logger;
    this.#windowMs = windowMs;
  }

  /** Emit the Event unless an identical one was emitted within the window. Never throws. */
  async record(event: EventInput, call?: CallOptions): Promise<void> {
    const m = event.regarding.metadata;
    const id = `${m.uid ?? `${m.namespace}/${m.name}`}|${event.type}|${event.reason}|${event.note}`;
    const now = Date.now();
    const last = this.#recent.get(id);
    if (last !== undefined && now - last < this.#windowMs) return;
    this.#recent.set(id, now);
    if (this.#recent.size > 10_000) this.#prune(now);
    try {
      await this.#sink.createEvent(event, call);
    } catch (err) {
      this.#logger.warn("could not record Event", { key: `${m.namespace}/${m.name}`, reason: event.reason, error: (err as Error).message });
    }
  }

  #prune(now: number): void {
    for (const [id, at] of this.#recent) if (now - at >= this.#windowMs) this.#recent.delete(id);
  }
}
