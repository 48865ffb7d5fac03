import { expect } from "chai";
import { loadConfig } from "../../src/config.ts";
import { ConfigError, parseDuration } from "../../src/config-values.ts";

describe("configuration", () => {
  it("has defaults for everything but the region", () => {
    const c = loadConfig([], { AWS_REGION: "eu-west-1" });
    expect(c).to.deep.include({
      region: "eu-west-1",
      memorydbEndpoint: undefined,
      namespaces: [],
      maxConcurrentReconciles: 4,
      kubeApiLimits: { qps: 50, burst: 100 },
      resyncPeriodMs: 600_000,
      pollIntervalMs: 15_000,
      logLevel: "info",
      logFormat: "json",
    });
  });

  it("reads flags over environment variables", () => {
    const c = loadConfig(
      [
        "--region",
        "us-west-2",
        "--namespaces",
        "a, b,a",
        "--max-concurrent-reconciles",
        "8",
        "--resync-period",
        "1h30m",
        "--log-format",
        "text",
      ],
      {
        AWS_REGION: "eu-west-1",
        WATCH_NAMESPACES: "x",
        MEMORYDB_ENDPOINT: "http://127.0.0.1:4566",
      },
    );
    expect(c.region).to.equal("us-west-2");
    expect(c.namespaces).to.deep.equal(["a", "b"]);
    expect(c.maxConcurrentReconciles).to.equal(8);
    expect(c.resyncPeriodMs).to.equal(5_400_000);
    expect(c.logFormat).to.equal("text");
    expect(c.memorydbEndpoint).to.equal("http://127.0.0.1:4566");
  });

  it("explains what is wrong", () => {
    const bad: Array<[string[], Record<string, string>, RegExp]> = [
      [[], {}, /no AWS region: set --region or AWS_REGION/],
      [["--region", "mars"], {}, /not an AWS region name/],
      [["--region", "us-east-1", "--memorydb-endpoint", "ftp://x"], {}, /must be an http or https URL/],
      [["--region", "us-east-1", "--max-concurrent-reconciles", "0"], {}, /must be a positive integer/],
      [["--region", "us-east-1", "--resync-period", "soon"], {}, /not a duration/],
      [["--region", "us-east-1", "--log-level", "loud"], {}, /must be one of error, warn, info, debug/],
      [["--region", "us-east-1", "--namespaces", "Bad_NS"], {}, /not a namespace name/],
      [["--region", "us-east-1", "--bogus", "1"], {}, /Unknown option '--bogus'/],
    ];
    for (const [argv, env, message] of bad) {
      expect(() => loadConfig(argv, env), argv.join(" ")).to.throw(ConfigError, message);
    }
  });

  it("bounds the Kubernetes request rate as client-go's QPS and burst do; 0 turns the bound off", () => {
    expect(loadConfig(["--kube-api-qps", "12.5"], { AWS_REGION: "us-east-1", KUBE_API_BURST: "20" }).kubeApiLimits).to.deep.equal({
      qps: 12.5,
      burst: 20,
    });
    expect(loadConfig([], { AWS_REGION: "us-east-1", KUBE_API_QPS: "0" }).kubeApiLimits).to.equal(undefined);
    expect(() => loadConfig([], { AWS_REGION: "us-east-1", KUBE_API_QPS: "-1" })).to.throw(ConfigError, /--kube-api-qps.*0 or more/);
    expect(() => loadConfig(["--kube-api-burst", "0"], { AWS_REGION: "us-east-1" })).to.throw(ConfigError, /--kube-api-burst.*positive/);
  });

  it("parses durations", () => {
    expect(parseDuration("250ms", "x")).to.equal(250);
    expect(parseDuration("30", "x")).to.equal(30_000);
    expect(parseDuration("2m", "x")).to.equal(120_000);
    expect(() => parseDuration("2 minutes", "x")).to.throw(ConfigError);
  });
});

describe("allowed regions", () => {
  it("takes a comma-separated list that must include the default region", () => {
    expect(loadConfig([], { AWS_REGION: "us-east-1", ALLOWED_REGIONS: "us-east-1, eu-west-1" }).allowedRegions).to.deep.equal([
      "us-east-1",
      "eu-west-1",
    ]);
    expect(loadConfig([], { AWS_REGION: "us-east-1" }).allowedRegions).to.deep.equal([]);
    expect(() => loadConfig(["--allowed-regions", "eu-west-1"], { AWS_REGION: "us-east-1" })).to.throw(
      /--region us-east-1 is not among --allowed-regions/,
    );
    expect(() => loadConfig(["--allowed-regions", "us-east-1,Mars"], { AWS_REGION: "us-east-1" })).to.throw(/"Mars" is not an AWS region/);
  });
});
