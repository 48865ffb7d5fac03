// npm run chaos: the chaos suite (docs/reliability.md). Prints the figures, one per line, each
// PASS or FAIL against its target; exits 1 when one fails, 2 on a usage error.
//
//   npm run chaos -- --users 500 --kills 6 --seed 42
import { type ChaosOptions, parseArgs, usage } from "./lib.ts";
import { runChaos } from "./suite.ts";

let options: ChaosOptions | "help";
try {
  options = parseArgs(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n\n${usage()}\n`);
  process.exit(2);
}
if (options === "help") {
  process.stdout.write(`${usage()}\n`);
  process.exit(0);
}
const progress = (msg: string) => process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
progress(
  `seed ${options.seed}: ${options.users} users, ${options.namespaces} namespaces, ${options.kills} kills, time scale ${options.timeScale}`,
);
const result = await runChaos(options, progress);
process.stdout.write(`${result.report}\n`);
process.exit(result.pass ? 0 : 1);
