import { expect } from "chai";
import { USER_NEEDS_RECONCILE as needsReconcile } from "../../src/operator.ts";
import { retryFor } from "../../src/reconcile/outcome.ts";
import { applyMergePatch, nextStatus, SYNC_TIME_REFRESH_MS, setCondition, statusPatch, worthWriting } from "../../src/reconcile/status.ts";

import { observed, sampleUser as observedUser } from "./samples.ts";

const t0 = new Date("2026-01-01T00:00:00Z");
const t1 = new Date("2026-01-01T00:05:00Z");

describe("status and conditions", () => {
  it("reports a ready user with every observed field", () => {
    const status = nextStatus(undefined, { kind: "ready", observed: observed() }, 3, t0);
    expect(status).to.deep.equal({
      observedGeneration: 3,
      userName: "app-user",
      arn: "arn:aws:memorydb:us-east-1:123456789012:user/app-user",
      status: "active",
      accessString: "on ~* &* +@all",
      aclNames: [],
      minimumEngineVersion: "6.2",
      authentication: { type: "password", passwordCount: 1 },
      lastSyncTime: t0.toISOString(),
      conditions: [
        {
          type: "Ready",
          status: "True",
          reason: "Available",
          message: 'MemoryDB user "app-user" is active and matches the spec',
          observedGeneration: 3,
          lastTransitionTime: t0.toISOString(),
        },
        {
          type: "Synced",
          status: "True",
          reason: "ReconcileSuccess",
          message: "the spec is applied to MemoryDB",
          observedGeneration: 3,
          lastTransitionTime: t0.toISOString(),
        },
      ],
    });
  });

  it("moves lastTransitionTime only when a condition's status flips", () => {
    const c0 = setCondition([], { type: "Ready", status: "False", reason: "Creating", message: "m" }, 1, t0);
    const c1 = setCondition(c0, { type: "Ready", status: "False", reason: "Modifying", message: "m2" }, 1, t1);
    expect(c1[0]?.lastTransitionTime).to.equal(t0.toISOString());
    expect(c1[0]?.reason).to.equal("Modifying");
    const c2 = setCondition(c1, { type: "Ready", status: "True", reason: "Available", message: "ok" }, 1, t1);
    expect(c2[0]?.lastTransitionTime).to.equal(t1.toISOString());
  });

  it("keeps Ready through a passing fault but reports it in Synced", () => {
    const ready = nextStatus(undefined, { kind: "ready", observed: observed() }, 1, t0);
    const after = nextStatus(ready, { kind: "failed", reason: "ThrottlingException", message: "slow down", retry: "backoff" }, 1, t1);
    expect(after.conditions?.find((c) => c.type === "Ready")?.status).to.equal("True");
    expect(after.conditions?.find((c) => c.type === "Synced")).to.deep.include({ status: "False", reason: "ThrottlingException" });
  });

  it("maps outcomes to retries", () => {
    expect(retryFor({ kind: "ready", observed: observed() })).to.equal("none");
    expect(retryFor({ kind: "progressing", observed: observed(), reason: "Creating", message: "", applied: true })).to.equal("poll");
    expect(retryFor({ kind: "failed", reason: "X", message: "", retry: "untilInputsChange" })).to.equal("untilInputsChange");
  });

  it("writes only what the reconcile determined, and Synced Unknown while only waiting", () => {
    const previous = { passwordSecrets: [{ name: "pw", key: "password", resourceVersion: "9" }], arn: "old" };
    const waiting = nextStatus(
      previous,
      { kind: "progressing", observed: observed({ status: "modifying" }), reason: "Modifying", message: "m", applied: false },
      2,
      t1,
    );
    expect(waiting).to.not.have.property("passwordSecrets");
    expect(waiting.conditions?.find((c) => c.type === "Synced")).to.deep.include({ status: "Unknown", reason: "Waiting" });
    const failed = nextStatus(previous, { kind: "failed", reason: "X", message: "m", retry: "backoff" }, 2, t1);
    expect(Object.keys(failed).sort()).to.deep.equal(["conditions", "observedGeneration"]);
  });

  it("skips a write that would only move lastSyncTime, unless that has grown stale", () => {
    const first = nextStatus(undefined, { kind: "ready", observed: observed() }, 1, t0);
    const again = nextStatus(first, { kind: "ready", observed: observed() }, 1, t1);
    expect(worthWriting(first, again, t1)).to.equal(false);
    const later = new Date(t0.getTime() + SYNC_TIME_REFRESH_MS + 1);
    expect(worthWriting(first, nextStatus(first, { kind: "ready", observed: observed() }, 1, later), later)).to.equal(true);
    expect(worthWriting(first, nextStatus(first, { kind: "ready", observed: observed({ aclNames: ["acl"] }) }, 1, t1), t1)).to.equal(true);
    expect(worthWriting(first, nextStatus(first, { kind: "ready", observed: observed() }, 2, t1), t1)).to.equal(true);
    // The API server may order keys differently: that is not a change.
    const reordered = JSON.parse(
      JSON.stringify(first, (_k, v) =>
        v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
      ),
    );
    expect(worthWriting(reordered, again, t1)).to.equal(false);
  });
});

