// Shared helpers of the deploy/ tests: render kustomizations with `kubectl kustomize`, and
// validate objects against the Kubernetes schemas of kubernetes-models.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { PrometheusRule, ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import * as yaml from "js-yaml";
import { CustomResourceDefinition } from "kubernetes-models/apiextensions.k8s.io/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import { ConfigMap, Namespace, Service, ServiceAccount } from "kubernetes-models/v1";

export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: any;
};

export const REPO = fileURLToPath(new URL("../../", import.meta.url));
export const DEPLOY = join(REPO, "deploy");
export const CHART = join(DEPLOY, "helm", "memorydb-user-operator");

/** Runs `kubectl kustomize DIR` and parses every document. */
export function kustomize(dir: string): KubeObject[] {
  let out: string;
  try {
    out = execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === "ENOENT") throw new Error("kubectl is not installed: the deploy/ tests render kustomizations with `kubectl kustomize`");
    throw new Error(`kubectl kustomize ${relative(REPO, dir)} failed: ${e.stderr ?? e.message}`);
  }
  return yaml.loadAll(out).filter((d): d is KubeObject => d !== null && typeof d === "object");
}

/** Every directory under deploy/ with a kustomization.yaml that can be built on its own (not components). */
export function kustomizationDirs(root = DEPLOY): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    const file = join(dir, "kustomization.yaml");
    if (existsSync(file)) {
      const k = yaml.load(readFileSync(file, "utf8")) as { kind?: string };
      if (k.kind !== "Component") found.push(dir);
    }
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory() && entry.name !== "helm" && entry.name !== "node_modules") walk(join(dir, entry.name));
    }
  };
  walk(root);
  return found.sort();
}

type Model = new (data: any) => { validate(): void };
const MODELS: Record<string, Model> = {
  "v1/Namespace": Namespace,
  "v1/ServiceAccount": ServiceAccount,
  "v1/Service": Service,
  "v1/ConfigMap": ConfigMap,
  "apps/v1/Deployment": Deployment,
  "rbac.authorization.k8s.io/v1/ClusterRole": ClusterRole,
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": ClusterRoleBinding,
  "rbac.authorization.k8s.io/v1/Role": Role,
  "rbac.authorization.k8s.io/v1/RoleBinding": RoleBinding,
  "apiextensions.k8s.io/v1/CustomResourceDefinition": CustomResourceDefinition,
  // The Prometheus Operator's CRDs, as kubernetes-models generates them from its schemas.
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
  "monitoring.coreos.com/v1/PrometheusRule": PrometheusRule,
};

/** Schema errors of one object ([] when valid); an unknown kind is an error too. */
export function schemaErrors(obj: KubeObject): string[] {
  const id = `${obj.kind} ${obj.metadata?.namespace ?? ""}/${obj.metadata?.name}`;
  const model = MODELS[`${obj.apiVersion}/${obj.kind}`];
  if (!model) return [`${id}: no schema for ${obj.apiVersion} ${obj.kind}`];
  try {
    new model(obj).validate();
    return [];
  } catch (err) {
    return [`${id}: ${(err as Error).message}`];
  }
}

export function find(objects: KubeObject[], kind: string, name?: string, namespace?: string): KubeObject[] {
  return objects.filter(
    (o) =>
      o.kind === kind &&
      (name === undefined || o.metadata.name === name) &&
      (namespace === undefined || o.metadata.namespace === namespace),
  );
}

export function only(objects: KubeObject[], kind: string, name?: string, namespace?: string): KubeObject {
  const matches = find(objects, kind, name, namespace);
  if (matches.length !== 1) throw new Error(`expected one ${kind} ${namespace ?? ""}/${name ?? "*"}, found ${matches.length}`);
  return matches[0]!;
}

/**
 * Violations of the "restricted" Pod Security Standard (plus read-only root filesystem), the way
 * the API server's PodSecurity admission checks a pod template.
 */
export function podSecurityProblems(podSpec: Record<string, any>): string[] {
  const problems: string[] = [];
  const pod = podSpec.securityContext ?? {};
  for (const key of ["hostNetwork", "hostPID", "hostIPC"]) if (podSpec[key]) problems.push(`${key} is set`);
  for (const v of podSpec.volumes ?? []) if (v.hostPath) problems.push(`volume ${v.name} is a hostPath`);
  const containers = [...(podSpec.initContainers ?? []), ...(podSpec.containers ?? [])];
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    const where = `container ${c.name}`;
    if ((sc.runAsNonRoot ?? pod.runAsNonRoot) !== true) problems.push(`${where}: runAsNonRoot is not true`);
    if ((sc.runAsUser ?? pod.runAsUser) === 0) problems.push(`${where}: runs as uid 0`);
    if (sc.privileged) problems.push(`${where}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation is not false`);
    if (sc.readOnlyRootFilesystem !== true) problems.push(`${where}: readOnlyRootFilesystem is not true`);
    const drop: string[] = sc.capabilities?.drop ?? [];
    if (!drop.includes("ALL")) problems.push(`${where}: capabilities are not all dropped`);
    const add: string[] = sc.capabilities?.add ?? [];
    if (add.some((a) => a !== "NET_BIND_SERVICE")) problems.push(`${where}: adds capabilities ${add.join(",")}`);
    const seccomp = sc.seccompProfile?.type ?? pod.seccompProfile?.type;
    if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") problems.push(`${where}: seccompProfile is not RuntimeDefault`);
    for (const p of c.ports ?? []) if (p.hostPort) problems.push(`${where}: hostPort ${p.hostPort}`);
  }
  return problems;
}
