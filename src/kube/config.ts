// Finding the cluster: an explicit kubeconfig, $KUBECONFIG, ~/.kube/config, or the in-cluster
// service account. Fails clearly instead of letting the client fall back to localhost:8080.
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
  return kc;
}
