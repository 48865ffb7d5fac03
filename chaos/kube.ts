// The chaos driver's own Kubernetes client: plain fetch against the local API server, as the
// cluster's administrator (the faults are narrowed to the operator's identity, so the driver is
// only disturbed by the watch cuts, which its watch survives by resuming).
export type Json = Record<string, any>;

export class KubeError extends Error {
  readonly status: number;
  constructor(what: string, status: number, body: unknown) {
    super(
      `${what}: HTTP ${status}: ${typeof body === "object" && body !== null && "message" in body ? String((body as Json).message) : String(body).slice(0, 200)}`,
    );
    this.status = status;
  }
}

export const MERGE_PATCH = "application/merge-patch+json";

export class Kube {
  readonly url: string;
  readonly #token: string;

  constructor(url: string, token: string) {
    this.url = url.replace(/\/$/, "");
    this.#token = token;
  }

  async request(
    method: string,
    path: string,
    body?: unknown,
    contentType = "application/json",
    signal?: AbortSignal,
  ): Promise<{ status: number; body: Json; text: string }> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${this.#token}`,
        Accept: "application/json",
        ...(body === undefined ? {} : { "Content-Type": contentType }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(signal ? { signal } : {}),
    });
    const text = await res.text();
    let json: Json = {};
    try {
      json = text ? (JSON.parse(text) as Json) : {};
    } catch {
      json = { message: text };
    }
    return { status: res.status, body: json, text };
  }

  /** A GET answered as the Response itself (a watch stream). */
  raw(path: string, signal?: AbortSignal): Promise<Response> {
    return fetch(`${this.url}${path}`, {
      headers: { Authorization: `Bearer ${this.#token}`, Accept: "application/json" },
      ...(signal ? { signal } : {}),
    });
  }

  /** The request, which must succeed (2xx); `allow` lists other statuses answered as they are. */
  async must(method: string, path: string, body?: unknown, contentType?: string, allow: number[] = []): Promise<Json> {
    const r = await this.request(method, path, body, contentType);
    if ((r.status < 200 || r.status > 299) && !allow.includes(r.status)) throw new KubeError(`${method} ${path}`, r.status, r.body);
    return r.body;
  }

  /** Every item of a list (following continue tokens), with the list's resourceVersion. */
  async list(path: string): Promise<{ items: Json[]; resourceVersion: string }> {
    const items: Json[] = [];
    let token: string | undefined;
    let resourceVersion = "";
    do {
      const sep = path.includes("?") ? "&" : "?";
      const page = await this.must("GET", `${path}${sep}limit=500${token ? `&continue=${encodeURIComponent(token)}` : ""}`);
      items.push(...((page.items as Json[] | null) ?? []));
      token = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion ?? "";
    } while (token);
    return { items, resourceVersion };
  }
}

export interface WatchStats {
  /** Streams that ended (cut, or closed by the server) and were resumed from the last resourceVersion. */
  resumed: number;
  /** 410 Gone: events may have been missed (a relist followed). */
  expired: number;
}

/**
 * Watches `path` from a list on, resuming from the last resourceVersion whenever the stream ends,
 * until `signal` aborts. `onEvent` gets every event, with its raw line. A 410 relists and counts
 * in `stats.expired` (the chaos API server keeps a history long enough that it should not happen).
 */
export async function watchForever(
  kube: Kube,
  path: string,
  onEvent: (type: string, obj: Json, raw: string) => void,
  signal: AbortSignal,
  stats: WatchStats,
): Promise<void> {
  let rv: string | undefined;
  while (!signal.aborted) {
    try {
      if (rv === undefined) {
        const listed = await kube.list(path);
        for (const item of listed.items) onEvent("ADDED", item, JSON.stringify({ type: "ADDED", object: item }));
        rv = listed.resourceVersion;
      }
      const res = await kube.raw(`${path}?watch=true&allowWatchBookmarks=true&resourceVersion=${rv}`, signal);
      if (res.status === 410) {
        stats.expired++;
        rv = undefined;
        await res.body?.cancel();
        continue;
      }
      if (res.status !== 200 || !res.body) {
        await res.body?.cancel();
        await sleep(100);
        continue;
      }
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            if (!line.trim()) continue;
            const ev = JSON.parse(line) as { type: string; object: Json };
            if (ev.type === "ERROR") {
              if (ev.object?.code === 410) {
                stats.expired++;
                rv = undefined;
              }
              continue;
            }
            if (ev.object?.metadata?.resourceVersion) rv = ev.object.metadata.resourceVersion;
            if (ev.type !== "BOOKMARK") onEvent(ev.type, ev.object, line);
          }
        }
      } catch {
        // cut: resume below
      }
      stats.resumed++;
    } catch {
      if (signal.aborted) return;
      await sleep(100);
    }
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
