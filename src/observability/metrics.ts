// Prometheus metrics with controller-runtime's names, so existing dashboards and alerts for
// Kubernetes controllers work unchanged, plus the operator's MemoryDB API calls.
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { QueueObserver } from "../controller/queue.ts";

export const CONTROLLER = "memorydbuser";

export type ReconcileResult = "success" | "error" | "requeue" | "requeue_after";

export class Metrics {
  readonly registry = new Registry();
  readonly #reconcileTotal = new Counter({
    name: "controller_runtime_reconcile_total",
    help: "Total number of reconciliations per controller",
    labelNames: ["controller", "result"],
    registers: [this.registry],
  });
  readonly #reconcileErrors = new Counter({
    name: "controller_runtime_reconcile_errors_total",
    help: "Total number of reconciliation errors per controller",
    labelNames: ["controller"],
    registers: [this.registry],
  });
  readonly #reconcileTime = new Histogram({
    name: "controller_runtime_reconcile_time_seconds",
    help: "Length of time per reconciliation per controller",
    labelNames: ["controller"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly #activeWorkers = new Gauge({
    name: "controller_runtime_active_workers",
    help: "Number of currently used workers per controller",
    labelNames: ["controller"],
    registers: [this.registry],
  });
  readonly #depth = new Gauge({
    name: "workqueue_depth",
    help: "Current depth of workqueue",
    labelNames: ["name"],
    registers: [this.registry],
  });
  readonly #adds = new Counter({
    name: "workqueue_adds_total",
    help: "Total number of adds handled by workqueue",
    labelNames: ["name"],
    registers: [this.registry],
  });
  readonly #retries = new Counter({
    name: "workqueue_retries_total",
    help: "Total number of retries handled by workqueue",
    labelNames: ["name"],
    registers: [this.registry],
  });
  readonly #leader = new Gauge({
    name: "leader_election_master_status",
    help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master",
    labelNames: ["name"],
    registers: [this.registry],
  });
  readonly #awsCalls = new Counter({
    name: "memorydb_api_calls_total",
    help: "MemoryDB API calls by operation and outcome (success, the AWS error code, or AssumeRole:<STS code> when a mapped account's role could not be assumed)",
    labelNames: ["operation", "outcome"],
    registers: [this.registry],
  });
  readonly #awsLatency = new Histogram({
    name: "memorydb_api_call_duration_seconds",
    help: "MemoryDB API call latency by operation",
    labelNames: ["operation"],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly #eventsDropped = new Counter({
    name: "memorydb_operator_events_dropped_total",
    help: "Kubernetes Events the operator could not record, by why (rejected, retries_exhausted, queue_full)",
    labelNames: ["reason"],
    registers: [this.registry],
  });

  readonly #passwordsSent = new Counter({
    name: "memorydb_operator_password_updates_total",
    help: "UpdateUser calls that set passwords, by why: changed (a Secret's value changed), uncertain (sent again after an interruption), unknown (no verifier to compare with: adoption, another key)",
    labelNames: ["why"],
    registers: [this.registry],
  });

  readonly #resources = new Gauge({
    name: "memorydb_operator_resources",
    help: "MemoryDBUser resources by namespace and by the status and reason of their Ready and Synced conditions, as their status reports them (no condition yet: Unknown with an empty reason)",
    // Not "namespace": a scrape sets that label to the operator's own namespace.
    labelNames: ["resource_namespace", "condition", "status", "reason"],
    registers: [this.registry],
  });
  readonly #conditions = new ConditionCounts(this.#resources);

  readonly #idleCollections = new Counter({
    name: "memorydb_operator_idle_collections_total",
    help: "Memory-reducing garbage collections run once the operator was idle after work, returning that work's memory to the system",
    registers: [this.registry],
  });

  /** Counts the resources whose scheduled rotation is past due, at each scrape (the operator sets it). */
  #countOverdue: () => number = () => 0;
  readonly #rotationsOverdue: Gauge = new Gauge({
    name: "memorydb_operator_password_rotations_overdue",
    help: "MemoryDBUsers whose scheduled password rotation (generatePassword.rotateEvery) is past due: nextRotationTime has passed and no rotation has completed since",
    registers: [this.registry],
    collect: () => this.#rotationsOverdue.set(this.#countOverdue()),
  });

  constructor() {
    // Series exist from the start (as controller-runtime does), so rate() and alerts see zeros.
    for (const result of ["success", "error", "requeue", "requeue_after"] as const)
      this.#reconcileTotal.inc({ controller: CONTROLLER, result }, 0);
    this.#reconcileErrors.inc({ controller: CONTROLLER }, 0);
    this.#adds.inc({ name: CONTROLLER }, 0);
    this.#retries.inc({ name: CONTROLLER }, 0);
    this.#activeWorkers.set({ controller: CONTROLLER }, 0);
    this.#depth.set({ name: CONTROLLER }, 0);
    for (const reason of ["rejected", "retries_exhausted", "queue_full"]) this.#eventsDropped.inc({ reason }, 0);
    for (const why of ["changed", "uncertain", "unknown"]) this.#passwordsSent.inc({ why }, 0);
  }

  /** The conditions a resource's status now reports (from the watch), or undefined once it is gone. */
  resourceConditions(key: string, resource: { namespace: string; conditions: readonly ConditionLike[] } | undefined): void {
    this.#conditions.set(key, resource);
  }

  countRotationsOverdue(count: () => number): void {
    this.#countOverdue = count;
  }

  passwordsSent(why: string): void {
    this.#passwordsSent.inc({ why });
  }

  eventDropped(reason: string): void {
    this.#eventsDropped.inc({ reason });
  }

  queueObserver(): QueueObserver {
    return {
      onAdd: () => this.#adds.inc({ name: CONTROLLER }),
      onRetry: () => this.#retries.inc({ name: CONTROLLER }),
      onDepth: (depth) => this.#depth.set({ name: CONTROLLER }, depth),
    };
  }

  reconcileStarted(): () => void {
    this.#activeWorkers.inc({ controller: CONTROLLER });
    const end = this.#reconcileTime.startTimer({ controller: CONTROLLER });
    return () => {
      end();
      this.#activeWorkers.dec({ controller: CONTROLLER });
    };
  }

  reconciled(result: ReconcileResult): void {
    this.#reconcileTotal.inc({ controller: CONTROLLER, result });
    if (result === "error") this.#reconcileErrors.inc({ controller: CONTROLLER });
  }

  awsCall(operation: string, outcome: string, ms: number): void {
    this.#awsCalls.inc({ operation, outcome });
    this.#awsLatency.observe({ operation }, ms / 1000);
  }

  idleCollected(): void {
    this.#idleCollections.inc();
  }

  leader(name: string, leading: boolean): void {
    this.#leader.set({ name }, leading ? 1 : 0);
  }
}

