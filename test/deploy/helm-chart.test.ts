// The Helm chart, rendered by Helm's own engine (tools/helmrender, Helm v3.18.6's rendering and
// schema validation): the default values, every example value set (ci/) and every helm command
// the docs give render cleanly, with --strict (no missing value is read), into objects that
// validate against their Kubernetes schemas, with names Kubernetes accepts; the schema rejects
// what the operator or the Prometheus Operator would; the templates fail with a clear message
// on what the schema cannot express; the RBAC, environment, pod security and metrics Service
// match the kustomize base's; crds/ is the repository's crds/.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import * as yaml from "js-yaml";
import { parseMapping } from "../../src/aws/accounts.ts";
import { DEFAULT_VERIFIER_SECRET, loadConfig } from "../../src/config.ts";
import {
  accountsConfigMapRules,
  HEALTH_PORT,
  KUBE_SYSTEM_RULE,
  leaderElectionRules,
  METRICS_PORT,
  normalizeRules,
  OPERATOR_ENV,
  RECONCILE_RULES,
  type Rule,
  verifierKeyRules,
} from "./expected.ts";
import { documentedHelmCommands, type HelmOptions, helmTemplate, helmTemplateError, type Rendered } from "./helm.ts";
import { CHART, DEPLOY, find, type KubeObject, kustomize, only, podSecurityProblems, REPO, schemaErrors } from "./manifests.ts";

type Json = Record<string, any>;

const values = yaml.load(readFileSync(join(CHART, "values.yaml"), "utf8")) as Json;
const chart = yaml.load(readFileSync(join(CHART, "Chart.yaml"), "utf8")) as Json;
const schema = JSON.parse(readFileSync(join(CHART, "values.schema.json"), "utf8")) as Json;
const templateText = readdirSync(join(CHART, "templates"))
  .map((f) => readFileSync(join(CHART, "templates", f), "utf8"))
  .join("\n");
const REGION = ["aws.region=us-east-1"];
const NS = "memorydb-system";

/** The example value sets in ci/ (chart-testing's convention), which docs/install.md points to. */
const valueSets = readdirSync(join(CHART, "ci"))
  .filter((f) => f.endsWith("-values.yaml"))
  .sort();

/** The helm commands in the README and docs/install.md. */
const documented = documentedHelmCommands(REPO, ["README.md", "docs/install.md"]);

const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** What Kubernetes would refuse in the rendered objects' names, labels and references. */
function nameProblems(objects: KubeObject[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const o of objects) {
    const id = `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`;
    if (seen.has(id)) problems.push(`${id} rendered twice`);
    seen.add(id);
    const name = o.metadata.name;
    // Services and Namespaces are DNS labels (RFC 1035 for Services); the rest here subdomains.
    const label = o.kind === "Service" || o.kind === "Namespace";
    if (label ? name.length > 63 || !DNS_LABEL.test(name) : name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
      problems.push(`${id}: not a valid ${label ? "DNS label" : "DNS subdomain"} (${name.length} characters)`);
    }
    for (const [k, v] of Object.entries(o.metadata.labels ?? {})) {
      if (v.length > 63) problems.push(`${id}: label ${k} is ${v.length} characters`);
    }
  }
  return problems;
}

/** The operator's environment as the Deployment sets it (valueFrom entries as <source>). */
function operatorEnv(objects: KubeObject[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of only(objects, "Deployment").spec.template.spec.containers[0].env ?? []) {
    env[e.name] = e.value ?? `<${Object.keys(e.valueFrom ?? {})[0]}>`;
  }
  return env;
}

