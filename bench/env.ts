// The benchmark's side of the local control plane: the fake Kubernetes API server and one MemoryDB
// emulator per region in this process, a client for the bench's own requests, a count of the
// operator's Kubernetes requests, and a watch that sees each user turn Ready.
import { fileURLToPath } from "node:url";
import { CoreV1Api, CustomObjectsApi, KubeConfig, Watch } from "@kubernetes/client-node";
import { KubeApiServer } from "../local-control-plane/kube/server.ts";
import { MemoryDBEmulator, type RateLimit } from "../local-control-plane/memorydb/emulator.ts";
import { reuseConnections } from "../src/kube/config.ts";
import { GROUP, type MemoryDBUser, PLURAL, VERSION } from "../src/model.ts";
import { USERS_PER_REGION } from "./lib.ts";

export const NS = "bench";
const CRD_FILE = fileURLToPath(new URL("../crds/memorydb.operators.dev_memorydbusers.yaml", import.meta.url));
const REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1", "ap-northeast-1", "sa-east-1", "ca-central-1"];
/** Client-side parallelism of the bench's own API calls (creating Secrets and users), like a fast `kubectl apply`. */
export const CLIENT_PARALLELISM = 16;

export const userName = (i: number) => `u${String(i).padStart(5, "0")}`;
export const secretName = (i: number) => `pw-${String(i).padStart(5, "0")}`;
export const password = (i: number) => `initial-password-${String(i).padStart(5, "0")}`;

export async function pool(count: number, parallelism: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallelism, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

/** The Kubernetes requests of the operator, by kind, from the API server's log (the bench's own left out). */
export class KubeRequests {
  counts: Record<string, number> = {};
  total = 0;
  /** When each of the operator's requests was logged (its response ended), since the last reset. */
  times: number[] = [];

  constructor(kube: KubeApiServer) {
    const log = kube.requests;
    const push = log.push.bind(log);
    log.push = (...items) => {
      for (const r of items) {
        const kind = classify(r.method, r.path);
        if (kind === undefined) continue;
        this.counts[kind] = (this.counts[kind] ?? 0) + 1;
        this.total++;
        this.times.push(performance.now());
      }
      return push(...items);
    };
  }

  reset(): void {
    this.counts = {};
    this.total = 0;
    this.times = [];
  }

  /** The most requests logged within any one second. */
  peakPerSecond(): number {
    let peak = 0;
    for (let i = 0, j = 0; j < this.times.length; j++) {
      while (this.times[j]! - this.times[i]! >= 1000) i++;
      peak = Math.max(peak, j - i + 1);
    }
    return peak;
  }
}

/** `VERB resource[/sub]` of an operator request; undefined for the bench's own. */
function classify(method: string, path: string): string | undefined {
  const m = /^\/(?:api\/v1|apis\/[^/]+\/[^/]+)\/(?:namespaces\/([^/]+)\/)?([a-z]+)(?:\/([^/]+))?(?:\/([a-z]+))?$/.exec(path);
  if (!m) return `${method} ${path}`;
  const [, namespace, resource, name, sub] = m;
  const own = resource === "namespaces" && method === "POST";
  const benchWrites =
    namespace === NS && !sub && ["POST", "PUT", "DELETE"].includes(method) && ["memorydbusers", "secrets"].includes(resource!);
  // The bench watches and lists its namespace's users; the operator lists and watches all namespaces.
  const benchReads = namespace === NS && resource === "memorydbusers" && !name && method === "GET";
  if (own || benchWrites || benchReads) return undefined;
  return `${name ? method : method === "GET" ? "LIST/WATCH" : method} ${resource}${sub ? `/${sub}` : ""}`;
}

export interface EnvOptions {
  regions: number;
  awsLatencyMs: number;
  rateLimit?: RateLimit;
}

export class BenchEnv {
  readonly kube: KubeApiServer;
  readonly emulators: MemoryDBEmulator[];
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  readonly requests: KubeRequests;

  private constructor(kube: KubeApiServer, emulators: MemoryDBEmulator[]) {
    this.kube = kube;
    this.emulators = emulators;
    this.kc = new KubeConfig();
    this.kc.loadFromString(kube.kubeconfig());
    reuseConnections(this.kc);
    this.core = this.kc.makeApiClient(CoreV1Api);
    this.custom = this.kc.makeApiClient(CustomObjectsApi);
    this.requests = new KubeRequests(kube);
  }

  static async start(options: EnvOptions): Promise<BenchEnv> {
    if (options.regions > REGIONS.length) throw new Error(`at most ${REGIONS.length} regions`);
    // A history long enough that a watch resumed during a burst of 10,000 creates finds its resourceVersion.
    const kube = await KubeApiServer.start({ crdFiles: [CRD_FILE], watchCacheSize: 50_000 });
    const emulators = await Promise.all(
      REGIONS.slice(0, options.regions).map((region) =>
        MemoryDBEmulator.start({ region, maxUsers: USERS_PER_REGION, ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}) }),
      ),
    );
    for (const e of emulators) e.faults.latencyMs = options.awsLatencyMs;
    const env = new BenchEnv(kube, emulators);
    await env.core.createNamespace({ body: { metadata: { name: NS } } });
    return env;
  }

  get regions(): string[] {
    return this.emulators.map((e) => e.region);
  }

  /** The region of user `i`: round robin. */
  regionOf(i: number): MemoryDBEmulator {
    return this.emulators[i % this.emulators.length]!;
  }

  /** MEMORYDB_ENDPOINT for the operator: region=URL for every emulator. */
  get endpoints(): string {
    return this.emulators.map((e) => `${e.region}=${e.endpoint}`).join(",");
  }

  /** MemoryDB calls by operation, all regions together. */
  awsCalls(): Record<string, number> {
    const sum: Record<string, number> = {};
    for (const e of this.emulators) for (const [op, n] of Object.entries(e.calls)) sum[op] = (sum[op] ?? 0) + n;
    return sum;
  }

  awsLog() {
    return this.emulators.flatMap((e) => e.callLog);
  }

  resetCounts(): void {
    for (const e of this.emulators) e.resetCalls();
    this.requests.reset();
  }

  /** Requests of the operator (Kubernetes and MemoryDB) so far: to notice that none come any more. */
  get activity(): number {
    return this.requests.total + this.emulators.reduce((n, e) => n + e.callLog.length, 0);
  }

  async createSecrets(from: number, to: number): Promise<void> {
    await pool(to - from, CLIENT_PARALLELISM, (k) =>
      this.core.createNamespacedSecret({
        namespace: NS,
        body: { metadata: { name: secretName(from + k) }, stringData: { password: password(from + k) } },
      }),
    );
  }

  async createUser(i: number): Promise<void> {
    await this.custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: NS,
      plural: PLURAL,
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: "MemoryDBUser",
        metadata: { name: userName(i), namespace: NS },
        spec: {
          accessString: "on ~app:* &* +@read",
          region: this.regionOf(i).region,
          authenticationMode: { type: "password", passwords: [{ secretKeyRef: { name: secretName(i), key: "password" } }] },
        },
      },
    });
  }

  async rotate(i: number, value: string): Promise<void> {
    await this.core.replaceNamespacedSecret({
      namespace: NS,
      name: secretName(i),
      body: { metadata: { name: secretName(i), namespace: NS }, stringData: { password: value } },
    });
  }

  async stop(): Promise<void> {
    await Promise.all(this.emulators.map((e) => e.stop()));
    await this.kube.stop();
  }
}

