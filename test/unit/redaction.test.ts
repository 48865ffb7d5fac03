import { PassThrough } from "node:stream";
import { inspect } from "node:util";
import { expect } from "chai";
import { classify } from "../../src/aws/faults.ts";
import { createLogger } from "../../src/observability/log.ts";
import { generatePassword } from "../../src/reconcile/passwords.ts";
import { Redacted, redactDeep } from "../../src/redacted.ts";

const secret = "hunter2-hunter2-hunter2";

async function capture(
  format: "json" | "text",
  log: (l: ReturnType<typeof createLogger>) => void,
  level: "debug" | "info" = "debug",
): Promise<string> {
  const stream = new PassThrough();
  let out = "";
  stream.on("data", (d) => (out += d));
  const logger = createLogger({ level, format, stream });
  log(logger);
  // Ending the logger flushes every line through the transport before "finish".
  const finished = new Promise((r) => logger.on("finish", r));
  logger.end();
  await finished;
  return out;
}

describe("secret redaction", () => {
  it("a Redacted value never prints", () => {
    const r = new Redacted(secret);
    expect(String(r)).to.equal("[REDACTED]");
    expect(`${r}`).to.equal("[REDACTED]");
    expect(JSON.stringify({ r })).to.equal('{"r":"[REDACTED]"}');
    expect(inspect({ r })).to.not.include(secret);
    expect(r.reveal()).to.equal(secret);
    expect(r.length).to.equal(secret.length);
  });

  it("redacts sensitive field names deeply", () => {
    expect(redactDeep({ a: { Passwords: [secret], password: secret, passwordCount: 2, token: "t" } })).to.deep.equal({
      a: { Passwords: "[REDACTED]", password: "[REDACTED]", passwordCount: 2, token: "[REDACTED]" },
    });
  });

  it("redacts a generated Secret's values wherever they would be logged: every key that holds a password", async () => {
    const generated = generatePassword();
    const b64 = Buffer.from(generated.reveal()).toString("base64");
    const write = { data: { username: "app", password: b64, "pending-password": b64, "previous-password": b64 } };
    expect(JSON.stringify(redactDeep(write))).to.not.include(b64);
    expect(JSON.stringify(redactDeep(write))).to.include('"username":"app"');
    const out = await capture("json", (logger) => logger.info("writing the Secret", { patch: write, generated }));
    expect(out).to.not.include(b64).and.not.include(generated.reveal());
  });

  it("writes the levels it is set to, and never formats a message below them", async () => {
    let read = 0;
    const out = await capture(
      "json",
      (logger) => {
        const child = logger.child({ key: "ns/name" });
        child.debug("dropped", {
          get detail() {
            return ++read;
          },
        });
        child.info("written");
      },
      "info",
    );
    expect(read).to.equal(0);
    expect(
      out
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).message),
    ).to.deep.equal(["written"]);
  });

  for (const format of ["json", "text"] as const) {
    it(`keeps secrets out of ${format} log lines`, async () => {
      const out = await capture(format, (logger) => {
        const child = logger.child({ key: "ns/name" });
        child.info("creating", { input: { AuthenticationMode: { Passwords: [secret] } }, pw: new Redacted(secret) });
        child.warn(`value ${new Redacted(secret)}`);
        child.error("failed", { error: new Error("boom") });
      });
      expect(out).to.not.include(secret);
      expect(out).to.include("ns/name");
      expect(out.trim().split("\n")).to.have.length(3);
      if (format === "json") for (const line of out.trim().split("\n")) expect(JSON.parse(line)).to.have.property("key", "ns/name");
    });
  }
});

describe("AWS fault classification", () => {
  const fault = (name: string, status?: number) =>
    classify("CreateUser", Object.assign(new Error("m"), { name, $metadata: { httpStatusCode: status } }))!;
  it("follows the MemoryDB API facts", () => {
    expect(fault("ThrottlingException", 400).kind).to.equal("transient");
    expect(fault("InvalidUserStateFault", 400).kind).to.equal("transient");
    expect(fault("InternalFailure", 500).kind).to.equal("transient");
    expect(fault("SomethingNew", 503).kind).to.equal("transient");
    expect(fault("InvalidParameterValueException", 400).kind).to.equal("terminal");
    expect(fault("InvalidParameterCombinationException", 400).kind).to.equal("terminal");
    expect(fault("ValidationException", 400).kind).to.equal("terminal");
    expect(fault("TagQuotaPerResourceExceeded", 400).kind).to.equal("terminal");
    expect(fault("UserQuotaExceededFault", 400).kind).to.equal("slow");
    // DuplicateUserNameFault means the user exists, like UserAlreadyExistsFault: look again, not terminal.
    expect(fault("DuplicateUserNameFault", 400).kind).to.equal("slow");
    expect(classify("DescribeUsers", Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }))!.kind).to.equal("transient");
  });
  it("gives problems an administrator must fix their own reasons, retried slowly", () => {
    const cases: Array<[string, string]> = [
      ["AccessDeniedException", "AccessDenied"],
      ["ExpiredTokenException", "InvalidCredentials"],
      ["UnrecognizedClientException", "InvalidCredentials"],
      ["InvalidClientTokenId", "InvalidCredentials"],
      ["ServiceLinkedRoleNotFoundFault", "ServiceLinkedRoleNotFound"],
    ];
    for (const [code, reason] of cases) {
      const f = fault(code, 400);
      expect(f.kind, code).to.equal("slow");
      expect(f.reason, code).to.equal(reason);
      expect(f.fix, code).to.match(/administrator/);
    }
    const noCredentials = classify(
      "DescribeUsers",
      Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" }),
    )!;
    expect(noCredentials.reason).to.equal("NoCredentials");
    const noSuchHost = classify(
      "DescribeUsers",
      Object.assign(new Error("getaddrinfo ENOTFOUND memory-db.xx-nowhere-1.amazonaws.com"), { code: "ENOTFOUND" }),
    )!;
    expect([noSuchHost.kind, noSuchHost.reason]).to.deep.equal(["slow", "RegionUnreachable"]);
  });
  it("does not take a bug for an AWS fault", () => {
    expect(classify("CreateUser", new TypeError("Cannot read properties of undefined (reading 'Name')"))).to.equal(undefined);
  });
  it("keeps the service's message", () => {
    const f = fault("InvalidParameterValueException", 400);
    expect(f.code).to.equal("InvalidParameterValueException");
    expect(f.detail).to.equal("m");
  });
});
