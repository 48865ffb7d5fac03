// Finalizer edits as JSON Patches guarded by a `test` op (as kube-rs does): if another
// controller changed the list in between, the patch fails instead of overwriting its edit.

export type JsonPatchOp =
  | { op: "test"; path: string; value: unknown }
  | { op: "add"; path: string; value: unknown }
  | { op: "remove"; path: string };

export function addFinalizerPatch(current: readonly string[] | undefined, finalizer: string): JsonPatchOp[] | undefined {
  if (current?.includes(finalizer)) return undefined;
  if (!current || current.length === 0) {
    // A missing list tests as null; an empty one must be tested as such.
    return [
      { op: "test", path: "/metadata/finalizers", value: current ? [] : null },
      { op: "add", path: "/metadata/finalizers", value: [finalizer] },
    ];
  }
  return [
    { op: "test", path: "/metadata/finalizers", value: [...current] },
    { op: "add", path: "/metadata/finalizers/-", value: finalizer },
  ];
}

export function removeFinalizerPatch(current: readonly string[] | undefined, finalizer: string): JsonPatchOp[] | undefined {
  const index = current?.indexOf(finalizer) ?? -1;
  if (index < 0) return undefined;
  return [
    { op: "test", path: `/metadata/finalizers/${index}`, value: finalizer },
    { op: "remove", path: `/metadata/finalizers/${index}` },
  ];
}
