import { expect } from "chai";
import { PassThrough } from "node:stream";
import { EventRecorder } from "../../src/events.ts";
import type { EventInput } from "../../src/kube/api.ts";
import { createLogger } from "../../src/log.ts";
import { sampleUser } from "./decide.test.ts";

describe("event recorder", () => {
  const logger = createLogger({ level: "error", format: "json", stream: new PassThrough() });
  const event = (note: string, reason = "SecretNotFound"): EventInput => ({ regarding: sampleUser(), type: "Warning", reason, action: "Reconcile", note });

  it("suppresses an identical Event within the window, not a different one", async () => {
    const sent: EventInput[] = [];
    const recorder = new EventRecorder({ createEvent: async (e) => void sent.push(e) }, logger, 60_000);
    await recorder.record(event("a"));
    await recorder.record(event("a"));
    await recorder.record(event("b"));
    await recorder.record(event("a", "Other"));
    expect(sent.map((e) => `${e.reason}:${e.note}`)).to.deep.equal(["SecretNotFound:a", "SecretNotFound:b", "Other:a"]);
  });

  it("emits again after the window", async () => {
    const sent: EventInput[] = [];
    const recorder = new EventRecorder({ createEvent: async (e) => void sent.push(e) }, logger, 20);
    await recorder.record(event("a"));
    await new Promise((r) => setTimeout(r, 30));
    await recorder.record(event("a"));
    expect(sent).to.have.length(2);
  });

  it("never throws when the API server refuses the Event", async () => {
    const recorder = new EventRecorder({ createEvent: async () => Promise.reject(new Error("403")) }, logger);
    await recorder.record(event("a"));
  });
});
