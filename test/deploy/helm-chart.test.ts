// The Helm chart, checked without a helm binary: values.yaml validates against
// values.schema.json and the schema rejects what the operator would; every value a template
// reads exists and every value is read; templates are balanced and include only defined
// templates; the RBAC, environment and pod security match the kustomize base's; crds/ is the
// repository's crds/.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import { expect } from "chai";
import * as yaml from "js-yaml";
import { KUBE_SYSTEM_RULE, leaderElectionRules, normalizeRules, OPERATOR_ENV, RECONCILE_RULES, type Rule } from "./expected.ts";
import { CHART, DEPLOY, kustomize, only, podSecurityProblems, REPO } from "./manifests.ts";

type Json = Record<string, any>;

const values = yaml.load(readFileSync(join(CHART, "values.yaml"), "utf8")) as Json;
const schema = JSON.parse(readFileSync(join(CHART, "values.schema.json"), "utf8")) as Json;
const chart = yaml.load(readFileSync(join(CHART, "Chart.yaml"), "utf8")) as Json;
const templateDir = join(CHART, "templates");
const templates = Object.fromEntries(
  readdirSync(templateDir)
    .sort()
    .map((f) => [f, readFileSync(join(templateDir, f), "utf8")]),
);
const allTemplateText = Object.values(templates).join("\n");

const ajv = new Ajv({ allErrors: true, strict: false });
const validateValues = ajv.compile(schema);

function withValues(patch: (v: Json) => void): Json {
  const copy = structuredClone(values);
  patch(copy);
  return copy;
}

function schemaErrors(v: Json): string[] {
  return validateValues(v) ? [] : (validateValues.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

/** Every .Values path the templates read, e.g. "metrics.service.enabled". */
function referencedPaths(): Set<string> {
  const refs = new Set<string>();
  for (const m of allTemplateText.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) refs.add(m[1]!.slice(1));
  return refs;
}

function hasPath(obj: Json, path: string): boolean {
  let cur: any = obj;
  for (const key of path.split(".")) {
    if (cur === null || typeof cur !== "object" || !(key in cur)) return false;
    cur = cur[key];
  }
  return true;
}

/** The chart's `define` blocks by name, with their bodies. */
function defines(): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of allTemplateText.matchAll(
    /\{\{-?\s*define\s+"([^"]+)"\s*-?\}\}([\s\S]*?)\{\{-?\s*end\s*-?\}\}\s*(?=\{\{-?\s*define|\{\{\/\*|$)/g,
  )) {
    out.set(m[1]!, m[2]!);
  }
  return out;
}

