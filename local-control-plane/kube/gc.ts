// The garbage collector's cascade, as kube-controller-manager's garbagecollector does it for
// background deletion (this server stands in for it, as for the namespace controller): once an
// owner is gone, a dependent whose owners are all gone is deleted (its own finalizers honoured);
// one that still has an owner only loses its references to the absent ones. With
// propagationPolicy Orphan the dependents lose their reference to the owner instead.
// pkg/controller/garbagecollector/garbagecollector.go (attemptToDeleteItem, orphanDependents).
import { clone } from "./patch.ts";
import { type JsonObject, type ResourceType, resourceKey } from "./resources.ts";
import { objectKey, type Store } from "./store.ts";

export interface Collectable {
  store: Store;
  types(): ResourceType[];
  /** Deletes an object as a client's DELETE would (finalizers make it wait). */
  delete(rt: ResourceType, namespace: string | undefined, name: string): void;
}

interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

/** The owner a reference names still exists (same kind, name and UID; in the dependent's namespace if namespaced). */
function ownerExists(env: Collectable, ref: OwnerReference, namespace: string | undefined): boolean {
  const group = ref.apiVersion.includes("/") ? ref.apiVersion.split("/")[0] : "";
  const rt = env.types().find((t) => t.kind === ref.kind && t.group === group);
  if (!rt) return false;
  return env.store.get(resourceKey(rt), objectKey(rt.namespaced ? namespace : undefined, ref.name))?.metadata?.uid === ref.uid;
}

/** The dependents of `owner` (gone, or being deleted with Orphan): deleted, or released from it. */
export function collectDependents(env: Collectable, owner: JsonObject, orphan: boolean): void {
  const uid = owner.metadata?.uid;
  if (!uid) return;
  const seen = new Set<string>();
  for (const rt of env.types()) {
    const rk = resourceKey(rt);
    if (seen.has(rk)) continue;
    seen.add(rk);
    for (const [key, obj] of env.store.list(rk)) {
      const refs: OwnerReference[] = obj.metadata?.ownerReferences ?? [];
      if (!refs.some((r) => r.uid === uid)) continue;
      const others = refs.filter((r) => r.uid !== uid);
      const present = orphan ? others : others.filter((r) => ownerExists(env, r, obj.metadata.namespace));
      if (present.length === 0 && !orphan) {
        env.delete(rt, obj.metadata.namespace, obj.metadata.name);
        continue;
      }
      const next = clone(obj);
      if (present.length > 0) next.metadata.ownerReferences = present;
      else delete next.metadata.ownerReferences;
      env.store.put(rk, key, next);
    }
  }
}
