// Operator configuration from command-line flags and environment variables (flags win).
import { parseArgs } from "node:util";
import {
  type BindAddress,
  bindAddress,
  ConfigError,
  checkUrl,
  list,
  nonNegativeNumber,
  oneOf,
  parseDuration,
  parseEndpoints,
  parseSecretName,
  parseTags,
  positiveInt,
  REGION,
} from "./config-values.ts";
import { type LabelSelector, parseLabelSelector } from "./kube/label-selector.ts";
import type { DeletionPolicy } from "./model.ts";
import { type AdoptionGrant, parseAdoptionGrants } from "./reconcile/adoption.ts";

export type LogFormat = "json" | "text";

export type LogLevel = "error" | "warn" | "info" | "debug";

export interface Config {
  /** Default AWS region for MemoryDB calls. */
  region: string;
  /** MemoryDB endpoint override for every region (e.g. a local emulator); default: AWS's. */
  memorydbEndpoint: string | undefined;
  /** Per-region endpoint overrides (e.g. VPC endpoints); win over memorydbEndpoint. */
  memorydbEndpoints: Record<string, string>;
  /** Regions resources may name; empty means any. */
  allowedRegions: string[];
  /** Namespaces (and user-name patterns) whose resources may adopt existing users. */
  adoptionGrants: AdoptionGrant[];
  /** Only Secrets matching this may hold passwords; undefined: any Secret of the namespace. */
  secretLabelSelector: LabelSelector | undefined;
  /** The Secret with the password verifiers' key; undefined: a key per process (not kept across restarts). */
  verifierSecret: { namespace: string; name: string } | undefined;
  /** Deletion policy for resources that don't set spec.deletionPolicy. */
  defaultDeletionPolicy: DeletionPolicy;
  /** Tags added to every user (a resource's own tags win on the same key). */
  defaultTags: Record<string, string>;
  /** How often a user's tags are read back to find tag drift (ListTags). */
  tagResyncPeriodMs: number;
  /** Namespaces to watch; empty means all namespaces. */
  namespaces: string[];
  maxConcurrentReconciles: number;
  /**
   * The bound on the operator's request rate to the Kubernetes API server, watches excepted
   * (client-go's QPS and burst); undefined: none.
   */
  kubeApiLimits: { qps: number; burst: number } | undefined;
  /** Every resource is reconciled again at this period even without changes. */
  resyncPeriodMs: number;
  /** How often a user that MemoryDB reports as modifying or deleting is looked at again. */
  pollIntervalMs: number;
  /** Per-resource retry backoff after a failed reconcile: base doubling up to max. */
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  /** How long shutdown waits for in-flight reconciles. */
  shutdownTimeoutMs: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** Identity of this cluster in ownership tags; default: the kube-system namespace's UID. */
  clusterId: string | undefined;
  /** The --kubeconfig file; without it $KUBECONFIG (a path list), ~/.kube/config, then in-cluster. */
  kubeconfig: string | undefined;
  /** Lease-based leader election, so that only one replica reconciles. */
  leaderElect: boolean;
  leaderElectionNamespace: string | undefined;
  leaderElectionId: string;
  /** Where /metrics listens; undefined when disabled ("0"). */
  metricsBindAddress: BindAddress | undefined;
  /** Where /healthz and /readyz listen; undefined when disabled ("0"). */
  healthProbeBindAddress: BindAddress | undefined;
  /** The ConfigMap mapping namespaces to IAM roles; undefined: every namespace uses the operator's identity. */
  accountsConfigMap: { namespace: string; name: string } | undefined;
  /** STS endpoint override for AssumeRole; default: AWS's regional STS. */
  stsEndpoint: string | undefined;
  /** Refuse namespaces the accounts ConfigMap does not map (instead of using the operator's identity). */
  requireAccountMapping: boolean;
}

