// deploy/ kustomizations: they render, validate against the Kubernetes schemas, grant exactly
// the operator's API calls, run it under the restricted Pod Security Standard, and configure it
// with settings it accepts.

import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { expect } from "chai";
import * as yaml from "js-yaml";
import { DEFAULT_VERIFIER_SECRET, loadConfig } from "../../src/config.ts";
import {
  accountsConfigMapRules,
  durationSeconds,
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
import { DEPLOY, find, type KubeObject, kustomizationDirs, kustomize, only, podSecurityProblems, REPO, schemaErrors } from "./manifests.ts";
import { accountsRbac, clusterScopedRbac, namespacedRbac, withComponents } from "./rbac.ts";

const CRD_NAME = "memorydb.operators.dev_memorydbusers.yaml";
const OPERATOR_NS = "memorydb-system";
const SA = "memorydb-user-operator";

/** The operator's environment: the envFrom ConfigMap's data, then the env entries with values. */
function operatorEnv(objects: KubeObject[]): Record<string, string> {
  const container = only(objects, "Deployment").spec.template.spec.containers[0];
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    Object.assign(env, only(objects, "ConfigMap", from.configMapRef.name).data ?? {});
  }
  for (const e of container.env ?? []) env[e.name] = e.value ?? `<${Object.keys(e.valueFrom ?? {})[0]}>`;
  return env;
}

function allRules(objects: KubeObject[]): Rule[] {
  return objects.filter((o) => o.kind === "ClusterRole" || o.kind === "Role").flatMap((o) => o.rules ?? []);
}

function checkBindings(objects: KubeObject[]): void {
  for (const binding of objects.filter((o) => o.kind === "RoleBinding" || o.kind === "ClusterRoleBinding")) {
    const id = `${binding.kind} ${binding.metadata.namespace ?? ""}/${binding.metadata.name}`;
    const ns = binding.roleRef.kind === "Role" ? binding.metadata.namespace : undefined;
    expect(
      find(objects, binding.roleRef.kind, binding.roleRef.name, ns),
      `${id} refers to a missing ${binding.roleRef.kind}`,
    ).to.have.length(1);
    expect(binding.subjects, id).to.deep.equal([{ kind: "ServiceAccount", name: SA, namespace: OPERATOR_NS }]);
  }
}

describe("deploy/ kustomizations", () => {
  const dirs = kustomizationDirs();

  it("finds the base, the CRDs and the namespaced overlay", () => {
    const rel = dirs.map((d) => relative(DEPLOY, d));
    expect(rel).to.include.members(["base", "crds", "overlays/namespaced"]);
  });

  for (const dir of dirs) {
    it(`${relative(REPO, dir)} renders and every object validates against its Kubernetes schema`, () => {
      const objects = kustomize(dir);
      expect(objects).to.not.be.empty;
      expect(objects.flatMap(schemaErrors)).to.deep.equal([]);
    });
  }

  it("deploy/crds holds an exact copy of crds/ (run deploy/sync.sh after changing crds/)", () => {
    expect(readFileSync(join(DEPLOY, "crds", CRD_NAME), "utf8")).to.equal(readFileSync(join(REPO, "crds", CRD_NAME), "utf8"));
  });
});

