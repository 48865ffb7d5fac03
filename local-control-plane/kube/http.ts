// HTTP routing: authentication, the authorizer hook, fault injection, discovery and the REST verbs.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Api, RequestInfo } from "./api.ts";
import { AGGREGATED_DISCOVERY, aggregatedDiscovery, coreVersions, groupDoc, groupList, resourceList, versionInfo } from "./discovery.ts";
import {
  ApiError,
  badRequest,
  forbidden,
  methodNotAllowed,
  methodNotSupported,
  ServerPanic,
  type Status,
  unknownError,
  unsupportedMediaType,
} from "./errors.ts";
import type { FaultInjector } from "./faults.ts";
import { docHash, groupVersionDoc, OPENAPI_V2_PROTOBUF, openapiRoot, openapiV2, openapiV2Protobuf } from "./openapi.ts";
import { decodeProtobuf, PROTOBUF } from "./protobuf.ts";
import { apiVersionOf, type JsonObject, type ResourceType, resourceKey } from "./resources.ts";
import { parseFieldSelector, parseLabelSelector } from "./selectors.ts";
import type { Store } from "./store.ts";
import { includeObjectParam, partialObjectMetadata, toPartialList, toTable } from "./table.ts";
import { startWatch } from "./watch.ts";

/**
 * The name a list or watch is limited to by its field selector (metadata.name=x or ==x, alone or
 * among other terms), as requestinfo.go's RequiresExactMatch("metadata.name") finds it, so that
 * RBAC's resourceNames applies to it; only a valid path segment name counts.
 */
function exactNameSelected(fieldSelector: string | null): string | undefined {
  for (const term of (fieldSelector ?? "").split(",")) {
    const m = /^\s*metadata\.name\s*==?\s*(.*?)\s*$/.exec(term);
    const name = m?.[1];
    if (name && name !== "." && name !== ".." && !/[/%]/.test(name)) return name;
  }
  return undefined;
}

/** What an authorizer sees of a request (like authorizer.Attributes). */
export interface RequestAttributes {
  user: string;
  groups: string[];
  verb: string; // get list watch create update patch delete deletecollection, or the HTTP verb for non-resource requests
  resourceRequest: boolean;
  apiGroup: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  path: string;
}

/** An authorizer's answer; `reason` is appended to the 403 message (like "RBAC: role ... not found"). */
export interface AuthorizerDecision {
  allowed: boolean;
  reason?: string;
}

export type Authorizer = (attrs: RequestAttributes) => boolean | AuthorizerDecision;

export interface RouterDeps {
  api: Api;
  store: Store;
  faults: FaultInjector;
  types: () => ResourceType[];
  tokens: Map<string, { user: string; groups: string[] }>;
  authorize: () => Authorizer;
  bookmarkIntervalMs: number;
  serverAddress: () => string;
  log: (method: string, path: string, status: number) => void;
}

function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendStatus(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.status.code, err.status, err.headers);
}

