// The machinery behind `npm run dev`: the local Kubernetes API server, the MemoryDB emulator (or
// another MemoryDB-compatible endpoint) and the operator as a child process (`node src/main.ts`,
// the same entry point as `npm start`), all on loopback. Tests import this module to drive the
// very same setup with the real kubectl.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as yaml from "js-yaml";
import { KubeApiServer } from "../local-control-plane/kube/server.ts";
import { MemoryDBEmulator } from "../local-control-plane/memorydb/emulator.ts";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const CRD_DIR = join(ROOT, "crds");
export const EXAMPLES_DIR = join(ROOT, "examples");
export const DEFAULT_KUBECONFIG = join(ROOT, ".local", "kubeconfig");

/** The MemoryDB user examples/adopt-existing.yaml adopts; seeded into the built-in emulator. */
export const ADOPTABLE_USER = {
  name: "legacy-reporting",
  accessString: "on ~reports:* &* +@read",
  passwords: ["legacy-password-0123456789"],
  tags: { team: "analytics" },
};

export interface DevOptions {
  /** API server port (0 = ephemeral). Default 0. */
  port?: number;
  /** Use this MemoryDB-compatible endpoint instead of starting the built-in emulator. */
  memorydbEndpoint?: string;
  /** AWS region the operator is configured with (default: the emulator's, us-east-1). */
  region?: string;
  /** Apply every manifest in examples/ once the API server is up. */
  examples?: boolean;
  /** Start the operator (default true). */
  operator?: boolean;
  /** Where to write the admin kubeconfig (default .local/kubeconfig). */
  kubeconfigPath?: string;
  /** Extra environment for the operator (e.g. POLL_INTERVAL). */
  operatorEnv?: Record<string, string>;
  /** Receives every line the operator writes (stdout and stderr). Default: discarded. */
  onOperatorLine?: (line: string) => void;
  /** Seed ADOPTABLE_USER into the built-in emulator (default true). */
  seedAdoptable?: boolean;
  /** The operator's entry point (default src/main.ts; env DEV_OPERATOR_ENTRY). */
  operatorEntry?: string;
}

export class DevEnv {
  readonly kube: KubeApiServer;
  /** The built-in emulator, or undefined with --memorydb-endpoint. */
  readonly emulator: MemoryDBEmulator | undefined;
  readonly memorydbEndpoint: string;
  readonly region: string;
  readonly kubeconfigPath: string;
  readonly operatorLines: string[] = [];
  operator: ChildProcess | undefined;
  #operatorExit: Promise<number | null> | undefined;

  private constructor(
    kube: KubeApiServer,
    emulator: MemoryDBEmulator | undefined,
    endpoint: string,
    region: string,
    kubeconfigPath: string,
  ) {
    this.kube = kube;
    this.emulator = emulator;
    this.memorydbEndpoint = endpoint;
    this.region = region;
    this.kubeconfigPath = kubeconfigPath;
  }

  static async start(opts: DevOptions = {}): Promise<DevEnv> {
    const crdFiles = (await readdir(CRD_DIR))
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()
      .map((f) => join(CRD_DIR, f));
    const kube = await KubeApiServer.start({ port: opts.port ?? 0, crdFiles, bookmarkIntervalMs: 30_000 });
    let emulator: MemoryDBEmulator | undefined;
    try {
      if (!opts.memorydbEndpoint) {
        emulator = await MemoryDBEmulator.start({ ...(opts.region ? { region: opts.region } : {}), modifyingMs: 500, deletingMs: 500 });
        if (opts.seedAdoptable !== false) emulator.seedUser(ADOPTABLE_USER);
      }
      const endpoint = opts.memorydbEndpoint ?? emulator!.endpoint;
      const region = opts.region ?? emulator?.region ?? "us-east-1";
      const kubeconfigPath = resolve(opts.kubeconfigPath ?? DEFAULT_KUBECONFIG);
      await mkdir(dirname(kubeconfigPath), { recursive: true });
      await kube.writeKubeconfig(kubeconfigPath);
      const env = new DevEnv(kube, emulator, endpoint, region, kubeconfigPath);
      if (opts.examples) await env.applyExamples();
      if (opts.operator !== false) env.startOperator(opts);
      return env;
    } catch (err) {
      await kube.stop();
      await emulator?.stop();
      throw err;
    }
  }

