import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { expect } from "chai";
import { WatchRefused, watch } from "../../src/kube/watch.ts";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

describe("a watch request", () => {
  let server: Server;
  let handler: Handler;
  let kc: KubeConfig;

  before(async () => {
    server = createServer((req, res) => handler(req, res));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "c", server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
      users: [{ name: "u", token: "t0ken" }],
      contexts: [{ name: "x", cluster: "c", user: "u" }],
      currentContext: "x",
    });
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  /** Runs one watch to its end: the events it delivered and how it ended. */
  async function run(idleTimeoutMs = 2000, onEvent?: (type: string) => void) {
    const events: Array<[string, unknown]> = [];
    const ended = new Promise<unknown>((resolve) => {
      void watch(kc, {
        path: "/apis/g/v1/things",
        query: { resourceVersion: "7", labelSelector: undefined },
        idleTimeoutMs,
        onEvent: (type, object) => {
          onEvent?.(type);
          events.push([type, object]);
        },
        done: resolve,
      });
    });
    return { events, err: await ended };
  }

  it("asks with watch=true, the credentials and the user agent, and delivers each line's event, however the chunks split them", async () => {
    let asked: IncomingMessage | undefined;
    const line = (name: string) => `${JSON.stringify({ type: "MODIFIED", object: { metadata: { name } } })}\n`;
    // The last line without its newline: a stream cut short by a proxy.
    const all = line("a") + line("ä-über") + line("c").trimEnd();
    const bytes = Buffer.from(all);
    handler = (req, res) => {
      asked = req;
      res.writeHead(200, { "content-type": "application/json" });
      // Split inside a line and inside a multi-byte character.
      const cut1 = 10;
      const cut2 = bytes.indexOf(Buffer.from("ä")) + 1;
      res.write(bytes.subarray(0, cut1));
      setTimeout(() => res.write(bytes.subarray(cut1, cut2)), 20);
      setTimeout(() => res.end(bytes.subarray(cut2)), 40);
    };
    const { events, err } = await run();
    expect(err).to.equal(null);
    expect(events.map(([, o]) => (o as { metadata: { name: string } }).metadata.name)).to.deep.equal(["a", "ä-über", "c"]);
    expect(asked?.url).to.equal("/apis/g/v1/things?watch=true&resourceVersion=7");
    expect(asked?.headers.authorization).to.equal("Bearer t0ken");
    expect(asked?.headers["user-agent"]).to.match(/^memorydb-user-operator /);
  });

  it("ends with the server's status when it refuses (410: the resourceVersion is too old)", async () => {
    handler = (_req, res) => {
      res.writeHead(410, { "content-type": "application/json" });
      res.end('{"kind":"Status","code":410}');
    };
    const { events, err } = await run();
    expect(events).to.deep.equal([]);
    expect(err).to.be.instanceOf(WatchRefused);
    expect((err as WatchRefused).statusCode).to.equal(410);
  });

  it("ends with a TimeoutError when the stream stays quiet for the idle timeout, not before", async () => {
    const started = performance.now();
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      // Data at 150 ms pushes the end to about 450 ms.
      setTimeout(() => res.write(`${JSON.stringify({ type: "BOOKMARK", object: { metadata: { resourceVersion: "8" } } })}\n`), 150);
    };
    const { events, err } = await run(300);
    expect(events.map(([type]) => type)).to.deep.equal(["BOOKMARK"]);
    expect((err as Error).name).to.equal("TimeoutError");
    expect(performance.now() - started).to.be.greaterThan(430);
  });

  it("ends with the error a handler throws, and delivers nothing after it", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write(`${JSON.stringify({ type: "ADDED", object: {} })}\n${JSON.stringify({ type: "DELETED", object: {} })}\n`);
    };
    const { events, err } = await run(2000, (type) => {
      if (type === "ADDED") throw new Error("handler bug");
    });
    expect((err as Error).message).to.equal("handler bug");
    expect(events).to.deep.equal([]);
  });
});
