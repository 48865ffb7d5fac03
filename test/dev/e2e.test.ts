// `npm run e2e` (test/e2e/run.ts) run as a child process against `npm run dev`'s machinery:
// the local API server, the MemoryDB emulator and the operator. The runner must pass every
// step, clean up after itself (also when interrupted), print no password it generated, and
// fail when the operator does not do its job. Never skipped: without kubectl on PATH it fails.
import { execFile, execFileSync, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CustomObjectsApi, KubeConfig, Watch } from "@kubernetes/client-node";
import { expect } from "chai";
import { DevEnv, ROOT } from "../../scripts/dev-env.ts";
import { STEPS } from "../e2e/steps.ts";

const RUNNER = join(ROOT, "test", "e2e", "run.ts");
const RESULT = /^(PASS|FAIL) (\S+)(?: \((\d+\.\d)s\)|: (.*))$/;
/** The operator reads only Secrets with this label (--secret-label-selector): the runner's --secret-labels must work. */
const SECRET_LABEL = "memorydb.operators.dev/e2e-test=allowed";

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
}

function requireKubectl(): void {
  try {
    execFileSync("kubectl", ["version", "--client"], { stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    throw new Error(
      `\n\n*** kubectl is not on PATH (or does not run): npm run e2e drives the REAL kubectl. Install it; this test is never skipped. (${(err as Error).message}) ***\n`,
    );
  }
}

/** The PASS/FAIL lines, as [verdict, step, detail]. */
function results(out: string): Array<{ verdict: string; step: string; detail: string }> {
  return out
    .split("\n")
    .map((l) => RESULT.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ verdict: m[1]!, step: m[2]!, detail: m[3] ?? m[4] ?? "" }));
}

function prefixOf(out: string): string {
  const m = /^e2e: run (e2e-[a-z0-9]{6}) against /m.exec(out);
  if (!m) throw new Error(`no "e2e: run <prefix>" line in:\n${out}`);
  return m[1]!;
}

