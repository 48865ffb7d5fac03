// A real kube-apiserver (v1.20.2, built by build.sh) with Debian's etcd, started on loopback for
// the test suite: the same HTTP, watch, admission, RBAC, status-subresource, patch and CRD code
// as any cluster of that version. Where it and the local fake API server disagree, it is right.
import { type ChildProcess, spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiextensionsV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import * as yaml from "js-yaml";
import { freePort } from "../ports.ts";

export const DEFAULT_BINARY = "/var/cache/kube-apiserver-1.20/bin/kube-apiserver";

/** Who a static token authenticates as (kube-apiserver's --token-auth-file). */
export interface TokenIdentity {
  user: string;
  groups?: string[];
}

export interface RealApiServerOptions {
  /** The kube-apiserver binary; default $KUBE_APISERVER, $KAS_HOME/bin/kube-apiserver, then DEFAULT_BINARY. */
  binary?: string;
  /** Identities besides the admin (system:masters), e.g. the operator's ServiceAccount for RBAC tests. */
  identities?: TokenIdentity[];
}

function binaryPath(explicit: string | undefined): string {
  const candidates = [
    explicit,
    process.env.KUBE_APISERVER,
    process.env.KAS_HOME && join(process.env.KAS_HOME, "bin", "kube-apiserver"),
    DEFAULT_BINARY,
  ];
  const found = candidates.find((p): p is string => !!p && existsSync(p));
  if (!found) {
    throw new Error(
      `no kube-apiserver binary (looked at ${candidates.filter(Boolean).join(", ")}): ` +
        "build it with local-control-plane/kube-apiserver/build.sh (.ci/run does)",
    );
  }
  return found;
}

/** A CRD as Kubernetes 1.20 takes it: without CEL rules (x-kubernetes-validations, 1.25+). */
export function withoutCelRules(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutCelRules);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k]) => k !== "x-kubernetes-validations")
      .map(([k, v]) => [k, withoutCelRules(v)]),
  );
}

export class RealKubeApiServer {
  readonly url: string;
  readonly version = "v1.20.2";
  readonly #dir: string;
  readonly #processes: ChildProcess[];
  readonly #tokens: Map<string, string>;
  readonly #logs: () => string;

  private constructor(url: string, dir: string, processes: ChildProcess[], tokens: Map<string, string>, logs: () => string) {
    this.url = url;
    this.#dir = dir;
    this.#processes = processes;
    this.#tokens = tokens;
    this.#logs = logs;
  }