async function readRaw(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function readBody(req: IncomingMessage): Promise<string> {
  return (await readRaw(req)).toString("utf8");
}

/** A create/update body: JSON, or protobuf for the built-in types client-go sends that way. */
async function readObject(req: IncomingMessage, rt: ResourceType): Promise<unknown> {
  const ct = String(req.headers["content-type"] ?? "")
    .split(";")[0]!
    .trim()
    .toLowerCase();
  if (ct === PROTOBUF) {
    const accepted = rt.custom ? ["application/json", "application/yaml"] : ["application/json", "application/yaml", PROTOBUF];
    if (rt.custom) throw unsupportedMediaType(accepted);
    return decodeProtobuf(await readRaw(req), accepted);
  }
  return parseJson(await readBody(req));
}

// ---- content negotiation (Accept) ----

type Output = "json" | "Table" | "PartialObjectMetadata" | "PartialObjectMetadataList" | "APIGroupDiscoveryList";

const AS_GROUP: Record<string, [string, string]> = {
  Table: ["meta.k8s.io", "v1"],
  PartialObjectMetadata: ["meta.k8s.io", "v1"],
  PartialObjectMetadataList: ["meta.k8s.io", "v1"],
  APIGroupDiscoveryList: ["apidiscovery.k8s.io", "v2"],
};

/**
 * The Content-Type of a transformed response: v1.20 answers Table and PartialObjectMetadata(List)
 * as plain `application/json` (WriteObjectNegotiated with the negotiated serializer's media type).
 */
function contentTypeOf(_out: Output): Record<string, string> {
  return {};
}

/** Go's %T of what the storage layer hands the transformer (k8s.io/kubernetes/pkg/apis/<group> internal types). */
function goTypeName(rt: ResourceType, list: boolean): string {
  if (rt.custom) return list ? "*unstructured.UnstructuredList" : "*unstructured.Unstructured";
  const pkg: Record<string, string> = {
    "": "core",
    "events.k8s.io": "core",
    "coordination.k8s.io": "coordination",
    "rbac.authorization.k8s.io": "rbac",
    "apiextensions.k8s.io": "apiextensions",
  };
  return `*${pkg[rt.group] ?? rt.group.split(".")[0]}.${rt.kind}${list ? "List" : ""}`;
}

/** errNotAcceptable of asPartialObjectMetadata(List) (apiserver endpoints/handlers/response.go): 406, no details. */
function notAcceptable(message: string): ApiError {
  return new ApiError({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason: "NotAcceptable",
    code: 406,
  } as Status);
}

/** The transform error a single object (list=false) or a list (list=true) meets, if `out` cannot apply to it. */
function transformError(rt: ResourceType, out: Output, list: boolean): ApiError | undefined {
  if (out === "PartialObjectMetadata" && list)
    return notAcceptable(`you requested PartialObjectMetadata, but the requested object is a list (${goTypeName(rt, true)})`);
  if (out === "PartialObjectMetadataList" && !list)
    return notAcceptable(`you requested PartialObjectMetadataList, but the requested object is not a list (${goTypeName(rt, false)})`);
  return undefined;
}

/** Picks the first media range of Accept this endpoint can produce (JSON only; no protobuf/yaml/cbor here). */
export function negotiate(accept: string | undefined, allowed: Output[]): Output {
  if (!accept?.trim()) return "json";
  for (const range of accept.split(",")) {
    const [type, ...rawParams] = range.split(";").map((x) => x.trim());
    const params: Record<string, string> = {};
    for (const p of rawParams) {
      const i = p.indexOf("=");
      if (i > 0) params[p.slice(0, i).trim()] = p.slice(i + 1).trim();
    }
    const t = (type ?? "").toLowerCase();
    if (t !== "application/json" && t !== "*/*" && t !== "application/*") continue;
    if (!params.as) return "json";
    const gv = AS_GROUP[params.as];
    if (gv && params.g === gv[0] && params.v === gv[1] && allowed.includes(params.as as Output)) return params.as as Output;
  }
  throw new ApiError({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf",
    reason: "NotAcceptable",
    details: {},
    code: 406,
  });
}

function parseJson(text: string): unknown {
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
  }
}

interface Route {
  rt: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** Resolves /api/v1/... and /apis/<g>/<v>/... resource paths. */
function resolve(types: ResourceType[], group: string, version: string, segs: string[]): Route | undefined {
  const find = (plural: string) => types.find((t) => t.group === group && t.version === version && t.plural === plural);
  if (segs[0] === "namespaces" && segs.length >= 3) {
    const nsType = find("namespaces");
    const isNsSub = nsType && segs.length === 3 && (segs[2] === "status" || segs[2] === "finalize");
    if (!isNsSub) {
      const rt = find(segs[2]!);
      if (!rt?.namespaced || segs.length > 5) return undefined;
      return { rt, namespace: segs[1], ...(segs[3] ? { name: segs[3] } : {}), ...(segs[4] ? { subresource: segs[4] } : {}) };
    }
  }
  const rt = find(segs[0] ?? "");
  if (!rt || segs.length > 3) return undefined;
  return { rt, ...(segs[1] ? { name: segs[1] } : {}), ...(segs[2] ? { subresource: segs[2] } : {}) };
}

function notFoundPage(res: ServerResponse): void {
  sendJson(res, 404, {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: "the server could not find the requested resource",
    reason: "NotFound",
    details: {},
    code: 404,
  } satisfies Status);
}

export function createHandler(d: RouterDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const method = (req.method ?? "GET").toUpperCase();
    res.on("finish", () => d.log(method, url.pathname, res.statusCode));
    res.on("close", () => {
      if (!res.writableFinished) d.log(method, url.pathname, res.statusCode);
    });
    handle(d, req, res, url, method).catch((e) => {
      if (res.headersSent || e instanceof ServerPanic) {
        res.destroy();
        return;
      }
      sendStatus(res, e instanceof ApiError ? e : unknownError(500, (e as Error).message ?? String(e)));
    });
  };
}

