// The operator as a service, what one process runs: the probes and metrics endpoints, leader
// election, and the operator (operator.ts) while leading. `main.ts` runs it; tests run several
// in one process.
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { KubeConfig } from "@kubernetes/client-node";
import type { Config } from "./config.ts";
import { LeaderElector } from "./kube/leader.ts";
import { WATCH_TIMINGS } from "./kube/watch-timings.ts";
import { type EndpointServer, serve } from "./observability/endpoints.ts";
import type { Logger } from "./observability/log.ts";
import { Metrics } from "./observability/metrics.ts";
import { type Operator, type OperatorOptions, startOperator } from "./operator.ts";

/**
 * A watch the API server has not answered for this many idle timeouts (5 minutes: no list, no
 * event or bookmark, no watch that stayed open) fails /healthz. A healthy quiet watch is
 * answered at least once per idle timeout; a watch that keeps failing is not answered at all.
 */
const STALE_IDLE_TIMEOUTS = 10;

export interface ServiceOptions {
  /**
   * Leader election identity; default POD_NAME (or the host name) + "_" + a random UUID, as
   * controller-runtime does: two processes with one name must never both hold the Lease.
   */
  identity?: string;
  /** What to do when leadership is lost or the operator cannot start; default: exit 1. */
  onFatal?: (reason: string) => void;
  watch?: OperatorOptions["watch"];
  /** Lease timings (tests shorten them); default client-go's. */
  lease?: { leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
}

export class Service {
  readonly metrics = new Metrics();
  readonly #config: Config;
  readonly #kc: KubeConfig;
  readonly #log: Logger;
  readonly #options: ServiceOptions;
  #operator: Operator | undefined;
  #starting: Promise<void> | undefined;
  /** Aborted by stop(): ends a start-up still in progress. */
  readonly #stopping = new AbortController();
  #elector: LeaderElector | undefined;
  #servers: EndpointServer[] = [];
  metricsPort: number | undefined;
  probePort: number | undefined;

  constructor(config: Config, kc: KubeConfig, logger: Logger, options: ServiceOptions = {}) {
    this.#config = config;
    this.#kc = kc;
    this.#log = logger;
    this.#options = options;
  }

  get operator(): Operator | undefined {
    return this.#operator;
  }

  get isLeader(): boolean {
    return this.#elector ? this.#elector.isLeader : this.#operator !== undefined;
  }

  /** Nothing to do: a standby replica, or an operator that has listed and has nothing queued or reconciling. */
  get idle(): boolean {
    if (this.#operator) return this.#operator.idle;
    return this.#elector !== undefined && !this.#elector.isLeader;
  }

  /** Reconciles started so far (by this process's operator, while it leads). */
  get reconciles(): number {
    return this.#operator?.reconciles ?? 0;
  }

  /** Why the process is unhealthy, if it is: its watches have gone silent. */
  healthz(): string | undefined {
    const op = this.#operator;
    if (!op) return undefined;
    const silentMs = performance.now() - op.lastWatchContact;
    const staleMs = STALE_IDLE_TIMEOUTS * (this.#options.watch ?? WATCH_TIMINGS).idleTimeoutMs;
    return silentMs > staleMs ? `watch stale: no answer from the API server for ${Math.round(silentMs / 1000)} s` : undefined;
  }

  /** Ready once the caches are synced; a standby replica is ready to take over. */
  readyz(): string | undefined {
    if (this.#elector && !this.#elector.isLeader) return undefined;
    if (!this.#operator) return "starting";
    return this.#operator.hasSynced ? undefined : "caches not synced yet";
  }

  async start(): Promise<void> {
    const probes = this.#config.healthProbeBindAddress;
    if (probes) {
      const s = await serve(probes, { checks: { "/healthz": () => this.healthz(), "/readyz": () => this.readyz() } });
      this.#servers.push(s);
      this.probePort = s.port;
    }
    const metrics = this.#config.metricsBindAddress;
    if (metrics) {
      const s = await serve(metrics, { metrics: this.metrics.registry });
      this.#servers.push(s);
      this.metricsPort = s.port;
    }
    if (!this.#config.leaderElect) {
      await this.#startOperator();
      return;
    }
    const identity = this.#options.identity ?? `${process.env.POD_NAME ?? hostname()}_${randomUUID()}`;
    const lease = this.#config.leaderElectionId;
    this.#elector = new LeaderElector(
      this.#kc,
      { namespace: this.#config.leaderElectionNamespace!, name: lease, identity, ...this.#options.lease },
      this.#log,
    );
    this.metrics.leader(lease, false);
    void this.#elector.run({
      onStartedLeading: () => {
        this.#starting = this.#startOperator().catch((err: Error) => {
          if (!this.#stopping.signal.aborted) this.#fatal(`cannot start: ${err.message}`);
        });
      },
      onStoppedLeading: () => this.#fatal("leadership lost"),
      onChange: (leading) => this.metrics.leader(lease, leading),
    });
  }

  async #startOperator(): Promise<void> {
    const operator = await startOperator(this.#config, this.#kc, this.#log, {
      metrics: this.metrics,
      signal: this.#stopping.signal,
      ...(this.#options.watch ? { watch: this.#options.watch } : {}),
    });
    this.#operator = operator;
  }

  #fatal(reason: string): void {
    this.#log.error(`stopping: ${reason}`);
    // Stop reconciling at once: another replica may already be leading.
    void this.#operator?.stop();
    (this.#options.onFatal ?? (() => process.exit(1)))(reason);
  }

  /**
   * Stop at any phase: end a start-up in progress, finish in-flight reconciles (bounded by the
   * shutdown timeout, then cancelled), hand back the lease, close the endpoints.
   */
  async stop(): Promise<boolean> {
    this.#stopping.abort();
    await this.#starting?.catch(() => undefined);
    const finished = (await this.#operator?.stop()) ?? true;
    // With a reconcile still running, a successor must wait for the lease to expire instead.
    await this.#elector?.stop({ release: finished });
    await Promise.all(this.#servers.map((s) => s.close()));
    return finished;
  }
}