  /** Spawns `node src/main.ts` with this environment's kubeconfig and MemoryDB endpoint. */
  startOperator(opts: Pick<DevOptions, "operatorEnv" | "onOperatorLine" | "operatorEntry"> = {}): ChildProcess {
    const entry = opts.operatorEntry ?? process.env.DEV_OPERATOR_ENTRY ?? join(ROOT, "src", "main.ts");
    const child = spawn(process.execPath, [entry], {
      cwd: ROOT,
      env: {
        ...process.env,
        KUBECONFIG: this.kubeconfigPath,
        AWS_REGION: this.region,
        MEMORYDB_ENDPOINT: this.memorydbEndpoint,
        // The emulator checks the SigV4 scope, not the keys. A real endpoint needs real credentials:
        // keep the caller's when --memorydb-endpoint is used.
        ...(this.emulator || !process.env.AWS_ACCESS_KEY_ID
          ? { AWS_ACCESS_KEY_ID: "AKIDLOCALDEV", AWS_SECRET_ACCESS_KEY: "local-dev-secret" }
          : {}),
        AWS_EC2_METADATA_DISABLED: "true",
        POLL_INTERVAL: "1s",
        RETRY_BASE_DELAY: "200ms",
        RETRY_MAX_DELAY: "10s",
        SHUTDOWN_TIMEOUT: "5s",
        LOG_FORMAT: "text",
        // A cluster administrator's grant: examples/adopt-existing.yaml adopts in team-a.
        ALLOW_ADOPTION: "team-a",
        // Loopback only, on free ports: a laptop's 8080/8081 are often taken.
        METRICS_BIND_ADDRESS: "127.0.0.1:0",
        HEALTH_PROBE_BIND_ADDRESS: "127.0.0.1:0",
        ...opts.operatorEnv,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const onLine = (line: string) => {
      this.operatorLines.push(line);
      if (this.operatorLines.length > 5000) this.operatorLines.splice(0, 1000);
      opts.onOperatorLine?.(line);
    };
    for (const stream of [child.stdout, child.stderr]) {
      let partial = "";
      stream!.setEncoding("utf8");
      stream!.on("data", (chunk: string) => {
        const lines = (partial + chunk).split("\n");
        partial = lines.pop() ?? "";
        for (const l of lines) onLine(l);
      });
    }
    this.#operatorExit = new Promise((res) => child.once("exit", (code) => res(code)));
    this.operator = child;
    return child;
  }

  /** SIGTERM to the operator; waits for it to exit (SIGKILL after `timeoutMs`). */
  async stopOperator(timeoutMs = 8000): Promise<number | null> {
    const child = this.operator;
    if (!child || !this.#operatorExit) return null;
    this.operator = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    const code = await this.#operatorExit;
    clearTimeout(timer);
    return code;
  }

  /** Creates every object of examples/*.yaml through the API (server-side, like `kubectl create`). */
  async applyExamples(): Promise<string[]> {
    const files = (await readdir(EXAMPLES_DIR)).filter((f) => /\.ya?ml$/.test(f)).sort();
    const created: string[] = [];
    for (const f of files) {
      for (const doc of yaml.loadAll(await readFile(join(EXAMPLES_DIR, f), "utf8"))) {
        if (!doc || typeof doc !== "object") continue;
        created.push(await this.#createIfAbsent(doc as Record<string, any>));
      }
    }
    return created;
  }

  async #createIfAbsent(obj: Record<string, any>): Promise<string> {
    const [group, version] = String(obj.apiVersion).includes("/") ? String(obj.apiVersion).split("/") : ["", obj.apiVersion];
    const plural =
      obj.kind === "Namespace"
        ? "namespaces"
        : obj.kind === "Secret"
          ? "secrets"
          : obj.kind === "MemoryDBUser"
            ? "memorydbusers"
            : undefined;
    if (!plural) throw new Error(`examples: unsupported kind ${obj.kind}`);
    const base = group ? `${this.kube.url}/apis/${group}/${version}` : `${this.kube.url}/api/${version}`;
    const ns = obj.metadata?.namespace;
    const url = ns && plural !== "namespaces" ? `${base}/namespaces/${ns}/${plural}` : `${base}/${plural}`;
    // Record the manifest as `kubectl apply` does, so a later `kubectl apply -f examples/` patches cleanly.
    const { "kubectl.kubernetes.io/last-applied-configuration": _old, ...annotations } = obj.metadata?.annotations ?? {};
    const applied = { ...obj, metadata: { ...obj.metadata, annotations } };
    const body = {
      ...applied,
      metadata: {
        ...applied.metadata,
        annotations: { ...annotations, "kubectl.kubernetes.io/last-applied-configuration": `${JSON.stringify(sortKeys(applied))}\n` },
      },
    };
    const res = await fetch(url, {
      method: "POST",
      headers: { Authorization: `Bearer ${this.kube.token}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok && res.status !== 409)
      throw new Error(`examples: creating ${obj.kind} ${obj.metadata?.name}: ${res.status} ${await res.text()}`);
    return `${obj.kind.toLowerCase()}/${obj.metadata?.name}`;
  }

  async stop(): Promise<void> {
    await this.stopOperator();
    await this.kube.stop();
    await this.emulator?.stop();
  }
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object")
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  return v;
}
