// The renew deadline holds even when the API server stops answering mid-request.
import { expect } from "chai";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import { KubeConfig } from "@kubernetes/client-node";
import { LeaderElector } from "../../src/leader.ts";
import { createLogger } from "../../src/log.ts";

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
    const elector = new LeaderElector(kc, { namespace: "ns", name: "lease", identity: "me", leaseDurationMs: 1500, renewDeadlineMs: 600, retryPeriodMs: 100 }, logger);
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
