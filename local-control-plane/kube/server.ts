// An in-process fake Kubernetes API server on loopback, for tests. See docs/local-control-plane.md.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import * as yaml from "js-yaml";
import { Api } from "./api.ts";
import { FaultInjector } from "./faults.ts";
import { type Authorizer, createHandler } from "./http.ts";
import { nowTimestamp } from "./meta.ts";
import { bootstrapPolicy, type RbacObjects, rbacAuthorizer } from "./rbac.ts";
import { builtinResources, crdResources, type JsonObject, type ResourceType, resourceKey } from "./resources.ts";
import { objectKey, Store } from "./store.ts";

export { type FailNextOptions, type FailRateOptions, FaultInjector, type FaultMatch } from "./faults.ts";
export type { Authorizer, AuthorizerDecision, RequestAttributes } from "./http.ts";
export { type RbacObjects, rbacAuthorizer, ruleAllows } from "./rbac.ts";

/** Who a token authenticates as. */
export interface Identity {
  user: string;
  groups: string[];
}

export interface KubeconfigOptions {
  /** default namespace of the context */
  namespace?: string;
  /** authenticate as this ServiceAccount (system:serviceaccount:<ns>:<name>) */
  serviceAccount?: { namespace: string; name: string };
  /** authenticate as this user (groups default to system:authenticated only) */
  user?: string;
  groups?: string[];
}

export interface KubeApiServerOptions {
  /** 0 = random */
  port?: number;
  /** default 127.0.0.1 */
  host?: string;
  /** CRD YAML files installed at start */
  crdFiles?: string[];
  /** events kept per resource for watch-from-resourceVersion (default 1000); older => 410 Gone */
  watchCacheSize?: number;
  /** the cacher's bookmark frequency for watches with allowWatchBookmarks=true (default 60000 ms, as in v1.20); see watch.ts for when one is actually sent */
  bookmarkIntervalMs?: number;
  /** per-request authorization hook (default: allow everything; ignored when rbac is true) */
  authorize?: Authorizer;
  /** enforce RBAC over the stored Roles/ClusterRoles/(Cluster)RoleBindings (system:masters stays all-powerful) */
  rbac?: boolean;
}

const KUBE_SYSTEM_UID = "2b1b4a5c-6f1e-4a53-9c9e-6b7f3f1c2d10";
const MAX_LOG = 10_000;

export class KubeApiServer {
  readonly url: string;
  readonly faults: FaultInjector;
  readonly requests: Array<{ method: string; path: string; status: number }> = [];
  /** bearer token of the admin user written to kubeconfig() */
  readonly token: string;
  /** replaceable per-request authorizer (default allow) */
  authorize: Authorizer;
  private readonly server: Server;
  private readonly store: Store;
  private readonly api: Api;
  private readonly sockets = new Set<Socket>();
  private types: ResourceType[];
  private readonly tokens: Map<string, Identity>;

  private constructor(
    server: Server,
    url: string,
    store: Store,
    api: Api,
    faults: FaultInjector,
    token: string,
    authorize: Authorizer,
    typesRef: { types: ResourceType[] },
    tokens: Map<string, Identity>,
  ) {
    this.tokens = tokens;
    this.server = server;
    this.url = url;
    this.store = store;
    this.api = api;
    this.faults = faults;
    this.token = token;
    this.authorize = authorize;
    this.types = typesRef.types;
    server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
  }

  /** How many bookmark rounds the watchers have had (each watcher's timer firing, sent or not). */
  get bookmarkRounds(): number {
    return this.store.bookmarkRounds;
  }