const VERB_OF: Record<string, string> = { POST: "create", PUT: "update", PATCH: "patch" };

async function handle(d: RouterDeps, req: IncomingMessage, res: ServerResponse, url: URL, method: string): Promise<void> {
  const path = url.pathname.replace(/\/+$/, "") || "/";
  const q = url.searchParams;
  const auth = req.headers.authorization ?? "";
  const ident = auth.startsWith("Bearer ") ? d.tokens.get(auth.slice(7).trim()) : undefined;
  // A bearer token no authenticator accepts is 401 (not anonymous), like the real server.
  if (auth.startsWith("Bearer ") && !ident) {
    throw new ApiError({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: "Unauthorized",
      reason: "Unauthorized",
      code: 401,
    });
  }
  const user = ident ?? { user: "system:anonymous", groups: ["system:unauthenticated"] };
  const segs = path.split("/").filter(Boolean);

  let route: Route | undefined;
  let group = "",
    version = "";
  if (segs[0] === "api" && segs.length >= 3) {
    version = segs[1]!;
    route = resolve(d.types(), "", version, segs.slice(2));
  }
  if (segs[0] === "apis" && segs.length >= 4) {
    group = segs[1]!;
    version = segs[2]!;
    route = resolve(d.types(), group, version, segs.slice(3));
  }
  const isWatch = method === "GET" && (q.get("watch") === "true" || q.get("watch") === "1");

  let verb: string;
  if (route) {
    if (method === "GET") verb = isWatch ? "watch" : route.name ? "get" : "list";
    else if (method === "DELETE") verb = route.name ? "delete" : "deletecollection";
    else verb = VERB_OF[method] ?? method.toLowerCase();
  } else verb = method.toLowerCase();
  const attrs: RequestAttributes = {
    user: user.user,
    groups: user.groups,
    verb,
    resourceRequest: !!route,
    apiGroup: route?.rt.group ?? "",
    resource: route?.rt.plural ?? "",
    subresource: route?.subresource ?? "",
    namespace: route?.namespace ?? "",
    name: route?.name ?? (verb === "list" || verb === "watch" ? exactNameSelected(q.get("fieldSelector")) : "") ?? "",
    path,
  };
  const decision = d.authorize()(attrs);
  const allowed = typeof decision === "boolean" ? decision : decision.allowed;
  if (!allowed) {
    const reason = typeof decision === "boolean" || !decision.reason ? "" : `: ${decision.reason}`;
    const where = attrs.namespace ? `in the namespace "${attrs.namespace}"` : "at the cluster scope";
    const res2 = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
    const msg =
      (route
        ? `User "${user.user}" cannot ${verb} resource "${res2}" in API group "${attrs.apiGroup}" ${where}`
        : `User "${user.user}" cannot ${verb} path "${path}"`) + reason;
    throw route
      ? forbidden({ group: attrs.apiGroup, resource: attrs.resource }, attrs.name, msg)
      : new ApiError({
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Failure",
          message: `forbidden: ${msg}`,
          reason: "Forbidden",
          details: {},
          code: 403,
        });
  }

  const injected = d.faults.match({
    method,
    path,
    watch: isWatch,
    group: route?.rt.group ?? "",
    resource: route?.rt.plural ?? "",
    name: route?.name ?? "",
    user: user.user,
  });
  if (injected && !(isWatch && route && injected.status.code === 410)) throw injected;

  if (!route) return nonResource(d, req, res, segs, path, method);
  const { rt } = route;
  const info: RequestInfo = {
    rt,
    query: q,
    ...(route.namespace !== undefined ? { namespace: route.namespace } : {}),
    ...(route.name ? { name: route.name } : {}),
    ...(route.subresource ? { subresource: route.subresource } : {}),
  };
  if (route.subresource && !(route.subresource === "status" && rt.status)) {
    notFoundPage(res);
    return;
  }
  if (route.subresource && (method === "POST" || method === "DELETE"))
    throw methodNotSupported({ group: rt.group, resource: `${rt.plural}/status` }, method === "POST" ? "create" : "delete");

  switch (verb) {
    case "watch": {
      const out = negotiate(req.headers.accept, ["json", "Table", "PartialObjectMetadata", "PartialObjectMetadataList"]);
      const include = out === "Table" ? includeObjectParam(q) : "Metadata";
      // Only the first Table event carries columnDefinitions (serveWatch sets TableOptions.NoHeaders after it).
      let headers = true;
      const transform = (obj: JsonObject): JsonObject => {
        if (out === "Table") {
          const t = toTable(rt, [obj], { resourceVersion: obj.metadata?.resourceVersion }, include, !headers);
          headers = false;
          return t;
        }
        if (out !== "json") return partialObjectMetadata(obj);
        return obj;
      };
      let rv: number | undefined;
      const rvParam = q.get("resourceVersion");
      if (rvParam && rvParam !== "0") {
        if (!/^\d+$/.test(rvParam)) throw badRequest(`invalid resource version: ${rvParam}`);
        rv = Number(rvParam);
      }
      const labelMatch = parseLabelSelector(q.get("labelSelector"));
      const fieldMatch = parseFieldSelector(q.get("fieldSelector"), rt.kind, rt.group);
      const nameFilter = route.name;
      const timeout = q.get("timeoutSeconds");
      startWatch(
        res,
        d.store,
        d.faults,
        {
          rk: resourceKey(rt),
          ...(rt.namespaced && route.namespace !== undefined ? { namespace: route.namespace } : {}),
          matches: (o) => labelMatch(o) && fieldMatch(o) && (!nameFilter || o.metadata?.name === nameFilter),
          ...(rv !== undefined ? { resourceVersion: rv } : {}),
          sendInitialEvents: q.get("sendInitialEvents") === "true",
          allowBookmarks: q.get("allowWatchBookmarks") === "true",
          ...(timeout && Number(timeout) > 0 ? { timeoutSeconds: Number(timeout) } : {}),
          bookmarkIntervalMs: d.bookmarkIntervalMs,
          bookmark: (rv, annotations) => {
            const b = bookmarkObject(rt, rv);
            if (annotations) b.metadata.annotations = annotations;
            return transform(b);
          },
          present: (o) => transform(d.api.present(rt, o)),
          // Each event object is a single object, which PartialObjectMetadataList cannot be made of:
          // WatchServer logs "unable to encode watch object" and ends the stream (ERROR Status events pass).
          unencodable: out === "PartialObjectMetadataList",
          cached: !isEventType(rt),
        },
        injected,
      );
      return;
    }
    case "get": {
      const out = negotiate(req.headers.accept, ["json", "Table", "PartialObjectMetadata", "PartialObjectMetadataList"]);
      const obj = d.api.get(info);
      const bad = transformError(rt, out, false);
      if (bad) throw bad;
      if (out === "Table")
        sendJson(
          res,
          200,
          toTable(rt, [obj], { resourceVersion: obj.metadata?.resourceVersion }, includeObjectParam(q), false),
          contentTypeOf(out),
        );
      else if (out === "PartialObjectMetadata") sendJson(res, 200, partialObjectMetadata(obj), contentTypeOf(out));
      else sendJson(res, 200, obj);
      return;
    }
    case "list": {
      const out = negotiate(req.headers.accept, ["json", "Table", "PartialObjectMetadata", "PartialObjectMetadataList"]);
      const list = d.api.list(info);
      const bad = transformError(rt, out, true);
      if (bad) throw bad;
      const full = () => (list.items as JsonObject[]).map((o) => ({ apiVersion: apiVersionOf(rt), kind: rt.kind, ...o }));
      if (out === "Table") sendJson(res, 200, toTable(rt, full(), list.metadata, includeObjectParam(q), false), contentTypeOf(out));
      else if (out === "PartialObjectMetadataList") sendJson(res, 200, toPartialList({ ...list, items: full() }), contentTypeOf(out));
      else sendJson(res, 200, list);
      return;
    }
    case "create": {
      const r = d.api.create(info, await readObject(req, rt));
      sendJson(res, r.code, r.body, warningHeader(r.warnings));
      return;
    }
    case "update": {
      const r = d.api.update(info, await readObject(req, rt));
      sendJson(res, r.code, r.body, warningHeader(r.warnings));
      return;
    }
    case "patch": {
      const r = d.api.patch(info, String(req.headers["content-type"] ?? ""), await readBody(req));
      sendJson(res, r.code, r.body, warningHeader(r.warnings));
      return;
    }
    case "delete": {
      const r = d.api.delete(info, parseJson(await readBody(req)));
      sendJson(res, r.code, r.body);
      return;
    }
    case "deletecollection": {
      if (rt.kind === "Namespace") throw methodNotSupported({ group: "", resource: "namespaces" }, "deletecollection");
      const r = d.api.deleteCollection(info, parseJson(await readBody(req)));
      sendJson(res, r.code, r.body);
      return;
    }
    default:
      throw methodNotAllowed();
  }
}

