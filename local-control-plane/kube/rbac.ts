// The RBAC authorizer (k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac) over the Roles,
// ClusterRoles, RoleBindings and ClusterRoleBindings stored in the server: verbs, apiGroups,
// resources incl. "<resource>/<subresource>" and "*/<subresource>", resourceNames, nonResourceURLs
// (exact or "prefix*"), "*" wildcards. Members of system:masters are always allowed (the
// privileged-groups authorizer before RBAC). ClusterRole aggregation is not implemented.
import type { AuthorizerDecision, RequestAttributes } from "./http.ts";
import type { JsonObject } from "./resources.ts";

const RBAC = "rbac.authorization.k8s.io";

/** Read access to the stored RBAC objects. */
export interface RbacObjects {
  roles(namespace: string): JsonObject[];
  clusterRoles(): JsonObject[];
  roleBindings(namespace: string): JsonObject[];
  clusterRoleBindings(): JsonObject[];
}

function subjectMatches(s: JsonObject, user: string, groups: string[], bindingNamespace: string): boolean {
  switch (s.kind) {
    case "User":
      return s.name === user;
    case "Group":
      return groups.includes(s.name);
    case "ServiceAccount": {
      const ns = s.namespace || bindingNamespace;
      return !!ns && user === `system:serviceaccount:${ns}:${s.name}`;
    }
    default:
      return false;
  }
}

const has = (list: unknown, v: string) => Array.isArray(list) && (list.includes("*") || list.includes(v));

function resourceMatches(rule: JsonObject, resource: string, subresource: string): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  for (const r of (rule.resources ?? []) as string[]) {
    if (r === "*" || r === combined) return true;
    if (subresource && r === `*/${subresource}`) return true;
  }
  return false;
}

function nonResourceMatches(rule: JsonObject, path: string): boolean {
  for (const u of (rule.nonResourceURLs ?? []) as string[]) {
    if (u === "*" || u === path) return true;
    if (u.endsWith("*") && path.startsWith(u.slice(0, -1))) return true;
  }
  return false;
}

/** RuleAllows of the RBAC authorizer. */
export function ruleAllows(a: RequestAttributes, rule: JsonObject): boolean {
  if (a.resourceRequest) {
    return (
      has(rule.verbs, a.verb) &&
      has(rule.apiGroups, a.apiGroup) &&
      resourceMatches(rule, a.resource, a.subresource) &&
      (!Array.isArray(rule.resourceNames) || rule.resourceNames.length === 0 || rule.resourceNames.includes(a.name))
    );
  }
  return has(rule.verbs, a.verb) && nonResourceMatches(rule, a.path);
}

export function rbacAuthorizer(objs: RbacObjects): (a: RequestAttributes) => AuthorizerDecision {
  return (a) => {
    if (a.groups.includes("system:masters")) return { allowed: true };
    const errors: string[] = [];
    const rulesOf = (ref: JsonObject, bindingNamespace: string): JsonObject[] => {
      if (ref?.apiGroup !== RBAC) return [];
      if (ref.kind === "ClusterRole") {
        const role = objs.clusterRoles().find((r) => r.metadata.name === ref.name);
        if (!role) {
          errors.push(`clusterrole.${RBAC} "${ref.name}" not found`);
          return [];
        }
        return role.rules ?? [];
      }
      if (ref.kind === "Role" && bindingNamespace) {
        const role = objs.roles(bindingNamespace).find((r) => r.metadata.name === ref.name);
        if (!role) {
          errors.push(`role.${RBAC} "${ref.name}" not found`);
          return [];
        }
        return role.rules ?? [];
      }
      return [];
    };
    for (const b of objs.clusterRoleBindings()) {
      if (!(b.subjects ?? []).some((s: JsonObject) => subjectMatches(s, a.user, a.groups, ""))) continue;
      if (rulesOf(b.roleRef, "").some((r) => ruleAllows(a, r))) return { allowed: true };
    }
    if (a.resourceRequest && a.namespace) {
      for (const b of objs.roleBindings(a.namespace)) {
        if (!(b.subjects ?? []).some((s: JsonObject) => subjectMatches(s, a.user, a.groups, a.namespace))) continue;
        if (rulesOf(b.roleRef, a.namespace).some((r) => ruleAllows(a, r))) return { allowed: true };
      }
    }
    return { allowed: false, ...(errors.length ? { reason: `RBAC: ${errors.length === 1 ? errors[0] : `[${errors.join(", ")}]`}` } : {}) };
  };
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

/** The bootstrap ClusterRoles and ClusterRoleBindings every cluster has that matter here. */
export function bootstrapPolicy(): { clusterRoles: JsonObject[]; clusterRoleBindings: JsonObject[] } {
  const meta = (name: string) => ({
    name,
    labels: { "kubernetes.io/bootstrapping": "rbac-defaults" },
    annotations: { "rbac.authorization.kubernetes.io/autoupdate": "true" },
    creationTimestamp: now(),
  });
  const role = (name: string, rules: JsonObject[]) => ({ apiVersion: `${RBAC}/v1`, kind: "ClusterRole", metadata: meta(name), rules });
  const binding = (name: string, subjects: JsonObject[]) => ({
    apiVersion: `${RBAC}/v1`,
    kind: "ClusterRoleBinding",
    metadata: meta(name),
    roleRef: { apiGroup: RBAC, kind: "ClusterRole", name },
    subjects,
  });
  const group = (name: string) => ({ apiGroup: RBAC, kind: "Group", name });
  return {
    clusterRoles: [
      role("cluster-admin", [
        { apiGroups: ["*"], resources: ["*"], verbs: ["*"] },
        { nonResourceURLs: ["*"], verbs: ["*"] },
      ]),
      role("system:discovery", [
        {
          nonResourceURLs: [
            "/api",
            "/api/*",
            "/apis",
            "/apis/*",
            "/healthz",
            "/livez",
            "/openapi",
            "/openapi/*",
            "/readyz",
            "/version",
            "/version/",
          ],
          verbs: ["get"],
        },
      ]),
      role("system:public-info-viewer", [{ nonResourceURLs: ["/healthz", "/livez", "/readyz", "/version", "/version/"], verbs: ["get"] }]),
    ],
    clusterRoleBindings: [
      binding("cluster-admin", [group("system:masters")]),
      binding("system:discovery", [group("system:authenticated")]),
      binding("system:public-info-viewer", [group("system:authenticated"), group("system:unauthenticated")]),
    ],
  };
}
