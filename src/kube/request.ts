// How the operator calls the Kubernetes API with client-node: per-call options (an AbortSignal,
// a header) and errors reduced to what matters (status, the server's message, Retry-After).
import {
  ApiException,
  type ConfigurationOptions,
  Observable,
  type RequestContext,
  type ResponseContext,
  setHeaderOptions,
} from "@kubernetes/client-node";

/** HTTP status of a failed Kubernetes call, if it got an answer. */
export function httpStatus(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** A Kubernetes API error reduced to status and the server's message (no request dump). */
export class KubeError extends Error {
  override name = "KubeError";
  readonly status: number | undefined;
  /** The server's Retry-After (429, 503), in seconds. */
  readonly retryAfterSeconds: number | undefined;
  /** The object changed in between (409, or a JSON Patch `test` that failed): read it again. */
  readonly conflict: boolean;
  constructor(what: string, err: unknown, options: { testFailed?: boolean } = {}) {
    const status = httpStatus(err);
    // The first line only: client-node's own messages carry the whole response, headers included.
    const detail = status === undefined ? ((err as Error)?.message ?? String(err)).split("\n")[0] : `HTTP ${status}: ${serverMessage(err)}`;
    super(`${what}: ${detail}`);
    this.status = status;
    const retryAfter = err instanceof ApiException ? Number(err.headers?.["retry-after"]) : Number.NaN;
    this.retryAfterSeconds = Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : undefined;
    this.conflict = status === 409 || (options.testFailed === true && status === 422);
  }
}

function serverMessage(err: unknown): string {
  if (!(err instanceof ApiException)) return String(err);
  try {
    const body = typeof err.body === "string" ? JSON.parse(err.body) : err.body;
    if (body && typeof body.message === "string") return body.message;
  } catch {
    // not a Status object
  }
  return `${err.code}`;
}

/** Options of one call: an AbortSignal that cancels the request (shutdown). */
export interface CallOptions {
  signal?: AbortSignal | undefined;
}

/** client-node per-call options: the signal, plus a header if given. */
export function requestOptions(call: CallOptions | undefined, header?: [string, string]): ConfigurationOptions {
  const signal = call?.signal;
  const base: ConfigurationOptions = signal
    ? {
        middleware: [
          {
            pre: (ctx: RequestContext) => {
              ctx.setSignal(signal);
              return new Observable(Promise.resolve(ctx));
            },
            post: (ctx: ResponseContext) => new Observable(Promise.resolve(ctx)),
          },
        ],
        middlewareMergeStrategy: "append",
      }
    : {};
  return header ? setHeaderOptions(header[0], header[1], base) : base;
}

/** A JSON merge patch (RFC 7386) of a `T`: absent fields are left alone, `null` removes one. */
export type MergePatch<T> = {
  [K in keyof T]?: (T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? MergePatch<T[K]> : T[K]) | null;
};
