// Operator configuration from command-line flags and environment variables (flags win).
import { parseArgs } from "node:util";

export type LogFormat = "json" | "text";
export type LogLevel = "error" | "warn" | "info" | "debug";

export interface Config {
  /** Default AWS region for MemoryDB calls. */
  region: string;
  /** MemoryDB endpoint override (e.g. a VPC endpoint or a local emulator); default: AWS's. */
  memorydbEndpoint: string | undefined;
  /** Namespaces to watch; empty means all namespaces. */
  namespaces: string[];
  maxConcurrentReconciles: number;
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
  /** Path of a kubeconfig file; default: $KUBECONFIG, ~/.kube/config, then in-cluster. */
  kubeconfig: string | undefined;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Flag name, environment variable, and help text for each setting. */
export const SETTINGS = {
  region: ["region", "AWS_REGION", "AWS region (also read from AWS_DEFAULT_REGION); required"],
  memorydbEndpoint: ["memorydb-endpoint", "MEMORYDB_ENDPOINT", "MemoryDB endpoint URL override"],
  namespaces: ["namespaces", "WATCH_NAMESPACES", "comma-separated namespaces to watch (default: all)"],
  maxConcurrentReconciles: ["max-concurrent-reconciles", "MAX_CONCURRENT_RECONCILES", "parallel reconciles (default 4)"],
  resyncPeriod: ["resync-period", "RESYNC_PERIOD", "full resync period, e.g. 10m (default 10m)"],
  pollInterval: ["poll-interval", "POLL_INTERVAL", "poll period while a user is modifying (default 15s)"],
  retryBaseDelay: ["retry-base-delay", "RETRY_BASE_DELAY", "first retry delay after a failure (default 1s)"],
  retryMaxDelay: ["retry-max-delay", "RETRY_MAX_DELAY", "longest retry delay (default 5m)"],
  shutdownTimeout: ["shutdown-timeout", "SHUTDOWN_TIMEOUT", "graceful shutdown limit (default 25s)"],
  logLevel: ["log-level", "LOG_LEVEL", "error | warn | info | debug (default info)"],
  logFormat: ["log-format", "LOG_FORMAT", "json | text (default json)"],
  clusterId: ["cluster-id", "CLUSTER_ID", "cluster identity for ownership tags (default: kube-system UID)"],
  kubeconfig: ["kubeconfig", "KUBECONFIG", "kubeconfig path (default: ~/.kube/config, then in-cluster)"],
} as const;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `1500ms`, `30s`, `10m`, `1h30m`; a bare number is seconds. */
export function parseDuration(text: string, what: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== trimmed) {
    throw new ConfigError(`${what}: "${text}" is not a duration (use e.g. 30s, 10m, 1h)`);
  }
  return Math.round(parts.reduce((ms, p) => ms + Number(p[1]) * (UNITS[p[2] ?? "s"] ?? 1000), 0));
}

function positiveInt(text: string, what: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) {
    throw new ConfigError(`${what}: "${text}" must be a positive integer`);
  }
  return Number(text);
}

function oneOf<T extends string>(text: string, allowed: readonly T[], what: string): T {
  if (!(allowed as readonly string[]).includes(text)) {
    throw new ConfigError(`${what}: "${text}" must be one of ${allowed.join(", ")}`);
  }
  return text as T;
}

export function usage(): string {
  const lines = Object.values(SETTINGS).map(([flag, env, help]) => `  --${flag.padEnd(27)} ${env.padEnd(26)} ${help}`);
  return `Usage: memorydb-user-operator [flags]\n\n  flag                          environment                help\n${lines.join("\n")}\n`;
}

export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): Config {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        ...Object.fromEntries(Object.values(SETTINGS).map(([flag]) => [flag, { type: "string" as const }])),
        help: { type: "boolean" as const, short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\n\n${usage()}`);
  }
  if (parsed.values.help) throw new ConfigError(usage());
  const values = parsed.values as Record<string, string | undefined>;
  const get = (key: keyof typeof SETTINGS): string | undefined => {
    const [flag, envName] = SETTINGS[key];
    const value = values[flag] ?? env[envName];
    return value === undefined || value.trim() === "" ? undefined : value.trim();
  };
  const duration = (key: keyof typeof SETTINGS, fallback: string): number =>
    parseDuration(get(key) ?? fallback, `--${SETTINGS[key][0]}`);

  const region = get("region") ?? env.AWS_DEFAULT_REGION;
  if (!region) {
    throw new ConfigError("no AWS region: set --region or AWS_REGION (e.g. us-east-1)");
  }
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) {
    throw new ConfigError(`--region: "${region}" is not an AWS region name (e.g. us-east-1)`);
  }
  const endpoint = get("memorydbEndpoint");
  if (endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new ConfigError(`--memorydb-endpoint: "${endpoint}" is not a URL`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new ConfigError(`--memorydb-endpoint: "${endpoint}" must be an http or https URL`);
    }
  }
  const namespaces = (get("namespaces") ?? "")
    .split(",")
    .map((n) => n.trim())
    .filter((n) => n !== "");
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
    namespaces: [...new Set(namespaces)],
    maxConcurrentReconciles: positiveInt(get("maxConcurrentReconciles") ?? "4", "--max-concurrent-reconciles"),
    resyncPeriodMs: duration("resyncPeriod", "10m"),
    pollIntervalMs: duration("pollInterval", "15s"),
    retryBaseDelayMs: duration("retryBaseDelay", "1s"),
    retryMaxDelayMs: duration("retryMaxDelay", "5m"),
    shutdownTimeoutMs: duration("shutdownTimeout", "25s"),
    logLevel: oneOf(get("logLevel") ?? "info", ["error", "warn", "info", "debug"] as const, "--log-level"),
    logFormat: oneOf(get("logFormat") ?? "json", ["json", "text"] as const, "--log-format"),
    clusterId,
    kubeconfig: get("kubeconfig"),
  };
  for (const [key, ms] of [["resync-period", config.resyncPeriodMs], ["poll-interval", config.pollIntervalMs], ["retry-base-delay", config.retryBaseDelayMs]] as const) {
    if (ms <= 0) throw new ConfigError(`--${key} must be greater than zero`);
  }
  if (config.retryMaxDelayMs < config.retryBaseDelayMs) {
    throw new ConfigError("--retry-max-delay must not be shorter than --retry-base-delay");
  }
  return config;
}
