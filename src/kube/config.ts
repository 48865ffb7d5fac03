// Finding the cluster: an explicit kubeconfig, $KUBECONFIG (merged as kubectl does),
// ~/.kube/config, or the in-cluster service account. Fails clearly instead of letting the
// client fall back to localhost:8080.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import type { Cluster, Context, User } from "@kubernetes/client-node";
import { KubeConfig } from "@kubernetes/client-node/dist/config.js";
import { ConfigError } from "../config-values.ts";
import { sameValue } from "../same-value.ts";

const SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/**
 * The operator's cluster: `--kubeconfig` (one file); else `$KUBECONFIG`, a list of paths merged
 * as kubectl merges them; else ~/.kube/config; else the in-cluster service account.
 */
export function loadKubeConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  let kc: KubeConfig;
  let source: string;
  try {
    if (path !== undefined) {
      if (!existsSync(path)) throw new ConfigError(`--kubeconfig: no file at ${path}`);
      kc = fromFiles([path]);
      source = path;
    } else if (env.KUBECONFIG) {
      const files = env.KUBECONFIG.split(delimiter).filter((p) => p !== "");
      const existing = files.filter((p) => existsSync(p));
      if (existing.length === 0) throw new ConfigError(`KUBECONFIG: none of its files exists (${env.KUBECONFIG})`);
      kc = fromFiles(existing);
      source = existing.join(delimiter);
    } else if (existsSync(join(homedir(), ".kube", "config"))) {
      source = join(homedir(), ".kube", "config");
      kc = fromFiles([source]);
    } else if (env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) {
      source = "the cluster";
      kc = new KubeConfig();
      kc.loadFromCluster();
    } else {
      throw new ConfigError(
        "no Kubernetes configuration found: set --kubeconfig or KUBECONFIG, create ~/.kube/config, " +
          "or run in a pod with a service account",
      );
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`cannot load the Kubernetes configuration: ${(err as Error).message}`);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) {
    throw new ConfigError(`the Kubernetes configuration from ${source} has no current context with a cluster server`);
  }
  return reuseConnections(kc);
}

/**
 * kubectl's merge of several kubeconfig files (client-go clientcmd): the first file to define a
 * cluster, user or context name wins, and so does the first current-context. Each file's
 * relative paths are resolved against that file, as loadFromFile does.
 */
function fromFiles(files: readonly string[]): KubeConfig {
  const merged = { clusters: new Map<string, Cluster>(), users: new Map<string, User>(), contexts: new Map<string, Context>() };
  let currentContext = "";
  for (const file of files) {
    const kc = new KubeConfig();
    try {
      kc.loadFromFile(file);
    } catch (err) {
      throw new ConfigError(`cannot load the Kubernetes configuration from ${file}: ${(err as Error).message}`);
    }
    for (const c of kc.getClusters()) if (!merged.clusters.has(c.name)) merged.clusters.set(c.name, c);
    for (const u of kc.getUsers()) if (!merged.users.has(u.name)) merged.users.set(u.name, u);
    for (const c of kc.getContexts()) if (!merged.contexts.has(c.name)) merged.contexts.set(c.name, c);
    currentContext ||= kc.getCurrentContext() ?? "";
  }
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [...merged.clusters.values()],
    users: [...merged.users.values()],
    contexts: [...merged.contexts.values()],
    currentContext,
  });
  return kc;
}

type CreateDispatcher = (cluster: unknown, agentOptions: unknown) => { close?: () => Promise<void> } | undefined;

/**
 * @kubernetes/client-node 2.0 builds a new connection pool (undici Agent) for every request
 * whenever the kubeconfig has TLS settings, which every real cluster has: a TCP and TLS
 * handshake per API call. Reuse one pool per distinct TLS setting instead (a rotated client
 * certificate or CA makes a new one). If a later client version drops the hook, this does nothing.
 */
export function reuseConnections(kc: KubeConfig): KubeConfig {
  const target = kc as unknown as { createDispatcher?: CreateDispatcher };
  const original = target.createDispatcher;
  if (typeof original !== "function") return kc;
  const pools = new Map<string, ReturnType<CreateDispatcher>>();
  let last: { options: unknown; key: string } | undefined;
  target.createDispatcher = (cluster, agentOptions) => {
    const options = kc.createDispatcherOptions(cluster as never, agentOptions as never);
    // Buffers (CA, certificate, key) serialise as their bytes: a rotated one gives a new key. The
    // last request's setting, the common case, is recognised without serialising it (every request asks).
    const key = last && sameValue(last.options, options) ? last.key : createHash("sha256").update(JSON.stringify(options)).digest("hex");
    last = { options, key };
    if (!pools.has(key)) {
      if (pools.size >= 4) {
        for (const pool of pools.values()) void pool?.close?.();
        pools.clear();
      }
      pools.set(key, original.call(kc, cluster, agentOptions));
    }
    return pools.get(key);
  };
  return kc;
}