describe("status merge patch", () => {
  it("removes a nested field MemoryDB no longer reports (password → iam drops passwordCount)", () => {
    const stored = nextStatus(undefined, { kind: "ready", observed: observed() }, 1, t0);
    const iam = nextStatus(stored, { kind: "ready", observed: observed({ authentication: { type: "iam" } }) }, 2, t1);
    const patch = statusPatch(stored, iam);
    expect(patch.authentication).to.deep.equal({ type: "iam", passwordCount: null });
    const after = applyMergePatch(stored, patch);
    expect(after.authentication).to.deep.equal({ type: "iam" });
    // Once stored, the same status is no change: no write loop.
    expect(
      worthWriting(
        after,
        statusPatch(after, nextStatus(after, { kind: "ready", observed: observed({ authentication: { type: "iam" } }) }, 2, t1)),
        t1,
      ),
    ).to.equal(false);
  });

  it("leaves top-level fields this reconcile did not determine as the server has them", () => {
    const stored = nextStatus(undefined, { kind: "ready", observed: observed() }, 1, t0, {
      passwordSecrets: [{ name: "pw", key: "k", resourceVersion: "5" }],
    });
    const failed = nextStatus(stored, { kind: "failed", reason: "X", message: "m", retry: "backoff" }, 1, t1);
    const patch = statusPatch(stored, failed);
    expect(Object.keys(patch).sort()).to.deep.equal(["conditions", "observedGeneration"]);
    expect(applyMergePatch(stored, patch).passwordSecrets).to.deep.equal([{ name: "pw", key: "k", resourceVersion: "5" }]);
  });

  it("applies RFC 7386: null deletes, objects merge, arrays and scalars replace", () => {
    expect(
      applyMergePatch<Record<string, unknown>>({ a: { b: 1, c: 2 }, d: [1, 2], e: 1 }, { a: { b: null, x: 3 }, d: [3], e: null }),
    ).to.deep.equal({ a: { c: 2, x: 3 }, d: [3] });
  });
});

describe("watch predicate", () => {
  const base = {
    ...observedUser(),
    metadata: { name: "a", namespace: "n", generation: 1, resourceVersion: "1", finalizers: ["memorydb.operators.dev/finalizer"] },
  };
  it("reconciles on spec, deletion, label and annotation changes, not on the operator's own writes", () => {
    expect(needsReconcile(undefined, base)).to.equal(true);
    expect(needsReconcile(base, { ...base, status: { arn: "x" }, metadata: { ...base.metadata, resourceVersion: "2" } })).to.equal(false);
    const bare = { ...base, metadata: { ...base.metadata, finalizers: [] } };
    expect(needsReconcile(bare, base)).to.equal(false);
    // Someone removed our finalizer: put it back.
    expect(needsReconcile(base, bare)).to.equal(true);
    expect(needsReconcile(base, { ...base, metadata: { ...base.metadata, generation: 2 } })).to.equal(true);
    expect(needsReconcile(base, { ...base, metadata: { ...base.metadata, deletionTimestamp: "t" } })).to.equal(true);
    expect(needsReconcile(base, { ...base, metadata: { ...base.metadata, labels: { a: "b" } } })).to.equal(true);
  });
});