/** Renders and checks what every render must satisfy; returns the render. */
function renderClean(options: HelmOptions): Rendered {
  const rendered = helmTemplate({ ...options, args: [...(options.args ?? []), "--strict"] });
  const { objects } = rendered;
  expect(objects.flatMap(schemaErrors), "Kubernetes schemas").to.deep.equal([]);
  expect(nameProblems(objects), "names").to.deep.equal([]);
  const deployment = only(objects, "Deployment");
  const pod = deployment.spec.template.spec;
  expect(podSecurityProblems(pod), "pod security").to.deep.equal([]);
  // Every binding names a rendered role (or the chart's ServiceAccount) and the Deployment's account.
  for (const b of objects.filter((o) => o.kind === "RoleBinding" || o.kind === "ClusterRoleBinding")) {
    const ns = b.roleRef.kind === "Role" ? b.metadata.namespace : undefined;
    expect(find(objects, b.roleRef.kind, b.roleRef.name, ns), `${b.metadata.name} -> ${b.roleRef.name}`).to.have.length(1);
    expect(b.subjects).to.deep.equal([{ kind: "ServiceAccount", name: pod.serviceAccountName, namespace: options.namespace ?? NS }]);
  }
  // The operator accepts its configuration.
  const env = operatorEnv(objects);
  for (const name of Object.keys(env)) expect(OPERATOR_ENV, `unknown setting ${name}`).to.include(name);
  expect(() => loadConfig([], { ...env, POD_NAMESPACE: options.namespace ?? NS })).to.not.throw();
  // Two servers never share a port.
  const ports = pod.containers[0].ports.map((p: { containerPort: number }) => p.containerPort);
  expect(new Set(ports).size, "container ports").to.equal(ports.length);
  return rendered;
}

