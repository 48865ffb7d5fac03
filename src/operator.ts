// The operator, assembled from its configuration: Kubernetes and AWS clients, the reconciler,
// and a controller declared over MemoryDBUsers and (metadata only) the Secrets they reference.
// `service.ts` runs it while it leads; tests run it in-process.
import { hostname } from "node:os";
import type { KubeConfig } from "@kubernetes/client-node";
import { AccountMap } from "./aws/accounts.ts";
import { MemoryDBClients } from "./aws/clients.ts";
import { roleCredentials } from "./aws/credentials.ts";
import { UserDirectory } from "./aws/directory.ts";
import { MemoryDB } from "./aws/memorydb.ts";
import type { Config } from "./config.ts";
import { Controller, type Source } from "./controller/controller.ts";
import { anyOf, predicates } from "./controller/watches.ts";
import { type ConfigMapData, KubeApi, METADATA_ONLY_WATCH, type SecretMeta } from "./kube/api.ts";
import { EventRecorder } from "./kube/events.ts";
import { objectKey } from "./kube/reflector.ts";
import type { WatchTimings } from "./kube/watch-timings.ts";
import { FINALIZER, GROUP, type MemoryDBUser, PLURAL, VERSION } from "./model.ts";
import type { Logger } from "./observability/log.ts";
import { CONTROLLER, type Metrics } from "./observability/metrics.ts";
import { effectiveUserName } from "./reconcile/desired.ts";
import { Reconciler, type ReconcilerDeps } from "./reconcile/reconciler.ts";
import { overdue, rotationSettings } from "./reconcile/rotation.ts";
import { PasswordVerifier } from "./reconcile/verifier.ts";
import { clusterUid, verifierKey } from "./startup.ts";

/** Which updates of a MemoryDBUser need a reconcile: not the operator's own status writes. */
export const USER_NEEDS_RECONCILE = anyOf<MemoryDBUser>(
  predicates.created,
  predicates.generationChanged,
  predicates.deletionStarted,
  predicates.labelsChanged,
  predicates.annotationsChanged,
  predicates.finalizerMissing(FINALIZER),
);
export interface Operator {
  clusterId: string;
  /** Every watch has listed its objects. */
  readonly hasSynced: boolean;
  /** Listed, and nothing queued or reconciling. */
  readonly idle: boolean;
  /** When the API server last answered the quietest watch (monotonic ms). */
  readonly lastWatchContact: number;
  /** Keys waiting in the work queue. */
  readonly queueDepth: number;
  /** Reconciles started so far. */
  readonly reconciles: number;
  /** Look at every resource again now (one MemoryDB listing per region first), as the periodic resync does. */
  resync(): Promise<void>;
  /** Stop watching, finish in-flight reconciles (bounded); true if all finished in time. */
  stop(): Promise<boolean>;
}

export interface OperatorOptions {
  watch?: WatchTimings;
  metrics?: Metrics;
  /** Aborts the start-up (the process is stopping). */
  signal?: AbortSignal;
}