describe("deploy/base (cluster-scoped install)", () => {
  let objects: KubeObject[];
  before(() => {
    objects = kustomize(join(DEPLOY, "base"));
  });

  it("has the namespace, ServiceAccount, RBAC, Deployment, metrics Service and the CRD", () => {
    const kinds = objects.map((o) => o.kind).sort();
    expect(kinds).to.deep.equal(
      [
        "ClusterRole",
        "ClusterRoleBinding",
        "ConfigMap",
        "CustomResourceDefinition",
        "Deployment",
        "Namespace",
        "Role",
        "Role",
        "RoleBinding",
        "RoleBinding",
        "Service",
        "ServiceAccount",
      ].sort(),
    );
    for (const o of objects.filter(
      (o) => !["Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"].includes(o.kind),
    )) {
      expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).to.equal(OPERATOR_NS);
    }
  });

  it("includes the CRD unchanged", () => {
    const crd = only(objects, "CustomResourceDefinition");
    const source = yaml.load(readFileSync(join(REPO, "crds", CRD_NAME), "utf8")) as KubeObject;
    expect(crd.spec).to.deep.equal(source.spec);
    expect(crd.metadata.name).to.equal(source.metadata.name);
  });

  it("grants exactly the operator's API calls: reconcile rules cluster-wide, the kube-system lookup, the leader Lease, the verifier key", () => {
    expect(normalizeRules(only(objects, "ClusterRole", SA).rules)).to.deep.equal(normalizeRules([...RECONCILE_RULES, KUBE_SYSTEM_RULE]));
    const leaseName = operatorEnv(objects).LEADER_ELECTION_ID ?? "memorydb-user-operator";
    expect(normalizeRules(only(objects, "Role", `${SA}-leader-election`, OPERATOR_NS).rules)).to.deep.equal(
      normalizeRules(leaderElectionRules(leaseName)),
    );
    expect(normalizeRules(only(objects, "Role", `${SA}-verifier-key`, OPERATOR_NS).rules)).to.deep.equal(
      normalizeRules(verifierKeyRules(DEFAULT_VERIFIER_SECRET)),
    );
    checkBindings(objects);
  });

  it("uses no wildcards in any rule", () => {
    for (const rule of allRules(objects)) {
      for (const field of ["apiGroups", "resources", "verbs", "resourceNames"] as const) {
        expect(rule[field] ?? [], JSON.stringify(rule)).to.not.include("*");
      }
    }
  });

  it("runs the operator under the restricted Pod Security Standard with a read-only root filesystem", () => {
    const pod = only(objects, "Deployment").spec.template.spec;
    expect(podSecurityProblems(pod)).to.deep.equal([]);
    expect(pod.serviceAccountName).to.equal(SA);
    expect(only(objects, "Namespace").metadata.labels?.["pod-security.kubernetes.io/enforce"]).to.equal("restricted");
  });

  it("probes /healthz and /readyz on the health port and exposes /metrics through the Service", () => {
    const deployment = only(objects, "Deployment");
    const container = deployment.spec.template.spec.containers[0];
    const port = (name: string): number => container.ports.find((p: { name: string }) => p.name === name).containerPort;
    expect(port("health")).to.equal(HEALTH_PORT);
    expect(port("metrics")).to.equal(METRICS_PORT);
    for (const probe of ["startupProbe", "livenessProbe"]) {
      expect(container[probe].httpGet, probe).to.deep.equal({ path: "/healthz", port: "health" });
    }
    expect(container.readinessProbe.httpGet).to.deep.equal({ path: "/readyz", port: "health" });
    expect(container.resources.requests).to.have.keys("cpu", "memory");
    expect(container.resources.limits).to.have.property("memory");

    const service = only(objects, "Service");
    const podLabels = deployment.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(service.spec.selector)) expect(podLabels[k], `selector ${k}`).to.equal(v);
    expect(deployment.spec.selector.matchLabels).to.deep.equal(service.spec.selector);
    expect(service.spec.ports).to.deep.equal([{ name: "metrics", port: METRICS_PORT, targetPort: "metrics", protocol: "TCP" }]);
  });

  it("configures the operator with settings it knows and accepts", () => {
    const env = operatorEnv(objects);
    for (const name of Object.keys(env)) expect(OPERATOR_ENV, `unknown setting ${name}`).to.include(name);
    expect(env).to.include({ POD_NAME: "<fieldRef>", POD_NAMESPACE: "<fieldRef>", LEADER_ELECT: "true" });
    expect(env.METRICS_BIND_ADDRESS).to.equal(`:${METRICS_PORT}`);
    expect(env.HEALTH_PROBE_BIND_ADDRESS).to.equal(`:${HEALTH_PORT}`);
    expect(env.DEFAULT_DELETION_POLICY).to.be.oneOf(["Delete", "Retain"]);
    // The operator's own configuration parser accepts the rest.
    expect(() => loadConfig([], { ...env, POD_NAMESPACE: OPERATOR_NS })).to.not.throw();
  });

  it("gives SIGTERM's graceful shutdown time to finish before the kubelet kills the pod", () => {
    const pod = only(objects, "Deployment").spec.template.spec;
    expect(pod.terminationGracePeriodSeconds).to.be.greaterThan(durationSeconds(operatorEnv(objects).SHUTDOWN_TIMEOUT ?? "25s"));
  });

  it("pins the image to a version, never latest", () => {
    const image: string = only(objects, "Deployment").spec.template.spec.containers[0].image;
    expect(image).to.match(/:[\w.-]+$|@sha256:[a-f0-9]{64}$/);
    expect(image).to.not.match(/:latest$/);
  });
});

