// What the operator needs, as the deploy/ manifests must grant and configure it. One place, so
// the kustomize and Helm tests check the same facts.

export interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** The rules wherever MemoryDBUsers are reconciled (ClusterRole, or a Role per watched namespace). */
export const RECONCILE_RULES: Rule[] = [
  { apiGroups: ["memorydb.operators.dev"], resources: ["memorydbusers"], verbs: ["list", "watch", "patch"] },
  { apiGroups: ["memorydb.operators.dev"], resources: ["memorydbusers/status"], verbs: ["patch"] },
  { apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "watch"] },
  // Generated passwords: the Secret is created, then patched by each rotation step.
  { apiGroups: [""], resources: ["secrets"], verbs: ["create", "patch"] },
  { apiGroups: ["events.k8s.io"], resources: ["events"], verbs: ["create"] },
];

/** Cluster scope without CLUSTER_ID: the kube-system namespace's UID is the default cluster id. */
export const KUBE_SYSTEM_RULE: Rule = { apiGroups: [""], resources: ["namespaces"], resourceNames: ["kube-system"], verbs: ["get"] };

/** Leader election, in the Lease's namespace only. */
export function leaderElectionRules(leaseName: string): Rule[] {
  return [
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], resourceNames: [leaseName], verbs: ["get", "update"] },
  ];
}

/** The password verifiers' key Secret, in the operator's own namespace. */
export function verifierKeyRules(secretName: string): Rule[] {
  return [
    { apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
    { apiGroups: [""], resources: ["secrets"], resourceNames: [secretName], verbs: ["get"] },
  ];
}

/** The accounts ConfigMap (--accounts-configmap): list and watch of that one object, nothing else. */
export function accountsConfigMapRules(name: string): Rule[] {
  return [{ apiGroups: [""], resources: ["configmaps"], resourceNames: [name], verbs: ["list", "watch"] }];
}

/** Every environment variable the operator reads (src/config.ts and issue #5). */
export const OPERATOR_ENV = new Set([
  "AWS_REGION",
  "MEMORYDB_ENDPOINT",
  "ALLOWED_REGIONS",
  "ALLOW_ADOPTION",
  "SECRET_LABEL_SELECTOR",
  "VERIFIER_SECRET",
  "WATCH_NAMESPACES",
  "MAX_CONCURRENT_RECONCILES",
  "KUBE_API_QPS",
  "KUBE_API_BURST",
  "RESYNC_PERIOD",
  "TAG_RESYNC_PERIOD",
  "POLL_INTERVAL",
  "RETRY_BASE_DELAY",
  "RETRY_MAX_DELAY",
  "SHUTDOWN_TIMEOUT",
  "LOG_LEVEL",
  "LOG_FORMAT",
  "CLUSTER_ID",
  "LEADER_ELECT",
  "LEADER_ELECTION_NAMESPACE",
  "LEADER_ELECTION_ID",
  "METRICS_BIND_ADDRESS",
  "HEALTH_PROBE_BIND_ADDRESS",
  "DEFAULT_DELETION_POLICY",
  "DEFAULT_TAGS",
  "POD_NAME",
  "POD_NAMESPACE",
  "ACCOUNTS_CONFIGMAP",
  "STS_ENDPOINT",
  "REQUIRE_ACCOUNT_MAPPING",
]);

export const METRICS_PORT = 8080;
export const HEALTH_PORT = 8081;

/** Sorted copies, so rule lists compare regardless of the order of their verbs. */
export function normalizeRules(rules: readonly Rule[]): Rule[] {
  return rules
    .map((r) => ({
      apiGroups: [...r.apiGroups].sort(),
      resources: [...r.resources].sort(),
      verbs: [...r.verbs].sort(),
      ...(r.resourceNames ? { resourceNames: [...r.resourceNames].sort() } : {}),
    }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

/** Parses a Go duration the way the operator does (ms, s, m, h; a bare number is seconds). */
export function durationSeconds(text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) throw new Error(`not a duration: ${text}`);
  return parts.reduce((s, p) => s + Number(p[1]) * units[p[2]!]!, 0);
}
