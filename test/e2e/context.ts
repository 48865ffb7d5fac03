// What a step works with: names under the run's prefix, kubectl and client-node calls bound to
// the step's deadline and interruption, waits that say what they last saw when they time out,
// and the cleanup every step gets whether it passed, failed or was interrupted.
import { type Cluster, FINALIZER, type KubeEvent, type MdbUser, RUN_LABEL } from "./kube.ts";
import { secretManifest, type UserSpec, userManifest } from "./manifests.ts";
import type { MemoryDBView, UserState } from "./memorydb.ts";
import type { Redactor } from "./report.ts";

/** What every step shares. */
export interface Env {
  cluster: Cluster;
  /** Direct MemoryDB checks, when --emulator-url or --aws-region was given. */
  memorydb: MemoryDBView | undefined;
  redactor: Redactor;
  prefix: string;
  namespace: string;
  timeoutMs: number;
  /** Extra labels of every Secret (--secret-labels). */
  secretLabels: Record<string, string>;
  /** Aborted by the first SIGINT: steps stop. */
  runSignal: AbortSignal;
  /** Aborted by a second SIGINT: cleanup stops too. */
  cleanupSignal: AbortSignal;
}

export class Interrupted extends Error {
  override name = "Interrupted";
  constructor() {
    super("interrupted");
  }
}

const POLL_MS = 300;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Interrupted());
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Interrupted());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

export function condition(user: MdbUser | undefined, type: string) {
  return user?.status?.conditions?.find((c) => c.type === type);
}

/** Ready and Synced True for the current generation: the operator has applied this spec. */
export function inSync(user: MdbUser): boolean {
  const gen = user.metadata.generation;
  const ok = (type: string) => {
    const c = condition(user, type);
    return c?.status === "True" && (c.observedGeneration === undefined || c.observedGeneration === gen);
  };
  return user.status?.observedGeneration === gen && ok("Ready") && ok("Synced");
}

/** One line on a resource's state, for failure messages. */
export function describeUser(user: MdbUser | undefined): string {
  if (!user) return "the MemoryDBUser does not exist";
  const conds = (user.status?.conditions ?? []).map((c) => `${c.type}=${c.status}/${c.reason ?? ""}${c.message ? ` "${c.message}"` : ""}`);
  const parts = [
    `generation ${user.metadata.generation ?? "?"}, observedGeneration ${user.status?.observedGeneration ?? "none"}`,
    conds.length > 0 ? conds.join(", ") : "no conditions",
    user.status?.status ? `MemoryDB status ${user.status.status}` : "",
    user.metadata.deletionTimestamp ? `deleting (finalizers ${JSON.stringify(user.metadata.finalizers ?? [])})` : "",
  ];
  return parts.filter((p) => p).join("; ");
}

/** Every step's handle on the cluster and on MemoryDB. */
export class StepContext {
  readonly env: Env;
  readonly step: string;
  /** MemoryDBUsers (metadata.name → spec.userName) this step applied. */
  readonly users = new Map<string, string>();
  /** Step-specific cleanups, run last-in first-out before the generic one. */
  readonly cleanups: Array<() => Promise<void>> = [];
  deadline: number;
  signal: AbortSignal;

  constructor(env: Env, step: string) {
    this.env = env;
    this.step = step;
    this.deadline = Date.now() + env.timeoutMs;
    this.signal = env.runSignal;
  }

  get ns(): string {
    return this.env.namespace;
  }

  get cluster(): Cluster {
    return this.env.cluster;
  }

  get memorydb(): MemoryDBView | undefined {
    return this.env.memorydb;
  }

  /** `<prefix>-<suffix>`: a name for objects and MemoryDB users of this run only. */
  name(suffix: string): string {
    return `${this.env.prefix}-${suffix}`;
  }

  password(length?: number): string {
    return this.env.redactor.password(length);
  }

  remainingMs(): number {
    return Math.max(0, this.deadline - Date.now());
  }

  /** The step's cleanup phase: a fresh budget, and only a second SIGINT stops it. */
  enterCleanup(): void {
    this.deadline = Date.now() + this.env.timeoutMs;
    this.signal = this.env.cleanupSignal;
  }