export async function startOperator(config: Config, kc: KubeConfig, logger: Logger, options: OperatorOptions = {}): Promise<Operator> {
  const { metrics } = options;
  const kube = new KubeApi(kc, process.env.POD_NAME ?? hostname(), config.kubeApiLimits);
  const clusterId = config.clusterId ?? (await clusterUid(kube, logger, options.signal));
  const verifier = new PasswordVerifier(await verifierKey(config, kube, logger, options.signal));
  const accountsSource = config.accountsConfigMap;
  const accounts = accountsSource
    ? new AccountMap(`${accountsSource.namespace}/${accountsSource.name}`, config.requireAccountMapping)
    : undefined;
  // One client per (identity, region): the operator's own, or a namespace's assumed role.
  const clients = new MemoryDBClients(
    (region, identity) =>
      new MemoryDB({
        region,
        endpoint: config.memorydbEndpoints[region] ?? config.memorydbEndpoint,
        credentials: identity.role ? roleCredentials(identity.role, { region: config.region, endpoint: config.stsEndpoint }) : undefined,
        ...(metrics ? { onCall: metrics.awsCall.bind(metrics) } : {}),
      }),
  );
  const memorydb: ReconcilerDeps["memorydb"] = (region, signal, identity) => clients.for(region, signal, identity);
  const directory = new UserDirectory(memorydb);
  const events = new EventRecorder(kube, logger, metrics ? { onDropped: (reason) => metrics.eventDropped(reason) } : {});
  const reconciler = new Reconciler({
    kube,
    memorydb,
    directory,
    accounts,
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
    snapshotMaxAgeMs: config.resyncPeriodMs,
    allowedRegions: config.allowedRegions,
    secretSelector: config.secretLabelSelector,
    verifier,
    ...(metrics ? { onPasswordsSent: (why) => metrics.passwordsSent(why) } : {}),
  });

  const controller = new Controller<MemoryDBUser>({
    name: CONTROLLER,
    kc,
    logger,
    metrics,
    timings: options.watch,
    concurrency: config.maxConcurrentReconciles,
    retryBaseDelayMs: config.retryBaseDelayMs,
    retryMaxDelayMs: config.retryMaxDelayMs,
    pollIntervalMs: config.pollIntervalMs,
  });
  // All namespaces, or one watch each per configured namespace.
  const scopes: Array<string | undefined> = config.namespaces.length > 0 ? config.namespaces : [undefined];
  const where = (ns: string | undefined) => (ns ? `/namespaces/${ns}` : "");
  const named = (what: string, ns: string | undefined) => `${what}${ns ? ` in ${ns}` : ""}`;
  const nameKey = (user: MemoryDBUser) => `${user.spec.region ?? config.region}/${effectiveUserName(user)}`;

  // The operator's own writes (status, its finalizer) need no reconcile: reacting to them would
  // reconcile everything twice, or loop. Anything else is caught by the periodic resync.
  const users: Array<Source<MemoryDBUser>> = scopes.map((ns) => ({
    name: named("memorydbusers", ns),
    list: (token, call) => kube.listUsers(ns, token, call),
    watchPath: `/apis/${GROUP}/${VERSION}${where(ns)}/${PLURAL}`,
    // The API server's bookkeeping of who wrote which field: never read, and often the largest part.
    transform: withoutManagedFields,
  }));
  controller.reconciles(users, USER_NEEDS_RECONCILE);
  // Resources by condition and reason, as their status says (the watch sees every status write).
  if (metrics) {
    controller.tracks({
      set: (key, u) => metrics.resourceConditions(key, { namespace: u.metadata.namespace, conditions: u.status?.conditions ?? [] }),
      delete: (key) => metrics.resourceConditions(key, undefined),
    });
  }
  const bySecret = controller.index((u) => {
    const mode = u.spec.authenticationMode;
    const names = [
      ...(mode?.passwords ?? []).map((p) => p.secretKeyRef.name),
      ...(mode?.generatePassword ? [mode.generatePassword.secretName] : []),
    ];
    return names.map((name) => `${u.metadata.namespace}/${name}`);
  });
  const byUserName = controller.index((u) => [nameKey(u)]);
  const secretSources: Array<Source<SecretMeta>> = scopes.map((ns) => ({
    name: named("secrets", ns),
    list: (token, call) => kube.listSecretsMetadata(ns, token, call, config.secretLabelSelector?.text),
    watchPath: `/api/v1${where(ns)}/secrets`,
    accept: METADATA_ONLY_WATCH,
    labelSelector: config.secretLabelSelector?.text,
    // Keep names and versions only, whatever the server sends.
    transform: (s) => ({
      metadata: { name: s.metadata.name, namespace: s.metadata.namespace, resourceVersion: s.metadata.resourceVersion },
    }),
  }));
  const secrets = controller.watches(secretSources, (s) => bySecret.keysFor(objectKey(s)), predicates.resourceVersionChanged);
  if (accounts && accountsSource) {
    // The mapping: requeue the namespaces whose entry changed (all when it appears or goes).
    const byNamespace = controller.index((u) => [u.metadata.namespace]);
    const source: Source<ConfigMapData> = {
      name: `configmap ${accounts.source}`,
      list: (_token, call) => kube.listConfigMap(accountsSource.namespace, accountsSource.name, call),
      watchPath: `/api/v1/namespaces/${accountsSource.namespace}/configmaps`,
      fieldSelector: `metadata.name=${accountsSource.name}`,
    };
    controller.watches(
      [source],
      (cm, deleted) => {
        const changed = accounts.update(deleted ? undefined : cm.data);
        for (const p of accounts.problems()) logger.warn("invalid account mapping", { configMap: accounts.source, ...p });
        if (deleted)
          logger.warn("the account mapping ConfigMap is gone: nothing is called in AWS until it exists", { configMap: accounts.source });
        logger.info("account mapping changed", { configMap: accounts.source, namespaces: changed.all ? "all" : changed.namespaces });
        return changed.all ? controller.list().map(objectKey) : changed.namespaces.flatMap((ns) => byNamespace.keysFor(ns));
      },
      predicates.resourceVersionChanged,
    );
  }
  // Lets the reconciler drop its copy of a write once the cache holds it.
  controller.tracks({ set: (_key, user) => reconciler.delivered(user), delete: () => undefined });
  controller.onRemoved((user) => {
    reconciler.forget(objectKey(user));
    // Another resource waiting for this user name may now proceed.
    for (const other of byUserName.keysFor(nameKey(user))) controller.enqueue(other);
  });

  // Counted from the cache at each scrape: a rotation that never comes (the operator stuck, the
  // user failing) shows, whatever the reconciles do.
  metrics?.countRotationsOverdue(() => {
    const now = Date.now();
    return controller.list().filter((u) => {
      const generate = u.spec.authenticationMode?.generatePassword;
      return generate && !u.metadata.deletionTimestamp && overdue(u.status?.passwordRotation, rotationSettings(generate), now);
    }).length;
  });

  // One paginated listing per region (and identity) before the workers start and at each resync,
  // so that in-sync resources need no further MemoryDB call, and new ones none before their
  // CreateUser: the places of the resources, and the default region where no account mapping
  // decides the identity (another place is listed when a resource there first needs it:
  // reconcile/apply.ts).
  const refreshSnapshots = (signal: AbortSignal) =>
    directory.refreshRegions(
      [
        ...(accounts ? [] : [{ region: config.region }]),
        ...controller.list().flatMap((u) => {
          const choice = accounts?.choose(u.metadata.namespace);
          if (choice && !choice.ok) return [];
          return [{ region: u.spec.region ?? config.region, identity: choice?.identity }];
        }),
      ],
      config.allowedRegions,
      signal,
      logger,
    );
  controller.start(
    (user, run) =>
      reconciler.reconcile(
        user,
        {
          rivals: byUserName.keysFor(nameKey(user)).flatMap((k) => controller.get(k) ?? []),
          secretVersion: (ns, name) => secrets.get(`${ns}/${name}`)?.metadata.resourceVersion,
          signal: run.signal,
        },
        run.log,
      ),
    { resyncPeriodMs: config.resyncPeriodMs, beforeWorkers: refreshSnapshots },
  );
  logger.info("operator started", {
    region: config.region,
    endpoint: config.memorydbEndpoint ?? "default",
    namespaces: config.namespaces.length > 0 ? config.namespaces : "all",
    clusterId,
  });
  return {
    clusterId,
    get hasSynced() {
      return controller.hasSynced;
    },
    get idle() {
      return controller.idle;
    },
    get lastWatchContact() {
      return controller.lastWatchContact;
    },
    get queueDepth() {
      return controller.queue.depth;
    },
    get reconciles() {
      return controller.queue.started;
    },
    resync: () => controller.resync(refreshSnapshots),
    async stop() {
      const finished = await controller.stop(config.shutdownTimeoutMs);
      // Events still queued get a moment; the rest are dropped (and counted).
      await events.flush(1000);
      clients.destroy();
      return finished;
    },
  };
}

function withoutManagedFields(user: MemoryDBUser): MemoryDBUser {
  if (!("managedFields" in user.metadata)) return user;
  const { managedFields: _, ...metadata } = user.metadata as MemoryDBUser["metadata"] & { managedFields?: unknown };
  return { ...user, metadata };
}
