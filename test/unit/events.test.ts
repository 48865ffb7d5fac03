import { PassThrough } from "node:stream";
import { expect } from "chai";
import type { EventInput } from "../../src/kube/api.ts";
import { type DropReason, EventRecorder } from "../../src/kube/events.ts";
import { KubeError } from "../../src/kube/request.ts";
import { createLogger } from "../../src/observability/log.ts";
import { sampleUser } from "./samples.ts";

/** A Kubernetes API error as the operator's client raises it. */
const apiError = (code: number, headers: Record<string, string> = {}) =>
  new KubeError("create Event", { status: code, body: JSON.stringify({ message: `status ${code}` }), headers });

describe("event recorder", () => {
  const logger = createLogger({ level: "error", format: "json", stream: new PassThrough() });
  const event = (note: string, reason = "SecretNotFound"): EventInput => ({
    regarding: sampleUser(),
    type: "Warning",
    reason,
    action: "Reconcile",
    note,
  });

  it("suppresses an identical Event within the window, not a different one", async () => {
    const sent: EventInput[] = [];
    const recorder = new EventRecorder({ createEvent: async (e) => void sent.push(e) }, logger, { windowMs: 60_000 });
    recorder.record(event("a"));
    recorder.record(event("a"));
    recorder.record(event("b"));
    recorder.record(event("a", "Other"));
    await recorder.flush(1000);
    expect(sent.map((e) => `${e.reason}:${e.note}`)).to.deep.equal(["SecretNotFound:a", "SecretNotFound:b", "Other:a"]);
  });

  it("emits again after the window", async () => {
    const sent: EventInput[] = [];
    let now = 0;
    const recorder = new EventRecorder({ createEvent: async (e) => void sent.push(e) }, logger, { windowMs: 20, now: () => now });
    recorder.record(event("a"));
    now += 19;
    recorder.record(event("a"));
    now += 1;
    recorder.record(event("a"));
    await recorder.flush(1000);
    expect(sent).to.have.length(2);
  });

  it("retries a throttled or failed send, honouring Retry-After, and delivers it", async () => {
    const attempts: number[] = [];
    const failures = [apiError(429, { "retry-after": "0" }), apiError(500)];
    const recorder = new EventRecorder(
      {
        createEvent: async () => {
          attempts.push(Date.now());
          const failure = failures.shift();
          if (failure) throw failure;
        },
      },
      logger,
      { retryDelayMs: 50 },
    );
    recorder.record(event("a"));
    await recorder.flush(5000);
    expect(attempts).to.have.length(3);
    // Retry-After 0 retried at once; the 500 after the backoff.
    expect(attempts[1]! - attempts[0]!).to.be.below(40);
    expect(attempts[2]! - attempts[1]!).to.be.at.least(45);
  });

  it("never throws, and counts what it finally drops: refused, or failing beyond its attempts", async () => {
    const dropped: DropReason[] = [];
    const refused = new EventRecorder({ createEvent: async () => Promise.reject(apiError(403)) }, logger, {
      onDropped: (r) => dropped.push(r),
    });
    refused.record(event("a"));
    await refused.flush(1000);
    const failing = new EventRecorder({ createEvent: async () => Promise.reject(apiError(503)) }, logger, {
      attempts: 3,
      retryDelayMs: 1,
      onDropped: (r) => dropped.push(r),
    });
    failing.record(event("a"));
    await failing.flush(1000);
    expect(dropped).to.deep.equal(["rejected", "retries_exhausted"]);
  });

  it("does not make the caller wait on the API server", async () => {
    const recorder = new EventRecorder({ createEvent: () => new Promise(() => undefined) }, logger);
    const started = Date.now();
    recorder.record(event("a"));
    expect(Date.now() - started).to.be.below(20);
  });
});