describe("Helm chart deploy/helm/memorydb-user-operator, rendered by Helm's engine", () => {
  describe("value sets", () => {
    it("the default values fail with the message the docs give: aws.region is required", () => {
      expect(helmTemplateError({})).to.include("aws.region is required (e.g. --set aws.region=us-east-1)");
    });

    it("the default values with aws.region render cleanly, with the CRD first under --include-crds", () => {
      const { objects, notes } = renderClean({ set: REGION, args: ["--include-crds"] });
      expect(objects[0]!.kind).to.equal("CustomResourceDefinition");
      expect(objects.map((o) => o.kind)).to.include.members(["ServiceAccount", "ClusterRole", "Deployment", "Service"]);
      expect(notes).to.include("is installed in memorydb-system").and.include("region us-east-1");
    });

    it("finds the example value sets and the documented helm commands", () => {
      expect(valueSets.length).to.be.at.least(4);
      expect(documented.length).to.be.at.least(2);
    });

    for (const file of valueSets) {
      it(`ci/${file} renders cleanly`, () => {
        renderClean({ files: [join(CHART, "ci", file)] });
      });
    }

    for (const { where, options } of documented) {
      it(`the documented command renders cleanly: ${where}`, () => {
        renderClean(options);
      });
    }

    it("keeps every name valid and distinct at the longest release name (53) and fullnameOverride (63)", () => {
      for (const options of [
        { release: "r".repeat(53), set: REGION },
        {
          set: [
            ...REGION,
            `fullnameOverride=${"f".repeat(63)}`,
            "accounts.enabled=true",
            "metrics.prometheusRule.enabled=true",
            "metrics.dashboard.enabled=true",
            "metrics.serviceMonitor.enabled=true",
            "namespace.create=true",
          ],
        },
        { set: [...REGION, `fullnameOverride=${"f".repeat(56)}`, "installScope=namespace", "clusterId=c"] },
      ]) {
        const { objects } = renderClean(options);
        const service = only(objects, "Service");
        expect(service.metadata.name).to.match(/-metrics$/);
        const roles = find(objects, "Role", undefined, NS).map((r) => r.metadata.name);
        expect(
          roles.filter((n) => n.endsWith("-leader-election")),
          "leader election Role",
        ).to.have.length(1);
        expect(
          roles.filter((n) => n.endsWith("-verifier-key")),
          "verifier key Role",
        ).to.have.length(1);
      }
    });
  });

  describe("values.schema.json (Helm's validation)", () => {
    it("rejects unknown keys, bad enums, regions, durations, tags, namespaces, ports and Prometheus durations", () => {
      const bad: Array<[string, Json]> = [
        ["unknown top-level key", { replicaCount: 2 }],
        ["unknown nested key", { aws: { endpoint_url: "https://x" } }],
        ["install scope", { installScope: "global" }],
        ["region", { aws: { region: "US East" } }],
        ["endpoint", { aws: { endpoint: "memorydb.local:8080" } }],
        ["region endpoint key", { aws: { regionEndpoints: { "not-a-region": "https://x" } } }],
        ["both endpoint and region endpoints", { aws: { endpoint: "https://a", regionEndpoints: { "us-east-1": "https://b" } } }],
        ["tag resync period", { reconcile: { tagResyncPeriod: "hourly" } }],
        ["deletion policy", { deletionPolicy: "Orphan" }],
        ["log level", { log: { level: "trace" } }],
        ["log format", { log: { format: "xml" } }],
        ["resync period", { reconcile: { resyncPeriod: "ten minutes" } }],
        ["max concurrent reconciles", { reconcile: { maxConcurrentReconciles: 0 } }],
        ["reserved tag key aws:", { resourceTags: { "aws:owner": "x" } }],
        ["reserved tag key of the operator", { resourceTags: { "memorydb.operators.dev/owner": "x" } }],
        ["tag key with =", { resourceTags: { "a=b": "x" } }],
        ["tag value with a comma", { resourceTags: { team: "a,b" } }],
        ["watched namespace name", { watchNamespaces: ["Team_A"] }],
        ["cluster id with /", { clusterId: "a/b" }],
        ["namespace scope without clusterId", { installScope: "namespace" }],
        ["image digest", { image: { digest: "latest" } }],
        ["metrics port", { metrics: { port: 70000 } }],
        ["fullnameOverride of 64 characters", { fullnameOverride: "f".repeat(64) }],
        ["ServiceMonitor interval", { metrics: { serviceMonitor: { interval: "thirty" } } }],
        ["ServiceMonitor scrapeTimeout", { metrics: { serviceMonitor: { scrapeTimeout: "10 s" } } }],
        ["namespace label value", { namespace: { labels: { a: 1 } } }],
      ];
      for (const [what, patch] of bad) {
        const withRegion = { ...patch, aws: { region: "us-east-1", ...patch.aws } };
        expect(helmTemplateError({ values: withRegion }), what).to.include("values don't meet the specifications of the schema");
      }
    });

    it("accepts the durations the ServiceMonitor CRD accepts, and rejects the ones it rejects", () => {
      for (const d of ["30s", "1m", "1m30s", "500ms", "2h", "0", ""]) {
        const { objects } = renderClean({
          set: [...REGION, "metrics.serviceMonitor.enabled=true"],
          values: { metrics: { serviceMonitor: { interval: d } } },
        });
        const endpoint = only(objects, "ServiceMonitor").spec.endpoints[0];
        expect(endpoint.interval, d).to.equal(d === "" ? undefined : d);
      }
      for (const d of ["thirty", "30", "1.5m", "30S", "-1s"]) {
        expect(helmTemplateError({ set: REGION, values: { metrics: { serviceMonitor: { interval: d } } } }), d).to.include("interval");
      }
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
  });

  describe("template errors (what the schema cannot express)", () => {
    it("fail with a clear message", () => {
      const cases: Array<[HelmOptions, string]> = [
        [{ set: ["replicas=2", "leaderElection.enabled=false", ...REGION] }, "replicas > 1 needs leaderElection.enabled=true"],
        [{ set: ["metrics.port=8081", ...REGION] }, "metrics.port and health.port are both 8081"],
        [{ set: ["health.port=8080", ...REGION] }, "metrics.port and health.port are both 8080"],
        [{ set: ["serviceAccount.create=false", ...REGION] }, "serviceAccount.name is required when serviceAccount.create is false"],
        [
          { set: ["metrics.serviceMonitor.enabled=true", "metrics.service.enabled=false", ...REGION] },
          "metrics.serviceMonitor.enabled needs metrics.service.enabled",
        ],
      ];
      for (const [options, message] of cases) expect(helmTemplateError(options), message).to.include(message);
    });

    it("repeat the schema's cross-field rules for --skip-schema-validation", () => {
      const skip = ["--skip-schema-validation"];
      expect(helmTemplateError({ set: ["installScope=namespace", ...REGION], args: skip })).to.include(
        "installScope=namespace needs clusterId",
      );
      expect(
        helmTemplateError({ set: [...REGION, "aws.endpoint=https://a", "aws.regionEndpoints.us-east-1=https://b"], args: skip }),
      ).to.include("set aws.endpoint or aws.regionEndpoints, not both");
    });
  });

  describe("accounts", () => {
    const ROLE = "arn:aws:iam::210987654321:role/memorydb-user-operator-access";

    it("off by default; on, a ConfigMap of the mapping, a Role to list and watch only it, and the operator pointed at it", () => {
      expect(find(renderClean({ set: REGION }).objects, "ConfigMap")).to.deep.equal([]);
      const { objects } = renderClean({ files: [join(CHART, "ci", "accounts-values.yaml")] });
      const cm = only(objects, "ConfigMap");
      const env = operatorEnv(objects);
      expect(env.ACCOUNTS_CONFIGMAP).to.equal(`${NS}/${cm.metadata.name}`);
      expect(env.REQUIRE_ACCOUNT_MAPPING).to.equal("true");
      for (const [ns, value] of Object.entries(cm.data as Record<string, string>)) expect(parseMapping(value).ok, ns).to.equal(true);
      const role = only(objects, "Role", "memorydb-user-operator-accounts", NS);
      expect(normalizeRules(role.rules)).to.deep.equal(normalizeRules(accountsConfigMapRules(cm.metadata.name)));
      const config = loadConfig([], { ...env, POD_NAMESPACE: NS });
      expect(config.accountsConfigMap).to.deep.equal({ namespace: NS, name: cm.metadata.name });
    });

    it("with configMap.create=false watches your ConfigMap by name, and refuses a mapping it would not write", () => {
      const { objects } = renderClean({
        set: [...REGION, "accounts.enabled=true", "accounts.configMap.create=false", "accounts.configMap.name=tenancy-accounts"],
      });
      expect(find(objects, "ConfigMap")).to.deep.equal([]);
      expect(operatorEnv(objects).ACCOUNTS_CONFIGMAP).to.equal(`${NS}/tenancy-accounts`);
      expect(only(objects, "Role", "memorydb-user-operator-accounts", NS).rules[0].resourceNames).to.deep.equal(["tenancy-accounts"]);
      expect(
        helmTemplateError({
          set: [...REGION, "accounts.enabled=true", "accounts.configMap.create=false", `accounts.mapping.team-b=${ROLE}`],
        }),
      ).to.include("accounts.mapping needs accounts.configMap.create=true");
    });

    it("the schema accepts the mapping values the operator accepts, and refuses the ones it refuses", () => {
      for (const value of [
        ROLE,
        `${ROLE} ext-42:a/b`,
        "arn:aws-cn:iam::210987654321:role/path/r",
        "arn:aws:iam::210987654321:user/u",
        `${ROLE} x`,
        "team-b-role",
        `${ROLE} a b`,
      ]) {
        const render = () =>
          helmTemplate({ values: { aws: { region: "us-east-1" }, accounts: { enabled: true, mapping: { "team-b": value } } } });
        if (parseMapping(value).ok) expect(render, value).to.not.throw();
        else expect(render, value).to.throw(/values don't meet the specifications of the schema/);
      }
    });
  });

  describe("NOTES.txt", () => {
    it("advises the IRSA annotation only where the chart creates the service account and none is set", () => {
      expect(helmTemplate({ set: REGION }).notes).to.include('serviceAccount.annotations."eks\\.amazonaws\\.com/role-arn"');
      const annotated = helmTemplate({
        set: [...REGION, "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::1:role/r"],
      });
      expect(annotated.notes).to.not.include("AWS credentials");
      const existing = helmTemplate({ set: [...REGION, "serviceAccount.create=false", "serviceAccount.name=mine"] });
      expect(existing.notes)
        .to.include("memorydb-system/mine, which this release does not")
        .and.not.include("set\nserviceAccount.annotations");
      const ignored = helmTemplate({
        set: [...REGION, "serviceAccount.create=false", "serviceAccount.name=mine", "serviceAccount.annotations.a=b"],
      });
      expect(ignored.notes).to.include("serviceAccount.annotations is ignored");
    });
  });

  describe("as the kustomize base installs it", () => {
    const base = kustomize(join(DEPLOY, "base"));

    it("grants exactly the base's rules, without wildcards (the kube-system read only without clusterId)", () => {
      const { objects } = renderClean({ set: REGION });
      const lease = operatorEnv(objects).LEADER_ELECTION_ID!;
      expect(normalizeRules(only(objects, "ClusterRole", "memorydb-user-operator").rules)).to.deep.equal(
        normalizeRules([...RECONCILE_RULES, KUBE_SYSTEM_RULE]),
      );
      expect(normalizeRules(only(objects, "Role", "memorydb-user-operator-leader-election", NS).rules)).to.deep.equal(
        normalizeRules(leaderElectionRules(lease)),
      );
      const verifier = operatorEnv(objects).VERIFIER_SECRET!.split("/")[1]!;
      expect(verifier).to.equal(DEFAULT_VERIFIER_SECRET);
      expect(normalizeRules(only(objects, "Role", "memorydb-user-operator-verifier-key", NS).rules)).to.deep.equal(
        normalizeRules(verifierKeyRules(verifier)),
      );
      const withId = renderClean({ set: [...REGION, "clusterId=prod"] }).objects;
      expect(normalizeRules(only(withId, "ClusterRole", "memorydb-user-operator").rules)).to.deep.equal(normalizeRules(RECONCILE_RULES));
      const namespaced = renderClean({ set: [...REGION, "installScope=namespace", "clusterId=c", "watchNamespaces={a,b}"] }).objects;
      expect(find(namespaced, "ClusterRole").filter((r) => !/-(editor|viewer)$/.test(r.metadata.name))).to.deep.equal([]);
      for (const ns of ["a", "b"]) {
        expect(normalizeRules(only(namespaced, "Role", "memorydb-user-operator", ns).rules)).to.deep.equal(normalizeRules(RECONCILE_RULES));
      }
      const rules: Rule[] = objects.filter((o) => o.kind === "ClusterRole" || o.kind === "Role").flatMap((o) => o.rules);
      for (const rule of rules)
        for (const f of ["apiGroups", "resources", "verbs", "resourceNames"] as const) expect(rule[f] ?? []).to.not.include("*");
    });

    it("sets every setting the base sets (and more), with the base's values where both set one", () => {
      const env = operatorEnv(renderClean({ set: REGION }).objects);
      const baseEnv = {
        ...only(base, "ConfigMap").data,
        ...Object.fromEntries(
          only(base, "Deployment").spec.template.spec.containers[0].env.map((e: Json) => [e.name, e.value ?? "<fieldRef>"]),
        ),
      };
      for (const [name, value] of Object.entries(baseEnv)) {
        // Empty means unset: the chart leaves such settings out.
        if (value === "") continue;
        expect(env, `${name} is set by the base but not by the chart`).to.have.property(name);
        if (name !== "AWS_REGION") expect(env[name], name).to.equal(value);
      }
    });

    it("probes /healthz and /readyz on the health port, and exposes /metrics through a Service annotated for scraping", () => {
      const { objects } = renderClean({ set: REGION });
      const container = only(objects, "Deployment").spec.template.spec.containers[0];
      const port = (name: string) => container.ports.find((p: Json) => p.name === name).containerPort;
      expect([port("metrics"), port("health")]).to.deep.equal([METRICS_PORT, HEALTH_PORT]);
      expect(container.livenessProbe.httpGet).to.deep.equal({ path: "/healthz", port: "health" });
      expect(container.readinessProbe.httpGet).to.deep.equal({ path: "/readyz", port: "health" });
      const service = only(objects, "Service");
      const baseService = only(base, "Service");
      expect(service.metadata.annotations).to.deep.equal(baseService.metadata.annotations);
      expect(service.spec.ports).to.deep.equal(baseService.spec.ports);
      const custom = only(
        renderClean({ set: [...REGION, "metrics.port=9090", "metrics.service.annotations.prometheus\\.io/path=/m"] }).objects,
        "Service",
      );
      expect(custom.metadata.annotations).to.deep.equal({
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "9090",
        "prometheus.io/path": "/m",
      });
      const off = only(renderClean({ set: [...REGION, "metrics.service.scrapeAnnotations=false"] }).objects, "Service");
      expect(off.metadata.annotations).to.equal(undefined);
    });

    it("labels the namespace for Pod Security as the base does, when it creates it", () => {
      expect(find(renderClean({ set: REGION }).objects, "Namespace")).to.deep.equal([]);
      const { objects } = renderClean({ set: [...REGION, "namespace.create=true"] });
      const ns = only(objects, "Namespace");
      expect(ns.metadata.name).to.equal(NS);
      expect(objects[0]).to.equal(ns);
      const baseLabels = only(base, "Namespace").metadata.labels!;
      for (const [k, v] of Object.entries(baseLabels).filter(([k]) => k.startsWith("pod-security.")))
        expect(ns.metadata.labels?.[k], k).to.equal(v);
      expect(ns.metadata.annotations).to.deep.equal({ "helm.sh/resource-policy": "keep" });
    });
  });

  describe("values.yaml", () => {
    it("every value is read by a template (no dead settings)", () => {
      const refs = [...templateText.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)].map((m) => m[1]!.slice(1));
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
      const has = (path: string) =>
        path.split(".").reduce<any>((o, k) => (o && typeof o === "object" && k in o ? o[k] : undefined), values) !== undefined;
      for (const [theirs, ours] of Object.entries(ack)) expect(has(ours), `${theirs} -> ${ours}`).to.equal(true);
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