  #check(): void {
    if (this.signal.aborted) throw new Interrupted();
  }

  /** Polls `probe` until it answers `{ ok }`; on timeout the error says what it last saw. */
  async until<T>(what: string, probe: () => Promise<{ ok: T } | { wait: string }>): Promise<T> {
    let last = "nothing observed yet";
    for (;;) {
      this.#check();
      const r = await probe();
      if ("ok" in r) return r.ok;
      last = r.wait;
      if (Date.now() >= this.deadline)
        throw new Error(`timed out after ${Math.round(this.env.timeoutMs / 1000)}s waiting for ${what}; last seen: ${last}`);
      await sleep(Math.min(POLL_MS, Math.max(10, this.remainingMs())), this.signal);
    }
  }

  async kubectl(args: string[], input?: string): Promise<string> {
    this.#check();
    return this.cluster.ok(args, {
      signal: this.signal,
      timeoutMs: this.remainingMs() + 15_000,
      ...(input === undefined ? {} : { input }),
    });
  }

  async applySecret(name: string, values: Record<string, string>): Promise<void> {
    this.#check();
    const run = await this.cluster.apply([secretManifest(this.ns, name, this.env.prefix, values, this.env.secretLabels)], {
      signal: this.signal,
      timeoutMs: this.remainingMs() + 15_000,
    });
    if (run.code !== 0) throw new Error(`kubectl apply of Secret ${name} failed: ${run.stderr.trim()}`);
  }

  async applyUser(name: string, spec: UserSpec): Promise<void> {
    this.#check();
    this.users.set(name, spec.userName);
    const run = await this.cluster.apply([userManifest(this.ns, name, this.env.prefix, spec)], {
      signal: this.signal,
      timeoutMs: this.remainingMs() + 15_000,
    });
    if (run.code !== 0) throw new Error(`kubectl apply of MemoryDBUser ${name} failed: ${run.stderr.trim()}`);
  }

  async user(name: string): Promise<MdbUser> {
    const u = await this.cluster.getUser(this.ns, name);
    if (!u) throw new Error(`MemoryDBUser ${this.ns}/${name} does not exist`);
    return u;
  }

  async secretVersion(name: string): Promise<string> {
    const v = await this.cluster.secretVersion(this.ns, name);
    if (!v) throw new Error(`Secret ${this.ns}/${name} does not exist`);
    return v;
  }

  /** `kubectl wait --for=condition=Ready`, then Ready and Synced for the current generation. */
  async waitReady(name: string): Promise<MdbUser> {
    const seconds = Math.max(1, Math.floor(this.remainingMs() / 1000));
    const run = await this.cluster.kubectl(["wait", "--for=condition=Ready", `mdbu/${name}`, "-n", this.ns, `--timeout=${seconds}s`], {
      signal: this.signal,
      timeoutMs: seconds * 1000 + 15_000,
    });
    if (run.code !== 0) {
      const state = describeUser(await this.cluster.getUser(this.ns, name));
      throw new Error(`kubectl wait --for=condition=Ready mdbu/${name} failed (${run.stderr.trim()}); last seen: ${state}`);
    }
    return this.waitInSync(name);
  }

  /** Ready and Synced True for the resource's current generation (after an edit of the spec). */
  async waitInSync(name: string): Promise<MdbUser> {
    return this.until<MdbUser>(`MemoryDBUser ${name} to be Ready and Synced for its current generation`, async () => {
      const u = await this.cluster.getUser(this.ns, name);
      return u && inSync(u) ? { ok: u } : { wait: describeUser(u) };
    });
  }

  /** Ready=False with `reason`, for the current generation. */
  async waitReason(name: string, reason: string): Promise<MdbUser> {
    return this.until<MdbUser>(`MemoryDBUser ${name} to report Ready=False reason ${reason}`, async () => {
      const u = await this.cluster.getUser(this.ns, name);
      const c = condition(u, "Ready");
      const current = u !== undefined && u.status?.observedGeneration === u.metadata.generation;
      return u && current && c?.status === "False" && c.reason === reason ? { ok: u } : { wait: describeUser(u) };
    });
  }

  /** An Event about `name` with this reason (and type), not among `seen`, that passes `test`. */
  async waitEvent(
    name: string,
    reason: string,
    opts: { type?: "Normal" | "Warning"; seen?: ReadonlySet<string>; test?: (e: KubeEvent) => boolean } = {},
  ): Promise<KubeEvent> {
    const type = opts.type ?? "Normal";
    return this.until<KubeEvent>(`a ${type} Event ${reason} on MemoryDBUser ${name}`, async () => {
      const events = await this.cluster.events(this.ns, name);
      const hit = events.find((e) => e.reason === reason && e.type === type && !opts.seen?.has(e.name) && (opts.test?.(e) ?? true));
      if (hit) return { ok: hit };
      const list = events.map((e) => `${e.type} ${e.reason} "${e.message}"`);
      return { wait: list.length > 0 ? `Events: ${list.join("; ")}` : "no Events on the resource" };
    });
  }

  /** The names of the Events about `name` so far (to wait for a new one later). */
  async eventNames(name: string): Promise<Set<string>> {
    return new Set((await this.cluster.events(this.ns, name)).map((e) => e.name));
  }

  /** `kubectl delete`, which waits until the finalizer is gone (or the step's time is up). */
  async deleteUser(name: string): Promise<void> {
    const seconds = Math.max(1, Math.floor(this.remainingMs() / 1000));
    const run = await this.cluster.kubectl(["delete", "mdbu", name, "-n", this.ns, `--timeout=${seconds}s`], {
      signal: this.signal,
      timeoutMs: seconds * 1000 + 15_000,
    });
    if (run.code !== 0) {
      const state = describeUser(await this.cluster.getUser(this.ns, name));
      throw new Error(`kubectl delete mdbu/${name} failed (${run.stderr.trim()}); last seen: ${state}`);
    }
  }

  /** The MemoryDB user as the direct view sees it, polled until `test` holds. */
  async waitMemoryDB(userName: string, what: string, test: (u: UserState | undefined) => boolean): Promise<UserState | undefined> {
    const view = this.memorydb!;
    return this.until(`MemoryDB user ${userName} ${what} (${view.description})`, async () => {
      const u = await view.user(userName);
      return test(u) ? { ok: u } : { wait: u ? JSON.stringify(u) : "no such MemoryDB user" };
    });
  }
}