describe("npm run e2e against npm run dev", function () {
  this.timeout(240_000);
  let env: DevEnv;
  let dir: string;
  let kubeconfig: string;
  /** Every value any Secret held during the tests: the passwords the runner generated. */
  const secretValues = new Set<string>();
  let stopWatch: (() => void) | undefined;
  let kc: KubeConfig;
  const customApi = () => kc.makeApiClient(CustomObjectsApi);

  function runE2E(
    args: string[],
    opts: { env?: Record<string, string>; onLine?: (line: string, child: ReturnType<typeof spawn>) => void } = {},
  ): Promise<Result> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [RUNNER, "--kubeconfig", kubeconfig, "--secret-labels", SECRET_LABEL, ...args], {
        cwd: ROOT,
        // Own HOME: kubectl's discovery cache goes to the temp dir, not ~/.kube.
        env: { ...process.env, HOME: dir, ...opts.env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      let partial = "";
      const onData = (d: Buffer) => {
        out += d.toString("utf8");
        const lines = (partial + d.toString("utf8")).split("\n");
        partial = lines.pop() ?? "";
        for (const l of lines) opts.onLine?.(l, child);
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      child.on("error", reject);
      child.on("close", (code, signal) => resolve({ code, signal, out }));
    });
  }

  /** kubectl against the dev API server, asynchronously: the server runs in this process. */
  function kubectl(args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        "kubectl",
        ["--kubeconfig", kubeconfig, ...args],
        { encoding: "utf8", env: { ...process.env, HOME: dir } },
        (err, stdout, stderr) => (err ? reject(new Error(`kubectl ${args.join(" ")}: ${stderr}`)) : resolve(stdout)),
      );
    });
  }

  /** Nothing of the run is left: no MemoryDBUser, no namespace, no MemoryDB user. */
  async function expectNothingLeft(prefix: string): Promise<void> {
    expect((await kubectl(["get", "mdbu", "-A", "-o", "name"])).trim(), "MemoryDBUsers left").to.equal("");
    expect(await kubectl(["get", "ns", "-o", "name"]), "namespaces left").not.to.include(prefix);
    expect(await kubectl(["get", "secrets", "-A", "-o", "name"]), "Secrets left").not.to.include(prefix);
    expect(
      env
        .emulator!.users()
        .map((u) => u.name)
        .filter((n) => n.startsWith(prefix)),
      "MemoryDB users left",
    ).to.deep.equal([]);
  }

  function expectNoPasswords(out: string): void {
    for (const value of secretValues) {
      expect(out.includes(value), "a generated password appears in the output").to.equal(false);
      expect(out.includes(Buffer.from(value).toString("base64")), "a generated password (base64) appears in the output").to.equal(false);
    }
  }

  before(async () => {
    requireKubectl();
    dir = await mkdtemp(join(tmpdir(), "mdbu-e2e-test-"));
    kubeconfig = join(dir, "kubeconfig");
    env = await DevEnv.start({
      kubeconfigPath: kubeconfig,
      seedAdoptable: false,
      operatorEnv: { POLL_INTERVAL: "100ms", SECRET_LABEL_SELECTOR: SECRET_LABEL },
    });
    // Short, but not zero: the runner must wait through `modifying` and `deleting`.
    env.emulator!.modifyingMs = 150;
    env.emulator!.deletingMs = 150;
    kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const req = await new Watch(kc).watch(
      "/api/v1/secrets",
      {},
      (_type: string, obj: { data?: Record<string, string> }) => {
        // A generated password's Secret also holds the user name, which is no secret.
        for (const [k, v] of Object.entries(obj.data ?? {}))
          if (k !== "username") secretValues.add(Buffer.from(v, "base64").toString("utf8"));
      },
      () => {},
    );
    stopWatch = () => req.abort();
  });

  after(async () => {
    stopWatch?.();
    await env?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("passes every step with the emulator's direct checks, cleans up, and prints no password", async () => {
    const r = await runE2E(["--emulator-url", env.emulator!.endpoint, "--timeout", "60s"]);
    const tail = `\n--- runner output ---\n${r.out}\n--- operator log tail ---\n${env.operatorLines.slice(-30).join("\n")}`;
    expect(r.code, tail).to.equal(0);
    const prefix = prefixOf(r.out);
    expect(r.out).to.include(`e2e: MemoryDB checked through the MemoryDB emulator at ${env.emulator!.endpoint}`);
    const got = results(r.out);
    expect(
      got.map((x) => x.step),
      tail,
    ).to.deep.equal([...STEPS.map((s) => s.name), "cleanup"]);
    expect(
      got.filter((x) => x.verdict !== "PASS"),
      tail,
    ).to.deep.equal([]);
    expect(r.out.trimEnd().split("\n").at(-1)).to.equal(`e2e: ${STEPS.length + 1} passed, 0 failed`);
    // One or more values per step went through Secrets; all must have been seen to mean anything.
    expect(secretValues.size).to.be.at.least(15);
    expectNoPasswords(r.out);
    expect(
      env.operatorLines.filter((l) => [...secretValues].some((v) => l.includes(v))),
      "passwords in the operator's log",
    ).to.deep.equal([]);
    await expectNothingLeft(prefix);
  });

  it("checks MemoryDB through the AWS SDK with --aws-region and --memorydb-endpoint, in parallel", async () => {
    const r = await runE2E(
      [
        "--aws-region",
        env.emulator!.region,
        "--memorydb-endpoint",
        env.emulator!.endpoint,
        "--steps",
        "password-2,tags,retain,conflict,missing-secret",
        "--parallel",
        "3",
        "--timeout",
        "60s",
      ],
      { env: { AWS_ACCESS_KEY_ID: "AKIDE2ETEST", AWS_SECRET_ACCESS_KEY: "e2e-test-secret", AWS_EC2_METADATA_DISABLED: "true" } },
    );
    expect(r.code, r.out).to.equal(0);
    expect(r.out).to.include(
      `e2e: MemoryDB checked through MemoryDB in ${env.emulator!.region} at ${env.emulator!.endpoint} (DescribeUsers, ListTags)`,
    );
    // Parallel steps finish in any order.
    expect(
      results(r.out)
        .map((x) => `${x.verdict} ${x.step}`)
        .sort(),
    ).to.deep.equal(["PASS cleanup", "PASS conflict", "PASS missing-secret", "PASS password-2", "PASS retain", "PASS tags"]);
    expect(r.out.trimEnd().split("\n").at(-1)).to.equal("e2e: 6 passed, 0 failed");
    expectNoPasswords(r.out);
    await expectNothingLeft(prefixOf(r.out));
  });

  /**
   * Runs the runner and sends it SIGINT once `ready(prefix)` holds, polled while it runs; answers
   * the result and whether the signal was sent.
   */
  async function interruptWhen(args: string[], ready: (prefix: string) => Promise<boolean>): Promise<Result & { sent: boolean }> {
    let sent = false;
    let polling = false;
    const result = await runE2E(args, {
      onLine: (line, child) => {
        const m = /^e2e: run (e2e-[a-z0-9]{6}) /.exec(line);
        if (!m || polling) return;
        polling = true;
        void (async () => {
          while (!sent && child.exitCode === null) {
            if (await ready(m[1]!).catch(() => false)) {
              sent = true;
              child.kill("SIGINT");
            } else await new Promise((r) => setTimeout(r, 20));
          }
        })();
      },
    });
    return { ...result, sent };
  }

  const mdbu = (prefix: string, name: string) =>
    customApi()
      .getNamespacedCustomObject({ group: "memorydb.operators.dev", version: "v1alpha1", namespace: prefix, plural: "memorydbusers", name })
      .then(
        () => true,
        () => false,
      );

  it("on SIGINT stops, switches a Retain resource to Delete, cleans up everything and exits 130", async () => {
    // Interrupted while the step waits for its Retain resource to be Ready: the cleanup must not keep the user.
    const r = await interruptWhen(["--emulator-url", env.emulator!.endpoint, "--steps", "retain,delete"], (prefix) =>
      mdbu(prefix, `${prefix}-retain`),
    );
    expect(r.sent, r.out).to.equal(true);
    expect(r.code, r.out).to.equal(130);
    expect(r.out).to.include("e2e: SIGINT: stopping the steps and cleaning up");
    expect(r.out).to.match(/^FAIL retain: interrupted/m);
    expect(r.out).to.match(/^e2e: not run \(interrupted\): delete$/m);
    expect(r.out).to.match(/^PASS cleanup \(\d+\.\ds\)$/m);
    expect(r.out.trimEnd().split("\n").at(-1)).to.equal("e2e: 1 passed, 1 failed");
    expectNoPasswords(r.out);
    await expectNothingLeft(prefixOf(r.out));
  });

  it("on SIGINT after the Retain deletion, adopts the retained user back and deletes it", async () => {
    let seen = false;
    const r = await interruptWhen(["--emulator-url", env.emulator!.endpoint, "--steps", "retain"], async (prefix) => {
      const exists = await mdbu(prefix, `${prefix}-retain`);
      if (exists) seen = true;
      return seen && !exists;
    });
    expect(r.sent, r.out).to.equal(true);
    expect(r.code, r.out).to.equal(130);
    expect(r.out).to.match(/^FAIL retain: interrupted/m);
    expect(r.out).to.match(/^PASS cleanup \(\d+\.\ds\)$/m);
    expectNoPasswords(r.out);
    await expectNothingLeft(prefixOf(r.out));
  });

  it("prints --help, and refuses unknown flags and steps with exit code 2", async () => {
    const help = await runE2E(["--help"]);
    expect(help.code).to.equal(0);
    for (const s of STEPS) expect(help.out).to.match(new RegExp(`^  ${s.name} +\\S`, "m"));
    const bad = await runE2E(["--steps", "password-1,nope"]);
    expect(bad.code).to.equal(2);
    expect(bad.out).to.include("--steps: unknown step(s) nope");
    const both = await runE2E(["--emulator-url", "http://127.0.0.1:1", "--aws-region", "us-east-1"]);
    expect(both.code).to.equal(2);
  });

  it("fails, saying what it waited for, when the operator does nothing; cleans up all the same", async () => {
    await env.stopOperator();
    const r = await runE2E(["--emulator-url", env.emulator!.endpoint, "--steps", "password-1,invalid-spec", "--timeout", "3s"]);
    expect(r.code, r.out).to.equal(1);
    const got = results(r.out);
    expect(got.map((x) => `${x.verdict} ${x.step}`)).to.deep.equal(["FAIL password-1", "PASS invalid-spec", "PASS cleanup"]);
    expect(got[0]!.detail).to.include("kubectl wait --for=condition=Ready mdbu/");
    expect(got[0]!.detail).to.include("last seen: generation 1, observedGeneration none; no conditions");
    expect(r.out.trimEnd().split("\n").at(-1)).to.equal("e2e: 2 passed, 1 failed");
    expectNoPasswords(r.out);
    await expectNothingLeft(prefixOf(r.out));
  });
});
