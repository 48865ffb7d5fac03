// The resource types the fake API server serves: built-in ones and those of installed CRDs.

export type JsonObject = Record<string, any>;

export interface ResourceType {
  group: string; // '' for core
  version: string;
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** true when the status subresource exists */
  status: boolean;
  /** custom resource (schema validation, generation, unstructured rules) */
  custom: boolean;
  /** OpenAPI v3 schema of a custom resource version */
  schema?: JsonObject;
  /** PUT without metadata.resourceVersion allowed (core types yes, custom resources no) */
  allowUnconditionalUpdate: boolean;
  /** whether metadata.generation is maintained */
  generation: boolean;
  /** name of the CRD that defines it */
  crdName?: string;
  /** additionalPrinterColumns of a custom resource version (server-side Table output) */
  printerColumns?: JsonObject[];
  /** storage shared with another resource ("<group>/<plural>"), e.g. events.k8s.io events are core events */
  storage?: string;
}

export const ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

export function apiVersionOf(rt: ResourceType): string {
  return rt.group ? `${rt.group}/${rt.version}` : rt.version;
}

export function resourceKey(rt: { group: string; version?: string; plural: string; storage?: string }): string {
  return rt.storage ?? `${rt.group}/${rt.plural}`;
}

function builtin(
  group: string,
  version: string,
  plural: string,
  kind: string,
  namespaced: boolean,
  extra: Partial<ResourceType> = {},
): ResourceType {
  return {
    group,
    version,
    plural,
    kind,
    namespaced,
    singular: kind.toLowerCase(),
    listKind: `${kind}List`,
    shortNames: [],
    categories: [],
    verbs: ALL_VERBS,
    status: false,
    custom: false,
    allowUnconditionalUpdate: true,
    generation: false,
    ...extra,
  };
}

export function builtinResources(): ResourceType[] {
  return [
    builtin("", "v1", "namespaces", "Namespace", false, {
      shortNames: ["ns"],
      status: true,
      verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
    }),
    builtin("", "v1", "secrets", "Secret", true),
    builtin("", "v1", "configmaps", "ConfigMap", true, { shortNames: ["cm"] }),
    builtin("", "v1", "events", "Event", true, { shortNames: ["ev"] }),
    // Same objects as core/v1 events, in another shape (converted on read and write).
    builtin("events.k8s.io", "v1", "events", "Event", true, { shortNames: ["ev"], storage: "/events" }),
    builtin("", "v1", "serviceaccounts", "ServiceAccount", true, { shortNames: ["sa"] }),
    builtin("coordination.k8s.io", "v1", "leases", "Lease", true),
    builtin("rbac.authorization.k8s.io", "v1", "roles", "Role", true),
    builtin("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true),
    builtin("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false),
    builtin("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false),
    builtin("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false, {
      shortNames: ["crd", "crds"],
      categories: ["api-extensions"],
      status: true,
      generation: true,
    }),
  ];
}

/** The resource types one CRD serves (one per served version). */
export function crdResources(crd: JsonObject): ResourceType[] {
  const spec = crd.spec ?? {};
  const names = spec.names ?? {};
  const out: ResourceType[] = [];
  for (const v of spec.versions ?? []) {
    if (!v.served) continue;
    out.push({
      group: spec.group,
      version: v.name,
      plural: names.plural,
      singular: names.singular ?? String(names.kind).toLowerCase(),
      kind: names.kind,
      listKind: names.listKind ?? `${names.kind}List`,
      namespaced: spec.scope !== "Cluster",
      shortNames: names.shortNames ?? [],
      categories: names.categories ?? [],
      verbs: ALL_VERBS,
      status: !!v.subresources?.status,
      custom: true,
      schema: v.schema?.openAPIV3Schema,
      allowUnconditionalUpdate: false,
      generation: true,
      crdName: crd.metadata?.name,
      // CRD defaulting: no columns declared means one Age column.
      printerColumns: v.additionalPrinterColumns ?? [{ name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" }],
    });
  }
  return out;
}