/**
 * Deletes MemoryDBUsers and waits for their finalizers. A resource still set to Retain is
 * switched to Delete first: cleanup must not leave MemoryDB users behind. Finalizers are never
 * removed by hand (that would leave the MemoryDB user behind silently); a stuck one fails.
 */
export async function removeUsers(ctx: StepContext, names: string[]): Promise<void> {
  const { cluster, ns } = ctx;
  const existing = (await Promise.all(names.map((n) => cluster.getUser(ns, n)))).filter((u): u is MdbUser => u !== undefined);
  if (existing.length === 0) return;
  for (const u of existing) {
    if (u.spec.deletionPolicy !== "Delete") {
      await ctx.kubectl(["patch", "mdbu", u.metadata.name, "-n", ns, "--type", "merge", "-p", '{"spec":{"deletionPolicy":"Delete"}}']);
    }
  }
  await ctx.kubectl(["delete", "mdbu", ...existing.map((u) => u.metadata.name), "-n", ns, "--ignore-not-found", "--wait=false"]);
  await ctx.until(`the deletion of MemoryDBUser(s) ${existing.map((u) => u.metadata.name).join(", ")}`, async () => {
    const left = (await Promise.all(existing.map((u) => cluster.getUser(ns, u.metadata.name)))).filter(
      (u): u is MdbUser => u !== undefined,
    );
    return left.length === 0 ? { ok: true } : { wait: left.map((u) => `${u.metadata.name}: ${describeUser(u)}`).join(" || ") };
  });
}

/** After the resources are gone, their MemoryDB users must be gone too (when we can look). */
export async function checkNothingLeft(ctx: StepContext, userNames: string[]): Promise<void> {
  const view = ctx.memorydb;
  if (!view) return;
  for (const userName of new Set(userNames)) {
    const u = await view.user(userName);
    if (u) throw new Error(`MemoryDB user ${userName} still exists (${u.status}) after its MemoryDBUser(s) were deleted`);
  }
}

/** Whether a MemoryDBUser still carries the operator's finalizer. */
export function hasFinalizer(user: MdbUser): boolean {
  return user.metadata.finalizers?.includes(FINALIZER) ?? false;
}

export const runSelector = (prefix: string) => `${RUN_LABEL}=${prefix}`;
