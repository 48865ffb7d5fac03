// The AWS access layer's own rules, with a stand-in for the SDK client (and once with the SDK's
// own client against the MemoryDB emulator, for how it is configured).

import type { MemoryDBClient } from "@aws-sdk/client-memorydb";
import { expect } from "chai";
import { MemoryDBEmulator } from "../../local-control-plane/memorydb/emulator.ts";
import { MemoryDBClients } from "../../src/aws/clients.ts";
import { AwsFault } from "../../src/aws/faults.ts";
import { MemoryDB } from "../../src/aws/memorydb.ts";

/** A MemoryDB whose SDK client answers with `send`. */
function withClient(send: (command: { constructor: { name: string }; input: unknown }) => Promise<unknown>): {
  api: MemoryDB;
  calls: () => number;
} {
  let calls = 0;
  const client = {
    send: (command: never) => {
      calls++;
      return send(command);
    },
    destroy: () => undefined,
  } as unknown as MemoryDBClient;
  return {
    api: new MemoryDB({ region: "us-east-1", minRetryDelayMs: 1 }, { client, signal: undefined, pageSize: { value: 100 } }),
    calls: () => calls,
  };
}

const awsError = (name: string, status = 400) =>
  Object.assign(new Error(`${name} message`), { name, $metadata: { httpStatusCode: status } });

describe("MemoryDB access", () => {
  it("sends each attempt once: the SDK retries nothing itself, p-retry sees every throttle", async () => {
    const emu = await MemoryDBEmulator.start();
    try {
      const outcomes: string[] = [];
      const api = new MemoryDB({
        region: emu.region,
        endpoint: emu.endpoint,
        credentials: async () => ({ accessKeyId: "test", secretAccessKey: "test" }),
        minRetryDelayMs: 1,
        onCall: (_operation, outcome) => outcomes.push(outcome),
      });
      emu.faults.failNext("DescribeUsers", "ThrottlingException", 1);
      expect(await api.describeUser("nobody")).to.equal(undefined);
      expect(outcomes).to.deep.equal(["ThrottlingException", "UserNotFoundFault"]);
      expect(emu.calls.DescribeUsers).to.equal(2);
      api.destroy();
    } finally {
      await emu.stop();
    }
  });

  it("lets a bug (not an AWS failure) surface as itself, unretried", async () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'Users')");
    const { api, calls } = withClient(async () => {
      throw bug;
    });
    let caught: unknown;
    await api.listUsers().catch((err: unknown) => (caught = err));
    expect(caught).to.equal(bug);
    expect(calls()).to.equal(1);
  });

  it("retries transient faults within the call, and no others", async () => {
    let n = 0;
    const { api, calls } = withClient(async () => {
      if (n++ < 2) throw awsError("ThrottlingException");
      return { Users: [] };
    });
    expect(await api.listUsers()).to.deep.equal([]);
    expect(calls()).to.equal(3);
    const denied = withClient(async () => {
      throw awsError("AccessDeniedException");
    });
    const err = await denied.api.listUsers().catch((e: unknown) => e);
    expect(err).to.be.instanceOf(AwsFault);
    expect((err as AwsFault).reason).to.equal("AccessDenied");
    expect(denied.calls()).to.equal(1);
  });

  it("treats a tag call's UserNotFoundFault as a busy user (transient), not a gone one", async () => {
    const { api, calls } = withClient(async () => {
      throw awsError("UserNotFoundFault", 404);
    });
    const err = (await api.listTags("arn:aws:memorydb:us-east-1:1:user/u").catch((e: unknown) => e)) as AwsFault;
    expect([err.code, err.kind]).to.deep.equal(["UserNotFoundFault", "transient"]);
    expect(calls()).to.equal(4);
    // DescribeUsers saying not found means gone.
    const gone = withClient(async () => {
      throw awsError("UserNotFoundFault", 404);
    });
    expect(await gone.api.describeUser("u")).to.equal(undefined);
  });

  it("keeps at most a bounded number of regional clients, the least recently used going first", () => {
    const destroyed: string[] = [];
    const clients = new MemoryDBClients(
      (region) => ({ withSignal: () => ({}), destroy: () => destroyed.push(region) }) as unknown as MemoryDB,
      2,
    );
    clients.for("us-east-1");
    clients.for("eu-west-1");
    clients.for("us-east-1");
    clients.for("ap-south-1");
    expect(clients.size).to.equal(2);
    expect(destroyed).to.deep.equal(["eu-west-1"]);
  });
});
