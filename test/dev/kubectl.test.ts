// `npm run dev`'s machinery driven with the real kubectl binary: discovery, OpenAPI, Tables,
// apply/re-apply, wait, describe with Events, watch, Secret rotation, validation errors, delete.
// These tests are never skipped: without kubectl on PATH they fail, loudly.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { DevEnv, EXAMPLES_DIR, ROOT } from "../../scripts/dev-env.ts";

const OWNER_TAG = "memorydb.operators.dev/owner";

function kubectlVersion(): string {
  try {
    return execFileSync("kubectl", ["version", "--client", "-o", "json"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    throw new Error(
      "\n\n*** kubectl is not on PATH (or does not run): the test/dev tests drive the REAL kubectl (1.32) against `npm run dev`. " +
        `Install kubectl and run again; these tests are never skipped. (${(err as Error).message}) ***\n`,
    );
  }
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

describe("npm run dev with the real kubectl", function () {
  this.timeout(40_000);
  let env: DevEnv;
  let dir: string;
  let kubeconfig: string;

  /** Runs kubectl against the dev control plane (own discovery cache, no ~/.kube). */
  function kubectl(args: string[], input?: string): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn("kubectl", [...args, "--cache-dir", join(dir, "cache")], {
        env: { ...process.env, KUBECONFIG: kubeconfig, HOME: dir, KUBECTL_KUBERC: "false" },
        stdio: ["pipe", "pipe", "pipe"],
      });
      let stdout = "",
        stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
      child.stdin.end(input ?? "");
    });
  }

  async function ok(args: string[], input?: string): Promise<string> {
    const r = await kubectl(args, input);
    if (r.code !== 0)
      throw new Error(
        `kubectl ${args.join(" ")} failed (${r.code}): ${r.stderr}${r.stdout}\noperator log tail:\n${env.operatorLines.slice(-15).join("\n")}`,
      );
    return r.stdout;
  }

  async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (v !== undefined && v !== false) return v as T;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}\noperator log tail:\n${env.operatorLines.slice(-15).join("\n")}`);
      await sleep(100);
    }
  }

  /** A copy of an example with edits, written to the temp dir. */
  async function edited(example: string, edit: (text: string) => string): Promise<string> {
    const path = join(dir, `edited-${example}`);
    await writeFile(path, edit(await readFile(join(EXAMPLES_DIR, example), "utf8")));
    return path;
  }

  before(async () => {
    const v = JSON.parse(kubectlVersion()) as { clientVersion?: { gitVersion?: string } };
    expect(v.clientVersion?.gitVersion, "kubectl client version").to.match(/^v1\.\d+/);
    dir = await mkdtemp(join(tmpdir(), "mdbu-dev-test-"));
    kubeconfig = join(dir, "kubeconfig");
    env = await DevEnv.start({ kubeconfigPath: kubeconfig, operatorEnv: { POLL_INTERVAL: "200ms", LOG_LEVEL: "debug" } });
    env.emulator!.modifyingMs = 200;
    env.emulator!.deletingMs = 200;
  });

  after(async () => {
    await env?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("serves discovery, OpenAPI and server-side Tables: get ns, api-resources, explain", async () => {
    const ns = await ok(["get", "ns"]);
    expect(ns).to.match(/^NAME\s+STATUS\s+AGE\s*$/m);
    expect(ns).to.match(/^kube-system\s+Active\s+\d+s\s*$/m);
    const res = await ok(["api-resources", "--api-group=memorydb.operators.dev"]);
    expect(res).to.match(/^memorydbusers\s+mdbu\s+memorydb\.operators\.dev\/v1alpha1\s+true\s+MemoryDBUser\s*$/m);
    const explain = await ok(["explain", "mdbu.spec"]);
    expect(explain).to.include("KIND:       MemoryDBUser");
    expect(explain).to.match(/accessString\s+<string> -required-/);
    expect(explain).to.match(/deletionPolicy\s+<string>\s+enum: Delete, Retain/);
  });

  it("kubectl apply creates a password user that goes Ready; get shows the printer columns", async () => {
    const out = await ok(["apply", "-f", join(EXAMPLES_DIR, "password-user.yaml")]);
    expect(out).to.include("namespace/team-a created");
    expect(out).to.include("secret/app-user-password created");
    expect(out).to.include("memorydbuser.memorydb.operators.dev/app-user created");
    const wait = await ok(["wait", "--for=condition=Ready", "mdbu/app-user", "-n", "team-a", "--timeout=20s"]);
    expect(wait.trim()).to.equal("memorydbuser.memorydb.operators.dev/app-user condition met");
    const table = await ok(["get", "mdbu", "-n", "team-a"]);
    expect(table).to.match(/^NAME\s+USER\s+STATUS\s+READY\s+AGE\s*$/m);
    expect(table).to.match(/^app-user\s+app-user\s+active\s+True\s+\d+s\s*$/m);
    const wide = await ok(["get", "mdbu", "app-user", "-n", "team-a", "-o", "wide"]);
    expect(wide).to.match(/^NAME\s+USER\s+STATUS\s+READY\s+AGE\s+ARN\s+AUTH\s+NEXT-ROTATION\s*$/m);
    // No generated password, no next rotation: an empty cell.
    expect(wide).to.match(/arn:aws:memorydb:us-east-1:123456789012:user\/app-user\s+password\s*$/m);
    const u = env.emulator!.user("app-user");
    expect(u?.status).to.equal("active");
    expect(u?.tags.team).to.equal("payments");
    const yaml = await ok(["get", "mdbu", "app-user", "-n", "team-a", "-o", "yaml"]);
    expect(yaml).to.include("kubectl.kubernetes.io/last-applied-configuration");
    expect(yaml).to.match(/type: Ready\n/);
  });

  it("kubectl describe shows the resource and its Events (events.k8s.io Events seen through core/v1)", async () => {
    const d = await until("a Created event in describe", async () => {
      const out = await ok(["describe", "mdbu", "app-user", "-n", "team-a"]);
      return /Normal\s+Created\s+\S+\s+\S+\s+created MemoryDB user "app-user"/.test(out) ? out : undefined;
    });
    expect(d).to.match(/^Name:\s+app-user$/m);
    expect(d).to.match(/^Kind:\s+MemoryDBUser$/m);
    expect(d).to.match(/^Events:\n\s+Type\s+Reason\s+Age\s+From\s+Message/m);
    const events = await ok(["get", "events", "-n", "team-a"]);
    expect(events).to.match(/^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE\s*$/m);
    expect(events).to.match(/Normal\s+Created\s+memorydbuser\/app-user\s+created MemoryDB user "app-user"/);
  });

  it("re-applying an edited manifest patches the resource and the operator updates MemoryDB", async () => {
    const file = await edited("password-user.yaml", (t) =>
      t.replace('accessString: "on ~app:* &* +@read"', 'accessString: "on ~app:* &* +@read +@write"'),
    );
    const out = await ok(["apply", "-f", file]);
    expect(out).to.include("namespace/team-a unchanged");
    expect(out).to.include("memorydbuser.memorydb.operators.dev/app-user configured");
    await ok(["wait", "--for=jsonpath={.status.observedGeneration}=2", "mdbu/app-user", "-n", "team-a", "--timeout=20s"]);
    await until("the new access string in MemoryDB", () => env.emulator!.user("app-user")?.accessString.includes("+@write"));
    await ok(["wait", "--for=condition=Ready", "mdbu/app-user", "-n", "team-a", "--timeout=20s"]);
    const again = await ok(["apply", "-f", file]);
    expect(again).to.include("memorydbuser.memorydb.operators.dev/app-user unchanged");
  });

  it("kubectl get -w streams Table rows as the resource changes", async () => {
    const child: ChildProcess = spawn("kubectl", ["get", "mdbu", "-n", "team-a", "-w", "--cache-dir", join(dir, "cache")], {
      env: { ...process.env, KUBECONFIG: kubeconfig, HOME: dir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    try {
      await until("the first watch rows", () => /^app-user\s+app-user\s+active\s+True/m.test(out));
      await ok(["label", "mdbu", "app-user", "-n", "team-a", "demo=watch"]);
      await until("a second row for the change", () => (out.match(/^app-user\s/gm) ?? []).length >= 2, 10_000);
      expect(out).to.match(/^NAME\s+USER\s+STATUS\s+READY\s+AGE\s*$/m);
      expect(out.match(/^NAME\s/gm)).to.have.length(1);
    } finally {
      child.kill("SIGTERM");
    }
  });

  it("kubectl create secret generic + apply rotates the password in MemoryDB", async () => {
    expect(env.emulator!.user("app-user")?.passwords).to.deep.equal(["change-me-to-16-to-128-chars"]);
    env.emulator!.resetCalls();
    const manifest = await ok([
      "create",
      "secret",
      "generic",
      "app-user-password",
      "-n",
      "team-a",
      "--from-literal=password=rotated-password-0123456789",
      "--dry-run=client",
      "-o",
      "yaml",
    ]);
    const out = await ok(["apply", "-f", "-"], manifest);
    expect(out).to.include("secret/app-user-password configured");
    const created = await ok([
      "create",
      "secret",
      "generic",
      "spare-password",
      "-n",
      "team-a",
      "--from-literal=password=spare-password-0123456789",
    ]);
    expect(created.trim()).to.equal("secret/spare-password created");
    expect(await ok(["get", "secret", "spare-password", "-n", "team-a"])).to.match(/^spare-password\s+Opaque\s+1\s+\d+s\s*$/m);
    await until(
      "MemoryDB to hold the new password (operator rotation support)",
      () => env.emulator!.user("app-user")?.passwords.includes("rotated-password-0123456789"),
      10_000,
    );
    expect(env.emulator!.callLog.filter((c) => c.op === "UpdateUser" && !c.error)).to.have.length(1);
  });

  it("rejects invalid manifests with the real API server's messages", async () => {
    const bogus = await edited("iam-user.yaml", (t) => t.replace("  accessString:", "  bogus: 1\n  accessString:"));
    const r1 = await kubectl(["apply", "-f", bogus]);
    expect(r1.code).to.equal(1);
    expect(r1.stderr).to.include(
      'Error from server (BadRequest): error when creating "' +
        bogus +
        '": MemoryDBUser in version "v1alpha1" cannot be handled as a MemoryDBUser: strict decoding error: unknown field "spec.bogus"',
    );
    const invalid = await edited("iam-user.yaml", (t) =>
      t.replace("name: reports-iam", "name: Bad_Name").replace('"on ~reports:* &* +@read"', '"on ~* >hunter2"'),
    );
    const r2 = await kubectl(["apply", "-f", invalid]);
    expect(r2.code).to.equal(1);
    expect(r2.stderr).to.include('The MemoryDBUser "Bad_Name" is invalid:');
    expect(r2.stderr).to.include('metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain');
    expect(r2.stderr).to.include("accessString must not set passwords or reset the user");
    expect(r2.stderr).not.to.include('hunter2"\n');
  });

  it("applies the other examples: IAM, two-password rotation, Retain, adoption of an existing user", async () => {
    for (const f of ["iam-user.yaml", "password-rotation.yaml", "retain-user.yaml"]) await ok(["apply", "-f", join(EXAMPLES_DIR, f)]);
    for (const name of ["reports-iam", "billing", "archive"]) {
      await ok(["wait", "--for=condition=Ready", `mdbu/${name}`, "-n", "team-a", "--timeout=20s"]);
    }
    expect(env.emulator!.user("reports-iam")?.authType).to.equal("iam");
    expect(env.emulator!.user("billing")?.passwords).to.deep.equal(["billing-current-password-01", "billing-next-password-0002"]);
    expect(env.emulator!.user("legacy-reporting")?.tags[OWNER_TAG]).to.equal(undefined);
    await ok(["apply", "-f", join(EXAMPLES_DIR, "adopt-existing.yaml")]);
    await ok(["wait", "--for=condition=Ready", "mdbu/legacy-reporting", "-n", "team-a", "--timeout=10s"]);
    expect(env.emulator!.user("legacy-reporting")?.tags[OWNER_TAG]).to.be.a("string");
  });

  it("applies the generated-password example: the Secret, the Next-Rotation column, a rotation on demand the emulator accepts", async () => {
    await ok(["apply", "-f", join(EXAMPLES_DIR, "generated-password.yaml")]);
    await ok(["wait", "--for=condition=Ready", "mdbu/orders", "-n", "team-a", "--timeout=20s"]);
    const field = async (key: string) => {
      const b64 = await ok(["get", "secret", "orders-redis", "-n", "team-a", "-o", `jsonpath={.data.${key}}`]);
      return b64 === "" ? undefined : Buffer.from(b64, "base64").toString("utf8");
    };
    expect(await field("username")).to.equal("orders");
    const first = (await field("password"))!;
    expect(first).to.have.length(32);
    const auth = async (password: string) => {
      const res = await fetch(`${env.emulator!.endpoint}/_emulator/auth`, {
        method: "POST",
        body: JSON.stringify({ userName: "orders", password }),
      });
      return ((await res.json()) as { accepted: boolean }).accepted;
    };
    expect(await auth(first)).to.equal(true);
    const wide = await ok(["get", "mdbu", "orders", "-n", "team-a", "-o", "wide"]);
    const [header, row] = wide.trim().split("\n");
    expect(header).to.match(/\bNEXT-ROTATION\s*$/);
    expect(row).to.match(/\s\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z\s*$/);
    await ok(["annotate", "mdbu", "orders", "-n", "team-a", "--overwrite", "memorydb.operators.dev/rotate-password=kubectl-test"]);
    await until("the rotation", async () => ((await field("password")) !== first ? true : undefined));
    expect(await field("previous-password")).to.equal(first);
    expect(await auth(first)).to.equal(true);
    expect(await auth((await field("password"))!)).to.equal(true);
    const phase = await ok(["get", "mdbu", "orders", "-n", "team-a", "-o", "jsonpath={.status.passwordRotation.phase}"]);
    expect(phase).to.equal("Overlap");
    const described = await ok(["describe", "mdbu", "orders", "-n", "team-a"]);
    expect(described).to.include("PasswordGenerated").and.include("PasswordRotated");
    expect(described).to.not.include(first);
  });

  it("the emulator's state is inspectable over HTTP", async () => {
    const res = await fetch(`${env.emulator!.endpoint}/_emulator/users`);
    const body = (await res.json()) as { users: Array<{ name: string; passwordCount?: number }> };
    const names = body.users.map((u) => u.name);
    expect(names).to.include.members(["app-user", "reports-iam", "billing", "archive"]);
    expect(JSON.stringify(body)).not.to.include("rotated-password");
  });

  it("kubectl delete waits for the finalizer; the MemoryDB user is deleted (Delete) or kept (Retain)", async () => {
    const fins = await ok(["get", "mdbu", "app-user", "-n", "team-a", "-o", "jsonpath={.metadata.finalizers}"]);
    expect(fins).to.include("memorydb.operators.dev/finalizer");
    const out = await ok(["delete", "mdbu", "app-user", "-n", "team-a", "--timeout=20s"]);
    expect(out.trim()).to.equal('memorydbuser.memorydb.operators.dev "app-user" deleted');
    const gone = await kubectl(["get", "mdbu", "app-user", "-n", "team-a"]);
    expect(gone.stderr).to.include('Error from server (NotFound): memorydbusers.memorydb.operators.dev "app-user" not found');
    await until("app-user gone from MemoryDB", () => env.emulator!.user("app-user") === undefined);
    await ok(["delete", "mdbu", "archive", "-n", "team-a", "--timeout=20s"]);
    const kept = env.emulator!.user("archive");
    expect(kept, "Retain keeps the MemoryDB user").to.not.equal(undefined);
    expect(kept!.tags[OWNER_TAG]).to.equal(undefined);
  });

  it("npm run dev (scripts/dev.ts) prints the kubeconfig line, serves kubectl and stops cleanly on SIGTERM", async () => {
    const kc = join(dir, "dev-script-kubeconfig");
    const child = spawn(process.execPath, [join(ROOT, "scripts", "dev.ts"), "--port", "0", "--kubeconfig", kc, "--quiet-operator"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
    try {
      await until("the kubeconfig line", () => out.includes(`kubeconfig: ${kc}\n`), 15_000);
      expect(out).to.include("kubectl get mdbu -n team-a");
      const r = await new Promise<Run>((resolve) => {
        const k = spawn("kubectl", ["get", "crd", "--cache-dir", join(dir, "cache2")], {
          env: { ...process.env, KUBECONFIG: kc, HOME: dir },
        });
        let so = "",
          se = "";
        k.stdout.on("data", (d) => (so += d));
        k.stderr.on("data", (d) => (se += d));
        k.on("close", (code) => resolve({ code: code ?? -1, stdout: so, stderr: se }));
      });
      expect(r.stdout, r.stderr).to.match(/^memorydbusers\.memorydb\.operators\.dev\s+\S+Z\s*$/m);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).to.equal(0);
    expect(out).to.include("stopped\n");
  });
  it("kubectl apply -f of a kind: List document creates, then leaves unchanged, every item (client-side validation reads /openapi/v2)", async () => {
    const list = [
      "apiVersion: v1",
      "kind: List",
      "items:",
      "- apiVersion: v1",
      "  kind: Namespace",
      "  metadata: {name: list-demo}",
      "- apiVersion: v1",
      "  kind: ConfigMap",
      "  metadata: {name: list-cm, namespace: list-demo}",
      "  data: {a: b}",
      "- apiVersion: memorydb.operators.dev/v1alpha1",
      "  kind: MemoryDBUser",
      "  metadata: {name: list-user, namespace: list-demo}",
      "  spec:",
      '    accessString: "on ~list:* +@read"',
      "    authenticationMode: {type: iam}",
      "",
    ].join("\n");
    const path = join(dir, "list.yaml");
    await writeFile(path, list);
    const out = await ok(["apply", "-f", path]);
    expect(out).to.include("namespace/list-demo created");
    expect(out).to.include("configmap/list-cm created");
    expect(out).to.include("memorydbuser.memorydb.operators.dev/list-user created");
    const again = await ok(["apply", "-f", path]);
    expect(again).to.include("configmap/list-cm unchanged");
    expect(again).to.include("memorydbuser.memorydb.operators.dev/list-user unchanged");
    await ok(["wait", "--for=condition=Ready", "mdbu/list-user", "-n", "list-demo", "--timeout=20s"]);
    // An unknown field in an item is still refused (by the server: there are no OpenAPI v2 definitions).
    const bad = await kubectl(
      ["apply", "-f", "-"],
      list.replace("    authenticationMode: {type: iam}", "    authenticationMode: {type: iam}\n    bogus: 1"),
    );
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.include('unknown field "spec.bogus"');
  });
});
