// The operator process: configuration, then the service until SIGTERM/SIGINT (main.ts starts it),
// with the memory of each burst of work given back once idle (idle-gc.ts).

import { type Config, loadConfig } from "./config.ts";
import { ConfigError } from "./config-values.ts";
import { collectWhenIdle } from "./idle-gc.ts";
import { loadKubeConfig } from "./kube/config.ts";
import { createLogger } from "./observability/log.ts";
import { Service } from "./service.ts";

async function main(): Promise<number> {
  let config: Config;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`memorydb-user-operator: ${(err as Error).message}\n`);
    return 2;
  }
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  // Listen for the signal before starting: SIGTERM may come at any phase, start-up included.
  const stopRequested = new Promise<string>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  let app: Service;
  try {
    app = new Service(config, loadKubeConfig(config.kubeconfig), logger);
    const started = await Promise.race([app.start().then(() => undefined), stopRequested]);
    if (started !== undefined) return shutDown(app, started, config.shutdownTimeoutMs, logger);
  } catch (err) {
    logger.error(err instanceof ConfigError ? err.message : `start failed: ${(err as Error).message}`);
    return 1;
  }
  const idleGc = collectWhenIdle(app, logger, () => app.metrics.idleCollected());
  const signal = await stopRequested;
  idleGc.stop();
  return shutDown(app, signal, config.shutdownTimeoutMs, logger);
}

async function shutDown(app: Service, signal: string, timeoutMs: number, logger: ReturnType<typeof createLogger>): Promise<number> {
  logger.info("shutting down", { signal });
  // A last resort: every step of stop() is bounded, but the pod must be gone before SIGKILL.
  setTimeout(() => {
    logger.error("shutdown did not finish in time; exiting");
    process.exit(1);
  }, timeoutMs + 4000).unref();
  const finished = await app.stop();
  logger.info(finished ? "stopped" : "stopped with reconciles still running");
  return 0;
}

process.exitCode = await main();
// Idle keep-alive sockets must not hold the process open after a clean shutdown.
setTimeout(() => process.exit(), 1000).unref();
