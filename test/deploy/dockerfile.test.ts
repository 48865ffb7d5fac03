// Dockerfile lint, by parsing it (no Docker engine here): multi-stage, Node.js 24 bases pinned to
// a version, production dependencies only in the final stage, numeric non-root user, exec-form
// entry point running the compiled operator, OCI labels, and a build context that holds what the
// COPY instructions need.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { REPO } from "./manifests.ts";

interface Instruction {
  line: number;
  keyword: string;
  args: string;
}

interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Instructions of a Dockerfile: comments and blank lines dropped, continuations joined. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      line = line.replace(/\\\s*$/, " ");
      i++;
      if (!/^\s*#/.test(lines[i]!)) line += lines[i]!.trim();
    }
    const m = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(line);
    if (!m) throw new Error(`line ${start}: cannot parse "${line}"`);
    out.push({ line: start, keyword: m[1]!.toUpperCase(), args: m[2]!.trim() });
  }
  return out;
}

function stagesOf(instructions: Instruction[]): Stage[] {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === "FROM") {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`line ${ins.line}: bad FROM`);
      const image = m[1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => globalArgs[a ?? b] ?? "");
      stages.push({ image, name: m[2], instructions: [] });
    } else if (stages.length === 0) {
      if (ins.keyword !== "ARG") throw new Error(`line ${ins.line}: ${ins.keyword} before the first FROM`);
      const [name, value] = ins.args.split("=", 2);
      globalArgs[name!] = (value ?? "").replace(/^"|"$/g, "");
    } else {
      stages.at(-1)!.instructions.push(ins);
    }
  }
  return stages;
}

/** LABEL key="value" ... pairs. */
function labels(stage: Stage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const ins of stage.instructions.filter((i) => i.keyword === "LABEL")) {
    for (const m of ins.args.matchAll(/([\w.-]+)=("(?:[^"\\]|\\.)*"|\S+)/g)) out[m[1]!] = m[2]!.replace(/^"|"$/g, "");
  }
  return out;
}

/** Whether .dockerignore leaves `path` in the build context (last matching pattern wins). */
function inContext(path: string, ignore: readonly string[]): boolean {
  const toRegex = (glob: string): RegExp =>
    new RegExp(
      `^${glob
        .replace(/\/$/, "")
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*\*/g, "\u{e000}")
        .replace(/\*/g, "[^/]*")
        .replace(/\?/g, "[^/]")
        .replace(/\u{e000}/gu, ".*")}$`,
    );
  const parts = path.split("/");
  let included = true;
  for (const raw of ignore) {
    const negated = raw.startsWith("!");
    const re = toRegex(negated ? raw.slice(1) : raw);
    // A pattern matches the path or any directory above it.
    for (let n = 1; n <= parts.length; n++) {
      if (re.test(parts.slice(0, n).join("/"))) {
        included = negated;
        break;
      }
    }
  }
  return included;
}

const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { license: string; version: string };
const dockerignore = readFileSync(join(REPO, ".dockerignore"), "utf8")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l !== "" && !l.startsWith("#"));