describe("Helm chart deploy/helm/memorydb-user-operator", () => {
  describe("values", () => {
    it("values.yaml validates against values.schema.json", () => {
      expect(schemaErrors(values)).to.deep.equal([]);
    });

    it("the schema rejects unknown keys, bad enums, bad regions, durations, tags and namespaces", () => {
      const bad: Array<[string, (v: Json) => void]> = [
        ["unknown top-level key", (v) => (v.replicaCount = 2)],
        ["unknown nested key", (v) => (v.aws.endpoint_url = "https://x")],
        ["install scope", (v) => (v.installScope = "global")],
        ["region", (v) => (v.aws.region = "US East")],
        ["endpoint", (v) => (v.aws.endpoint = "memorydb.local:8080")],
        ["region endpoint key", (v) => (v.aws.regionEndpoints = { "not-a-region": "https://x" })],
        [
          "both endpoint and region endpoints",
          (v) => {
            v.aws.endpoint = "https://a";
            v.aws.regionEndpoints = { "us-east-1": "https://b" };
          },
        ],
        ["tag resync period", (v) => (v.reconcile.tagResyncPeriod = "hourly")],
        ["deletion policy", (v) => (v.deletionPolicy = "Orphan")],
        ["log level", (v) => (v.log.level = "trace")],
        ["log format", (v) => (v.log.format = "xml")],
        ["resync period", (v) => (v.reconcile.resyncPeriod = "ten minutes")],
        ["max concurrent reconciles", (v) => (v.reconcile.maxConcurrentReconciles = 0)],
        ["reserved tag key aws:", (v) => (v.resourceTags = { "aws:owner": "x" })],
        ["reserved tag key of the operator", (v) => (v.resourceTags = { "memorydb.operators.dev/owner": "x" })],
        ["tag key with =", (v) => (v.resourceTags = { "a=b": "x" })],
        ["tag value with a comma", (v) => (v.resourceTags = { team: "a,b" })],
        ["watched namespace name", (v) => (v.watchNamespaces = ["Team_A"])],
        ["cluster id with /", (v) => (v.clusterId = "a/b")],
        ["namespace scope without clusterId", (v) => (v.installScope = "namespace")],
        ["image digest", (v) => (v.image.digest = "latest")],
        ["metrics port", (v) => (v.metrics.port = 70000)],
      ];
      for (const [what, patch] of bad) expect(schemaErrors(withValues(patch)), what).to.not.deep.equal([]);
    });

    it("the schema accepts a realistic namespaced install", () => {
      const v = withValues((v) => {
        v.aws.region = "eu-west-1";
        v.aws.regionEndpoints = { "eu-west-1": "https://vpce-0123.memory-db.eu-west-1.vpce.amazonaws.com" };
        v.installScope = "namespace";
        v.watchNamespaces = ["team-a", "team-b"];
        v.clusterId = "prod-eu-1";
        v.resourceTags = { "cost-center": "platform", env: "prod" };
        v.deletionPolicy = "Retain";
        v.serviceAccount.annotations = { "eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/memorydb-user-operator" };
        v.metrics.serviceMonitor.enabled = true;
        v.metrics.serviceMonitor.labels = { release: "kube-prometheus-stack" };
        v.image.digest = `sha256:${"a".repeat(64)}`;
        v.extraEnv = [{ name: "AWS_STS_REGIONAL_ENDPOINTS", value: "regional" }];
      });
      expect(schemaErrors(v)).to.deep.equal([]);
    });

    it("uses only regular expressions Go's RE2 (Helm's schema validator) understands", () => {
      const patterns: string[] = [];
      const walk = (node: unknown): void => {
        if (Array.isArray(node)) node.forEach(walk);
        else if (node && typeof node === "object") {
          for (const [k, v] of Object.entries(node)) {
            if (k === "pattern" && typeof v === "string") patterns.push(v);
            walk(v);
          }
        }
      };
      walk(schema);
      expect(patterns).to.not.be.empty;
      for (const p of patterns) expect(p, p).to.not.match(/\(\?[=!<]|\\[1-9]/);
    });

    it("offers every Helm value the AWS-maintained (ACK) controller offers", () => {
      // ACK's value (its chart's values.yaml, aws-controllers-k8s/memorydb-controller) -> ours.
      const ack: Record<string, string> = {
        image: "image.repository",
        replicas: "replicas",
        resources: "resources",
        nodeSelector: "nodeSelector",
        tolerations: "tolerations",
        affinity: "affinity",
        "aws.region": "aws.region",
        "aws.endpoint_url": "aws.endpoint",
        "log.level": "log.level",
        installScope: "installScope",
        watchNamespace: "watchNamespaces",
        resourceTags: "resourceTags",
        deletionPolicy: "deletionPolicy",
        "reconcile.defaultResyncPeriod": "reconcile.resyncPeriod",
        "reconcile.defaultMaxConcurrentSyncs": "reconcile.maxConcurrentReconciles",
        "serviceAccount.annotations": "serviceAccount.annotations",
        "leaderElection.enabled": "leaderElection.enabled",
        "metrics.service.create": "metrics.service.enabled",
      };
      for (const [theirs, ours] of Object.entries(ack)) expect(hasPath(values, ours), `${theirs} -> ${ours}`).to.equal(true);
      for (const extra of [
        "metrics.serviceMonitor.enabled",
        "extraEnv",
        "log.format",
        "clusterId",
        "podSecurityContext",
        "securityContext",
      ]) {
        expect(hasPath(values, extra), extra).to.equal(true);
      }
    });
  });

  describe("templates", () => {
    it("read only values that exist in values.yaml", () => {
      const missing = [...referencedPaths()].filter((p) => !hasPath(values, p));
      expect(missing).to.deep.equal([]);
    });

    it("read every value in values.yaml (no dead settings)", () => {
      const refs = [...referencedPaths()];
      const unused: string[] = [];
      const walk = (node: Json, prefix: string): void => {
        for (const [key, value] of Object.entries(node)) {
          const path = prefix ? `${prefix}.${key}` : key;
          if (refs.some((r) => r === path || path.startsWith(`${r}.`))) continue;
          if (value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length > 0) walk(value, path);
          else unused.push(path);
        }
      };
      walk(values, "");
      expect(unused).to.deep.equal([]);
    });

    it("balance their actions: every if/range/with/define has its end", () => {
      for (const [file, text] of Object.entries(templates)) {
        let depth = 0;
        for (const m of text.matchAll(/\{\{-?\s*(\/\*[\s\S]*?\*\/|[a-z]+)/g)) {
          const word = m[1]!;
          if (["if", "range", "with", "define", "block"].includes(word)) depth++;
          else if (word === "end") depth--;
          expect(depth, `${file}: an end without a block`).to.be.at.least(0);
        }
        expect(depth, `${file}: unclosed block`).to.equal(0);
        const opens = (text.match(/\{\{/g) ?? []).length;
        const closes = (text.match(/\}\}/g) ?? []).length;
        expect(opens, `${file}: {{ and }} pairs`).to.equal(closes);
      }
    });

    it("include only templates the chart defines", () => {
      const defined = defines();
      expect(defined.size).to.be.greaterThan(5);
      for (const m of allTemplateText.matchAll(/include\s+"([^"]+)"/g)) expect(defined.has(m[1]!), m[1]).to.equal(true);
    });

    it("grant exactly the kustomize base's rules, without wildcards", () => {
      const reconcile = yaml.load(defines().get("memorydb-user-operator.reconcileRules")!) as Rule[];
      expect(normalizeRules(reconcile)).to.deep.equal(normalizeRules(RECONCILE_RULES));
      // The kube-system rule, only when clusterId is empty.
      const rbac = templates["rbac.yaml"]!;
      const kubeSystem = /\{\{- if not \.Values\.clusterId \}\}([\s\S]*?)\{\{- end \}\}/.exec(rbac);
      expect(kubeSystem, "kube-system rule guarded by clusterId").to.not.equal(null);
      expect(normalizeRules(yaml.load(kubeSystem![1]!.replace(/^ {2}/gm, "")) as Rule[])).to.deep.equal(normalizeRules([KUBE_SYSTEM_RULE]));
      // Leader election: the Lease named by leaderElection.id.
      const election = templates["leader-election-rbac.yaml"]!;
      const rulesText = /rules:\n([\s\S]*?)\n---/.exec(election)![1]!.replace(/\{\{[^}]*leaderElectionId[^}]*\}\}/, '"LEASE"');
      expect(normalizeRules(yaml.load(rulesText) as Rule[])).to.deep.equal(normalizeRules(leaderElectionRules("LEASE")));
      expect(allTemplateText).to.not.match(/\[\s*"?\*"?\s*\]|-\s+"?\*"?\s*$/m);
    });

    it("set only environment variables the operator reads, the same ones as the kustomize base", () => {
      const deployment = templates["deployment.yaml"]!;
      const names = new Set([...deployment.matchAll(/^\s*- name: ([A-Z_]+)\s*$/gm)].map((m) => m[1]!));
      for (const n of names) expect(OPERATOR_ENV, n).to.include(n);
      const base = kustomize(join(DEPLOY, "base"));
      const baseNames = new Set([
        ...Object.keys(only(base, "ConfigMap").data),
        ...only(base, "Deployment").spec.template.spec.containers[0].env.map((e: { name: string }) => e.name),
      ]);
      // The chart additionally sets the settings kustomize leaves at their defaults.
      for (const n of baseNames) {
        if (n === "CLUSTER_ID") continue;
        expect(names, `${n} is set by the base but not by the chart`).to.include(n);
      }
      expect(names).to.include.members(["CLUSTER_ID", "LEADER_ELECTION_NAMESPACE", "LEADER_ELECTION_ID", "MEMORYDB_ENDPOINT"]);
    });

    it("default to the restricted Pod Security Standard with a read-only root filesystem", () => {
      const pod = {
        securityContext: values.podSecurityContext,
        containers: [{ name: "operator", securityContext: values.securityContext }],
      };
      expect(podSecurityProblems(pod)).to.deep.equal([]);
      expect(templates["deployment.yaml"]).to.include("toYaml .Values.podSecurityContext").and.include("toYaml .Values.securityContext");
    });

    it("probe /healthz and /readyz and fail the render without a region or, namespaced, without clusterId", () => {
      const deployment = templates["deployment.yaml"]!;
      expect(deployment).to.match(/livenessProbe:\s+httpGet:\s+path: \/healthz/);
      expect(deployment).to.match(/readinessProbe:\s+httpGet:\s+path: \/readyz/);
      const validate = defines().get("memorydb-user-operator.validate")!;
      expect(validate).to.include("aws.region is required").and.include("installScope=namespace needs clusterId");
      expect(deployment).to.include('include "memorydb-user-operator.validate"');
    });
  });

  describe("chart", () => {
    it("crds/ is identical to the repository's crds/ (run deploy/sync.sh after changing crds/)", () => {
      const ours = readdirSync(join(CHART, "crds")).sort();
      const source = readdirSync(join(REPO, "crds"))
        .filter((f) => f.endsWith(".yaml"))
        .sort();
      expect(ours).to.deep.equal(source);
      for (const f of source) {
        expect(readFileSync(join(CHART, "crds", f), "utf8"), f).to.equal(readFileSync(join(REPO, "crds", f), "utf8"));
      }
    });

    it("Chart.yaml is apiVersion v2 and its appVersion is the operator's version", () => {
      const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string };
      expect(chart.apiVersion).to.equal("v2");
      expect(chart.name).to.equal("memorydb-user-operator");
      expect(chart.version).to.match(/^\d+\.\d+\.\d+(-[\w.]+)?$/);
      expect(chart.appVersion).to.equal(pkg.version);
    });
  });
});