/** Watches the bench's users and notes when each first shows Ready=True (performance.now() of the event). */
export class ReadyWatch {
  readonly readyAt = new Map<string, number>();
  readonly #kc: KubeConfig;
  #rv = "";
  #stopped = false;
  #abort: (() => void) | undefined;
  #waiters: Array<() => void> = [];

  constructor(kc: KubeConfig) {
    this.#kc = kc;
  }

  get count(): number {
    return this.readyAt.size;
  }

  async start(): Promise<void> {
    const custom = this.#kc.makeApiClient(CustomObjectsApi);
    const list = (await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL })) as {
      items: MemoryDBUser[];
      metadata: { resourceVersion: string };
    };
    for (const u of list.items) this.#see(u);
    this.#rv = list.metadata.resourceVersion;
    void this.#watch();
  }

  #see(u: MemoryDBUser): void {
    const name = u.metadata.name;
    if (this.readyAt.has(name)) return;
    if (u.status?.conditions?.find((c) => c.type === "Ready")?.status !== "True") return;
    this.readyAt.set(name, performance.now());
    for (const w of this.#waiters.splice(0)) w();
  }

  async #watch(): Promise<void> {
    while (!this.#stopped) {
      await new Promise<void>((resolve) => {
        const w = new Watch(this.#kc);
        w.watch(
          `/apis/${GROUP}/${VERSION}/namespaces/${NS}/${PLURAL}`,
          { resourceVersion: this.#rv, allowWatchBookmarks: true },
          (_type: string, obj: MemoryDBUser) => {
            if (obj.metadata?.resourceVersion) this.#rv = obj.metadata.resourceVersion;
            if (obj.metadata?.name) this.#see(obj);
          },
          () => resolve(),
        ).then(
          (req) => (this.#abort = () => req.abort()),
          () => resolve(),
        );
      });
    }
  }

  /** Resolves once `name` is Ready (its time), or rejects after `timeoutMs`. */
  async until(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  stop(): void {
    this.#stopped = true;
    this.#abort?.();
  }
}