  static async start(opts: KubeApiServerOptions = {}): Promise<KubeApiServer> {
    const store = new Store(opts.watchCacheSize ?? 1000);
    const faults = new FaultInjector();
    faults.onExpire = () => store.expireHistory();
    const token = randomBytes(24).toString("hex");
    const tokens = new Map([[token, { user: "kubernetes-admin", groups: ["system:masters", "system:authenticated"] }]]);
    const typesRef = { types: builtinResources() };
    let self: KubeApiServer | undefined;
    const onCrd = (crd: JsonObject, removed: boolean) => {
      const name = crd.metadata?.name;
      const victims = typesRef.types.filter((t) => t.crdName === name);
      typesRef.types = typesRef.types.filter((t) => t.crdName !== name);
      if (removed) {
        for (const rk of new Set(victims.map((v) => resourceKey(v)))) store.dropResource(rk);
      } else typesRef.types.push(...crdResources(crd));
      if (self) self.types = typesRef.types;
    };
    const api = new Api(store, () => typesRef.types, onCrd);
    let address = "";
    const authorizeRef: { fn: Authorizer } = { fn: opts.rbac ? rbacAuthorizer(rbacObjects(store)) : (opts.authorize ?? (() => true)) };
    const server = createServer(
      createHandler({
        api,
        store,
        faults,
        types: () => typesRef.types,
        tokens,
        authorize: () => self?.authorize ?? authorizeRef.fn,
        bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 60_000,
        serverAddress: () => address,
        log: (method, path, status) => {
          if (!self) return;
          self.requests.push({ method, path, status });
          if (self.requests.length > MAX_LOG) self.requests.splice(0, self.requests.length - MAX_LOG);
        },
      }),
    );
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
    });
    const addr = server.address() as AddressInfo;
    const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
    address = `${host}:${addr.port}`;
    self = new KubeApiServer(server, `http://${address}`, store, api, faults, token, authorizeRef.fn, typesRef, tokens);
    for (const ns of ["default", "kube-system", "kube-public", "kube-node-lease"]) self.seedNamespace(ns);
    const policy = bootstrapPolicy();
    for (const r of policy.clusterRoles)
      store.put("rbac.authorization.k8s.io/clusterroles", objectKey(undefined, r.metadata.name), {
        ...r,
        metadata: { ...r.metadata, uid: crypto.randomUUID() },
      });
    for (const b of policy.clusterRoleBindings)
      store.put("rbac.authorization.k8s.io/clusterrolebindings", objectKey(undefined, b.metadata.name), {
        ...b,
        metadata: { ...b.metadata, uid: crypto.randomUUID() },
      });
    for (const f of opts.crdFiles ?? []) {
      for (const doc of yaml.loadAll(readFileSync(f, "utf8"))) if (doc && typeof doc === "object") self.installCrd(doc as object);
    }
    return self;
  }

  private seedNamespace(name: string): void {
    const obj = {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name,
        uid: name === "kube-system" ? KUBE_SYSTEM_UID : crypto.randomUUID(),
        creationTimestamp: nowTimestamp(),
        labels: { "kubernetes.io/metadata.name": name },
      },
      spec: { finalizers: ["kubernetes"] },
      status: { phase: "Active" },
    };
    this.store.put("/namespaces", objectKey(undefined, name), obj);
  }

  /** Installs (or replaces) a CustomResourceDefinition; its resources are served immediately. */
  installCrd(crd: object): void {
    const c = structuredClone(crd) as JsonObject;
    const rk = resourceKey({ group: "apiextensions.k8s.io", plural: "customresourcedefinitions" });
    const key = objectKey(undefined, c.metadata?.name);
    const existing = this.store.get(rk, key);
    if (existing) {
      this.api.update(
        { rt: this.crdType(), name: c.metadata.name, query: new URLSearchParams() },
        { ...c, metadata: { ...c.metadata, resourceVersion: existing.metadata.resourceVersion } },
      );
      return;
    }
    this.api.create(
      { rt: this.crdType(), query: new URLSearchParams() },
      { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", ...c },
    );
  }

  private crdType(): ResourceType {
    return this.types.find((t) => t.plural === "customresourcedefinitions")!;
  }

  /** A bearer token that authenticates as `identity` (the same token for the same identity). */
  tokenFor(identity: Identity): string {
    for (const [t, id] of this.tokens) {
      if (id.user === identity.user && id.groups.join("\n") === identity.groups.join("\n")) return t;
    }
    const t = randomBytes(24).toString("hex");
    this.tokens.set(t, { user: identity.user, groups: [...identity.groups] });
    return t;
  }

  /** The identity a ServiceAccount token authenticates as. */
  static serviceAccountIdentity(namespace: string, name: string): Identity {
    return {
      user: `system:serviceaccount:${namespace}:${name}`,
      groups: ["system:serviceaccounts", `system:serviceaccounts:${namespace}`, "system:authenticated"],
    };
  }

  /**
   * A kubeconfig for this server: a cluster, a user with a bearer token and a current context.
   * Default user: the admin (kubernetes-admin, system:masters); or a ServiceAccount / named user.
   */
  kubeconfig(opts: KubeconfigOptions = {}): string {
    let userName = "fake-admin",
      token = this.token;
    if (opts.serviceAccount) {
      const { namespace, name } = opts.serviceAccount;
      userName = `system:serviceaccount:${namespace}:${name}`;
      token = this.tokenFor(KubeApiServer.serviceAccountIdentity(namespace, name));
    } else if (opts.user) {
      userName = opts.user;
      token = this.tokenFor({ user: opts.user, groups: [...(opts.groups ?? []), "system:authenticated"] });
    }
    return yaml.dump({
      apiVersion: "v1",
      kind: "Config",
      // client-node 2.x refuses plain HTTP unless skipTLSVerify is set.
      clusters: [{ name: "fake", cluster: { server: this.url, "insecure-skip-tls-verify": true } }],
      users: [{ name: userName, user: { token } }],
      contexts: [{ name: "fake", context: { cluster: "fake", user: userName, ...(opts.namespace ? { namespace: opts.namespace } : {}) } }],
      "current-context": "fake",
      preferences: {},
    });
  }

  async writeKubeconfig(path: string, opts: KubeconfigOptions = {}): Promise<void> {
    await writeFile(path, this.kubeconfig(opts), { mode: 0o600 });
  }

  /** Switches RBAC enforcement on (or back to allow-all) at run time. */
  enforceRbac(on = true): void {
    this.authorize = on ? rbacAuthorizer(rbacObjects(this.store)) : () => true;
  }

  /** Closes all watches and sockets promptly. */
  async stop(): Promise<void> {
    for (const w of [...this.faults.watches]) w.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

function rbacObjects(store: Store): RbacObjects {
  const all = (plural: string) => store.list(`rbac.authorization.k8s.io/${plural}`).map(([, o]) => o);
  return {
    roles: (ns) => all("roles").filter((o) => o.metadata.namespace === ns),
    roleBindings: (ns) => all("rolebindings").filter((o) => o.metadata.namespace === ns),
    clusterRoles: () => all("clusterroles"),
    clusterRoleBindings: () => all("clusterrolebindings"),
  };
}
