// The bound on the operator's Kubernetes request rate (client-go's QPS and burst), on a fake clock.
import { KubeConfig } from "@kubernetes/client-node";
import { expect } from "chai";
import { KubeApiServer } from "../../local-control-plane/kube/server.ts";
import { KubeClient } from "../../src/kube/client.ts";
import { TokenBucket } from "../../src/kube/rate-limit.ts";
import { FakeClock } from "./fake-clock.ts";

/** Lets the promises settle that resolving timers released. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("Kubernetes request-rate bound (token bucket)", () => {
  it("lets a burst through at once, then one request per 1/qps, in the order they asked", async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ qps: 10, burst: 3, clock });
    const order: number[] = [];
    const takes = Array.from({ length: 6 }, (_, i) => bucket.take().then(() => order.push(i)));
    await settle();
    expect(order).to.deep.equal([0, 1, 2]);
    clock.advance(99);
    await settle();
    expect(order).to.deep.equal([0, 1, 2]);
    clock.advance(1);
    await settle();
    expect(order).to.deep.equal([0, 1, 2, 3]);
    clock.advance(200);
    await Promise.all(takes);
    expect(order).to.deep.equal([0, 1, 2, 3, 4, 5]);
  });

  it("refills up to the burst while idle, never beyond", async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ qps: 2, burst: 2, clock });
    await bucket.take();
    await bucket.take();
    clock.advance(60_000);
    let done = 0;
    for (let i = 0; i < 3; i++) void bucket.take().then(() => done++);
    await settle();
    expect(done).to.equal(2);
  });

  it("gives a cancelled wait's token back and rejects it with the signal's reason", async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ qps: 1, burst: 1, clock });
    await bucket.take();
    const stop = new AbortController();
    const cancelled = bucket.take(stop.signal).then(
      () => "sent",
      (err: Error) => err.name,
    );
    stop.abort();
    expect(await cancelled).to.equal("AbortError");
    // The reservation went back: after one interval the next caller goes.
    let sent = false;
    void bucket.take().then(() => (sent = true));
    clock.advance(1000);
    await settle();
    expect(sent).to.equal(true);
    await bucket.take(AbortSignal.abort()).then(
      () => expect.fail("an aborted signal must not take a token"),
      (err: Error) => expect(err.name).to.equal("AbortError"),
    );
  });

  it("holds a client's requests back until the bucket has a token for them", async () => {
    const server = await KubeApiServer.start();
    try {
      const kc = new KubeConfig();
      kc.loadFromString(server.kubeconfig());
      const clock = new FakeClock();
      const client = new KubeClient(kc, new TokenBucket({ qps: 1, burst: 2, clock }));
      const reads = () => server.requests.filter((r) => r.path === "/api/v1/namespaces/default").length;
      const answers = Array.from({ length: 4 }, () =>
        client.request("read namespace", { method: "GET", path: "/api/v1/namespaces/default" }),
      );
      const first = await Promise.race([Promise.all(answers.slice(0, 2)), new Promise((r) => setTimeout(r, 5000))]);
      expect(first).to.have.length(2);
      expect(reads()).to.equal(2);
      clock.advance(2000);
      await Promise.all(answers);
      expect(reads()).to.equal(4);
    } finally {
      await server.stop();
    }
  });

  it("refuses a bound that bounds nothing", () => {
    expect(() => new TokenBucket({ qps: 0, burst: 1 })).to.throw(/qps > 0/);
    expect(() => new TokenBucket({ qps: 1, burst: 0 })).to.throw(/burst >= 1/);
  });
});
