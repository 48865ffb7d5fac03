// The finalizer protocol, as kube-rs' `finalizer()` runs it (except that adding the finalizer is
// followed by the apply at once): a resource's finalizer is present or not, and the resource is
// being deleted or not; the four cases each have one answer. The
// reconciler supplies `apply` and `cleanup`; this owns adding and removing the finalizer, with
// JSON Patches guarded by `test` ops so another controller's edit is never overwritten.
import { addFinalizerPatch, type JsonPatchOp, removeFinalizerPatch } from "../kube/finalizer.ts";
import type { Retry } from "./outcome.ts";

interface Finalizable {
  metadata: { finalizers?: string[] | undefined; deletionTimestamp?: string | undefined };
}

/** What cleanup concluded: nothing of the resource's is left (drop the finalizer), or come back. */
export type Cleanup = { kind: "done" } | { kind: "wait"; retry: Retry };

export interface FinalizerOps<T> {
  /** JSON-patches the resource; resolves to the updated object, undefined when it is gone. */
  patch(ops: JsonPatchOp[]): Promise<T | undefined>;
  /** The resource lives: make the world match it. Runs only once the finalizer is on. */
  apply(resource: T): Promise<Retry>;
  /** The resource is being deleted: release what it holds. */
  cleanup(resource: T): Promise<Cleanup>;
  /** A patch the helper made (so the caller can remember its own write). */
  patched?(before: T, after: T): void;
}

export async function finalizer<T extends Finalizable>(name: string, resource: T, ops: FinalizerOps<T>): Promise<Retry> {
  const has = resource.metadata.finalizers?.includes(name) ?? false;
  const deleting = resource.metadata.deletionTimestamp !== undefined;
  if (has && !deleting) return ops.apply(resource);
  if (!has && deleting) return "none"; // already released: nothing of ours is left
  if (!has) {
    // Before anything can exist outside Kubernetes. Then the apply, in the same reconcile, from the
    // patched object: requeued instead (kube-rs waits for the change), the resource would wait
    // behind every other queued one, and a mass create would patch every finalizer before it
    // created any user.
    const after = await ops.patch(addFinalizerPatch(resource.metadata.finalizers, name)!);
    if (!after) return "none";
    ops.patched?.(resource, after);
    return ops.apply(after);
  }
  const done = await ops.cleanup(resource);
  if (done.kind === "wait") return done.retry;
  const after = await ops.patch(removeFinalizerPatch(resource.metadata.finalizers, name)!);
  if (after) ops.patched?.(resource, after);
  return "none";
}
