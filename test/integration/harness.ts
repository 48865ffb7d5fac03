// Runs the operator in-process against the local control plane, through the real
// @kubernetes/client-node and the real AWS SDK, and gives tests handles on all three.
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { KubeApiServer } from "../../local-control-plane/kube/server.ts";
import { type EmulatorOptions, MemoryDBEmulator } from "../../local-control-plane/memorydb/emulator.ts";
import { loadConfig } from "../../src/config.ts";
import { reuseConnections } from "../../src/kube/config.ts";
import { scaleWatchTimings, type WatchTimings } from "../../src/kube/watch-timings.ts";
import { GROUP, type MemoryDBUser, PLURAL, VERSION } from "../../src/model.ts";
import { createLogger } from "../../src/observability/log.ts";
import type { Operator } from "../../src/operator.ts";
import { Service, type ServiceOptions } from "../../src/service.ts";
import type { RbacBundle } from "../deploy/rbac.ts";

/**
 * Tests run the production timings scaled by this one factor on every side: the operator's
 * watch timings (idle timeout, server timeout, backoff) and the local API server's bookmarks.
 */
export const TIME_SCALE = 0.1;

export const CRD_FILE = fileURLToPath(new URL("../../crds/memorydb.operators.dev_memorydbusers.yaml", import.meta.url));

/** Every log line any operator wrote during the test run, for the no-secrets check. */
export const allLogLines: string[] = [];

export interface EnvOptions {
  emulator?: EmulatorOptions;
  /** Extra operator settings as environment variables (e.g. POLL_INTERVAL). */
  env?: Record<string, string>;
  startOperator?: boolean;
  /** Also emulate MemoryDB in this region, at its own endpoint. */
  extraRegion?: string;
  /** Production timings times this, on the operator's watches and the API server's bookmarks alike (default TIME_SCALE). */
  timeScale?: number;
}

/**
 * The operator and the clients tests drive it with, against some Kubernetes API server and the
 * MemoryDB emulator. TestEnv uses the local API server; RealClusterEnv a real kube-apiserver.
 */
export class OperatorEnv {
  readonly aws: MemoryDBEmulator;
  /** A second region's MemoryDB, when asked for. */
  readonly otherRegion: MemoryDBEmulator | undefined;
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  readonly events: EventsV1Api;
  readonly logLines: string[] = [];
  /** The running operator service (probes, metrics, election, controller). */
  app: Service | undefined;
  readonly #env: Record<string, string>;
  /** The operator's watch timings, scaled like the API server's bookmarks. */
  readonly watchTimings: WatchTimings;

  protected constructor(
    kubeconfig: string,
    aws: MemoryDBEmulator,
    extra: MemoryDBEmulator | undefined,
    env: Record<string, string>,
    timeScale: number,
  ) {
    this.aws = aws;
    this.otherRegion = extra;
    this.kc = new KubeConfig();
    this.kc.loadFromString(kubeconfig);
    reuseConnections(this.kc);
    this.core = this.kc.makeApiClient(CoreV1Api);
    this.custom = this.kc.makeApiClient(CustomObjectsApi);
    this.events = this.kc.makeApiClient(EventsV1Api);
    this.#env = env;
    this.watchTimings = scaleWatchTimings(timeScale);
  }

  /** The emulators and the operator's settings for them. */
  protected static async emulators(
    options: EnvOptions,
  ): Promise<{ aws: MemoryDBEmulator; extra: MemoryDBEmulator | undefined; env: Record<string, string> }> {
    const aws = await MemoryDBEmulator.start(options.emulator);
    const extra = options.extraRegion ? await MemoryDBEmulator.start({ ...options.emulator, region: options.extraRegion }) : undefined;
    // The operator uses the AWS default credential chain; the environment is its first link.
    process.env.AWS_ACCESS_KEY_ID = "AKIDTEST";
    process.env.AWS_SECRET_ACCESS_KEY = "test-secret-key";
    const env = {
      AWS_REGION: aws.region,
      MEMORYDB_ENDPOINT: extra ? `${aws.region}=${aws.endpoint},${extra.region}=${extra.endpoint}` : aws.endpoint,
      POLL_INTERVAL: "100ms",
      RETRY_BASE_DELAY: "50ms",
      RETRY_MAX_DELAY: "2s",
      LOG_LEVEL: "debug",
      SHUTDOWN_TIMEOUT: "5s",
      // As in a pod: the verifier key Secret (and the Lease) live in the operator's namespace.
      POD_NAMESPACE: "default",
      METRICS_BIND_ADDRESS: "127.0.0.1:0",
      HEALTH_PROBE_BIND_ADDRESS: "127.0.0.1:0",
      ...options.env,
    };
    return { aws, extra, env };
  }

