// Renders the Helm chart with Helm's own engine: tools/helmrender (`helm template` built from
// Helm v3.18.6's rendering code, see its README), which .ci/run builds. Values validate against
// values.schema.json exactly as `helm install` validates them.
//
//   const { objects, notes } = helmTemplate({ set: ["aws.region=us-east-1"] });
//   const error = helmTemplateError({});   // the message `helm template` fails with
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as yaml from "js-yaml";
import { CHART, type KubeObject } from "./manifests.ts";

export const DEFAULT_HELMRENDER = "/var/cache/helmrender/bin/helmrender";

/** The helmrender binary: $HELMRENDER, $HELMRENDER_HOME/bin/helmrender, then the default. */
export function helmrenderBinary(): string {
  const candidates = [
    process.env.HELMRENDER,
    process.env.HELMRENDER_HOME && join(process.env.HELMRENDER_HOME, "bin", "helmrender"),
    DEFAULT_HELMRENDER,
  ];
  const found = candidates.find((p): p is string => !!p && existsSync(p));
  if (!found) {
    throw new Error(
      `no helmrender binary (looked at ${candidates.filter(Boolean).join(", ")}): build it with tools/helmrender/build.sh (.ci/run does)`,
    );
  }
  return found;
}

export interface HelmOptions {
  /** Release name; default memorydb-user-operator. */
  release?: string;
  /** Release namespace; default memorydb-system. */
  namespace?: string;
  /** --set arguments. */
  set?: string[];
  /** A values file's content (written to a temporary file and passed with -f). */
  values?: Record<string, unknown>;
  /** Values files (-f), in order. */
  files?: string[];
  /** Any other flags, e.g. --skip-schema-validation, --include-crds. */
  args?: string[];
}

export interface Rendered {
  objects: KubeObject[];
  notes: string;
  /** The coalesced values the templates saw. */
  values: Record<string, any>;
  /** What helmrender printed, unparsed. */
  manifest: string;
}

interface Run {
  status: number;
  stdout: string;
  stderr: string;
  notes: string;
  values: string;
}

function run(options: HelmOptions): Run {
  const dir = mkdtempSync(join(tmpdir(), "mdbu-helm-"));
  try {
    const args = [options.release ?? "memorydb-user-operator", CHART, "-n", options.namespace ?? "memorydb-system"];
    for (const f of options.files ?? []) args.push("-f", f);
    if (options.values) {
      writeFileSync(join(dir, "values.yaml"), yaml.dump(options.values));
      args.push("-f", join(dir, "values.yaml"));
    }
    for (const s of options.set ?? []) args.push("--set", s);
    args.push(...(options.args ?? []), "--notes", join(dir, "NOTES.txt"), "--values-out", join(dir, "values.json"));
    const r = spawnSync(helmrenderBinary(), args, { encoding: "utf8" });
    if (r.error) throw r.error;
    const read = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), "utf8") : "");
    return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr, notes: read("NOTES.txt"), values: read("values.json") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `helm template` of the chart; throws with Helm's message if it fails. */
export function helmTemplate(options: HelmOptions): Rendered {
  const r = run(options);
  if (r.status !== 0) throw new Error(`helm template failed: ${r.stderr.trim()}`);
  const objects = yaml.loadAll(r.stdout).filter((d): d is KubeObject => d !== null && typeof d === "object");
  return { objects, notes: r.notes, values: JSON.parse(r.values || "{}"), manifest: r.stdout };
}

/** The error `helm template` fails with; throws if it renders. */
export function helmTemplateError(options: HelmOptions): string {
  const r = run(options);
  if (r.status === 0) throw new Error(`helm template rendered, expected it to fail (${JSON.stringify(options)})`);
  return r.stderr.trim();
}

/** Shell words of one command line, as sh splits them (quotes, backslashes, # comments). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === " " || c === "\t") {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "#" && word === undefined) {
      break;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      word = (word ?? "") + line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      word ??= "";
      for (i++; line[i] !== '"'; i++) {
        // Inside double quotes a backslash escapes only $ ` " \ (sh); otherwise it stays.
        if (line[i] === "\\" && '$`"\\'.includes(line[i + 1]!)) i++;
        word += line[i];
      }
    } else if (c === "\\") {
      word = (word ?? "") + line[++i];
    } else {
      word = (word ?? "") + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

export interface DocumentedCommand {
  /** Where it is written: file and the command's first line. */
  where: string;
  options: HelmOptions;
}

/** Every `helm install|upgrade|template` of this chart in the given Markdown files' code blocks. */
export function documentedHelmCommands(repo: string, files: string[]): DocumentedCommand[] {
  const found: DocumentedCommand[] = [];
  for (const file of files) {
    const text = readFileSync(join(repo, file), "utf8");
    for (const block of text.matchAll(/```(?:sh|console|bash)\n([\s\S]*?)```/g)) {
      const lines = block[1]!.replace(/\\\n\s*/g, "").split("\n");
      for (const line of lines) {
        const words = shellWords(line.replace(/^\$ /, ""));
        if (words[0] !== "helm" || !["install", "upgrade", "template"].includes(words[1]!)) continue;
        const options: HelmOptions = { set: [], files: [], args: [] };
        const positional: string[] = [];
        for (let i = 2; i < words.length; i++) {
          const w = words[i]!;
          if (w === "-n" || w === "--namespace") options.namespace = words[++i]!;
          else if (w === "--set") options.set!.push(words[++i]!);
          else if (w === "-f" || w === "--values") options.files!.push(join(repo, words[++i]!));
          else if (w === "--set-string" || w === "--set-json") options.args!.push(w, words[++i]!);
          else if (w === "--create-namespace" || w === "--install" || w === "--wait") continue;
          else if (w.startsWith("-")) throw new Error(`${file}: helm flag ${w} is not understood by this test: ${line}`);
          else positional.push(w);
        }
        if (positional.length !== 2) throw new Error(`${file}: expected helm ${words[1]} NAME CHART: ${line}`);
        if (join(repo, positional[1]!) !== join(CHART, "/") && join(repo, positional[1]!) !== CHART) {
          throw new Error(`${file}: helm ${words[1]} of another chart: ${line}`);
        }
        options.release = positional[0]!;
        found.push({ where: `${file}: ${line.trim().slice(0, 80)}`, options });
      }
    }
  }
  return found;
}
