// The operator's start-up steps that need the cluster: who this cluster is (ownership tags) and
// the password verifiers' key. A passing API error is retried; a refusal names the RBAC fix.
import { randomBytes } from "node:crypto";
import type { Config } from "./config.ts";
import { ConfigError } from "./config-values.ts";
import type { KubeApi } from "./kube/api.ts";
import { retryUntilSettled, transientStatus } from "./kube/backoff.ts";
import { httpStatus, KubeError } from "./kube/request.ts";
import { loadVerifierKey } from "./kube/verifier-key.ts";
import type { Logger } from "./observability/log.ts";

/** The verifiers' key: kept in a Secret, or (without one configured) this process's own. */
export async function verifierKey(config: Config, kube: KubeApi, logger: Logger, signal: AbortSignal | undefined): Promise<Buffer> {
  if (!config.verifierSecret) {
    logger.warn(
      "no --verifier-secret (nor POD_NAMESPACE): password verifiers will not be recognised after a restart, which then sends each user's passwords once",
    );
    return randomBytes(32);
  }
  try {
    return await loadVerifierKey(kube, config.verifierSecret, logger, signal);
  } catch (err) {
    const status = httpStatus(err);
    const { namespace, name } = config.verifierSecret;
    const hint =
      status === 401 || status === 403 ? `; grant get on the Secret ${name} and create on Secrets in namespace ${namespace}` : "";
    throw new ConfigError(`cannot read or create the password verifier key (${(err as Error).message})${hint}`);
  }
}

export async function clusterUid(kube: KubeApi, logger: Logger, signal: AbortSignal | undefined): Promise<string> {
  try {
    return await retryUntilSettled("read the kube-system namespace", () => kube.namespaceUid("kube-system", { signal }), {
      transient: (err) => err instanceof KubeError && transientStatus(err.status),
      signal,
      onRetry: (err, delayMs) =>
        logger.warn("cannot read the cluster identity yet, retrying", { error: (err as Error).message, retryInMs: delayMs }),
    });
  } catch (err) {
    const status = httpStatus(err);
    // Only a refusal is a permission problem; anything else is reported as it is.
    const hint = status === 401 || status === 403 ? "; grant get on the kube-system namespace or set --cluster-id / CLUSTER_ID" : "";
    throw new ConfigError(`cannot determine the cluster identity for ownership tags (${(err as Error).message})${hint}`);
  }
}
