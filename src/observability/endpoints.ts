// The operator's HTTP endpoints: /healthz and /readyz for the kubelet, /metrics for Prometheus.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { BindAddress } from "../config-values.ts";

/** A check answers undefined when fine, or why not. */
export type Check = () => string | undefined;

export interface Endpoints {
  /** Routes served, e.g. { "/healthz": check }. */
  checks?: Record<string, Check>;
  metrics?: Registry;
}

export interface EndpointServer {
  server: Server;
  /** The port actually bound (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

export async function serve(address: BindAddress, endpoints: Endpoints): Promise<EndpointServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405).end();
      return;
    }
    const check = endpoints.checks?.[path];
    if (check) {
      const problem = check();
      res
        .writeHead(problem === undefined ? 200 : 500, { "Content-Type": "text/plain" })
        .end(problem === undefined ? "ok\n" : `${problem}\n`);
      return;
    }
    if (path === "/metrics" && endpoints.metrics) {
      const registry = endpoints.metrics;
      registry.metrics().then(
        (text) => res.writeHead(200, { "Content-Type": registry.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(err.message),
      );
      return;
    }
    res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(address.port, address.host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()).closeAllConnections()),
  };
}