describe("deploy/overlays/namespaced (namespaced install)", () => {
  let objects: KubeObject[];
  before(() => {
    objects = kustomize(join(DEPLOY, "overlays", "namespaced"));
  });

  it("has no cluster-wide rights", () => {
    expect(find(objects, "ClusterRole")).to.deep.equal([]);
    expect(find(objects, "ClusterRoleBinding")).to.deep.equal([]);
  });

  it("grants the reconcile rules by a Role in each watched namespace, and nowhere else", () => {
    const watched = operatorEnv(objects).WATCH_NAMESPACES!.split(",");
    expect(watched).to.have.length.greaterThan(0);
    const roles = find(objects, "Role").filter((r) => r.metadata.namespace !== OPERATOR_NS);
    expect(roles.map((r) => r.metadata.namespace).sort()).to.deep.equal([...watched].sort());
    for (const role of roles) expect(normalizeRules(role.rules)).to.deep.equal(normalizeRules(RECONCILE_RULES));
    expect(normalizeRules(only(objects, "Role", `${SA}-leader-election`, OPERATOR_NS).rules)).to.deep.equal(
      normalizeRules(leaderElectionRules("memorydb-user-operator")),
    );
    expect(normalizeRules(only(objects, "Role", `${SA}-verifier-key`, OPERATOR_NS).rules)).to.deep.equal(
      normalizeRules(verifierKeyRules(DEFAULT_VERIFIER_SECRET)),
    );
    checkBindings(objects);
  });

  it("leaves CLUSTER_ID for the user to set (the operator cannot read kube-system here) and is otherwise accepted by the operator", () => {
    const env = operatorEnv(objects);
    expect(env).to.have.property("CLUSTER_ID", "");
    expect(() => loadConfig([], { ...env, POD_NAMESPACE: OPERATOR_NS, CLUSTER_ID: "prod-eu-1" })).to.not.throw();
  });

  it("keeps the base's pod security", () => {
    expect(podSecurityProblems(only(objects, "Deployment").spec.template.spec)).to.deep.equal([]);
  });
});

describe("test/deploy/rbac.ts", () => {
  it("returns the cluster-scoped and namespaced RBAC with the operator's ServiceAccount", () => {
    const cluster = clusterScopedRbac();
    expect(cluster.serviceAccount).to.deep.equal({ namespace: OPERATOR_NS, name: SA });
    expect(cluster.objects.map((o) => o.kind).sort()).to.deep.equal([
      "ClusterRole",
      "ClusterRoleBinding",
      "Role",
      "Role",
      "RoleBinding",
      "RoleBinding",
    ]);
    const namespaced = namespacedRbac(["apps", "payments"]);
    expect(
      namespaced.objects
        .filter((o) => o.kind === "Role")
        .map((o) => o.metadata.namespace)
        .sort(),
    ).to.deep.equal(["apps", OPERATOR_NS, OPERATOR_NS, "payments"]);
    expect(namespaced.objects.flatMap(schemaErrors)).to.deep.equal([]);
  });
});

describe("deploy/components/servicemonitor", () => {
  it("selects the metrics Service's port when added to an overlay", () => {
    const objects = withComponents(["servicemonitor"]);
    const monitor = only(objects, "ServiceMonitor");
    expect(monitor.apiVersion).to.equal("monitoring.coreos.com/v1");
    expect(monitor.metadata.namespace).to.equal(OPERATOR_NS);
    const service = only(objects, "Service");
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels)) expect(service.metadata.labels?.[k], k).to.equal(v);
    const ports = service.spec.ports.map((p: { name: string }) => p.name);
    for (const endpoint of monitor.spec.endpoints) expect(ports).to.include(endpoint.port);
  });
});

describe("deploy/components/accounts", () => {
  it("points the operator at its ConfigMap and lets it list and watch that one ConfigMap, nothing else", () => {
    const objects = withComponents(["accounts"]);
    expect(objects.flatMap(schemaErrors)).to.deep.equal([]);
    const env = operatorEnv(objects);
    const { configMap, objects: rbac } = accountsRbac();
    expect(env.ACCOUNTS_CONFIGMAP).to.equal(`${configMap.metadata.namespace}/${configMap.metadata.name}`);
    expect(configMap.metadata.namespace).to.equal(OPERATOR_NS);
    const role = only(rbac, "Role", `${SA}-accounts`, OPERATOR_NS);
    expect(normalizeRules(role.rules)).to.deep.equal(normalizeRules(accountsConfigMapRules(configMap.metadata.name)));
    checkBindings(objects);
    // The base's other rules are unchanged, and nothing else can read ConfigMaps.
    const others = rbac.filter((o) => o !== role && (o.kind === "Role" || o.kind === "ClusterRole"));
    expect(others.flatMap((o) => o.rules).filter((r: Rule) => r.resources.includes("configmaps"))).to.deep.equal([]);
    const config = loadConfig([], { ...env, POD_NAMESPACE: OPERATOR_NS });
    expect(config.accountsConfigMap).to.deep.equal({ namespace: OPERATOR_NS, name: "memorydb-accounts" });
    expect(config.requireAccountMapping).to.equal(false);
  });
});
