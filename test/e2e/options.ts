// Command-line flags of `npm run e2e`.
import { parseArgs } from "node:util";

export interface Options {
  kubeconfig: string | undefined;
  context: string | undefined;
  /** Use this existing namespace instead of creating one. */
  namespace: string | undefined;
  /** Budget of each step (and of each step's cleanup). */
  timeoutMs: number;
  /** Steps to run, in the suite's order; undefined = all. */
  steps: string[] | undefined;
  parallel: number;
  emulatorUrl: string | undefined;
  awsRegion: string | undefined;
  memorydbEndpoint: string | undefined;
  /** Labels for every Secret the suite creates (an operator with --secret-label-selector). */
  secretLabels: Record<string, string>;
  help: boolean;
}

export class UsageError extends Error {
  override name = "UsageError";
}

export function usage(stepNames: readonly { name: string; summary: string }[]): string {
  const steps = stepNames.map((s) => `  ${s.name.padEnd(18)} ${s.summary}`).join("\n");
  return `Usage: npm run e2e -- [flags]

End-to-end tests of memorydb-user-operator against the cluster the kubeconfig points at, with the
real kubectl (on PATH). The CRD and the operator must already be installed and running there.
See docs/e2e.md.

  --kubeconfig PATH        kubeconfig (default: $KUBECONFIG, then ~/.kube/config)
  --context NAME           kubeconfig context (default: the current one)
  --namespace NS           run in this existing namespace instead of creating e2e-<random>
                           (for an operator that watches only some namespaces)
  --timeout DURATION       budget per step and per step's cleanup (default 5m; 90s, 2m30s, 300)
  --steps a,b              run only these steps (default: all, in the order below)
  --parallel N             run up to N steps at once (default 1)
  --emulator-url URL       also check MemoryDB directly through the project's emulator
                           (GET URL/_emulator/users and /_emulator/log)
  --aws-region REGION      also check MemoryDB directly with DescribeUsers/ListTags in REGION
                           (AWS SDK default credential chain)
  --memorydb-endpoint URL  with --aws-region: a MemoryDB-compatible endpoint (a VPC endpoint)
  --secret-labels k=v,...  labels for the suite's Secrets, for an operator installed with
                           --secret-label-selector
  -h, --help               this text

Steps:
${steps}

Output: PASS <step> (<seconds>s) or FAIL <step>: <reason> per step, then a cleanup line and
"e2e: N passed, M failed". Exit code 0 only if everything passed (1 failures, 2 usage, 130 SIGINT).
`;
}

/** "5m", "90s", "1m30s", "500ms", or a bare number of seconds. */
export function parseDuration(text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  const rest = text.replace(/(\d+(?:\.\d+)?)(ms|s|m|h)/g, (_all, n: string, unit: string) => {
    total += Number(n) * units[unit]!;
    return "";
  });
  if (rest !== "" || text === "") throw new UsageError(`not a duration: "${text}" (e.g. 5m, 90s, 1m30s)`);
  return total;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function parseOptions(argv: string[], known: readonly string[]): Options {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: {
        kubeconfig: { type: "string" },
        context: { type: "string" },
        namespace: { type: "string" },
        timeout: { type: "string" },
        steps: { type: "string" },
        parallel: { type: "string" },
        "emulator-url": { type: "string" },
        "aws-region": { type: "string" },
        "memorydb-endpoint": { type: "string" },
        "secret-labels": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const str = (k: string) => values[k] as string | undefined;
  const timeoutMs = parseDuration(str("timeout") ?? "5m");
  if (timeoutMs < 1000) throw new UsageError("--timeout must be at least 1s");
  let steps: string[] | undefined;
  if (str("steps") !== undefined) {
    const wanted = str("steps")!
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    const unknown = wanted.filter((s) => !known.includes(s));
    if (unknown.length > 0) throw new UsageError(`--steps: unknown step(s) ${unknown.join(", ")} (known: ${known.join(", ")})`);
    if (wanted.length === 0) throw new UsageError("--steps: no step named");
    steps = known.filter((s) => wanted.includes(s));
  }
  const parallelText = str("parallel") ?? "1";
  if (!/^[1-9]\d*$/.test(parallelText)) throw new UsageError(`--parallel: "${parallelText}" is not a positive integer`);
  const namespace = str("namespace");
  if (namespace !== undefined && !DNS_LABEL.test(namespace)) throw new UsageError(`--namespace: "${namespace}" is not a namespace name`);
  const emulatorUrl = str("emulator-url");
  const awsRegion = str("aws-region");
  const memorydbEndpoint = str("memorydb-endpoint");
  if (emulatorUrl !== undefined && awsRegion !== undefined) throw new UsageError("--emulator-url and --aws-region exclude each other");
  if (memorydbEndpoint !== undefined && awsRegion === undefined) throw new UsageError("--memorydb-endpoint needs --aws-region");
  for (const [flag, url] of [
    ["--emulator-url", emulatorUrl],
    ["--memorydb-endpoint", memorydbEndpoint],
  ] as const) {
    if (url === undefined) continue;
    try {
      new URL(url);
    } catch {
      throw new UsageError(`${flag}: "${url}" is not a URL`);
    }
  }
  if (awsRegion !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(awsRegion))
    throw new UsageError(`--aws-region: "${awsRegion}" is not a region`);
  const secretLabels: Record<string, string> = {};
  for (const pair of (str("secret-labels") ?? "").split(",").filter((p) => p.trim() !== "")) {
    const m = /^([A-Za-z0-9][-A-Za-z0-9_./]*)=([-A-Za-z0-9_.]*)$/.exec(pair.trim());
    if (!m) throw new UsageError(`--secret-labels: "${pair}" is not key=value`);
    secretLabels[m[1]!] = m[2]!;
  }
  return {
    kubeconfig: str("kubeconfig"),
    context: str("context"),
    namespace,
    timeoutMs,
    steps,
    parallel: Number(parallelText),
    emulatorUrl: emulatorUrl?.replace(/\/+$/, ""),
    awsRegion,
    memorydbEndpoint,
    secretLabels,
    help: values.help === true,
  };
}
