// Loaded into the operator's process by the benchmark only (`node --expose-gc --import
// bench/probe.ts src/main.ts`), never by the operator itself: on SIGUSR2 it collects garbage and
// writes the process's memory to stderr, so that the bench can tell live heap from garbage.
process.on("SIGUSR2", () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  process.stderr.write(`BENCH-PROBE ${JSON.stringify(process.memoryUsage())}\n`);
});
