// The gauge of resources by condition and reason: each resource counts once per condition, a
// change moves it between series, a deletion removes it, and an empty series disappears.
import { expect } from "chai";
import { Metrics } from "../../src/observability/metrics.ts";

async function series(metrics: Metrics): Promise<Record<string, number>> {
  const metric = await metrics.registry.getSingleMetric("memorydb_operator_resources")!.get();
  return Object.fromEntries(
    metric.values.map((v) => [`${v.labels.resource_namespace}/${v.labels.condition}/${v.labels.status}/${v.labels.reason}`, v.value]),
  );
}

const ready = [
  { type: "Ready", status: "True", reason: "Available" },
  { type: "Synced", status: "True", reason: "ReconcileSuccess" },
];
const missingSecret = [
  { type: "Ready", status: "False", reason: "SecretNotFound" },
  { type: "Synced", status: "False", reason: "SecretNotFound" },
];

describe("memorydb_operator_resources", () => {
  it("counts each resource once per condition, by namespace, status and reason", async () => {
    const m = new Metrics();
    m.resourceConditions("a/1", { namespace: "a", conditions: ready });
    m.resourceConditions("a/2", { namespace: "a", conditions: ready });
    m.resourceConditions("b/1", { namespace: "b", conditions: missingSecret });
    m.resourceConditions("b/2", { namespace: "b", conditions: [] });
    expect(await series(m)).to.deep.equal({
      "a/Ready/True/Available": 2,
      "a/Synced/True/ReconcileSuccess": 2,
      "b/Ready/False/SecretNotFound": 1,
      "b/Synced/False/SecretNotFound": 1,
      "b/Ready/Unknown/": 1,
      "b/Synced/Unknown/": 1,
    });
  });

  it("moves a resource between series when its status changes, and removes series that fall to zero", async () => {
    const m = new Metrics();
    m.resourceConditions("b/1", { namespace: "b", conditions: missingSecret });
    m.resourceConditions("b/1", { namespace: "b", conditions: missingSecret });
    m.resourceConditions("b/1", { namespace: "b", conditions: ready });
    expect(await series(m)).to.deep.equal({ "b/Ready/True/Available": 1, "b/Synced/True/ReconcileSuccess": 1 });
    m.resourceConditions("b/1", undefined);
    m.resourceConditions("b/1", undefined);
    expect(await series(m)).to.deep.equal({});
  });

  it("keeps one series per combination however many resources there are", async () => {
    const m = new Metrics();
    for (let i = 0; i < 10_000; i++)
      m.resourceConditions(`ns${i % 10}/u${i}`, { namespace: `ns${i % 10}`, conditions: i % 4 ? ready : missingSecret });
    for (let i = 0; i < 10_000; i += 4) m.resourceConditions(`ns${i % 10}/u${i}`, { namespace: `ns${i % 10}`, conditions: ready });
    const s = await series(m);
    expect(Object.keys(s)).to.have.length(20);
    expect(Object.values(s).reduce((a, b) => a + b, 0)).to.equal(20_000);
  });
});