/** Every rule the image must follow; [] when the Dockerfile passes. */
function lint(text: string): string[] {
  const problems: string[] = [];
  const stages = stagesOf(parseDockerfile(text));
  if (stages.length < 2) problems.push("not multi-stage");
  if (stages.slice(0, -1).some((s) => !s.name)) problems.push("an intermediate stage has no name");
  for (const s of stages) {
    if (s.image === "" || /^:|[:@]$/.test(s.image)) problems.push("a FROM does not resolve (ARG without default?)");
    else if (!/:[\w.-]+(@sha256:[a-f0-9]{64})?$|@sha256:[a-f0-9]{64}$/.test(s.image)) problems.push(`${s.image}: no tag or digest`);
    if (/:latest(@|$)/.test(s.image)) problems.push(`${s.image}: latest`);
    if (!/node(js)?:?24|nodejs24/.test(s.image)) problems.push(`${s.image}: not Node.js 24`);
  }
  const final = stages.at(-1);
  if (!final) return [...problems, "no FROM"];
  const byName = new Map(stages.map((s) => [s.name, s]));
  const of = (keyword: string): Instruction[] => final.instructions.filter((i) => i.keyword === keyword);
  const fromStage = (ins: Instruction): Stage | undefined => byName.get(/--from=(\S+)/.exec(ins.args)?.[1]);

  const user = of("USER").at(-1)?.args;
  if (!user) problems.push("no USER in the final stage");
  else if (!/^\d+(:\d+)?$/.test(user)) problems.push(`USER ${user} is not numeric`);
  else if (user.split(":").some((id) => Number(id) === 0)) problems.push(`USER ${user} is root`);

  const entry = of("ENTRYPOINT").at(-1);
  let argv: unknown;
  try {
    argv = entry ? JSON.parse(entry.args) : undefined;
  } catch {
    argv = undefined;
  }
  if (!Array.isArray(argv)) problems.push("ENTRYPOINT is missing or not in exec form");
  else if (!/(^|\/)node$/.test(String(argv[0])) || !argv.includes("dist/main.js"))
    problems.push("ENTRYPOINT does not run node dist/main.js");
  if (of("CMD").some((i) => !i.args.startsWith("["))) problems.push("CMD in shell form");
  const stop = of("STOPSIGNAL").at(-1);
  if (stop && stop.args !== "SIGTERM") problems.push(`STOPSIGNAL ${stop.args}`);

  const copies = of("COPY");
  const modules = copies.find((c) => /node_modules/.test(c.args));
  if (!modules || !fromStage(modules)?.instructions.some((i) => i.keyword === "RUN" && /npm ci\b.*--omit=dev/.test(i.args))) {
    problems.push("node_modules does not come from a stage that ran npm ci --omit=dev");
  }
  const dist = copies.find((c) => /\bdist\b/.test(c.args));
  if (!dist || !fromStage(dist)?.instructions.some((i) => i.keyword === "RUN" && /tsc -p tsconfig\.build\.json/.test(i.args))) {
    problems.push("dist does not come from a stage that compiled tsconfig.build.json");
  }
  if (!copies.every((c) => /--from=/.test(c.args) || /^package\.json\b/.test(c.args))) problems.push("the final stage copies sources");
  if (of("RUN").length > 0) problems.push("RUN in the (distroless, shell-less) final stage");
  if (!of("ENV").some((i) => /NODE_ENV=production/.test(i.args))) problems.push("NODE_ENV is not production");
  if (/^\s*ADD\s/m.test(text)) problems.push("ADD (use COPY)");

  const l = labels(final);
  for (const key of ["title", "description", "licenses", "version", "revision"]) {
    if (!l[`org.opencontainers.image.${key}`]) problems.push(`no org.opencontainers.image.${key} label`);
  }
  if (l["org.opencontainers.image.licenses"] && l["org.opencontainers.image.licenses"] !== pkg.license)
    problems.push("licenses label differs from package.json");
  const version = of("ARG").find((i) => i.args.startsWith("VERSION="));
  if (version && version.args !== `VERSION=${pkg.version}`) problems.push("VERSION default differs from package.json");

  const exposed = of("EXPOSE").flatMap((i) => i.args.split(/\s+/));
  for (const port of ["8080", "8081"]) if (!exposed.includes(port)) problems.push(`port ${port} not exposed`);

  for (const s of stages) {
    for (const copy of s.instructions.filter((i) => i.keyword === "COPY" && !/--from=/.test(i.args))) {
      const parts = copy.args.split(/\s+/).filter((p) => !p.startsWith("--"));
      for (const src of parts.slice(0, -1).map((p) => p.replace(/\/$/, ""))) {
        if (!existsSync(join(REPO, src))) problems.push(`COPY ${src}: no such file`);
        if (!inContext(src, dockerignore)) problems.push(`COPY ${src}: excluded by .dockerignore`);
      }
    }
  }
  return problems;
}

const dockerfile = readFileSync(join(REPO, "Dockerfile"), "utf8");

describe("Dockerfile", () => {
  it("passes the lint: multi-stage, Node.js 24 pinned, prod deps only, numeric non-root USER, exec ENTRYPOINT, OCI labels", () => {
    expect(lint(dockerfile)).to.deep.equal([]);
  });

  it("runs what the build compiles: dist/main.js from src/main.ts", () => {
    const build = JSON.parse(readFileSync(join(REPO, "tsconfig.build.json"), "utf8")) as {
      compilerOptions: { outDir: string; rootDir: string };
    };
    expect(build.compilerOptions).to.include({ outDir: "dist", rootDir: "src" });
    expect(existsSync(join(REPO, "src", "main.ts"))).to.equal(true);
  });

  it("keeps the repository's other files out of the build context", () => {
    expect(inContext("src/main.ts", dockerignore)).to.equal(true);
    for (const path of [
      ".git",
      "node_modules",
      "dist",
      "test/unit/config.test.ts",
      "deploy/base/deployment.yaml",
      "kubeconfig",
      ".local/x",
      "docs",
    ]) {
      expect(inContext(path, dockerignore), path).to.equal(false);
    }
  });

  describe("the lint itself", () => {
    const variants: Array<[string, (text: string) => string, RegExp]> = [
      ["root user", (t) => t.replace(/^USER .*$/m, "USER 0:0"), /is root/],
      ["named user", (t) => t.replace(/^USER .*$/m, "USER nonroot"), /not numeric/],
      ["no user", (t) => t.replace(/^USER .*$/m, ""), /no USER/],
      ["latest base", (t) => t.replace(/^ARG NODE_IMAGE=.*$/m, "ARG NODE_IMAGE=node:latest"), /latest/],
      ["untagged base", (t) => t.replace(/^ARG NODE_IMAGE=.*$/m, "ARG NODE_IMAGE=node"), /no tag or digest/],
      ["shell-form entry point", (t) => t.replace(/^ENTRYPOINT .*$/m, "ENTRYPOINT node dist/main.js"), /exec form/],
      ["dev dependencies shipped", (t) => t.replace("npm ci --omit=dev", "npm ci"), /--omit=dev/],
      ["no labels", (t) => t.replace(/^LABEL [\s\S]*?\n(?=ENV)/m, ""), /org\.opencontainers\.image\.title/],
      ["single stage", () => 'FROM node:24-slim\nUSER 1000\nENTRYPOINT ["node", "dist/main.js"]\n', /not multi-stage/],
      ["copy of an ignored file", (t) => t.replace("COPY src ./src", "COPY src ./src\nCOPY test ./test"), /excluded by \.dockerignore/],
    ];
    for (const [what, mutate, problem] of variants) {
      it(`catches: ${what}`, () => {
        const problems = lint(mutate(dockerfile));
        expect(
          problems.some((p) => problem.test(p)),
          problems.join("; "),
        ).to.equal(true);
      });
    }
  });
});