/** Flag name, environment variable, and help text for each setting. */
export const SETTINGS = {
  region: ["region", "AWS_REGION", "AWS region (also read from AWS_DEFAULT_REGION); required"],
  memorydbEndpoint: ["memorydb-endpoint", "MEMORYDB_ENDPOINT", "MemoryDB endpoint URL, or region=URL,... per region"],
  allowedRegions: ["allowed-regions", "ALLOWED_REGIONS", "comma-separated regions resources may use (default: any)"],
  allowAdoption: ["allow-adoption", "ALLOW_ADOPTION", "namespaces that may adopt existing users: ns, ns/name-glob, * (default: none)"],
  secretLabelSelector: [
    "secret-label-selector",
    "SECRET_LABEL_SELECTOR",
    "only Secrets with these labels may hold passwords (default: any)",
  ],
  verifierSecret: [
    "verifier-secret",
    "VERIFIER_SECRET",
    "namespace/name of the password verifiers' key Secret (default: POD_NAMESPACE/memorydb-user-operator-verifier)",
  ],
  defaultDeletionPolicy: ["default-deletion-policy", "DEFAULT_DELETION_POLICY", "Delete | Retain (default Delete)"],
  defaultTags: ["default-tags", "DEFAULT_TAGS", "tags for every user: key=value,key2=value2"],
  tagResyncPeriod: ["tag-resync-period", "TAG_RESYNC_PERIOD", "how often tags are checked for drift (default 1h)"],
  namespaces: ["namespaces", "WATCH_NAMESPACES", "comma-separated namespaces to watch (default: all)"],
  maxConcurrentReconciles: ["max-concurrent-reconciles", "MAX_CONCURRENT_RECONCILES", "parallel reconciles (default 4)"],
  kubeApiQps: [
    "kube-api-qps",
    "KUBE_API_QPS",
    "requests per second to the Kubernetes API server, watches excepted; 0: no bound (default 50)",
  ],
  kubeApiBurst: ["kube-api-burst", "KUBE_API_BURST", "requests at once above that rate (default 100)"],
  resyncPeriod: ["resync-period", "RESYNC_PERIOD", "full resync period, e.g. 10m (default 10m)"],
  pollInterval: ["poll-interval", "POLL_INTERVAL", "poll period while a user is modifying (default 15s)"],
  retryBaseDelay: ["retry-base-delay", "RETRY_BASE_DELAY", "first retry delay after a failure (default 1s)"],
  retryMaxDelay: ["retry-max-delay", "RETRY_MAX_DELAY", "longest retry delay (default 5m)"],
  shutdownTimeout: ["shutdown-timeout", "SHUTDOWN_TIMEOUT", "graceful shutdown limit (default 25s)"],
  logLevel: ["log-level", "LOG_LEVEL", "error | warn | info | debug (default info)"],
  logFormat: ["log-format", "LOG_FORMAT", "json | text (default json)"],
  clusterId: ["cluster-id", "CLUSTER_ID", "cluster identity for ownership tags (default: kube-system UID)"],
  kubeconfig: [
    "kubeconfig",
    "KUBECONFIG",
    "kubeconfig file (KUBECONFIG: a path list, merged as kubectl does; default ~/.kube/config, then in-cluster)",
  ],
  leaderElect: ["leader-elect", "LEADER_ELECT", "true | false: elect a leader among replicas (default false)"],
  leaderElectionNamespace: ["leader-election-namespace", "LEADER_ELECTION_NAMESPACE", "namespace of the Lease (default: POD_NAMESPACE)"],
  leaderElectionId: ["leader-election-id", "LEADER_ELECTION_ID", "name of the Lease (default memorydb-user-operator)"],
  metricsBindAddress: ["metrics-bind-address", "METRICS_BIND_ADDRESS", "address of /metrics, 0 disables (default :8080)"],
  healthProbeBindAddress: [
    "health-probe-bind-address",
    "HEALTH_PROBE_BIND_ADDRESS",
    "address of /healthz and /readyz, 0 disables (default :8081)",
  ],
  accountsConfigMap: [
    "accounts-configmap",
    "ACCOUNTS_CONFIGMAP",
    "namespace/name of the ConfigMap mapping namespaces to IAM roles (default: one identity for all)",
  ],
  stsEndpoint: ["sts-endpoint", "STS_ENDPOINT", "STS endpoint URL for AssumeRole (default: AWS's regional STS)"],
  requireAccountMapping: [
    "require-account-mapping",
    "REQUIRE_ACCOUNT_MAPPING",
    "true: refuse namespaces the accounts ConfigMap does not map (default false: operator's identity)",
  ],
} as const;

