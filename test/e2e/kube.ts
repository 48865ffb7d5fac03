// The cluster under test, through the real kubectl (writes, waits, deletes: what people use)
// and @kubernetes/client-node (reads of status, Secrets' versions and Events). Only plain
// API machinery every Kubernetes since 1.20 serves: no server-side apply, no CEL, core/v1 Events.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { ApiException, CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import * as yaml from "js-yaml";

export const GROUP = "memorydb.operators.dev";
export const VERSION = "v1alpha1";
export const PLURAL = "memorydbusers";
export const API_VERSION = `${GROUP}/${VERSION}`;
export const FINALIZER = `${GROUP}/finalizer`;
export const OWNERSHIP_TAG = `${GROUP}/owner`;
/** Label on every object the suite creates; its value is the run's prefix. */
export const RUN_LABEL = "e2e.memorydb.operators.dev/run";

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

export interface PasswordSource {
  name: string;
  key: string;
  resourceVersion: string;
}

export interface MdbUser {
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    deletionTimestamp?: string;
    finalizers?: string[];
    labels?: Record<string, string>;
  };
  spec: {
    userName?: string;
    accessString: string;
    deletionPolicy?: string;
    authenticationMode: { type?: string; passwords?: Array<{ secretKeyRef: { name: string; key: string } }> };
    tags?: Record<string, string>;
    adoptExisting?: boolean;
  };
  status?: {
    observedGeneration?: number;
    conditions?: Condition[];
    userName?: string;
    arn?: string;
    status?: string;
    accessString?: string;
    authentication?: { type?: string; passwordCount?: number };
    passwordSecrets?: PasswordSource[];
    passwordRotation?: { phase: string; lastRotationRequest?: string };
  };
}

/** A core/v1 Event about a MemoryDBUser (the operator writes events.k8s.io/v1; both APIs show them). */
export interface KubeEvent {
  name: string;
  type: string;
  reason: string;
  message: string;
  uid: string | undefined;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CallOptions {
  input?: string;
  /** Kill kubectl after this long. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export class KubectlError extends Error {
  override name = "KubectlError";
  readonly run: Run;
  constructor(args: string[], run: Run) {
    super(`kubectl ${args.join(" ")} exited ${run.code}: ${(run.stderr || run.stdout).trim()}`);
    this.run = run;
  }
}

/** Where the configuration comes from: --kubeconfig, then $KUBECONFIG, then ~/.kube/config. */
function loadConfig(kubeconfig: string | undefined, context: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfig !== undefined) {
    if (!existsSync(kubeconfig)) throw new Error(`--kubeconfig: no file at ${kubeconfig}`);
    kc.loadFromFile(kubeconfig);
  } else if (process.env.KUBECONFIG) {
    kc.loadFromDefault();
  } else if (existsSync(join(homedir(), ".kube", "config"))) {
    kc.loadFromFile(join(homedir(), ".kube", "config"));
  } else if (process.env.KUBERNETES_SERVICE_HOST) {
    kc.loadFromCluster();
  } else {
    // client-node would silently fall back to http://localhost:8080.
    throw new Error("no Kubernetes configuration: pass --kubeconfig, set KUBECONFIG or create ~/.kube/config");
  }
  if (context !== undefined) {
    if (!kc.getContextObject(context)) throw new Error(`--context: no context "${context}" in the kubeconfig`);
    kc.setCurrentContext(context);
  }
  if (!kc.getCurrentCluster()?.server) throw new Error("the kubeconfig's current context names no cluster server");
  return kc;
}

function describeApiError(what: string, err: unknown): Error {
  if (!(err instanceof ApiException)) return new Error(`${what}: ${(err as Error)?.message ?? String(err)}`);
  let message = "";
  try {
    const body = typeof err.body === "string" ? JSON.parse(err.body) : err.body;
    message = typeof body?.message === "string" ? body.message : "";
  } catch {
    message = String(err.body).slice(0, 300);
  }
  return new Error(`${what}: HTTP ${err.code}${message ? `: ${message}` : ""}`);
}

const notFound = (err: unknown) => err instanceof ApiException && err.code === 404;

export class Cluster {
  readonly kc: KubeConfig;
  readonly server: string;
  readonly #core: CoreV1Api;
  readonly #custom: CustomObjectsApi;
  readonly #globalArgs: string[];

  constructor(kubeconfig: string | undefined, context: string | undefined) {
    this.kc = loadConfig(kubeconfig, context);
    this.server = this.kc.getCurrentCluster()!.server;
    this.#core = this.kc.makeApiClient(CoreV1Api);
    this.#custom = this.kc.makeApiClient(CustomObjectsApi);
    // kubectl resolves --kubeconfig, $KUBECONFIG and ~/.kube/config itself, in the same order.
    this.#globalArgs = [...(kubeconfig ? ["--kubeconfig", kubeconfig] : []), ...(context ? ["--context", context] : [])];
  }

