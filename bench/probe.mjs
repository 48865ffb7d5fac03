// Loaded into the operator's process by the benchmark only (`node --expose-gc --import
// bench/probe.mjs src/main.ts`), never by the operator itself: on SIGUSR2 it collects garbage and
// writes the process's memory (and whether Node's TypeScript stripper is loaded) to stderr, so
// that the bench can tell live heap from garbage; with BENCH_HEAP_SNAPSHOT_DIR set it also writes
// a heap snapshot there (to see where memory goes).
// Plain JavaScript, so that it does not load Node's TypeScript stripper into a process running
// the built operator (dist/main.js), which does not need it.
import { join } from "node:path";
import { writeHeapSnapshot } from "node:v8";

process.on("SIGUSR2", () => {
  const gc = globalThis.gc;
  gc?.();
  gc?.();
  const dir = process.env.BENCH_HEAP_SNAPSHOT_DIR;
  if (dir) writeHeapSnapshot(join(dir, `operator-${process.pid}-${Date.now()}.heapsnapshot`));
  // Whether Node has loaded its TypeScript stripper (amaro) into this process.
  const stripper = process.moduleLoadList.some((m) => m.includes("amaro"));
  process.stderr.write(`BENCH-PROBE ${JSON.stringify({ ...process.memoryUsage(), stripper })}\n`);
});
