// Finding the cluster: an explicit kubeconfig, $KUBECONFIG, ~/.kube/config, or the in-cluster
// service account. Fails clearly instead of letting the client fall back to localhost:8080.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { ConfigError } from "../config.ts";

const SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

export function loadKubeConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  const candidates = [path, ...(env.KUBECONFIG ?? "").split(":"), join(homedir(), ".kube", "config")].filter(
    (p): p is string => p !== undefined && p !== "",
  );
  const file = candidates.find((p) => existsSync(p));
  if (path !== undefined && file !== path) {
    throw new ConfigError(`--kubeconfig: no file at ${path}`);
  }
  try {
    if (file !== undefined) kc.loadFromFile(file);
    else if (env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) kc.loadFromCluster();
    else {
      throw new ConfigError(
        "no Kubernetes configuration found: set --kubeconfig or KUBECONFIG, create ~/.kube/config, " +
          "or run in a pod with a service account",
      );
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`cannot load the Kubernetes configuration from ${file ?? "the cluster"}: ${(err as Error).message}`);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) {
    throw new ConfigError(`the Kubernetes configuration ${file ?? ""} has no current context with a cluster server`);
  }
  return reuseConnections(kc);
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
  target.createDispatcher = (cluster, agentOptions) => {
    const options = kc.createDispatcherOptions(cluster as never, agentOptions as never);
    // Buffers (CA, certificate, key) serialise as their bytes: a rotated one gives a new key.
    const key = createHash("sha256").update(JSON.stringify(options)).digest("hex");
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
