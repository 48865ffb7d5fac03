// The renew deadline holds even when the API server stops answering mid-request.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import { KubeConfig } from "@kubernetes/client-node";
import { expect } from "chai";
import { KubeApiServer } from "../../local-control-plane/kube/server.ts";
import { LeaderElector } from "../../src/kube/leader.ts";
import { createLogger } from "../../src/observability/log.ts";

describe("leader election deadline", () => {
  let server: Server;
  let hang = false;
  const held: Array<() => void> = [];

  before(async () => {
    server = createServer((req, res) => {
      if (hang) {
        held.push(() => res.destroy());
        return;
      }
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        res.setHeader("Content-Type", "application/json");
        if (req.method === "GET") {
          res.writeHead(404).end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404 }));
        } else {
          const lease = JSON.parse(body);
          lease.metadata.resourceVersion = "1";
          res.writeHead(201).end(JSON.stringify(lease));
          hang = true; // from now on, every request hangs: a partitioned network
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  });
  after(async () => {
    for (const release of held) release();
    await new Promise((r) => server.close(r));
  });

  it("gives up leadership at the renew deadline although the renew request never returns", async () => {
    const kc = new KubeConfig();
    const port = (server.address() as AddressInfo).port;
    kc.loadFromClusterAndUser({ name: "c", server: `http://127.0.0.1:${port}`, skipTLSVerify: true }, { name: "u", token: "t" });
    const logger = createLogger({ level: "error", format: "json", stream: new PassThrough() });
    const elector = new LeaderElector(
      kc,
      { namespace: "ns", name: "lease", identity: "me", leaseDurationMs: 1500, renewDeadlineMs: 600, retryPeriodMs: 100 },
      logger,
    );
    const started = Date.now();
    let stoppedAt = 0;
    let leading = false;
    const run = elector.run({
      onStartedLeading: () => {
        leading = true;
      },
      onStoppedLeading: () => {
        stoppedAt = Date.now();
      },
    });
    await run;
    expect(leading).to.equal(true);
    expect(stoppedAt - started).to.be.within(550, 1500);
    expect(elector.isLeader).to.equal(false);
  });
});

/** Steps the process's wall clock (Date) by `offsetMs`; performance.now() is not affected. */
function stepWallClock(offsetMs: number): () => void {
  const RealDate = Date;
  class SteppedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(RealDate.now() + offsetMs);
      else super(...(args as [string]));
    }
    static override now(): number {
      return RealDate.now() + offsetMs;
    }
  }
  globalThis.Date = SteppedDate as DateConstructor;
  return () => {
    globalThis.Date = RealDate;
  };
}

describe("leader election and the wall clock", function () {
  this.timeout(20_000);
  // client-go's timings, scaled by 0.1 on every side.
  const timings = { leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 200 };
  let server: KubeApiServer;
  let kc: KubeConfig;
  const logger = createLogger({ level: "error", format: "json", stream: new PassThrough() });
  const elector = (identity: string) => new LeaderElector(kc, { namespace: "default", name: "clock", identity, ...timings }, logger);
  let restore: (() => void) | undefined;

  beforeEach(async () => {
    server = await KubeApiServer.start();
    kc = new KubeConfig();
    kc.loadFromString(server.kubeconfig());
  });
  afterEach(async () => {
    restore?.();
    restore = undefined;
    await server.stop();
  });

  it("a standby does not take over early when the clock steps forward", async () => {
    const a = elector("a");
    let aLeads = false;
    void a.run({
      onStartedLeading: () => {
        aLeads = true;
      },
      onStoppedLeading: () => undefined,
    });
    while (!aLeads) await new Promise((r) => setTimeout(r, 20));
    await a.stop({ release: false }); // a crash: the Lease stays held until it expires
    const b = elector("b");
    let bLeadsAt: number | undefined;
    const started = performance.now();
    const seen = server.requests.length;
    void b.run({
      onStartedLeading: () => {
        bLeadsAt = performance.now();
      },
      onStoppedLeading: () => undefined,
    });
    // b has read the record (a is stopped: any Lease read now is b's).
    while (!server.requests.slice(seen).some((r) => r.method === "GET" && r.path.includes("/leases/")))
      await new Promise((r) => setTimeout(r, 5));
    restore = stepWallClock(3_600_000);
    while (bLeadsAt === undefined) await new Promise((r) => setTimeout(r, 20));
    await b.stop();
    expect(bLeadsAt - started).to.be.at.least(timings.leaseDurationMs - 100);
  });

  it("a leader that cannot renew steps down at the deadline although the clock steps back", async () => {
    const a = elector("a");
    let leading = false;
    let lostAt: number | undefined;
    void a.run({
      onStartedLeading: () => {
        leading = true;
      },
      onStoppedLeading: () => {
        lostAt = performance.now();
      },
    });
    while (!leading) await new Promise((r) => setTimeout(r, 20));
    restore = stepWallClock(-3_600_000);
    server.faults.failNext(1000, { status: 500, pathIncludes: "/leases/" });
    const failingSince = performance.now();
    while (lostAt === undefined && performance.now() - failingSince < 5000) await new Promise((r) => setTimeout(r, 20));
    expect(lostAt, "leadership never given up").to.not.equal(undefined);
    expect(lostAt! - failingSince).to.be.below(timings.renewDeadlineMs + timings.retryPeriodMs + 300);
    await a.stop();
  });
});
