// Assembles the operator from its configuration: Kubernetes and AWS clients, reconciler,
// controller. `main.ts` runs it as a process; tests run it in-process.
import { hostname } from "node:os";
import type { KubeConfig } from "@kubernetes/client-node";
import { UserDirectory } from "./aws/directory.ts";
import { MemoryDB, MemoryDBClients } from "./aws/memorydb.ts";
import { type Config, ConfigError } from "./config.ts";
import { Controller, type ControllerDeps } from "./controller.ts";
import { EventRecorder } from "./events.ts";
import { randomBytes } from "node:crypto";
import { KubeApi, KubeError } from "./kube/api.ts";
import { loadVerifierKey } from "./kube/verifier-key.ts";
import { PasswordVerifier } from "./reconcile/verifier.ts";
import { retryUntilSettled, transientStatus } from "./kube/backoff.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import { Reconciler } from "./reconcile/reconciler.ts";

export interface Operator {
  controller: Controller;
  clusterId: string;
  /** Stop watching, finish in-flight reconciles (bounded); true if all finished in time. */
  stop(): Promise<boolean>;
}

export interface OperatorOptions {
  watch?: ControllerDeps["watch"];
  metrics?: Metrics;
  /** Aborts the start-up (the process is stopping). */
  signal?: AbortSignal;
}

export async function startOperator(config: Config, kc: KubeConfig, logger: Logger, options: OperatorOptions = {}): Promise<Operator> {
  const kube = new KubeApi(kc, process.env.POD_NAME ?? hostname());
  const clusterId = config.clusterId ?? (await clusterUid(kube, logger, options.signal));
  const verifier = new PasswordVerifier(await verifierKey(config, kube, logger, options.signal));
  const clients = new MemoryDBClients(
    (region) =>
      new MemoryDB({
        region,
        endpoint: config.memorydbEndpoints[region] ?? config.memorydbEndpoint,
        ...(options.metrics ? { onCall: options.metrics.awsCall.bind(options.metrics) } : {}),
      }),
  );
  const memorydb = (region: string, signal?: AbortSignal) => clients.for(region, signal);
  const directory = new UserDirectory(memorydb);
  const events = new EventRecorder(kube, logger, options.metrics ? { onDropped: (reason) => options.metrics!.eventDropped(reason) } : {});
  const reconciler = new Reconciler({
    kube,
    memorydb,
    directory,
    events,
    logger,
    defaults: {
      clusterId,
      region: config.region,
      tags: config.defaultTags,
      deletionPolicy: config.defaultDeletionPolicy,
      adoptionGrants: config.adoptionGrants,
    },
    tagResyncPeriodMs: config.tagResyncPeriodMs,
    allowedRegions: config.allowedRegions,
    secretSelector: config.secretLabelSelector,
    verifier,
    ...(options.metrics ? { onPasswordsSent: (why: string) => options.metrics!.passwordsSent(why) } : {}),
    snapshotMaxAgeMs: config.resyncPeriodMs,
  });
  const controller = new Controller({
    config,
    kc,
    kube,
    reconciler,
    directory,
    logger,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.watch ? { watch: options.watch } : {}),
  });
  controller.start();
  logger.info("operator started", {
    region: config.region,
    endpoint: config.memorydbEndpoint ?? "default",
    namespaces: config.namespaces.length > 0 ? config.namespaces : "all",
    clusterId,
  });
  return {
    controller,
    clusterId,
    async stop() {
      const finished = await controller.stop(config.shutdownTimeoutMs);
      // Events still queued get a moment; the rest are dropped (and counted).
      await events.flush(1000);
      clients.destroy();
      return finished;
    },
  };
}

/** The verifiers' key: kept in a Secret, or (without one configured) this process's own. */
async function verifierKey(config: Config, kube: KubeApi, logger: Logger, signal: AbortSignal | undefined): Promise<Buffer> {
  if (!config.verifierSecret) {
    logger.warn("no --verifier-secret (nor POD_NAMESPACE): password verifiers will not be recognised after a restart, which then sends each user's passwords once");
    return randomBytes(32);
  }
  try {
    return await loadVerifierKey(kube, config.verifierSecret, logger, signal);
  } catch (err) {
    const status = err instanceof KubeError ? err.status : undefined;
    const { namespace, name } = config.verifierSecret;
    const hint = status === 401 || status === 403 ? `; grant get on the Secret ${name} and create on Secrets in namespace ${namespace}` : "";
    throw new ConfigError(`cannot read or create the password verifier key (${(err as Error).message})${hint}`);
  }
}

async function clusterUid(kube: KubeApi, logger: Logger, signal: AbortSignal | undefined): Promise<string> {
  try {
    return await retryUntilSettled("read the kube-system namespace", () => kube.namespaceUid("kube-system", { signal }), {
      transient: (err) => err instanceof KubeError && transientStatus(err.status),
      signal,
      onRetry: (err, delayMs) => logger.warn("cannot read the cluster identity yet, retrying", { error: (err as Error).message, retryInMs: delayMs }),
    });
  } catch (err) {
    const status = err instanceof KubeError ? err.status : undefined;
    // Only a refusal is a permission problem; anything else is reported as it is.
    const hint = status === 401 || status === 403 ? "; grant get on the kube-system namespace or set --cluster-id / CLUSTER_ID" : "";
    throw new ConfigError(`cannot determine the cluster identity for ownership tags (${(err as Error).message})${hint}`);
  }
}
