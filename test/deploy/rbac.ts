// The operator's RBAC exactly as the manifests in deploy/ grant it, for tests that run the
// operator under those rules (e.g. on the local API server).
//
//   const { serviceAccount, objects } = namespacedRbac(["team-a"]);
//   // create `objects` on the API server, then run the operator as `serviceAccount`
//   // with POD_NAMESPACE=serviceAccount.namespace (the leader election Lease lives there).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import * as yaml from "js-yaml";
import { DEPLOY, type KubeObject, kustomize } from "./manifests.ts";

export const RBAC_KINDS = ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"] as const;

export interface RbacBundle {
  /** The operator's ServiceAccount, which every binding names. */
  serviceAccount: { namespace: string; name: string };
  /** The ClusterRoles, ClusterRoleBindings, Roles and RoleBindings the install creates. */
  objects: KubeObject[];
}

function bundle(objects: KubeObject[]): RbacBundle {
  const sa = objects.find((o) => o.kind === "ServiceAccount");
  if (!sa) throw new Error("the rendered manifests have no ServiceAccount");
  return {
    serviceAccount: { namespace: sa.metadata.namespace ?? "default", name: sa.metadata.name },
    objects: objects.filter((o) => (RBAC_KINDS as readonly string[]).includes(o.kind)),
  };
}

/** RBAC of the cluster-scoped install (deploy/base): a ClusterRole and the leader election Role. */
export function clusterScopedRbac(): RbacBundle {
  return bundle(kustomize(join(DEPLOY, "base")));
}

/**
 * RBAC of the namespaced install (deploy/overlays/namespaced): a Role per watched namespace and
 * the leader election Role, no ClusterRole. Without `watchNamespaces`, the overlay as shipped
 * (team-a, team-b); with them, the same overlay re-targeted at those namespaces, built the way
 * the overlay's comments tell users to (one namespaces/<name>/ per watched namespace).
 */
export function namespacedRbac(watchNamespaces?: readonly string[]): RbacBundle {
  const overlay = join(DEPLOY, "overlays", "namespaced");
  if (!watchNamespaces) return bundle(kustomize(overlay));
  const dir = mkdtempSync(join(tmpdir(), "mdbu-rbac-"));
  try {
    const k = yaml.load(readFileSync(join(overlay, "kustomization.yaml"), "utf8")) as Record<string, any>;
    const resources: string[] = [];
    // kustomize takes only relative paths.
    for (const r of k.resources as string[]) {
      if (!r.startsWith("namespaces/")) resources.push(relative(dir, join(overlay, r)));
    }
    for (const ns of watchNamespaces) {
      mkdirSync(join(dir, ns));
      writeFileSync(
        join(dir, ns, "kustomization.yaml"),
        yaml.dump({
          apiVersion: "kustomize.config.k8s.io/v1beta1",
          kind: "Kustomization",
          namespace: ns,
          resources: [relative(join(dir, ns), join(overlay, "watched-namespace"))],
        }),
      );
      resources.push(ns);
    }
    k.resources = resources;
    for (const gen of k.configMapGenerator ?? []) {
      gen.literals = (gen.literals as string[]).map((l) =>
        l.startsWith("WATCH_NAMESPACES=") ? `WATCH_NAMESPACES=${watchNamespaces.join(",")}` : l,
      );
    }
    writeFileSync(join(dir, "kustomization.yaml"), yaml.dump(k));
    return bundle(kustomize(dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Both installs' RBAC, rendered from the kustomize base and the namespaced overlay. */
export function renderedRbac(): { cluster: RbacBundle; namespaced: RbacBundle } {
  return { cluster: clusterScopedRbac(), namespaced: namespacedRbac() };
}

/** Renders deploy/base with `components` (paths under deploy/components) added, as an overlay would. */
export function withComponents(components: readonly string[]): KubeObject[] {
  const dir = mkdtempSync(join(tmpdir(), "mdbu-components-"));
  try {
    writeFileSync(
      join(dir, "kustomization.yaml"),
      yaml.dump({
        apiVersion: "kustomize.config.k8s.io/v1beta1",
        kind: "Kustomization",
        resources: [relative(dir, join(DEPLOY, "base"))],
        components: components.map((c) => relative(dir, join(DEPLOY, "components", c))),
      }),
    );
    return kustomize(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The cluster-scoped install with deploy/components/accounts: its RBAC, and the accounts ConfigMap it reads. */
export function accountsRbac(): RbacBundle & { configMap: KubeObject } {
  const objects = withComponents(["accounts"]);
  const configMap = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "memorydb-accounts");
  if (!configMap) throw new Error("deploy/components/accounts has no memorydb-accounts ConfigMap");
  return { ...bundle(objects), configMap };
}
