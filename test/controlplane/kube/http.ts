// HTTP routing: authentication, the authorizer hook, fault injection, discovery and the REST verbs.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Api, type RequestInfo } from './api.ts';
import { coreVersions, groupDoc, groupList, resourceList, versionInfo } from './discovery.ts';
import { ApiError, badRequest, forbidden, methodNotSupported, unknownError, type Status } from './errors.ts';
import type { FaultInjector } from './faults.ts';
import { apiVersionOf, resourceKey, type ResourceType } from './resources.ts';
import { parseFieldSelector, parseLabelSelector } from './selectors.ts';
import type { Store } from './store.ts';
import { startWatch } from './watch.ts';

/** What an authorizer sees of a request (like authorizer.Attributes). */
export interface RequestAttributes {
  user: string;
  groups: string[];
  verb: string;             // get list watch create update patch delete deletecollection, or the HTTP verb for non-resource requests
  resourceRequest: boolean;
  apiGroup: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  path: string;
}

export type Authorizer = (attrs: RequestAttributes) => boolean;

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
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendStatus(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.status.code, err.status, err.headers);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  if (!text.trim()) return undefined;
  try { return JSON.parse(text); } catch (e) { throw badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`); }
}

interface Route { rt: ResourceType; namespace?: string; name?: string; subresource?: string }

/** Resolves /api/v1/... and /apis/<g>/<v>/... resource paths. */
function resolve(types: ResourceType[], group: string, version: string, segs: string[]): Route | undefined {
  const find = (plural: string) => types.find((t) => t.group === group && t.version === version && t.plural === plural);
  if (segs[0] === 'namespaces' && segs.length >= 3) {
    const nsType = find('namespaces');
    const isNsSub = nsType && segs.length === 3 && (segs[2] === 'status' || segs[2] === 'finalize');
    if (!isNsSub) {
      const rt = find(segs[2]!);
      if (!rt || !rt.namespaced || segs.length > 5) return undefined;
      return { rt, namespace: segs[1], ...(segs[3] ? { name: segs[3] } : {}), ...(segs[4] ? { subresource: segs[4] } : {}) };
    }
  }
  const rt = find(segs[0] ?? '');
  if (!rt || segs.length > 3) return undefined;
  return { rt, ...(segs[1] ? { name: segs[1] } : {}), ...(segs[2] ? { subresource: segs[2] } : {}) };
}

function notFoundPage(res: ServerResponse): void {
  sendJson(res, 404, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'the server could not find the requested resource', reason: 'NotFound', details: {}, code: 404 } satisfies Status);
}

export function createHandler(d: RouterDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    res.on('finish', () => d.log(method, url.pathname, res.statusCode));
    res.on('close', () => { if (!res.writableFinished) d.log(method, url.pathname, res.statusCode); });
    handle(d, req, res, url, method).catch((e) => {
      if (res.headersSent) { res.destroy(); return; }
      sendStatus(res, e instanceof ApiError ? e : unknownError(500, (e as Error).message ?? String(e)));
    });
  };
}

const VERB_OF: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch' };

async function handle(d: RouterDeps, req: IncomingMessage, res: ServerResponse, url: URL, method: string): Promise<void> {
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const q = url.searchParams;
  const auth = req.headers.authorization ?? '';
  const ident = auth.startsWith('Bearer ') ? d.tokens.get(auth.slice(7).trim()) : undefined;
  const user = ident ?? { user: 'system:anonymous', groups: ['system:unauthenticated'] };
  const segs = path.split('/').filter(Boolean);

  let route: Route | undefined;
  let group = '', version = '';
  if (segs[0] === 'api' && segs.length >= 3) { version = segs[1]!; route = resolve(d.types(), '', version, segs.slice(2)); }
  if (segs[0] === 'apis' && segs.length >= 4) { group = segs[1]!; version = segs[2]!; route = resolve(d.types(), group, version, segs.slice(3)); }
  const isWatch = method === 'GET' && (q.get('watch') === 'true' || q.get('watch') === '1');

  let verb: string;
  if (route) {
    if (method === 'GET') verb = isWatch ? 'watch' : route.name ? 'get' : 'list';
    else if (method === 'DELETE') verb = route.name ? 'delete' : 'deletecollection';
    else verb = VERB_OF[method] ?? method.toLowerCase();
  } else verb = method.toLowerCase();
  const attrs: RequestAttributes = {
    user: user.user, groups: user.groups, verb, resourceRequest: !!route, apiGroup: route?.rt.group ?? '',
    resource: route?.rt.plural ?? '', subresource: route?.subresource ?? '', namespace: route?.namespace ?? '', name: route?.name ?? '', path,
  };
  if (!d.authorize()(attrs)) {
    const where = attrs.namespace ? `in the namespace "${attrs.namespace}"` : 'at the cluster scope';
    const res2 = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
    const msg = route
      ? `User "${user.user}" cannot ${verb} resource "${res2}" in API group "${attrs.apiGroup}" ${where}`
      : `User "${user.user}" cannot ${verb} path "${path}"`;
    throw route ? forbidden({ group: attrs.apiGroup, resource: attrs.resource }, attrs.name, msg)
      : new ApiError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `forbidden: ${msg}`, reason: 'Forbidden', details: {}, code: 403 });
  }

  const injected = d.faults.match({ method, path, watch: isWatch, group: route?.rt.group ?? '', resource: route?.rt.plural ?? '', name: route?.name ?? '' });
  if (injected && !(isWatch && route && injected.status.code === 410)) throw injected;

  if (!route) return nonResource(d, res, segs, path, method);
  const { rt } = route;
  const info: RequestInfo = { rt, query: q, ...(route.namespace !== undefined ? { namespace: route.namespace } : {}), ...(route.name ? { name: route.name } : {}), ...(route.subresource ? { subresource: route.subresource } : {}) };
  if (route.subresource && !(route.subresource === 'status' && rt.status)) { notFoundPage(res); return; }
  if (route.subresource && (method === 'POST' || method === 'DELETE')) throw methodNotSupported({ group: rt.group, resource: `${rt.plural}/status` }, method === 'POST' ? 'create' : 'delete');

  switch (verb) {
    case 'watch': {
      let rv: number | undefined;
      const rvParam = q.get('resourceVersion');
      if (rvParam && rvParam !== '0') {
        if (!/^\d+$/.test(rvParam)) throw badRequest(`invalid resource version: ${rvParam}`);
        rv = Number(rvParam);
      }
      const labelMatch = parseLabelSelector(q.get('labelSelector'));
      const fieldMatch = parseFieldSelector(q.get('fieldSelector'), rt.kind);
      const nameFilter = route.name;
      const timeout = q.get('timeoutSeconds');
      startWatch(res, d.store, d.faults, {
        rk: resourceKey(rt), ...(rt.namespaced && route.namespace !== undefined ? { namespace: route.namespace } : {}),
        matches: (o) => labelMatch(o) && fieldMatch(o) && (!nameFilter || o.metadata?.name === nameFilter),
        ...(rv !== undefined ? { resourceVersion: rv } : {}),
        sendInitialEvents: q.get('sendInitialEvents') === 'true',
        allowBookmarks: q.get('allowWatchBookmarks') === 'true',
        ...(timeout && Number(timeout) > 0 ? { timeoutSeconds: Number(timeout) } : {}),
        bookmarkIntervalMs: d.bookmarkIntervalMs, kind: rt.kind, apiVersion: apiVersionOf(rt),
        present: (o) => d.api.present(rt, o),
      }, injected);
      return;
    }
    case 'get': sendJson(res, 200, d.api.get(info)); return;
    case 'list': sendJson(res, 200, d.api.list(info)); return;
    case 'create': {
      const r = d.api.create(info, parseJson(await readBody(req)));
      sendJson(res, r.code, r.body, warningHeader(r.warnings));
      return;
    }
    case 'update': {
      const r = d.api.update(info, parseJson(await readBody(req)));
      sendJson(res, r.code, r.body, warningHeader(r.warnings));
      return;
    }
    case 'patch': {
      const r = d.api.patch(info, String(req.headers['content-type'] ?? ''), await readBody(req));
      sendJson(res, r.code, r.body, warningHeader(r.warnings));
      return;
    }
    case 'delete': {
      const r = d.api.delete(info, parseJson(await readBody(req)));
      sendJson(res, r.code, r.body);
      return;
    }
    case 'deletecollection': {
      if (rt.kind === 'Namespace') throw methodNotSupported({ group: '', resource: 'namespaces' }, 'deletecollection');
      const r = d.api.deleteCollection(info, parseJson(await readBody(req)));
      sendJson(res, r.code, r.body);
      return;
    }
    default:
      throw new ApiError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'the server does not allow this method on the requested resource', reason: 'MethodNotAllowed', details: {}, code: 405 });
  }
}

function warningHeader(warnings: string[]): Record<string, string> {
  if (!warnings.length) return {};
  return { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ') };
}

function nonResource(d: RouterDeps, res: ServerResponse, segs: string[], path: string, method: string): void {
  if (method !== 'GET' && method !== 'HEAD') { notFoundPage(res); return; }
  if (path === '/healthz' || path === '/readyz' || path === '/livez') {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
    res.end('ok');
    return;
  }
  if (path === '/version') { sendJson(res, 200, versionInfo()); return; }
  const types = d.types();
  let doc: object | undefined;
  if (path === '/api') doc = coreVersions(d.serverAddress());
  else if (path === '/apis') doc = groupList(types);
  else if (segs[0] === 'api' && segs.length === 2) doc = resourceList(types, '', segs[1]!);
  else if (segs[0] === 'apis' && segs.length === 2) doc = groupDoc(types, segs[1]!);
  else if (segs[0] === 'apis' && segs.length === 3) doc = resourceList(types, segs[1]!, segs[2]!);
  if (doc) sendJson(res, 200, doc); else notFoundPage(res);
}
