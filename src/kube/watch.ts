// One watch request: a GET with watch=true whose events are read line by line as they arrive,
// authenticated by client-node's KubeConfig (credentials, TLS, its connection pool) and sent
// with undici's plain request API, as client.ts sends every other request. client-node's own
// Watch reads through fetch's web streams and readline, and restarts a timer on every chunk:
// about 20 µs more per event, and the operator receives one for each of its own writes.
import { STATUS_CODES } from "node:http";
import type { KubeConfig } from "@kubernetes/client-node";
import { type Dispatcher, request } from "undici";
import { authenticated } from "./client.ts";

/** A failed watch request: the server answered `statusCode` (410: the resourceVersion is too old). */
export class WatchRefused extends Error {
  override name = "WatchRefused";
  readonly statusCode: number;

  constructor(statusCode: number) {
    super(`watch refused: HTTP ${statusCode} ${STATUS_CODES[statusCode] ?? ""}`.trim());
    this.statusCode = statusCode;
  }
}

export interface WatchRequest<T> {
  /** The API path, e.g. /apis/g/v/memorydbusers. */
  path: string;
  query: Record<string, string | number | boolean | undefined>;
  /**
   * The watch ends (a TimeoutError) when nothing arrives for this long, the wait for the
   * server's answer included.
   */
  idleTimeoutMs: number;
  /** Each event, in order. A throw ends the watch with that error. */
  onEvent(type: string, object: T): void;
  /**
   * Called once, when the watch ends: null if the server closed it, else why (WatchRefused, a
   * TimeoutError, a network error, the abort).
   */
  done(err: unknown): void;
}

/**
 * Starts a watch; resolves once the server has answered (or the watch has already ended), with
 * the controller that ends it. Rejects only if the request cannot be made at all (no cluster,
 * credentials that fail to load), and then `done` is not called.
 */
export async function watch<T>(kc: KubeConfig, req: WatchRequest<T>): Promise<AbortController> {
  const { url, ctx } = await authenticated(kc, "GET", req.path, { watch: true, ...req.query });

  const controller = new AbortController();
  let ended = false;
  let lastData = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const end = (err: unknown) => {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    controller.abort();
    req.done(err);
  };
  // The idle timeout is re-armed for what is left of it when it fires, not restarted per chunk.
  const arm = (ms: number) => {
    timer = setTimeout(() => {
      const quiet = performance.now() - lastData;
      if (quiet < req.idleTimeoutMs) arm(req.idleTimeoutMs - quiet);
      else end(new DOMException(`no data for ${req.idleTimeoutMs} ms`, "TimeoutError"));
    }, ms);
    timer.unref();
  };
  arm(req.idleTimeoutMs);

  try {
    const response = await request(url, {
      method: "GET",
      headers: ctx.getHeaders(),
      signal: controller.signal,
      dispatcher: ctx.getDispatcher() as Dispatcher | undefined,
    });
    if (response.statusCode !== 200) {
      // Read to its end first, so that the connection goes back to the pool.
      await response.body.dump().catch(() => undefined);
      end(new WatchRefused(response.statusCode));
      return controller;
    }
    lastData = performance.now();
    const body = response.body;
    body.setEncoding("utf8");
    let partial = "";
    const deliver = (line: string) => {
      let event: { type?: unknown; object?: T };
      try {
        event = JSON.parse(line);
      } catch {
        return; // not an event (a blank line); the API server writes one JSON object per line
      }
      try {
        req.onEvent(String(event.type), event.object as T);
      } catch (err) {
        end(err);
      }
    };
    body.on("data", (chunk: string) => {
      lastData = performance.now();
      let start = 0;
      for (let nl = chunk.indexOf("\n"); nl !== -1 && !ended; nl = chunk.indexOf("\n", start)) {
        deliver(partial + chunk.slice(start, nl));
        partial = "";
        start = nl + 1;
      }
      partial += chunk.slice(start);
    });
    body.on("error", end);
    body.on("end", () => {
      // A last line without its newline (a proxy that cut the stream) is still an event.
      if (partial !== "" && !ended) deliver(partial);
      end(null);
    });
    body.on("close", () => end(null));
  } catch (err) {
    end(err);
  }
  return controller;
}