  /** Runs kubectl; never throws for a non-zero exit (see `ok`). */
  kubectl(args: string[], opts: CallOptions = {}): Promise<Run> {
    return new Promise((resolve, reject) => {
      if (opts.signal?.aborted) {
        reject(new Error("interrupted"));
        return;
      }
      // A kuberc (kubectl 1.33+) could change defaults such as apply's mode: not ours to inherit.
      const child = spawn("kubectl", [...this.#globalArgs, ...args], {
        env: { ...process.env, KUBECTL_KUBERC: "false" },
        stdio: ["pipe", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      let killedFor: string | undefined;
      const kill = (why: string) => {
        killedFor = why;
        child.kill("SIGTERM");
      };
      const timer =
        opts.timeoutMs === undefined
          ? undefined
          : setTimeout(() => kill(`timed out after ${Math.round(opts.timeoutMs! / 1000)}s`), opts.timeoutMs);
      const onAbort = () => kill("interrupted");
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      child.on("error", (err) => {
        clearTimeout(timer);
        opts.signal?.removeEventListener("abort", onAbort);
        reject(new Error(`cannot run kubectl (is it on PATH?): ${err.message}`));
      });
      child.on("close", (code) => {
        clearTimeout(timer);
        opts.signal?.removeEventListener("abort", onAbort);
        if (killedFor !== undefined) reject(new Error(`kubectl ${args.join(" ")}: ${killedFor}`));
        else resolve({ code: code ?? -1, stdout, stderr });
      });
      child.stdin.on("error", () => {}); // kubectl may exit before reading all of stdin
      child.stdin.end(opts.input ?? "");
    });
  }

  /** Runs kubectl and answers its stdout; a non-zero exit throws with kubectl's message. */
  async ok(args: string[], opts: CallOptions = {}): Promise<string> {
    const run = await this.kubectl(args, opts);
    if (run.code !== 0) throw new KubectlError(args, run);
    return run.stdout;
  }

  /** `kubectl apply -f -` of the objects, as YAML on stdin (passwords never on a command line). */
  apply(objects: object[], opts: CallOptions & { extraArgs?: string[] } = {}): Promise<Run> {
    const input = objects.map((o) => yaml.dump(o, { lineWidth: -1, noRefs: true })).join("---\n");
    return this.kubectl(["apply", ...(opts.extraArgs ?? []), "-f", "-"], { ...opts, input });
  }

  async getUser(namespace: string, name: string): Promise<MdbUser | undefined> {
    try {
      return (await this.#custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name })) as MdbUser;
    } catch (err) {
      if (notFound(err)) return undefined;
      throw describeApiError(`get MemoryDBUser ${namespace}/${name}`, err);
    }
  }

  async listUsers(namespace: string, labelSelector: string): Promise<MdbUser[]> {
    try {
      const list = (await this.#custom.listNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        labelSelector,
      })) as { items: MdbUser[] };
      return list.items;
    } catch (err) {
      throw describeApiError(`list MemoryDBUsers in ${namespace}`, err);
    }
  }

  /** The Secret's resourceVersion (its data is read and dropped at once). */
  async secretVersion(namespace: string, name: string): Promise<string | undefined> {
    try {
      const secret = await this.#core.readNamespacedSecret({ namespace, name });
      return secret.metadata?.resourceVersion;
    } catch (err) {
      if (notFound(err)) return undefined;
      throw describeApiError(`get Secret ${namespace}/${name}`, err);
    }
  }

  /** A Secret's values, decoded (to check a generated password; never printed). */
  async secretValues(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    try {
      const secret = await this.#core.readNamespacedSecret({ namespace, name });
      return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
    } catch (err) {
      if (notFound(err)) return undefined;
      throw describeApiError(`get Secret ${namespace}/${name}`, err);
    }
  }

  /** Events about the MemoryDBUser named `name` (any uid: a deleted resource's too). */
  async events(namespace: string, name: string): Promise<KubeEvent[]> {
    try {
      const list = await this.#core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
      return list.items
        .filter((e) => e.involvedObject?.kind === "MemoryDBUser" && e.involvedObject?.name === name)
        .map((e) => ({
          name: e.metadata?.name ?? "",
          type: e.type ?? "",
          reason: e.reason ?? "",
          message: e.message ?? "",
          uid: e.involvedObject?.uid,
        }));
    } catch (err) {
      throw describeApiError(`list Events of ${namespace}/${name}`, err);
    }
  }

  /** Events whose object's name starts with `prefix` (for cleanup in a shared namespace). */
  async eventsWithPrefix(namespace: string, prefix: string): Promise<string[]> {
    try {
      const list = await this.#core.listNamespacedEvent({ namespace });
      return list.items
        .filter((e) => e.involvedObject?.name?.startsWith(prefix))
        .map((e) => e.metadata?.name ?? "")
        .filter((n) => n);
    } catch (err) {
      throw describeApiError(`list Events in ${namespace}`, err);
    }
  }

  async deleteEvent(namespace: string, name: string): Promise<void> {
    try {
      await this.#core.deleteNamespacedEvent({ namespace, name });
    } catch (err) {
      if (!notFound(err)) throw describeApiError(`delete Event ${namespace}/${name}`, err);
    }
  }

  async namespace(name: string): Promise<{ terminating: boolean; labels: Record<string, string> } | undefined> {
    try {
      const ns = await this.#core.readNamespace({ name });
      return {
        terminating: ns.metadata?.deletionTimestamp !== undefined || ns.status?.phase === "Terminating",
        labels: ns.metadata?.labels ?? {},
      };
    } catch (err) {
      if (notFound(err)) return undefined;
      throw describeApiError(`get namespace ${name}`, err);
    }
  }
}
