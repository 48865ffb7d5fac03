// The one way the operator sends a Kubernetes API request other than a watch: a RequestContext
// that client-node's KubeConfig authenticates (credentials, TLS, its connection pool), sent with
// undici's plain request API (the HTTP client client-node itself uses, without the fetch layer's
// web streams, which cost about 4 ms of CPU per reconcile), JSON in and out, under the
// request-rate bound (rate-limit.ts), errors reduced to a KubeError. client-node's generated API
// classes are not used: see lean-client-node.ts.
import type { KubeConfig } from "@kubernetes/client-node";
import { HttpMethod, RequestContext } from "@kubernetes/client-node/dist/gen/http/http.js";
import { type Dispatcher, request } from "undici";
import type { TokenBucket } from "./rate-limit.ts";
import { type CallOptions, KubeError } from "./request.ts";

export interface KubeRequest extends CallOptions {
  method: keyof typeof HttpMethod;
  /** The API path, e.g. /api/v1/namespaces/team-a/secrets/pw. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** Sent as JSON. */
  body?: unknown;
  /** Content-Type of the body (a patch type, say); default application/json. */
  contentType?: string;
  accept?: string;
}

const USER_AGENT = `memorydb-user-operator (${process.platform}/${process.arch}) node/${process.version}`;

/**
 * A request's URL and context, authenticated by `kc` (credentials, TLS, its connection pool) and
 * naming the operator as its user agent: every request and watch starts here. Throws if the
 * configuration has no cluster or its credentials cannot be loaded.
 */
export async function authenticated(
  kc: KubeConfig,
  method: keyof typeof HttpMethod,
  path: string,
  query: KubeRequest["query"] = {},
): Promise<{ url: URL; ctx: RequestContext }> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error("no current cluster in the Kubernetes configuration");
  const url = new URL(server + path);
  for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
  const ctx = new RequestContext(url.toString(), HttpMethod[method]);
  await kc.applySecurityAuthentication(ctx);
  ctx.setHeaderParam("User-Agent", USER_AGENT);
  return { url, ctx };
}

export class KubeClient {
  readonly kc: KubeConfig;
  readonly #limit: TokenBucket | undefined;

  /** `limit` bounds this client's request rate; clients of one process may share or not share one. */
  constructor(kc: KubeConfig, limit?: TokenBucket) {
    this.kc = kc;
    this.#limit = limit;
  }

  /**
   * Sends the request; answers the parsed response body. A status outside 2xx, or no answer at
   * all, throws a KubeError saying `what` failed (`testFailed`: a 422 is a failed JSON Patch test;
   * `discard`: the caller has no use for a successful answer, which is then read but not parsed).
   */
  async request<T>(what: string, req: KubeRequest, options: { testFailed?: boolean; discard?: boolean } = {}): Promise<T> {
    let text: string;
    let status: number;
    let headers: Record<string, string | string[] | undefined>;
    try {
      const { url, ctx } = await authenticated(this.kc, req.method, req.path, req.query);
      ctx.setHeaderParam("Accept", req.accept ?? "application/json");
      const body = req.body === undefined ? undefined : JSON.stringify(req.body);
      if (body !== undefined) ctx.setHeaderParam("Content-Type", req.contentType ?? "application/json");
      await this.#limit?.take(req.signal);
      const dispatcher = ctx.getDispatcher() as Dispatcher | undefined;
      const response = await request(url, {
        method: req.method,
        headers: ctx.getHeaders(),
        ...(body === undefined ? {} : { body }),
        ...(req.signal ? { signal: req.signal } : {}),
        ...(dispatcher ? { dispatcher } : {}),
      });
      status = response.statusCode;
      headers = response.headers;
      if (options.discard && status >= 200 && status <= 299) {
        await response.body.dump();
        return undefined as T;
      }
      text = await response.body.text();
    } catch (err) {
      throw new KubeError(what, err);
    }
    if (status < 200 || status > 299) {
      // Headers only matter in a failure (Retry-After): flattened then, not on every answer.
      const flat = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : (v ?? "")]));
      throw new KubeError(what, { status, body: text, headers: flat }, options);
    }
    return (text === "" ? undefined : JSON.parse(text)) as T;
  }
}