  /** A kubeconfig authenticating as this ServiceAccount. */
  protected serviceAccountConfig(_namespace: string, _name: string): KubeConfig {
    throw new Error("this API server has no ServiceAccount identities");
  }

  /** Creates the RBAC objects of an install as the admin; answers a kubeconfig for its ServiceAccount. */
  async grant(bundle: RbacBundle): Promise<KubeConfig> {
    const objects = KubernetesObjectApi.makeApiClient(this.kc);
    const { namespace, name } = bundle.serviceAccount;
    await this.createNamespace(namespace).catch(() => undefined);
    for (const obj of bundle.objects) await objects.create(obj as never);
    return this.serviceAccountConfig(namespace, name);
  }

  /** The controller side of the running operator (once it leads). */
  get operator(): Operator | undefined {
    return this.app?.operator;
  }

  /** Start an operator; `kc` runs it under another identity (default: the admin). */
  async startOperator(extraEnv: Record<string, string> = {}, options: ServiceOptions & { kc?: KubeConfig } = {}): Promise<Service> {
    const app = await this.startReplica(extraEnv, options);
    this.app = app;
    await this.until("the operator leads", () => app.operator !== undefined);
    return app;
  }

  /** Start an operator process-alike beside `app` (e.g. a standby replica); its log joins logLines. */
  async startReplica(extraEnv: Record<string, string> = {}, options: ServiceOptions & { kc?: KubeConfig } = {}): Promise<Service> {
    const stream = new PassThrough();
    stream.setEncoding("utf8");
    let partial = "";
    stream.on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      this.logLines.push(...lines);
      allLogLines.push(...lines);
    });
    const config = loadConfig([], { ...this.#env, ...extraEnv });
    const logger = createLogger({ level: config.logLevel, format: config.logFormat, stream });
    const { kc, ...appOptions } = options;
    const app = new Service(config, kc ?? this.kc, logger, { watch: this.watchTimings, ...appOptions });
    await app.start();
    return app;
  }

  async stopOperator(): Promise<void> {
    await this.app?.stop();
    this.app = undefined;
  }

  async stop(): Promise<void> {
    await this.stopOperator();
    await this.aws.stop();
    await this.otherRegion?.stop();
  }

  async createNamespace(name: string): Promise<void> {
    await this.core.createNamespace({ body: { metadata: { name } } });
  }

  async createSecret(namespace: string, name: string, data: Record<string, string>): Promise<void> {
    await this.core.createNamespacedSecret({ namespace, body: { metadata: { name }, stringData: data } });
  }

  async createUser(namespace: string, name: string, spec: Record<string, unknown>): Promise<MemoryDBUser> {
    return (await this.custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: PLURAL,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: "MemoryDBUser", metadata: { name, namespace }, spec },
    })) as MemoryDBUser;
  }

  async getUser(namespace: string, name: string): Promise<MemoryDBUser> {
    return (await this.custom.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: PLURAL,
      name,
    })) as MemoryDBUser;
  }

  async patchUserSpec(namespace: string, name: string, spec: Record<string, unknown>): Promise<void> {
    await this.patchUser(namespace, name, { spec });
  }

  async patchUser(namespace: string, name: string, body: Record<string, unknown>): Promise<void> {
    await this.custom.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  }

  async deleteUser(namespace: string, name: string): Promise<void> {
    await this.custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name });
  }

  async replaceSecret(namespace: string, name: string, data: Record<string, string>): Promise<void> {
    await this.core.replaceNamespacedSecret({ namespace, name, body: { metadata: { name, namespace }, stringData: data } });
  }

  /** A Secret's keys, decoded; undefined if it does not exist. */
  async secretValues(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    try {
      const s = await this.core.readNamespacedSecret({ namespace, name });
      return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  }

  /** Waits until the resource is gone from the API server. */
  async waitForGone(namespace: string, name: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        await this.getUser(namespace, name);
      } catch (err) {
        if ((err as { code?: number }).code === 404) return;
        throw err;
      }
      await sleep(50);
    }
    throw new Error(`timed out waiting for ${namespace}/${name} to be deleted`);
  }

  /** Waits until the operator has listed everything and has nothing queued or running. */
  async idle(timeoutMs = 30_000): Promise<void> {
    let quiet = 0;
    await this.until(
      "the operator is idle",
      () => {
        quiet = this.operator?.idle ? quiet + 1 : 0;
        return quiet >= 5;
      },
      timeoutMs,
    );
  }

  /**
   * Waits until the Lease was renewed `times` more times: with more renewals than fit in a lease
   * duration, a standby that could take over would have.
   */
  async leaseRenewed(times: number, namespace = "default", name = "memorydb-user-operator"): Promise<void> {
    const leases = this.kc.makeApiClient(CoordinationV1Api);
    const seen = new Set<string>();
    await this.until(
      `the Lease is renewed ${times} times`,
      async () => {
        const lease = await leases.readNamespacedLease({ namespace, name });
        seen.add(String(lease.spec?.renewTime));
        return seen.size > times;
      },
      30_000,
    );
  }

  /** Waits until `check` holds, polling. */
  async until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await check()) return;
      await sleep(50);
    }
    throw new Error(`timed out waiting until ${what}`);
  }

  /** Waits until the resource satisfies `check`; fails with the last status seen. */
  async waitForUser(namespace: string, name: string, check: (u: MemoryDBUser) => boolean, timeoutMs = 10_000): Promise<MemoryDBUser> {
    const deadline = Date.now() + timeoutMs;
    let last: MemoryDBUser | undefined;
    while (Date.now() < deadline) {
      last = await this.getUser(namespace, name);
      if (check(last)) return last;
      await sleep(50);
    }
    throw new Error(`timed out waiting for ${namespace}/${name}; last status: ${JSON.stringify(last?.status)}`);
  }

  async eventsFor(namespace: string, name: string): Promise<Array<{ reason?: string; note?: string; type?: string }>> {
    const list = await this.events.listNamespacedEvent({ namespace });
    return list.items.filter((e) => e.regarding?.name === name);
  }
}

