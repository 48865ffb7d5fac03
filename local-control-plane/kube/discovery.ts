// Discovery documents (/api, /api/v1, /apis, /apis/<g>, /apis/<g>/<v>) and /version.
import type { ResourceType } from "./resources.ts";

export function versionInfo(): Record<string, string> {
  return {
    major: "1",
    minor: "32",
    gitVersion: "v1.32.3",
    gitCommit: "32cc146f75aad04beaaa245a7157eb35063a9f99",
    gitTreeState: "clean",
    buildDate: "2025-03-11T19:52:21Z",
    goVersion: "go1.23.6",
    compiler: "gc",
    platform: "linux/amd64",
  };
}

export function coreVersions(serverAddress: string): object {
  return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }] };
}

function groupVersions(types: ResourceType[], group: string): string[] {
  const vs: string[] = [];
  for (const t of types) if (t.group === group && !vs.includes(t.version)) vs.push(t.version);
  return vs;
}

function apiGroup(types: ResourceType[], group: string): object {
  const versions = groupVersions(types, group).map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { name: group, versions, preferredVersion: versions[0] };
}

export function groupList(types: ResourceType[]): object {
  const groups: string[] = [];
  for (const t of types) if (t.group && !groups.includes(t.group)) groups.push(t.group);
  return { kind: "APIGroupList", apiVersion: "v1", groups: groups.map((g) => apiGroup(types, g)) };
}

export function groupDoc(types: ResourceType[], group: string): object | undefined {
  if (!types.some((t) => t.group === group)) return undefined;
  return { kind: "APIGroup", apiVersion: "v1", ...apiGroup(types, group) };
}

export function resourceList(types: ResourceType[], group: string, version: string): object | undefined {
  const ts = types.filter((t) => t.group === group && t.version === version);
  if (!ts.length) return undefined;
  const resources: object[] = [];
  for (const t of ts) {
    resources.push({
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: t.verbs,
      ...(t.shortNames.length ? { shortNames: t.shortNames } : {}),
      ...(t.categories.length ? { categories: t.categories } : {}),
    });
    if (t.status)
      resources.push({
        name: `${t.plural}/status`,
        singularName: "",
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: ["get", "patch", "update"],
      });
  }
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion: group ? `${group}/${version}` : version, resources };
}

export const AGGREGATED_DISCOVERY = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/** Aggregated discovery (apidiscovery.k8s.io/v2) of the core group (/api) or all named groups (/apis). */
export function aggregatedDiscovery(types: ResourceType[], core: boolean): object {
  const groups: string[] = [];
  for (const t of types) if ((t.group === "") === core && !groups.includes(t.group)) groups.push(t.group);
  return {
    kind: "APIGroupDiscoveryList",
    apiVersion: "apidiscovery.k8s.io/v2",
    metadata: {},
    items: groups.map((g) => ({
      metadata: { ...(g ? { name: g } : {}), creationTimestamp: null },
      versions: groupVersions(types, g).map((v) => ({
        version: v,
        resources: types
          .filter((t) => t.group === g && t.version === v)
          .map((t) => {
            const responseKind = { group: t.group, version: t.version, kind: t.kind };
            return {
              resource: t.plural,
              responseKind,
              scope: t.namespaced ? "Namespaced" : "Cluster",
              singularResource: t.singular,
              verbs: t.verbs,
              ...(t.shortNames.length ? { shortNames: t.shortNames } : {}),
              ...(t.categories.length ? { categories: t.categories } : {}),
              ...(t.status ? { subresources: [{ subresource: "status", responseKind, verbs: ["get", "patch", "update"] }] } : {}),
            };
          }),
        freshness: "Current",
      })),
    })),
  };
}
