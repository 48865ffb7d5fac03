// The finalizer helper's four cases (present or not, deleting or not), with stand-ins for the
// patch, apply and cleanup it drives.
import { expect } from "chai";
import type { JsonPatchOp } from "../../src/kube/finalizer.ts";
import { finalizer } from "../../src/reconcile/finalizer.ts";

const NAME = "memorydb.operators.dev/finalizer";
type R = { metadata: { finalizers?: string[]; deletionTimestamp?: string; resourceVersion?: string } };

function run(resource: R, options: { gone?: boolean; cleanup?: "done" | "wait" } = {}) {
  const calls: string[] = [];
  const patches: JsonPatchOp[][] = [];
  const applied: R[] = [];
  const result = finalizer(NAME, resource, {
    patch: async (ops) => {
      patches.push(ops);
      calls.push("patch");
      return options.gone ? undefined : { metadata: { ...resource.metadata, finalizers: [NAME], resourceVersion: "2" } };
    },
    apply: async (r) => {
      applied.push(r);
      calls.push("apply");
      return "none";
    },
    cleanup: async () => {
      calls.push("cleanup");
      return options.cleanup === "wait" ? { kind: "wait", retry: "poll" } : { kind: "done" };
    },
  });
  return { result, calls, patches, applied };
}

describe("finalizer helper", () => {
  it("adds the finalizer (guarded by a test op), then applies in the same reconcile from the patched object", async () => {
    const r = run({ metadata: { finalizers: ["other/x"], resourceVersion: "1" } });
    expect(await r.result).to.equal("none");
    expect(r.calls).to.deep.equal(["patch", "apply"]);
    expect(r.patches[0]!.some((op) => op.op === "test")).to.equal(true);
    expect(r.applied[0]!.metadata.resourceVersion).to.equal("2");
  });

  it("applies nothing when the resource is gone before its finalizer could be added", async () => {
    const r = run({ metadata: {} }, { gone: true });
    expect(await r.result).to.equal("none");
    expect(r.calls).to.deep.equal(["patch"]);
  });

  it("applies a live resource that has its finalizer, without a patch", async () => {
    const r = run({ metadata: { finalizers: [NAME] } });
    expect(await r.result).to.equal("none");
    expect(r.calls).to.deep.equal(["apply"]);
  });

  it("cleans up a deleted one, then removes the finalizer; waits while cleanup is not done", async () => {
    const deleting = { metadata: { finalizers: [NAME, "other/x"], deletionTimestamp: "2026-12-01T00:00:00Z" } };
    const done = run(deleting);
    expect(await done.result).to.equal("none");
    expect(done.calls).to.deep.equal(["cleanup", "patch"]);
    const waiting = run(deleting, { cleanup: "wait" });
    expect(await waiting.result).to.equal("poll");
    expect(waiting.calls).to.deep.equal(["cleanup"]);
  });

  it("does nothing for a deleted resource whose finalizer is already gone", async () => {
    const r = run({ metadata: { finalizers: ["other/x"], deletionTimestamp: "2026-12-01T00:00:00Z" } });
    expect(await r.result).to.equal("none");
    expect(r.calls).to.deep.equal([]);
  });
});
