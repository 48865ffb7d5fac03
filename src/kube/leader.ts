// Lease-based leader election with client-go's semantics: lease 15 s, renew deadline 10 s,
// retry 2 s; optimistic concurrency on the Lease (a stale update is a 409, never a takeover).
// Every decision is timed on the monotonic clock: expiry counts from when this process saw the
// record last change, and the renew deadline from its last successful renew, so neither clock
// skew between candidates nor a step of the wall clock can make two leaders or a false loss.
// The wall clock only fills the Lease's timestamps, which are for people.
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "../observability/log.ts";
import { microTime } from "./api.ts";
import { KubeClient, type KubeRequest } from "./client.ts";
import { httpStatus } from "./request.ts";

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface LeaderCallbacks {
  onStartedLeading(): void | Promise<void>;
  /** Leadership was lost (not given up at shutdown): the process must stop reconciling now. */
  onStoppedLeading(): void;
  onChange?(leading: boolean): void;
}

/** A coordination.k8s.io/v1 Lease, as far as election reads and writes it. */
interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** The parts of a Lease record that decide who leads. */
interface LeaseRecord {
  holder: string;
  durationMs: number;
  renewTime: string;
  resourceVersion: string | undefined;
}

export class LeaderElector {
  /**
   * A client of its own, not rate-limited: a renew every retry period must never wait behind a
   * burst of reconciles (controller-runtime gives leader election its own client too).
   */
  readonly #client: KubeClient;
  readonly #options: Required<LeaderElectionOptions>;
  readonly #log: Logger;
  #leading = false;
  #stopped = false;
  /** The record last seen, and when it was first seen (monotonic ms). */
  #observed: { key: string; at: number } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;

  constructor(kc: KubeConfig, options: LeaderElectionOptions, logger: Logger) {
    this.#client = new KubeClient(kc);
    this.#options = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...options };
    this.#log = logger.child({ lease: `${options.namespace}/${options.name}`, identity: options.identity });
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  /** Campaign until leading, then renew until stopped or leadership is lost. */
  async run(callbacks: LeaderCallbacks): Promise<void> {
    let acquired = false;
    while (!this.#stopped) {
      acquired = await this.#tryAcquireOrRenew();
      if (acquired) break;
      await this.#sleep(this.#jittered());
    }
    if (this.#stopped) {
      // Stopped while an acquire was in flight: hand back what it may have won.
      if (acquired) await this.#release();
      return;
    }
    let lastRenew = performance.now();
    this.#leading = true;
    callbacks.onChange?.(true);
    this.#log.info("became leader");
    await callbacks.onStartedLeading();
    // A watchdog, not the renew loop, enforces the deadline: a renew request that hangs (a
    // partitioned network) must not keep this replica leading past it.
    const lost = new Promise<void>((resolve) => {
      const watchdog = setInterval(
        () => {
          if (this.#stopped) {
            clearInterval(watchdog);
            resolve();
          } else if (performance.now() - lastRenew >= this.#options.renewDeadlineMs) {
            clearInterval(watchdog);
            this.#leading = false;
            callbacks.onChange?.(false);
            this.#log.error("leadership lost: the lease could not be renewed within the renew deadline");
            callbacks.onStoppedLeading();
            this.#stopped = true;
            this.#wake?.();
            resolve();
          }
        },
        Math.max(10, Math.floor(this.#options.retryPeriodMs / 4)),
      );
      watchdog.unref();
    });
    const renewing = (async () => {
      while (!this.#stopped) {
        await this.#sleep(this.#options.retryPeriodMs);
        if (this.#stopped) break;
        const attemptStarted = performance.now();
        if ((await this.#tryAcquireOrRenew()) && this.#leading) lastRenew = attemptStarted;
      }
    })();
    // Done when stopped or lost, even if a renew request is still hanging.
    await Promise.race([renewing, lost]);
  }

  /** Stop campaigning; a leader hands the lease back (unless told not to) so a successor need not wait. */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    if (!this.#leading) return;
    this.#leading = false;
    if (options.release === false) return;
    await this.#release();
  }

  /** A Lease request, bounded: a hanging API server must not hold up a renew or a shutdown. */
  #lease(what: string, req: Omit<KubeRequest, "path" | "signal">, name?: string): Promise<Lease> {
    const collection = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.#options.namespace)}/leases`;
    return this.#client.request<Lease>(what, {
      ...req,
      path: name === undefined ? collection : `${collection}/${encodeURIComponent(name)}`,
      signal: AbortSignal.timeout(this.#options.retryPeriodMs * 2),
    });
  }

  async #release(): Promise<void> {
    const { name } = this.#options;
    try {
      const lease = await this.#lease("release the Lease", { method: "GET" }, name);
      if (lease.spec?.holderIdentity !== this.#options.identity) return;
      lease.spec = { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: microTime() };
      await this.#lease("release the Lease", { method: "PUT", body: lease }, name);
      this.#log.info("released the lease");
    } catch (err) {
      this.#log.warn("could not release the lease", { error: (err as Error).message });
    }
  }

  #jittered(): number {
    return Math.round(this.#options.retryPeriodMs * (1 + Math.random() * 1.2));
  }

  async #sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(this.#timer);
        resolve();
      };
    });
  }

  #record(lease: Lease): LeaseRecord {
    return {
      holder: lease.spec?.holderIdentity ?? "",
      durationMs: (lease.spec?.leaseDurationSeconds ?? 0) * 1000,
      renewTime: String(lease.spec?.renewTime ?? ""),
      resourceVersion: lease.metadata?.resourceVersion,
    };
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.#options;
    const now = new Date();
    const seenAt = performance.now();
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.round(this.#options.leaseDurationMs / 1000),
      renewTime: microTime(now),
    };
    try {
      let lease: Lease;
      try {
        lease = await this.#lease("update the Lease", { method: "GET" }, name);
      } catch (err) {
        if (httpStatus(err) !== 404) throw err;
        await this.#lease("update the Lease", {
          method: "POST",
          body: {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { name, namespace },
            spec: { ...spec, acquireTime: microTime(now), leaseTransitions: 0 },
          },
        });
        return true;
      }
      const record = this.#record(lease);
      const key = `${record.holder}|${record.renewTime}|${record.durationMs}`;
      if (this.#observed?.key !== key) this.#observed = { key, at: seenAt };
      const held = record.holder !== "" && record.holder !== identity;
      if (held && this.#observed.at + record.durationMs > seenAt) return false;
      const transitions = lease.spec?.leaseTransitions ?? 0;
      lease.spec = {
        ...lease.spec,
        ...spec,
        ...(record.holder === identity ? {} : { acquireTime: microTime(now), leaseTransitions: transitions + 1 }),
      };
      // The resourceVersion read above makes this a compare-and-swap: a 409 means someone else won.
      await this.#lease("update the Lease", { method: "PUT", body: lease }, name);
      return true;
    } catch (err) {
      // One concise line: the server's status and message.
      if (httpStatus(err) !== 409) this.#log.warn("lease update failed", { error: (err as Error).message });
      return false;
    }
  }
}