const isEventType = (rt: ResourceType) => rt.kind === "Event" && !rt.custom;

/**
 * The object of a BOOKMARK event: the cacher's newFunc() (an empty object of the type) with the
 * resourceVersion set, serialised as Go does (typed ObjectMeta: `creationTimestamp: null`; non-omitempty
 * struct fields of built-in types as `{}`); custom resources are unstructured: kind, apiVersion, resourceVersion.
 */
function bookmarkObject(rt: ResourceType, rv: number): JsonObject {
  const apiVersion = apiVersionOf(rt);
  if (rt.custom) return { apiVersion, kind: rt.kind, metadata: { resourceVersion: String(rv) } };
  const obj: JsonObject = { kind: rt.kind, apiVersion, metadata: { resourceVersion: String(rv), creationTimestamp: null } };
  if (rt.kind === "Lease") obj.spec = {};
  if (rt.kind === "Namespace") {
    obj.spec = {};
    obj.status = {};
  }
  if (rt.kind === "RoleBinding" || rt.kind === "ClusterRoleBinding") obj.roleRef = { apiGroup: "", kind: "", name: "" };
  if (rt.kind === "Role" || rt.kind === "ClusterRole") obj.rules = null;
  return obj;
}

function warningHeader(warnings: string[]): Record<string, string> {
  if (!warnings.length) return {};
  return { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(", ") };
}

