// What a Kubernetes API call takes besides its arguments (an AbortSignal: shutdown) and how its
// failure is told: the HTTP status, the server's message and Retry-After, nothing else (never a
// request dump).

/** An answer outside 2xx, as the client received it. */
export interface HttpFailure {
  status: number;
  /** The response body: a Status object, normally. */
  body: string;
  headers: Record<string, string>;
}

function isHttpFailure(value: unknown): value is HttpFailure {
  return typeof (value as HttpFailure | undefined)?.status === "number" && typeof (value as HttpFailure).body === "string";
}

/** A Kubernetes API error reduced to status and the server's message. */
export class KubeError extends Error {
  override name = "KubeError";
  /** undefined: no answer (a network error, a timeout, cancelled). */
  readonly status: number | undefined;
  /** The server's Retry-After (429, 503), in seconds. */
  readonly retryAfterSeconds: number | undefined;
  /** The object changed in between (409, or a JSON Patch `test` that failed): read it again. */
  readonly conflict: boolean;

  /** `cause`: the answer (an HttpFailure), or what the request threw. */
  constructor(what: string, cause: HttpFailure | unknown, options: { testFailed?: boolean } = {}) {
    const answer = isHttpFailure(cause) ? cause : undefined;
    // The first line only: some errors carry a whole response in their message.
    const detail = answer ? `HTTP ${answer.status}: ${serverMessage(answer)}` : ((cause as Error)?.message ?? String(cause)).split("\n")[0];
    super(`${what}: ${detail}`);
    this.status = answer?.status;
    const retryAfter = Number(answer?.headers["retry-after"] ?? Number.NaN);
    this.retryAfterSeconds = Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : undefined;
    this.conflict = this.status === 409 || (options.testFailed === true && this.status === 422);
  }
}

function serverMessage(answer: HttpFailure): string {
  try {
    const status = JSON.parse(answer.body) as { message?: unknown };
    if (typeof status.message === "string") return status.message;
  } catch {
    // not a Status object
  }
  return `${answer.status}`;
}

/** The HTTP status of a failed Kubernetes call; undefined if it got no answer (or is no KubeError). */
export function httpStatus(err: unknown): number | undefined {
  return err instanceof KubeError ? err.status : undefined;
}

/** Options of one call: an AbortSignal that cancels the request (shutdown). */
export interface CallOptions {
  signal?: AbortSignal | undefined;
}

/** A JSON merge patch (RFC 7386) of a `T`: absent fields are left alone, `null` removes one. */
export type MergePatch<T> = {
  [K in keyof T]?: (T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? MergePatch<T[K]> : T[K]) | null;
};