export interface ConditionLike {
  type: string;
  status: string;
  reason?: string | undefined;
}

const COUNTED_CONDITIONS = ["Ready", "Synced"] as const;

/**
 * Resources per (namespace, condition, status, reason): what each resource last counted under
 * is remembered, so a change moves one resource from one series to another in O(1), at any
 * number of resources. A series that falls to zero is removed (an alert on it resolves).
 */
class ConditionCounts {
  readonly #gauge: Gauge;
  readonly #of = new Map<string, string[]>();
  readonly #counts = new Map<string, number>();

  constructor(gauge: Gauge) {
    this.#gauge = gauge;
  }

  set(key: string, resource: { namespace: string; conditions: readonly ConditionLike[] } | undefined): void {
    const next = resource
      ? COUNTED_CONDITIONS.map((type) => {
          const c = resource.conditions.find((x) => x.type === type);
          return JSON.stringify([resource.namespace, type, c?.status ?? "Unknown", c?.reason ?? ""]);
        })
      : [];
    const previous = this.#of.get(key) ?? [];
    if (previous.length === next.length && previous.every((p, i) => p === next[i])) return;
    for (const series of previous) this.#add(series, -1);
    for (const series of next) this.#add(series, 1);
    if (resource) this.#of.set(key, next);
    else this.#of.delete(key);
  }

  #add(series: string, by: number): void {
    const [namespace, condition, status, reason] = JSON.parse(series) as string[];
    const labels = { resource_namespace: namespace!, condition: condition!, status: status!, reason: reason! };
    const count = (this.#counts.get(series) ?? 0) + by;
    if (count > 0) {
      this.#counts.set(series, count);
      this.#gauge.set(labels, count);
    } else {
      this.#counts.delete(series);
      this.#gauge.remove(labels);
    }
  }
}