/** The operator against the local API server, whose faults and request log tests use. */
export class TestEnv extends OperatorEnv {
  readonly kube: KubeApiServer;

  private constructor(
    kube: KubeApiServer,
    aws: MemoryDBEmulator,
    extra: MemoryDBEmulator | undefined,
    env: Record<string, string>,
    timeScale: number,
  ) {
    super(kube.kubeconfig(), aws, extra, env, timeScale);
    this.kube = kube;
  }

  static async start(options: EnvOptions = {}): Promise<TestEnv> {
    const timeScale = options.timeScale ?? TIME_SCALE;
    const kube = await KubeApiServer.start({ crdFiles: [CRD_FILE], bookmarkIntervalMs: 60_000 * timeScale });
    const { aws, extra, env: settings } = await OperatorEnv.emulators(options);
    const env = new TestEnv(kube, aws, extra, settings, timeScale);
    if (options.startOperator !== false) await env.startOperator();
    return env;
  }

  protected override serviceAccountConfig(namespace: string, name: string): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromString(this.kube.kubeconfig({ serviceAccount: { namespace, name } }));
    return kc;
  }

  /** A kubeconfig for a user (a tenant, say) with the groups of any authenticated user. */
  userConfig(user: string): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromString(this.kube.kubeconfig({ user }));
    return kc;
  }

  override async stop(): Promise<void> {
    await super.stop();
    await this.kube.stop();
  }
}

export function condition(user: MemoryDBUser, type: "Ready" | "Synced") {
  return user.status?.conditions?.find((c) => c.type === type);
}

export const isReady = (u: MemoryDBUser) => condition(u, "Ready")?.status === "True";

export const reasonIs = (reason: string) => (u: MemoryDBUser) => condition(u, "Ready")?.reason === reason;

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export const PASSWORD_1 = "first-password-0123456789";
export const PASSWORD_2 = "second-password-abcdefghij";

export const passwordSpec = (secret = "app-pw", key = "password") => ({
  accessString: "on ~app:* &* +@read",
  authenticationMode: { type: "password", passwords: [{ secretKeyRef: { name: secret, key } }] },
  tags: { team: "payments" },
});