export const DEFAULT_VERIFIER_SECRET = "memorydb-user-operator-verifier";

export function usage(): string {
  const lines = Object.values(SETTINGS).map(([flag, env, help]) => `  --${flag.padEnd(27)} ${env.padEnd(26)} ${help}`);
  return `Usage: memorydb-user-operator [flags]\n\n  flag                          environment                help\n${lines.join("\n")}\n`;
}

/** The flags given, by name; --help and unknown flags end here with the usage text. */
function parseFlags(argv: readonly string[]): Record<string, string | undefined> {
  try {
    const parsed = parseArgs({
      args: [...argv],
      options: {
        ...Object.fromEntries(Object.values(SETTINGS).map(([flag]) => [flag, { type: "string" as const }])),
        help: { type: "boolean" as const, short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
    if (parsed.values.help) throw new ConfigError(usage());
    return parsed.values as Record<string, string | undefined>;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${(err as Error).message}\n\n${usage()}`);
  }
}

function kubeApiLimits(qps: number, burst: number): Config["kubeApiLimits"] {
  return qps === 0 ? undefined : { qps, burst };
}

export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): Config {
  const values = parseFlags(argv);
  const get = (key: keyof typeof SETTINGS): string | undefined => {
    const [flag, envName] = SETTINGS[key];
    const value = values[flag] ?? env[envName];
    return value === undefined || value.trim() === "" ? undefined : value.trim();
  };
  const duration = (key: keyof typeof SETTINGS, fallback: string): number => parseDuration(get(key) ?? fallback, `--${SETTINGS[key][0]}`);
  /** A setting read by `parse`, whose error names the flag. */
  const read = <T>(key: keyof typeof SETTINGS, parse: (text: string) => T): T => {
    try {
      return parse(get(key) ?? "");
    } catch (err) {
      throw new ConfigError(`--${SETTINGS[key][0]}: ${(err as Error).message}`);
    }
  };

  const region = get("region") ?? env.AWS_DEFAULT_REGION;
  if (!region) {
    throw new ConfigError("no AWS region: set --region or AWS_REGION (e.g. us-east-1)");
  }
  if (!REGION.test(region)) {
    throw new ConfigError(`--region: "${region}" is not an AWS region name (e.g. us-east-1)`);
  }
  const { endpoint, endpoints } = parseEndpoints(get("memorydbEndpoint"));
  const allowedRegions = [...new Set(list(get("allowedRegions")))];
  for (const r of allowedRegions)
    if (!REGION.test(r)) throw new ConfigError(`--allowed-regions: "${r}" is not an AWS region name (e.g. us-east-1)`);
  if (allowedRegions.length > 0 && !allowedRegions.includes(region)) {
    throw new ConfigError(`--region ${region} is not among --allowed-regions (${allowedRegions.join(", ")})`);
  }
  const namespaces = list(get("namespaces"));
  for (const ns of namespaces) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns) || ns.length > 63) {
      throw new ConfigError(`--namespaces: "${ns}" is not a namespace name`);
    }
  }
  const clusterId = get("clusterId");
  if (clusterId !== undefined && (clusterId.length > 64 || clusterId.includes("/"))) {
    throw new ConfigError(`--cluster-id: "${clusterId}" must be at most 64 characters without "/"`);
  }
  const config: Config = {
    region,
    memorydbEndpoint: endpoint,
    memorydbEndpoints: endpoints,
    allowedRegions,
    adoptionGrants: read("allowAdoption", parseAdoptionGrants),
    secretLabelSelector: get("secretLabelSelector") === undefined ? undefined : read("secretLabelSelector", parseLabelSelector),
    verifierSecret: read("verifierSecret", (text) =>
      parseSecretName(text || (env.POD_NAMESPACE ? `${env.POD_NAMESPACE}/${DEFAULT_VERIFIER_SECRET}` : "")),
    ),
    defaultDeletionPolicy: oneOf(get("defaultDeletionPolicy") ?? "Delete", ["Delete", "Retain"] as const, "--default-deletion-policy"),
    defaultTags: parseTags(get("defaultTags") ?? ""),
    tagResyncPeriodMs: duration("tagResyncPeriod", "1h"),
    namespaces: [...new Set(namespaces)],
    maxConcurrentReconciles: positiveInt(get("maxConcurrentReconciles") ?? "4", "--max-concurrent-reconciles"),
    kubeApiLimits: kubeApiLimits(
      nonNegativeNumber(get("kubeApiQps") ?? "50", "--kube-api-qps"),
      positiveInt(get("kubeApiBurst") ?? "100", "--kube-api-burst"),
    ),
    resyncPeriodMs: duration("resyncPeriod", "10m"),
    pollIntervalMs: duration("pollInterval", "15s"),
    retryBaseDelayMs: duration("retryBaseDelay", "1s"),
    retryMaxDelayMs: duration("retryMaxDelay", "5m"),
    shutdownTimeoutMs: duration("shutdownTimeout", "25s"),
    logLevel: oneOf(get("logLevel") ?? "info", ["error", "warn", "info", "debug"] as const, "--log-level"),
    logFormat: oneOf(get("logFormat") ?? "json", ["json", "text"] as const, "--log-format"),
    clusterId,
    // Only the flag: KUBECONFIG is a path list, read by loadKubeConfig as kubectl reads it.
    kubeconfig: values.kubeconfig?.trim() || undefined,
    leaderElect: oneOf(get("leaderElect") ?? "false", ["true", "false"] as const, "--leader-elect") === "true",
    leaderElectionNamespace: get("leaderElectionNamespace") ?? env.POD_NAMESPACE,
    leaderElectionId: get("leaderElectionId") ?? "memorydb-user-operator",
    metricsBindAddress: bindAddress(get("metricsBindAddress") ?? ":8080", "--metrics-bind-address"),
    healthProbeBindAddress: bindAddress(get("healthProbeBindAddress") ?? ":8081", "--health-probe-bind-address"),
    accountsConfigMap: read("accountsConfigMap", (text) => parseSecretName(text, "ConfigMap")),
    stsEndpoint: get("stsEndpoint") === undefined ? undefined : checkUrl(get("stsEndpoint")!, "--sts-endpoint"),
    requireAccountMapping:
      oneOf(get("requireAccountMapping") ?? "false", ["true", "false"] as const, "--require-account-mapping") === "true",
  };
  if (config.requireAccountMapping && !config.accountsConfigMap) {
    throw new ConfigError("--require-account-mapping needs --accounts-configmap");
  }
  if (config.leaderElect && !config.leaderElectionNamespace) {
    throw new ConfigError("--leader-elect needs --leader-election-namespace or POD_NAMESPACE");
  }
  for (const [key, ms] of [
    ["resync-period", config.resyncPeriodMs],
    ["poll-interval", config.pollIntervalMs],
    ["retry-base-delay", config.retryBaseDelayMs],
  ] as const) {
    if (ms <= 0) throw new ConfigError(`--${key} must be greater than zero`);
  }
  if (config.retryMaxDelayMs < config.retryBaseDelayMs) {
    throw new ConfigError("--retry-max-delay must not be shorter than --retry-base-delay");
  }
  return config;
}
