// The Argo CD health check (deploy/argocd/.../health.lua), run with real Lua interpreters on the
// cases of its health_test.yaml (Argo CD's own test format): lua5.1 is the dialect Argo CD's
// gopher-lua speaks, lua5.4 the one Debian ships by default. CI installs both (.ci/run).

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Ajv } from "ajv";
import { expect } from "chai";
import * as yaml from "js-yaml";
import { DEPLOY, REPO } from "./manifests.ts";

const HEALTH_DIR = join(DEPLOY, "argocd", "memorydb.operators.dev", "MemoryDBUser");
const script = readFileSync(join(HEALTH_DIR, "health.lua"), "utf8");
const cases = (
  yaml.load(readFileSync(join(HEALTH_DIR, "health_test.yaml"), "utf8")) as {
    tests: Array<{ inputPath: string; healthStatus: { status: string; message: string } }>;
  }
).tests;

/** A JSON value as a Lua table constructor (null becomes nil, i.e. absent). */
function toLua(value: unknown): string {
  if (value === null || value === undefined) return "nil";
  if (typeof value === "boolean") return String(value);
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "0";
  if (typeof value === "string") {
    let out = '"';
    for (const byte of Buffer.from(value, "utf8")) {
      const ch = String.fromCharCode(byte);
      out += byte < 32 || byte > 126 || ch === '"' || ch === "\\" ? `\\${String(byte).padStart(3, "0")}` : ch;
    }
    return `${out}"`;
  }
  if (Array.isArray(value)) return `{${value.map(toLua).join(", ")}}`;
  return `{${Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `[${toLua(k)}] = ${toLua(v)}`)
    .join(", ")}}`;
}

function hasLua(bin: string): boolean {
  try {
    execFileSync(bin, ["-v"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Runs the health check as Argo CD does: `obj` is the resource, the chunk returns the health. */
function runHealth(bin: string, obj: unknown): { status: string; message: string } {
  const dir = mkdtempSync(join(tmpdir(), "mdbu-lua-"));
  try {
    const file = join(dir, "run.lua");
    writeFileSync(
      file,
      `obj = ${toLua(obj)}\nlocal hs = (function()\n${script}\nend)()\n` +
        `assert(type(hs) == "table", "the script returned no table")\n` +
        `io.write(tostring(hs.status), "\\n", tostring(hs.message))\n`,
    );
    const out = execFileSync(bin, [file], { encoding: "utf8" });
    const [status, ...message] = out.split("\n");
    return { status: status!, message: message.join("\n") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("Argo CD health check for MemoryDBUser", () => {
  for (const bin of ["lua5.1", "lua5.4"]) {
    describe(`with ${bin}`, () => {
      before(() => {
        // Never skipped: a missing interpreter is a failure that says how to fix it.
        if (!hasLua(bin)) throw new Error(`${bin} is not installed: apt-get install ${bin} (.ci/run does)`);
      });
      for (const c of cases) {
        it(`${c.inputPath}: ${c.healthStatus.status}`, () => {
          const obj = yaml.load(readFileSync(join(HEALTH_DIR, c.inputPath), "utf8"));
          expect(runHealth(bin, obj)).to.deep.equal(c.healthStatus);
        });
      }
    });
  }

  it("covers Healthy, Progressing and Degraded, and every Ready reason the operator documents", () => {
    const statuses = new Set(cases.map((c) => c.healthStatus.status));
    expect([...statuses].sort()).to.deep.equal(["Degraded", "Healthy", "Progressing"]);
    const reasons = new Set(
      cases.flatMap((c) => {
        const obj = yaml.load(readFileSync(join(HEALTH_DIR, c.inputPath), "utf8")) as any;
        return (obj.status?.conditions ?? []).filter((x: any) => x.type === "Ready").map((x: any) => x.reason as string);
      }),
    );
    for (const r of [
      "Available",
      "Creating",
      "Modifying",
      "Deleting",
      "SecretNotFound",
      "InvalidPassword",
      "UserAlreadyExists",
      "InvalidParameterValueException",
      "UserQuotaExceededFault",
    ]) {
      expect(reasons, r).to.include(r);
    }
  });

  it("test inputs are valid MemoryDBUsers (the CRD's schema accepts them)", () => {
    const crd = yaml.load(readFileSync(join(REPO, "crds", "memorydb.operators.dev_memorydbusers.yaml"), "utf8")) as any;
    const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
    const validate = ajv.compile(crd.spec.versions[0].schema.openAPIV3Schema);
    for (const c of cases) {
      const obj = yaml.load(readFileSync(join(HEALTH_DIR, c.inputPath), "utf8"));
      expect(validate(obj), `${c.inputPath}: ${ajv.errorsText(validate.errors)}`).to.equal(true);
    }
  });

  it("treats as transient (Progressing) exactly the faults the operator retries as transient", () => {
    const text = readFileSync(join(REPO, "src", "aws", "faults.ts"), "utf8");
    const sets = [...text.matchAll(/const (TRANSIENT|NETWORK_CODES) = new Set\(\[([\s\S]*?)\]\)/g)];
    expect(sets, "TRANSIENT and NETWORK_CODES in src/aws/faults.ts").to.have.length(2);
    const operatorTransient = sets.flatMap((m) => [...m[2]!.matchAll(/"([^"]+)"/g)].map((x) => x[1]!));
    const luaTransient = [.../local transientReasons = \{([\s\S]*?)\n\}/.exec(script)![1]!.matchAll(/(\w+) = true/g)].map((m) => m[1]!);
    expect([...luaTransient].sort()).to.deep.equal([...new Set(operatorTransient)].sort());
  });

  it("argocd-cm.yaml carries the same script under Argo CD's key (run deploy/sync.sh after editing health.lua)", () => {
    const cm = yaml.load(readFileSync(join(dirname(HEALTH_DIR), "..", "argocd-cm.yaml"), "utf8")) as any;
    expect(cm.kind).to.equal("ConfigMap");
    expect(cm.metadata.name).to.equal("argocd-cm");
    expect(cm.data["resource.customizations.health.memorydb.operators.dev_MemoryDBUser"]).to.equal(script);
  });

  it("toLua escapes strings Lua would misread", () => {
    if (!hasLua("lua5.4")) throw new Error("lua5.4 is not installed: apt-get install lua5.4 (.ci/run does)");
    const tricky = { a: 'quote " backslash \\ newline \n1 tab \t9 ünïcode', list: [1, "x", { b: true }], n: null };
    const out = execFileSync(
      "lua5.4",
      ["-e", `local t = ${toLua(tricky)} io.write(t.a, "|", #t.list, "|", tostring(t.list[3].b), "|", tostring(t.n))`],
      { encoding: "utf8" },
    );
    expect(out).to.equal(`${tricky.a}|3|true|nil`);
  });
});