  static async start(options: RealApiServerOptions = {}): Promise<RealKubeApiServer> {
    const bin = binaryPath(options.binary);
    const dir = await mkdtemp(join(tmpdir(), "kube-apiserver-"));
    const [apiPort, etcdPort, etcdPeerPort] = [await freePort(), await freePort(), await freePort()];
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    await writeFile(join(dir, "sa.pub"), publicKey.export({ type: "spki", format: "pem" }));
    await writeFile(join(dir, "sa.key"), privateKey.export({ type: "pkcs8", format: "pem" }));
    const tokens = new Map<string, string>();
    const identities: TokenIdentity[] = [{ user: "admin", groups: ["system:masters"] }, ...(options.identities ?? [])];
    const lines = identities.map((id, i) => {
      const token = randomBytes(24).toString("hex");
      tokens.set(id.user, token);
      return `${token},${id.user},uid-${i},"${(id.groups ?? []).join(",")}"`;
    });
    await writeFile(join(dir, "tokens.csv"), `${lines.join("\n")}\n`);

    let log = "";
    const keep = (p: ChildProcess) => {
      p.stdout?.on("data", (d) => (log = (log + d).slice(-200_000)));
      p.stderr?.on("data", (d) => (log = (log + d).slice(-200_000)));
      return p;
    };
    const etcd = keep(
      spawn(
        "etcd",
        [
          "--name",
          "kas",
          "--data-dir",
          join(dir, "etcd"),
          "--listen-client-urls",
          `http://127.0.0.1:${etcdPort}`,
          "--advertise-client-urls",
          `http://127.0.0.1:${etcdPort}`,
          "--listen-peer-urls",
          `http://127.0.0.1:${etcdPeerPort}`,
          "--initial-advertise-peer-urls",
          `http://127.0.0.1:${etcdPeerPort}`,
          "--initial-cluster",
          `kas=http://127.0.0.1:${etcdPeerPort}`,
          "--listen-metrics-urls",
          "",
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      ),
    );
    const apiserver = keep(
      spawn(
        bin,
        [
          `--etcd-servers=http://127.0.0.1:${etcdPort}`,
          "--bind-address=127.0.0.1",
          "--advertise-address=127.0.0.1",
          `--secure-port=${apiPort}`,
          "--insecure-port=0",
          `--cert-dir=${join(dir, "certs")}`,
          `--token-auth-file=${join(dir, "tokens.csv")}`,
          "--authorization-mode=RBAC",
          "--service-account-issuer=https://kubernetes.default.svc",
          `--service-account-key-file=${join(dir, "sa.pub")}`,
          `--service-account-signing-key-file=${join(dir, "sa.key")}`,
          "--api-audiences=https://kubernetes.default.svc",
          "--service-cluster-ip-range=10.96.0.0/16",
          "--endpoint-reconciler-type=none",
          "--disable-admission-plugins=ServiceAccount",
          "--profiling=false",
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      ),
    );
    const server = new RealKubeApiServer(`https://127.0.0.1:${apiPort}`, dir, [apiserver, etcd], tokens, () => log);
    try {
      await server.#ready();
    } catch (err) {
      await server.stop();
      throw new Error(`${(err as Error).message}\n${log.slice(-4000)}`);
    }
    return server;
  }

  /** Ready once /readyz answers and the default namespace exists (the bootstrap controllers ran). */
  async #ready(): Promise<void> {
    const core = this.kubeConfig().makeApiClient(CoreV1Api);
    const deadline = Date.now() + 120_000;
    for (;;) {
      for (const p of this.#processes) if (p.exitCode !== null) throw new Error(`${p.spawnfile} exited with ${p.exitCode}`);
      try {
        await core.readNamespace({ name: "default" });
        return;
      } catch {
        if (Date.now() > deadline) throw new Error("kube-apiserver not ready after 120 s");
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** The server's log (etcd's and kube-apiserver's output), for failure messages. */
  get log(): string {
    return this.#logs();
  }

  tokenFor(user: string): string {
    const token = this.#tokens.get(user);
    if (!token) throw new Error(`no token for ${user}: pass it in RealApiServerOptions.identities`);
    return token;
  }

  /** A kubeconfig for `user` (default the admin). The serving certificate is self-signed. */
  kubeconfig(user = "admin", namespace = "default"): string {
    return yaml.dump({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "real", cluster: { server: this.url, "insecure-skip-tls-verify": true } }],
      users: [{ name: user, user: { token: this.tokenFor(user) } }],
      contexts: [{ name: "real", context: { cluster: "real", user, namespace } }],
      "current-context": "real",
    });
  }

  kubeConfig(user = "admin"): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromString(this.kubeconfig(user));
    return kc;
  }

  /**
   * Installs a CRD file without its CEL rules (v1.20 predates them) and waits until it is
   * Established. The CRD goes as raw JSON: client-node's typed serializer would drop fields it
   * does not model (enum, default, x-kubernetes-*), and with them the schema's checks.
   */
  async installCrd(file: string): Promise<void> {
    const crd = withoutCelRules(yaml.load(readFileSync(file, "utf8"))) as { metadata: { name: string } };
    await this.#post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd);
    const api = this.kubeConfig().makeApiClient(ApiextensionsV1Api);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const got = await api.readCustomResourceDefinition({ name: crd.metadata.name });
      if (got.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`CRD ${crd.metadata.name} not Established after 30 s`);
  }

  /** POSTs `body` as the admin, as JSON exactly as given. */
  async #post(path: string, body: unknown): Promise<void> {
    const text = JSON.stringify(body);
    await new Promise<void>((resolve, reject) => {
      const req = httpsRequest(
        `${this.url}${path}`,
        {
          method: "POST",
          rejectUnauthorized: false, // the serving certificate is self-signed
          headers: {
            Authorization: `Bearer ${this.tokenFor("admin")}`,
            "Content-Type": "application/json",
            "Content-Length": Buffer.byteLength(text),
          },
        },
        (res) => {
          let answer = "";
          res.on("data", (d) => (answer += d));
          res.on("end", () =>
            (res.statusCode ?? 0) < 300 ? resolve() : reject(new Error(`POST ${path}: HTTP ${res.statusCode}: ${answer.slice(0, 500)}`)),
          );
        },
      );
      req.on("error", reject);
      req.end(text);
    });
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.#processes.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            p.once("exit", () => resolve());
            p.kill("SIGTERM");
            setTimeout(() => p.kill("SIGKILL"), 5000).unref();
          }),
      ),
    );
    await rm(this.#dir, { recursive: true, force: true });
  }
}