function nonResource(d: RouterDeps, req: IncomingMessage, res: ServerResponse, segs: string[], path: string, method: string): void {
  if (method !== "GET" && method !== "HEAD") {
    notFoundPage(res);
    return;
  }
  if (path === "/healthz" || path === "/readyz" || path === "/livez") {
    res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff" });
    res.end("ok");
    return;
  }
  if (path === "/version") {
    sendJson(res, 200, versionInfo());
    return;
  }
  const types = d.types();
  if (path === "/openapi/v2") {
    const version = String(versionInfo().gitVersion);
    if (String(req.headers.accept ?? "").includes(OPENAPI_V2_PROTOBUF)) {
      const body = openapiV2Protobuf(version);
      res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": body.length, Vary: "Accept" }); // as v1.20 answers it
      res.end(body);
    } else sendJson(res, 200, openapiV2(version));
    return;
  }
  if (path === "/openapi/v3") {
    sendJson(res, 200, openapiRoot(types));
    return;
  }
  if (segs[0] === "openapi" && segs[1] === "v3") {
    const gv =
      segs[2] === "api" && segs.length === 4
        ? groupVersionDoc(types, "", segs[3]!)
        : segs[2] === "apis" && segs.length === 5
          ? groupVersionDoc(types, segs[3]!, segs[4]!)
          : undefined;
    if (!gv) {
      notFoundPage(res);
      return;
    }
    sendJson(res, 200, gv, { ETag: `"${docHash(gv)}"`, "Cache-Control": "public, immutable" });
    return;
  }
  if (path === "/api" || path === "/apis") {
    if (negotiate(req.headers.accept, ["json", "APIGroupDiscoveryList"]) === "APIGroupDiscoveryList") {
      const body = JSON.stringify(aggregatedDiscovery(types, path === "/api"));
      res.writeHead(200, { "Content-Type": AGGREGATED_DISCOVERY, "Content-Length": Buffer.byteLength(body), Vary: "Accept" });
      res.end(body);
      return;
    }
  }
  let doc: object | undefined;
  if (path === "/api") doc = coreVersions(d.serverAddress());
  else if (path === "/apis") doc = groupList(types);
  else if (segs[0] === "api" && segs.length === 2) doc = resourceList(types, "", segs[1]!);
  else if (segs[0] === "apis" && segs.length === 2) doc = groupDoc(types, segs[1]!);
  else if (segs[0] === "apis" && segs.length === 3) doc = resourceList(types, segs[1]!, segs[2]!);
  if (doc) sendJson(res, 200, doc);
  else notFoundPage(res);
}
