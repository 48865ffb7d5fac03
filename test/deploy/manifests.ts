// Shared helpers of the deploy/ tests: render kustomizations with `kubectl kustomize`, and
// validate objects against the Kubernetes schemas of kubernetes-models.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as yaml from "js-yaml";
import { ConfigMap, Namespace, Service, ServiceAccount } from "kubernetes-models/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import { CustomResourceDefinition } from "kubernetes-models/apiextensions.k8s.io/v1";

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
    (o) => o.kind === kind && (name === undefined || o.metadata.name === name) && (namespace === undefined || o.metadata.namespace === namespace),
  );
}

export function only(objects: KubeObject[], kind: string, name?: string, namespace?: string): KubeObject {
  const matches = find(objects, kind, name, namespace);
  if (matches.length !== 1) throw new Error(`expected one ${kind} ${namespace ?? ""}/${name ?? "*"}, found ${matches.length}`);
  return matches[0]!;
}
