// `npm run dev`: the local Kubernetes API server, the MemoryDB emulator and the operator on
// loopback, for trying the operator with the real kubectl. See README "Quickstart".

import { relative } from "node:path";
import { parseArgs } from "node:util";
import { ADOPTABLE_USER, DevEnv, ROOT } from "./dev-env.ts";

const USAGE = `Usage: npm run dev -- [flags]

  --port N                   API server port (env DEV_API_PORT; default 0 = any free port)
  --memorydb-endpoint URL    use this MemoryDB-compatible endpoint instead of the built-in emulator
                             (env DEV_MEMORYDB_ENDPOINT; the operator then uses your AWS credentials)
  --region NAME              AWS region for the operator (env AWS_REGION; default us-east-1)
  --examples                 apply examples/ at start (env DEV_EXAMPLES=1)
  --no-operator              start only the API server and the emulator (npm run controlplane)
  --kubeconfig PATH          where to write the kubeconfig (default .local/kubeconfig)
  --quiet-operator           do not echo the operator's log
`;

function fail(msg: string): never {
  process.stderr.write(`dev: ${msg}\n\n${USAGE}`);
  process.exit(2);
}

let values: Record<string, string | boolean | undefined>;
try {
  values = parseArgs({
    options: {
      port: { type: "string" },
      "memorydb-endpoint": { type: "string" },
      region: { type: "string" },
      examples: { type: "boolean" },
      "no-operator": { type: "boolean" },
      kubeconfig: { type: "string" },
      "quiet-operator": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  }).values;
} catch (err) {
  fail((err as Error).message);
}
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const portText = (values.port as string | undefined) ?? process.env.DEV_API_PORT ?? "0";
if (!/^\d+$/.test(portText) || Number(portText) > 65535) fail(`--port: "${portText}" is not a port number`);
const endpoint = (values["memorydb-endpoint"] as string | undefined) ?? process.env.DEV_MEMORYDB_ENDPOINT;
if (endpoint !== undefined) {
  try {
    new URL(endpoint);
  } catch {
    fail(`--memorydb-endpoint: "${endpoint}" is not a URL`);
  }
}
const examples = values.examples === true || process.env.DEV_EXAMPLES === "1" || process.env.DEV_EXAMPLES === "true";
const withOperator = values["no-operator"] !== true;
const region = (values.region as string | undefined) ?? (endpoint ? process.env.AWS_REGION : undefined);

const env = await DevEnv.start({
  port: Number(portText),
  ...(endpoint ? { memorydbEndpoint: endpoint } : {}),
  ...(region ? { region } : {}),
  examples,
  operator: withOperator,
  ...(values.kubeconfig ? { kubeconfigPath: values.kubeconfig as string } : {}),
  ...(values["quiet-operator"] ? {} : { onOperatorLine: (l: string) => process.stdout.write(`[operator] ${l}\n`) }),
}).catch((err: Error) => fail(`could not start: ${err.message}`));

const rel = relative(process.cwd(), env.kubeconfigPath);
const kc = rel && !rel.startsWith("..") ? rel : env.kubeconfigPath;
const emu = env.emulator
  ? `${env.emulator.endpoint} (built-in emulator; seeded user "${ADOPTABLE_USER.name}" for examples/adopt-existing.yaml)`
  : `${env.memorydbEndpoint} (external)`;
process.stdout.write(`
Local control plane is up${withOperator ? " with the operator running" : " (no operator)"}.
  Kubernetes API: ${env.kube.url}
  MemoryDB:       ${emu}
kubeconfig: ${env.kubeconfigPath}

Try (in another terminal, from ${relative(process.cwd(), ROOT) || "."}):
  export KUBECONFIG=${kc}
  kubectl apply -f examples/password-user.yaml
  kubectl get mdbu -n team-a
  kubectl wait --for=condition=Ready mdbu/app-user -n team-a
  kubectl describe mdbu app-user -n team-a
  kubectl delete mdbu app-user -n team-a
${
  env.emulator
    ? `  curl -s ${env.emulator.endpoint}/_emulator/users    # what "AWS" holds now
  curl -s -d '{"userName":"app-user","password":"..."}' ${env.emulator.endpoint}/_emulator/auth    # would a Redis AUTH succeed?\n`
    : ""
}
Ctrl-C stops everything.
`);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  process.stdout.write(`\n${signal}: stopping the operator, the API server and the emulator...\n`);
  await env.stop();
  process.stdout.write("stopped\n");
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
env.operator?.once("exit", (code, sig) => {
  if (!stopping)
    process.stdout.write(
      `[dev] the operator exited (${sig ?? `code ${code}`}); the API server and emulator keep running. Ctrl-C to stop.\n`,
    );
});
