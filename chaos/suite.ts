// The chaos suite: the local control plane with faults on both sides, the operator as its own
// process SIGKILLed at random moments and restarted, a workload of N MemoryDBUsers taken through
// create → converge → rotate one Secret key → delete, and the figures that say whether the
// operator kept its promises. See docs/reliability.md.
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { KubeApiServer } from "../local-control-plane/kube/server.ts";
import { MemoryDBEmulator, normaliseAccessString, type SeedUserInput } from "../local-control-plane/memorydb/emulator.ts";
import { freePort } from "../local-control-plane/ports.ts";
import { type Json, Kube, sleep, type WatchStats, watchForever } from "./kube.ts";
import {
  type AcceptedCall,
  acceptedByUser,
  between,
  type ChaosOptions,
  describeRates,
  expectedPasswords,
  type Figure,
  FlapDetector,
  fmtS,
  judgeUpdates,
  keyedRandom,
  type Leak,
  LeakScanner,
  type ResendCause,
  renderFigures,
  rotatedUsers,
  stream,
  type WorkloadUser,
  workload,
} from "./lib.ts";
import { OperatorProcess } from "./operator.ts";

const CRD_FILE = fileURLToPath(new URL("../crds/memorydb.operators.dev_memorydbusers.yaml", import.meta.url));
const GROUP_PATH = "/apis/memorydb.operators.dev/v1alpha1";
const OWNER_TAG = "memorydb.operators.dev/owner";
/** Where the operator runs, as its Deployment would: its ServiceAccount, its namespace (the verifier key Secret lives there). */
const OPERATOR_NAMESPACE = "memorydb-system";
const OPERATOR_SA = "memorydb-user-operator";
export const OPERATOR_IDENTITY = `system:serviceaccount:${OPERATOR_NAMESPACE}:${OPERATOR_SA}`;
/** Production timings the suite scales: how long MemoryDB keeps a user modifying or deleting (a guess: AWS does not document it). */
const MEMORYDB_MODIFYING_MS = 10_000;
const MEMORYDB_DELETING_MS = 10_000;
/** MemoryDB's latency per call (not scaled: it is not a timing anyone configures). */
const MEMORYDB_LATENCY_MS = 10;
/** The driver's own parallelism creating and deleting resources (a fast kubectl apply). */
const CLIENT_PARALLELISM = 16;
/** Users that exist in MemoryDB before the workload and are nobody's business of the operator. */
const FOREIGN_USERS: SeedUserInput[] = [
  { name: "legacy-reporting", accessString: "on ~reports:* +@read", passwords: ["legacy-password-0000000001"] },
  {
    name: "terraform-batch",
    accessString: "on ~* &* +@all",
    passwords: ["legacy-password-0000000002"],
    tags: { "managed-by": "terraform" },
  },
  {
    name: "other-cluster-app",
    accessString: "on ~app:* +@read",
    passwords: ["legacy-password-0000000003"],
    tags: { [OWNER_TAG]: "another-cluster/team/app/5f0c3a52-9d9e-4d4e-8f41-0d7d2f3c1b11" },
  },
];

type Phase = "create" | "rotate" | "delete";

/** What a run found, as numbers and lists (the figures are made from these). */
export interface ChaosFacts {
  users: number;
  ready: number;
  /** MemoryDB holds what the specs say, for this many users. */
  matching: number;
  /** CreateUser calls that took effect, per workload user (in workload order). */
  createsPerUser: number[];
  /** CreateUser calls whose answer was lost (and that took effect). */
  createsLost: number;
  rotatedUsers: number;
  /** Rotated users whose new password reached MemoryDB and whose status recorded it. */
  rotationRecorded: number;
  /** UpdateUser calls that took effect, minus re-sends in the window, per rotated user. */
  updatesPerRotatedUser: number[];
  /** UpdateUser calls that took effect, per unchanged user. */
  updatesPerUnchangedUser: number[];
  /** Unchanged users of the rotated Secret's other keys, and how many recorded its new version. */
  sharers: number;
  sharersRecorded: number;
  windowResends: { lostAnswer: number; kill: number };
  uncertainScraped: number;
  flaps: number;
  ownWatchExpired: number;
  stuck: string[];
  orphans: string[];
  foreignUntouched: boolean;
  leaks: number;
  crashLines: string[];
  unexpectedExits: number;
  kills: number;
  watchCuts: number;
  memorydbErrors: Record<string, number>;
  kubeStatuses: Record<number, number>;
  shutdownCode: number | null | undefined;
}

export interface ChaosResult {
  figures: Figure[];
  facts: ChaosFacts;
  pass: boolean;
  report: string;
  logDir: string;
}

async function pool<T>(items: readonly T[], parallelism: number, task: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallelism, items.length) }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

const keyOf = (u: { namespace: string; name: string }) => `${u.namespace}/${u.name}`;
const readyOf = (obj: Json) => (obj.status?.conditions as Json[] | undefined)?.find((c) => c.type === "Ready");
const isReady = (obj: Json) => readyOf(obj)?.status === "True" && obj.status?.observedGeneration === obj.metadata?.generation;

/** The kills: K moments spread over the phases, drawn from the seed. */
class Killer {
  readonly plan: Array<{ phase: Phase; at: number; done?: number; label?: string }> = [];
  /** When each kill happened (ms since the epoch). */
  readonly times: number[] = [];
  readonly #op: OperatorProcess;
  readonly #random: () => number;
  #busy: Promise<void> | undefined;

  constructor(op: OperatorProcess, kills: number, seed: number, rotateWindowMs: number) {
    this.#op = op;
    this.#random = stream(seed, "kills");
    const phases: Phase[] = ["create", "rotate", "delete"];
    for (let k = 0; k < kills; k++) {
      const phase = phases[k % 3]!;
      // create and delete: a fraction of the phase's progress; rotate: ms after the Secret write.
      this.plan.push({ phase, at: phase === "rotate" ? Math.round(this.#random() * rotateWindowMs) : this.#random() * 0.9 });
    }
    this.plan.sort((a, b) => phases.indexOf(a.phase) - phases.indexOf(b.phase) || a.at - b.at);
  }

  /** Kills once when the phase's progress reaches the next planned moment. */
  tick(phase: Phase, progress: number, label: string): void {
    if (this.#busy) return;
    const next = this.plan.find((p) => p.phase === phase && p.done === undefined);
    if (!next || progress < next.at) return;
    this.#busy = this.#killOnce(next, label).finally(() => (this.#busy = undefined));
  }

  /** The phase's kills not yet made, now (and waits for every restart). */
  async finish(phase: Phase, label: string): Promise<void> {
    await this.#busy;
    for (const p of this.plan) if (p.phase === phase && p.done === undefined) await this.#killOnce(p, label);
  }

  async #killOnce(p: { done?: number; label?: string }, label: string): Promise<void> {
    p.done = Date.now();
    p.label = label;
    if (!this.#op.running) await sleep(200);
    if (this.#op.running) this.times.push(await this.#op.kill());
    await sleep(Math.round(between(this.#random, 200, 1500)));
    if (!this.#op.running) this.#op.start();
  }

  describe(): string {
    return this.plan.map((p) => `${p.phase} at ${p.label ?? "(not reached)"}`).join("; ");
  }
}

interface Observation {
  at: number;
  pending: boolean;
  /** status.passwordSecrets as name/key@resourceVersion. */
  sources: string[];
}

export async function runChaos(o: ChaosOptions, progress: (msg: string) => void = () => {}): Promise<ChaosResult> {
  const started = Date.now();
  const logDir = o.logDir ?? (await mkdtemp(join(tmpdir(), "mdbu-chaos-")));
  await mkdir(logDir, { recursive: true });
  const ms = (production: number) => Math.max(1, Math.round(production * o.timeScale));
  const w = workload(o.users, o.namespaces, o.seed);
  const rotated = rotatedUsers(w);
  const rotatedKeys = new Set(rotated.map(keyOf));
  const r = o.rates;
  const timings: Array<[string, number]> = [];
  const phaseStart = () => {
    const t = Date.now();
    return (name: string) => timings.push([name, Date.now() - t]);
  };

  // ---- the control plane, with faults on both sides -------------------------------------------
  let done = phaseStart();
  const kube = await KubeApiServer.start({ crdFiles: [CRD_FILE], bookmarkIntervalMs: ms(60_000), watchCacheSize: 1_000_000 });
  const aws = await MemoryDBEmulator.start({
    modifyingMs: ms(MEMORYDB_MODIFYING_MS),
    deletingMs: ms(MEMORYDB_DELETING_MS),
    maxUsers: o.users + 100,
    // Which call meets a fault is decided by the call (user, operation, rate, how many came before).
    random: (() => {
      const draw = keyedRandom(o.seed, "memorydb-faults");
      return (d: { op: string; input: unknown; rate: string }) => {
        const i = (d.input ?? {}) as { UserName?: unknown; ResourceArn?: unknown; NextToken?: unknown };
        return draw(`${d.op} ${String(i.UserName ?? i.ResourceArn ?? i.NextToken ?? "*")} ${d.rate}`);
      };
    })(),
  });
  const admin = new Kube(kube.url, kube.token);
  const statusCounts: Record<number, number> = {};
  /** When a status write of each resource (namespace/name) failed, for the evidence. */
  const failedStatusWrites = new Map<string, Array<{ at: number; status: number }>>();
  {
    const log = kube.requests;
    const push = log.push.bind(log);
    log.push = (...items) => {
      for (const it of items) {
        statusCounts[it.status] = (statusCounts[it.status] ?? 0) + 1;
        const m = /\/namespaces\/([^/]+)\/memorydbusers\/([^/]+)\/status$/.exec(it.path);
        if (m && it.method === "PATCH" && it.status >= 400) {
          const key = `${m[1]}/${m[2]}`;
          failedStatusWrites.set(key, [...(failedStatusWrites.get(key) ?? []), { at: Date.now(), status: it.status }]);
        }
      }
      return push(...items);
    };
  }
  const stopWatch = new AbortController();
  let op: OperatorProcess | undefined;
  let cutTimer: NodeJS.Timeout | undefined;
  try {
    {
      const draw = keyedRandom(o.seed, "kube-faults");
      kube.faults.random = (req) => draw(`${req.method} ${req.path}`);
    }
    const faultsOn = () => {
      aws.faults.latencyMs = MEMORYDB_LATENCY_MS;
      aws.faults.throttleRate = r.awsThrottle;
      aws.faults.serverErrorRate = r.aws5xx;
      aws.faults.resetRate = r.awsReset;
      aws.faults.responseLostRate = r.awsLost;
      aws.faults.responseLostOperations = ["CreateUser", "UpdateUser", "DeleteUser"];
      const user = OPERATOR_IDENTITY;
      for (const method of ["PUT", "PATCH"]) kube.faults.failRate(r.kube409, { status: 409, method, user });
      for (const method of ["POST", "PUT", "PATCH", "DELETE"])
        kube.faults.failRate(r.kube429, { status: 429, method, user, retryAfterSeconds: 1 });
      kube.faults.failRate(r.kube500, { status: 500, method: "GET", watch: false, user });
    };
    let watchCuts = 0;
    const cutRandom = stream(o.seed, "watch-cuts");
    const scheduleCut = () => {
      cutTimer = setTimeout(
        () => {
          kube.faults.dropWatches();
          watchCuts++;
          scheduleCut();
        },
        Math.round(between(cutRandom, r.watchCutMinSeconds, r.watchCutMaxSeconds) * 1000),
      );
    };

    // ---- the workload's namespaces and Secrets; foreign users ---------------------------------
    for (const ns of [OPERATOR_NAMESPACE, ...w.namespaces]) await admin.must("POST", "/api/v1/namespaces", { metadata: { name: ns } });
    await pool(w.secrets, CLIENT_PARALLELISM, (s) =>
      admin.must("POST", `/api/v1/namespaces/${s.namespace}/secrets`, { metadata: { name: s.name }, stringData: s.data }),
    );
    for (const f of FOREIGN_USERS) aws.seedUser(f);
    const foreignBefore = JSON.stringify(FOREIGN_USERS.map((f) => aws.user(f.name)));

    // ---- our own watch of the resources: Ready flaps, what the statuses recorded, leak corpus ---
    const flaps = new FlapDetector();
    const watchStats: WatchStats = { resumed: 0, expired: 0 };
    const watchFile = join(logDir, "memorydbusers.watch.jsonl");
    const watchLog = createWriteStream(watchFile);
    const observations = new Map<string, Observation[]>();
    const watching = watchForever(
      admin,
      `${GROUP_PATH}/memorydbusers`,
      (type, obj, raw) => {
        const at = Date.now();
        watchLog.write(`${raw}\n`);
        flaps.observe(type, obj, at);
        const key = `${obj.metadata?.namespace}/${obj.metadata?.name}`;
        if (rotatedKeys.has(key) && type !== "DELETED") {
          const list = observations.get(key) ?? [];
          list.push({
            at,
            pending: obj.status?.passwordSecretsPending !== undefined,
            sources: ((obj.status?.passwordSecrets as Json[] | undefined) ?? []).map((s) => `${s.name}/${s.key}@${s.resourceVersion}`),
          });
          observations.set(key, list);
        }
      },
      stopWatch.signal,
      watchStats,
    );

    // ---- the operator, as its own process ------------------------------------------------------
    const kubeconfig = join(logDir, "kubeconfig");
    await kube.writeKubeconfig(kubeconfig, { serviceAccount: { namespace: OPERATOR_NAMESPACE, name: OPERATOR_SA } });
    const metricsPort = await freePort();
    const probePort = await freePort();
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "",
      HOME: logDir,
      KUBECONFIG: kubeconfig,
      AWS_REGION: aws.region,
      MEMORYDB_ENDPOINT: aws.endpoint,
      AWS_ACCESS_KEY_ID: "AKIDCHAOS",
      AWS_SECRET_ACCESS_KEY: "chaos-secret-key",
      AWS_EC2_METADATA_DISABLED: "true",
      POD_NAMESPACE: OPERATOR_NAMESPACE,
      POD_NAME: "memorydb-user-operator-chaos",
      LOG_FORMAT: "json",
      LOG_LEVEL: "debug",
      METRICS_BIND_ADDRESS: `127.0.0.1:${metricsPort}`,
      HEALTH_PROBE_BIND_ADDRESS: `127.0.0.1:${probePort}`,
      // Production defaults, scaled like everything else.
      POLL_INTERVAL: `${ms(15_000)}ms`,
      RETRY_BASE_DELAY: `${ms(1_000)}ms`,
      RETRY_MAX_DELAY: `${ms(300_000)}ms`,
      RESYNC_PERIOD: `${ms(600_000)}ms`,
      TAG_RESYNC_PERIOD: `${ms(3_600_000)}ms`,
      SHUTDOWN_TIMEOUT: `${ms(25_000)}ms`,
    };
    op = new OperatorProcess(env, logDir, metricsPort);
    const killer = new Killer(op, o.kills, o.seed, ms(20_000));
    faultsOn();
    scheduleCut();
    op.start();
    done("setup");

    // ---- phase 1: create everything, until all Ready and MemoryDB matches ----------------------
    progress(`create ${o.users} MemoryDBUsers in ${o.namespaces} namespaces`);
    done = phaseStart();
    const createStart = Date.now();
    const creating = pool(w.users, CLIENT_PARALLELISM, (u) =>
      admin.must("POST", `${GROUP_PATH}/namespaces/${u.namespace}/memorydbusers`, {
        apiVersion: "memorydb.operators.dev/v1alpha1",
        kind: "MemoryDBUser",
        metadata: { name: u.name },
        spec: u.spec,
      }),
    );
    const listAll = async () => (await admin.list(`${GROUP_PATH}/memorydbusers`)).items;
    const matches = (u: WorkloadUser, afterRotation: boolean): string | undefined => {
      const m = aws.user(u.userName);
      if (!m) return "absent from MemoryDB";
      if (m.status !== "active") return `MemoryDB status ${m.status}`;
      const type = u.kind === "iam" ? "iam" : "password";
      if (m.authType !== type) return `authentication ${m.authType}, expected ${type}`;
      if (
        u.kind !== "iam" &&
        JSON.stringify(m.passwords) !== JSON.stringify(expectedPasswords(w, u, afterRotation && rotatedKeys.has(keyOf(u))))
      )
        return "passwords differ from the Secrets'";
      if (m.accessString !== normaliseAccessString(u.spec.accessString, aws.accessStringMode)) return `access string "${m.accessString}"`;
      for (const [k, v] of Object.entries((u.spec.tags as Record<string, string> | undefined) ?? {}))
        if (m.tags[k] !== v) return `tag ${k}`;
      if (!m.tags[OWNER_TAG]?.includes(`/${u.namespace}/${u.name}/`)) return "no ownership tag of its resource";
      return undefined;
    };
    let converged: { readyAt: number | undefined; ready: number; matching: number; mismatches: string[] } = {
      readyAt: undefined,
      ready: 0,
      matching: 0,
      mismatches: [],
    };
    {
      const deadline = createStart + o.timeoutMs;
      let lastReport = Date.now();
      for (;;) {
        const items = await listAll();
        const ready = items.filter(isReady).length;
        killer.tick("create", ready / o.users, `${Math.round((100 * ready) / o.users)} % Ready`);
        if (ready === o.users) {
          const mismatches = w.users.map((u) => [keyOf(u), matches(u, false)] as const).filter(([, m]) => m !== undefined);
          converged = {
            readyAt: Date.now(),
            ready,
            matching: o.users - mismatches.length,
            mismatches: mismatches.map(([k, m]) => `${k}: ${m}`),
          };
          if (mismatches.length === 0) break;
        } else converged = { ...converged, readyAt: undefined, ready };
        if (Date.now() > deadline) break;
        if (Date.now() - lastReport > 10_000) {
          lastReport = Date.now();
          progress(`  ${ready}/${o.users} Ready after ${fmtS(Date.now() - createStart)}`);
        }
        await sleep(250);
      }
      await creating;
      if (converged.readyAt !== undefined) progress(`  all Ready after ${fmtS(converged.readyAt - createStart)}`);
      await killer.finish("create", "the end of the phase");
    }
    done("create → all Ready");

    // ---- phase 2: rotate one Secret key that some users reference -------------------------------
    const rot = w.rotation;
    progress(`rotate ${rot.namespace}/${rot.secret} key ${rot.key} (${rotated.length} of the users reference it)`);
    done = phaseStart();
    let newRv: string | undefined;
    const recorded = (obj: Json) =>
      newRv !== undefined &&
      isReady(obj) &&
      obj.status?.passwordSecretsPending === undefined &&
      ((obj.status?.passwordSecrets as Json[] | undefined) ?? []).some(
        (s) => s.name === rot.secret && s.key === rot.key && s.resourceVersion === newRv,
      );
    for (const key of rotatedKeys) flaps.expect(key, recorded);
    const sharers = w.users.filter(
      (u) => u.namespace === rot.namespace && !rotatedKeys.has(keyOf(u)) && u.refs.some((ref) => ref.name === rot.secret),
    );
    const secret = w.secrets.find((s) => s.namespace === rot.namespace && s.name === rot.secret)!;
    const rotateAt = Date.now();
    const written = await admin.must("PUT", `/api/v1/namespaces/${rot.namespace}/secrets/${rot.secret}`, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: rot.secret, namespace: rot.namespace },
      stringData: { ...secret.data, [rot.key]: rot.value },
    });
    newRv = String(written.metadata?.resourceVersion);
    let rotation = { complete: false, rotatedOk: 0, sharersSeen: 0, at: undefined as number | undefined };
    const rotationState = async () => {
      const items = new Map((await listAll()).map((i) => [`${i.metadata.namespace}/${i.metadata.name}`, i]));
      const rotatedOk = rotated.filter((u) => {
        const obj = items.get(keyOf(u));
        return obj !== undefined && recorded(obj) && matches(u, true) === undefined;
      }).length;
      // The users of the Secret's other keys: looked at (their status records the new version), still Ready, passwords unchanged.
      const sharersSeen = sharers.filter((u) => {
        const obj = items.get(keyOf(u));
        const sources = ((obj?.status?.passwordSecrets as Json[] | undefined) ?? []).filter((s) => s.name === rot.secret);
        return (
          obj !== undefined &&
          isReady(obj) &&
          sources.length > 0 &&
          sources.every((s) => s.resourceVersion === newRv) &&
          matches(u, true) === undefined
        );
      }).length;
      return { rotatedOk, sharersSeen, complete: rotatedOk === rotated.length && sharersSeen === sharers.length };
    };
    {
      const deadline = rotateAt + o.timeoutMs;
      for (;;) {
        killer.tick("rotate", Date.now() - rotateAt, `+${fmtS(Date.now() - rotateAt)}`);
        const s = await rotationState();
        rotation = { ...s, at: s.complete ? Date.now() : undefined };
        if (s.complete || Date.now() > deadline) break;
        await sleep(100);
      }
      if (rotation.at !== undefined) progress(`  rotated after ${fmtS(rotation.at - rotateAt)}`);
      await killer.finish("rotate", "the end of the phase");
      // A kill at the end may interrupt a status write: let it settle, then look again.
      const settleUntil = Date.now() + Math.max(3000, ms(30_000));
      for (;;) {
        await sleep(250);
        const s = await rotationState();
        rotation = { ...rotation, ...s };
        if ((s.complete && Date.now() > settleUntil) || Date.now() > deadline) break;
      }
    }
    done("rotate → recorded (and settled)");
    const midDump = await dumpAll(admin);
    await writeFile(join(logDir, "dump-after-rotation.json"), midDump.text);

    // ---- phase 3: delete everything --------------------------------------------------------------
    progress(`delete ${o.users} MemoryDBUsers`);
    done = phaseStart();
    const deleteStart = Date.now();
    const deleting = pool(w.users, CLIENT_PARALLELISM, (u) =>
      admin.must("DELETE", `${GROUP_PATH}/namespaces/${u.namespace}/memorydbusers/${u.name}`, undefined, undefined, [404]),
    );
    const foreignNames = new Set(FOREIGN_USERS.map((f) => f.name));
    const leftInMemoryDB = () => aws.users().filter((u) => u.name !== "default" && !foreignNames.has(u.name));
    let remaining: Json[] = [];
    let goneAt: number | undefined;
    {
      const deadline = deleteStart + o.timeoutMs;
      let lastReport = Date.now();
      for (;;) {
        remaining = await listAll();
        const gone = o.users - remaining.length;
        killer.tick("delete", gone / o.users, `${Math.round((100 * gone) / o.users)} % gone`);
        if (remaining.length === 0 && leftInMemoryDB().length === 0) {
          goneAt = Date.now();
          break;
        }
        if (Date.now() > deadline) break;
        if (Date.now() - lastReport > 10_000) {
          lastReport = Date.now();
          progress(`  ${gone}/${o.users} gone after ${fmtS(Date.now() - deleteStart)}`);
        }
        await sleep(250);
      }
      await deleting;
      if (goneAt !== undefined) progress(`  all gone after ${fmtS(goneAt - deleteStart)}`);
      await killer.finish("delete", "the end of the phase");
    }
    done("delete → all gone");

    // ---- the operator's shutdown, then the evidence ------------------------------------------------
    done = phaseStart();
    const shutdown = await op.stop(ms(25_000) + 5_000);
    done("SIGTERM → exit");
    clearTimeout(cutTimer);
    kube.faults.reset();
    aws.faults.clear();
    done = phaseStart();
    stopWatch.abort();
    await watching;
    await new Promise<void>((res) => watchLog.end(() => res()));
    const endDump = await dumpAll(admin);
    await writeFile(join(logDir, "dump-end.json"), endDump.text);
    const orphans = leftInMemoryDB();
    const foreignAfter = JSON.stringify(FOREIGN_USERS.map((f) => aws.user(f.name)));
    await writeFile(join(logDir, "memorydb-calls.json"), JSON.stringify(aws.callLog));

    // Password leaks: every operator log, our watch of every resource version, both dumps.
    const scanner = new LeakScanner(w.passwords, w.prefix);
    const leaks: Leak[] = [];
    let scannedBytes = 0;
    for (const file of [...op.logFiles, watchFile]) {
      const text = await readFile(file, "utf8");
      scannedBytes += text.length;
      leaks.push(...scanner.scan(text, file.slice(logDir.length + 1)));
    }
    for (const [name, d] of [
      ["dump after rotation", midDump],
      ["dump at the end", endDump],
    ] as const) {
      scannedBytes += d.text.length;
      leaks.push(...scanner.scan(d.text, name));
    }

    // MemoryDB calls per user.
    const creates = acceptedByUser(aws.callLog, "CreateUser");
    const updates = acceptedByUser(aws.callLog, "UpdateUser");
    const createCounts = w.users.map((u) => creates.get(u.userName)?.length ?? 0);
    const createdOnce = createCounts.filter((c) => c === 1).length;
    const createBad = w.users
      .filter((_, i) => createCounts[i] !== 1)
      .map((u, i) => `${keyOf(u)} (${u.userName}): ${createCounts[i]} CreateUser took effect`);
    const recordedAt = (key: string) => (after: number) => {
      const obs = observations.get(key) ?? [];
      const rv = `${rot.secret}/${rot.key}@${newRv}`;
      return obs.find((x) => x.at > after && !x.pending && x.sources.includes(rv))?.at;
    };
    const verdicts = w.users.map((u) => ({
      u,
      rotated: rotatedKeys.has(keyOf(u)),
      v: judgeUpdates(updates.get(u.userName) ?? ([] as AcceptedCall[]), rotatedKeys.has(keyOf(u)), killer.times, recordedAt(keyOf(u))),
    }));
    const rot1 = verdicts.filter((x) => x.rotated);
    const unchanged = verdicts.filter((x) => !x.rotated);
    const windowCauses: ResendCause[] = verdicts.flatMap((x) => x.v.window);
    const resendsLost = windowCauses.filter((c) => c === "lost answer").length;
    const resendsKill = windowCauses.filter((c) => c === "kill").length;
    /** Why a rotated user's calls are off: for each call outside the window, what came between it and the previous one. */
    const evidence = (key: string, calls: readonly AcceptedCall[]): string => {
      const notes: string[] = [];
      for (let k = 1; k < calls.length; k++) {
        const [prev, next] = [calls[k - 1]!, calls[k]!];
        if (prev.lost || killer.times.some((t) => t >= prev.at && t <= next.at)) continue;
        const failed = (failedStatusWrites.get(key) ?? []).filter((f) => f.at >= prev.at && f.at <= next.at);
        notes.push(
          `call ${k + 1} at ${new Date(next.at).toISOString().slice(11, 23)}, ${next.at - prev.at} ms after an answered call${failed.length > 0 ? ` whose status write then failed (HTTP ${failed.map((f) => f.status).join(", ")}), no kill between` : ", no kill, no failed status write between"}`,
        );
      }
      return notes.join("; ");
    };
    const rotBad = rot1
      .filter((x) => x.v.outside !== 0)
      .map(
        (x) =>
          `${keyOf(x.u)} (${x.u.userName}): ${x.v.accepted} UpdateUser took effect, ${x.v.window.length} in the window${x.v.outside > 0 ? `: ${evidence(keyOf(x.u), updates.get(x.u.userName) ?? [])}` : ""}`,
      );
    const unchangedBad = unchanged.filter((x) => x.v.outside !== 0).map((x) => `${keyOf(x.u)}: ${x.v.accepted} UpdateUser took effect`);
    const outsideTotal = verdicts.reduce((sum, x) => sum + Math.max(0, x.v.outside), 0);
    const callTotals = (op: string) => {
      const calls = aws.callLog.filter((e) => e.op === op);
      return {
        sent: calls.length,
        accepted: calls.filter((e) => e.error === undefined || e.error === "ResponseLost").length,
        lost: calls.filter((e) => e.error === "ResponseLost").length,
      };
    };
    done("checks");
    timings.push(["total", Date.now() - started]);

    // ---- figures ------------------------------------------------------------------------------------
    const c = callTotals("CreateUser");
    const u = callTotals("UpdateUser");
    const d = callTotals("DeleteUser");
    const kills = killer.times.length;
    const figures: Figure[] = [
      { name: "seed", value: String(o.seed), target: "", pass: undefined },
      {
        name: "workload",
        value: `${o.users} MemoryDBUsers in ${o.namespaces} namespaces: ${count(w.users, "password1")} with 1 password, ${count(w.users, "password2")} with 2, ${count(w.users, "iam")} iam; ${w.users.filter((x) => x.userName !== x.name).length} with spec.userName, ${w.users.filter((x) => x.spec.tags).length} with tags; ${FOREIGN_USERS.length} foreign MemoryDB users`,
        target: "",
        pass: undefined,
      },
      ...describeRates(r).map((line, i) => ({ name: i === 0 ? "fault rates" : "", value: line, target: "", pass: undefined })),
      { name: "kills", value: `${kills} SIGKILLs (${killer.describe()})`, target: "", pass: undefined },
      {
        name: "watch cuts",
        value: `${watchCuts} (our own watch resumed ${watchStats.resumed} times, ${watchStats.expired} expired)`,
        target: "",
        pass: undefined,
      },
      {
        name: "errors answered",
        value: `MemoryDB (faults and the service's own answers): ${countErrors(aws.callLog)}; API server: 409 ×${statusCounts[409] ?? 0}, 429 ×${statusCounts[429] ?? 0}, 500 ×${statusCounts[500] ?? 0}`,
        target: "",
        pass: undefined,
      },
      { name: "timings", value: timings.map(([n, t]) => `${n} ${fmtS(t)}`).join(", "), target: "", pass: undefined },
      {
        name: "Ready",
        value: `${converged.ready}/${o.users}${converged.readyAt !== undefined ? `, converged in ${fmtS(converged.readyAt - createStart)}` : " (timed out)"}`,
        target: `${o.users}/${o.users} within ${fmtS(o.timeoutMs)}`,
        pass: converged.readyAt !== undefined && converged.ready === o.users,
      },
      {
        name: "MemoryDB matches the specs",
        value: `${converged.matching}/${o.users} (passwords, authentication type, access string, tags, ownership tag)`,
        target: `${o.users}/${o.users}`,
        pass: converged.matching === o.users,
        details: converged.mismatches.slice(0, 10),
      },
      {
        name: "CreateUser per user",
        value: `exactly 1 for ${createdOnce}/${o.users} (sent ${c.sent}, took effect ${c.accepted}, of which answer lost ${c.lost})`,
        target: "1 for every user",
        pass: createdOnce === o.users,
        details: createBad.slice(0, 10),
      },
      {
        name: "UpdateUser per rotated user",
        value: `1 for ${rot1.length - rotBad.length}/${rot1.length} (+${rot1.reduce((s, x) => s + x.v.window.length, 0)} re-sends in the window); rotation recorded in ${rotation.at !== undefined ? fmtS(rotation.at - rotateAt) : "(timed out)"}`,
        target: "1, plus re-sends in the window",
        pass: rotBad.length === 0 && rotation.rotatedOk === rotated.length,
        details: rotBad.slice(0, 10),
      },
      {
        name: "UpdateUser per unchanged user",
        value: `0 for ${unchanged.length - unchangedBad.length}/${unchanged.length} (of them ${sharers.length} share the rotated Secret: ${rotation.sharersSeen}/${sharers.length} recorded its new version, passwords kept)`,
        target: "0",
        pass: unchangedBad.length === 0 && rotation.sharersSeen === sharers.length,
        details: unchangedBad.slice(0, 10),
      },
      {
        name: "re-sends in the crash window",
        value: `${windowCauses.length} in it (after a lost answer ${resendsLost}, after a kill ${resendsKill}), ${outsideTotal} outside; operator counted why="uncertain": ${op.uncertainScraped} (scraped; UpdateUser sent ${u.sent}, took effect ${u.accepted}, answer lost ${u.lost})`,
        target: "0 outside",
        pass: outsideTotal === 0,
      },
      {
        name: "Ready flaps",
        value: `${flaps.flaps.length}`,
        target: "0",
        pass: flaps.flaps.length === 0 && watchStats.expired === 0,
        details: [
          ...flaps.flaps.slice(0, 10).map((f) => `${f.key} at ${new Date(f.at).toISOString()}: ${f.reason}: ${f.message}`),
          ...(watchStats.expired ? [`our watch expired ${watchStats.expired} times: flaps may be missed`] : []),
        ],
      },
      {
        name: "stuck finalizers",
        value: `${remaining.length}${goneAt !== undefined ? `, all gone in ${fmtS(goneAt - deleteStart)}` : ""}`,
        target: `0 within ${fmtS(o.timeoutMs)}`,
        pass: remaining.length === 0,
        details: remaining
          .slice(0, 10)
          .map(
            (x) =>
              `${x.metadata.namespace}/${x.metadata.name}: finalizers ${JSON.stringify(x.metadata.finalizers)}, Ready ${readyOf(x)?.reason}: ${readyOf(x)?.message}`,
          ),
      },
      {
        name: "orphans",
        value: `${orphans.length} (DeleteUser sent ${d.sent}, took effect ${d.accepted}, answer lost ${d.lost})`,
        target: "0",
        pass: orphans.length === 0,
        details: orphans.slice(0, 10).map((x) => `${x.name} (${x.status}), tags ${JSON.stringify(x.tags)}`),
      },
      {
        name: "foreign users untouched",
        value: foreignAfter === foreignBefore ? `${FOREIGN_USERS.length}/${FOREIGN_USERS.length}` : "changed",
        target: `${FOREIGN_USERS.length}/${FOREIGN_USERS.length}`,
        pass: foreignAfter === foreignBefore,
      },
      {
        name: "password leaks",
        value: `${leaks.length} (${w.passwords.length} passwords and their base64 in ${(scannedBytes / 1e6).toFixed(1)} MB: ${op.logFiles.length} operator logs, every watched MemoryDBUser version, ${midDump.objects + endDump.objects} objects incl. ${endDump.events} Events and Secrets' metadata)`,
        target: "0",
        pass: leaks.length === 0,
        details: leaks.slice(0, 10).map((l) => `${l.where}: ${l.form}: ${l.context}`),
      },
      {
        name: "crash signatures",
        value: `${op.crashLines.length + op.unexpectedExits.length} (log lines ${op.crashLines.length}, unexpected exits ${op.unexpectedExits.length} of ${op.incarnations.length} runs)`,
        target: "0",
        pass: op.crashLines.length === 0 && op.unexpectedExits.length === 0,
        details: [
          ...op.unexpectedExits.map((e) => `run ${e.n} exited with code ${e.code}, signal ${e.signal}`),
          ...op.crashLines.slice(0, 10),
        ],
      },
      {
        name: "shutdown on SIGTERM",
        value: `exit code ${shutdown.code ?? `none (signal ${shutdown.signal})`} after ${fmtS(shutdown.ms)}`,
        target: "0",
        pass: shutdown.code === 0,
      },
    ];
    const facts: ChaosFacts = {
      users: o.users,
      ready: converged.ready,
      matching: converged.matching,
      createsPerUser: createCounts,
      createsLost: c.lost,
      rotatedUsers: rot1.length,
      rotationRecorded: rotation.rotatedOk,
      updatesPerRotatedUser: rot1.map((x) => x.v.accepted - x.v.window.length),
      updatesPerUnchangedUser: unchanged.map((x) => x.v.accepted),
      sharers: sharers.length,
      sharersRecorded: rotation.sharersSeen,
      windowResends: { lostAnswer: resendsLost, kill: resendsKill },
      uncertainScraped: op.uncertainScraped,
      flaps: flaps.flaps.length,
      ownWatchExpired: watchStats.expired,
      stuck: remaining.map((x) => `${x.metadata.namespace}/${x.metadata.name}`),
      orphans: orphans.map((x) => x.name),
      foreignUntouched: foreignAfter === foreignBefore,
      leaks: leaks.length,
      crashLines: op.crashLines,
      unexpectedExits: op.unexpectedExits.length,
      kills,
      watchCuts,
      memorydbErrors: errorCounts(aws.callLog),
      kubeStatuses: { ...statusCounts },
      shutdownCode: shutdown.code,
    };
    const pass = figures.every((f) => f.pass !== false);
    const report = `${renderFigures(figures)}\n\n${pass ? "PASS" : "FAIL"}: chaos run of ${o.users} users, seed ${o.seed}, ${fmtS(Date.now() - started)}; logs and dumps in ${logDir}`;
    return { figures, facts, pass, report, logDir };
  } finally {
    if (cutTimer) clearTimeout(cutTimer);
    op?.abort();
    stopWatch.abort();
    await aws.stop();
    await kube.stop();
  }
}

const count = (users: readonly WorkloadUser[], kind: WorkloadUser["kind"]) => users.filter((u) => u.kind === kind).length;

function errorCounts(log: ReadonlyArray<{ error?: string | undefined }>): Record<string, number> {
  const by: Record<string, number> = {};
  for (const e of log) if (e.error) by[e.error] = (by[e.error] ?? 0) + 1;
  return by;
}

function countErrors(log: ReadonlyArray<{ error?: string | undefined }>): string {
  const parts = Object.entries(errorCounts(log))
    .sort(([, a], [, b]) => b - a)
    .map(([k, n]) => `${k} ×${n}`);
  return parts.length > 0 ? parts.join(", ") : "none";
}

/** Every object the API server holds (Secrets without data), as one JSON text. */
async function dumpAll(admin: Kube): Promise<{ text: string; objects: number; events: number }> {
  const paths: string[] = [];
  const core = await admin.must("GET", "/api/v1");
  for (const res of core.resources as Json[])
    if (!String(res.name).includes("/") && (res.verbs as string[]).includes("list")) paths.push(`/api/v1/${res.name}`);
  const groups = await admin.must("GET", "/apis");
  for (const g of groups.groups as Json[]) {
    for (const v of g.versions as Json[]) {
      const list = await admin.must("GET", `/apis/${v.groupVersion}`);
      for (const res of list.resources as Json[])
        if (!String(res.name).includes("/") && (res.verbs as string[]).includes("list")) paths.push(`/apis/${v.groupVersion}/${res.name}`);
    }
  }
  const dump: Record<string, Json[]> = {};
  let objects = 0;
  let events = 0;
  for (const path of paths) {
    let { items } = await admin.list(path);
    if (path.endsWith("/secrets")) items = items.map(({ data: _data, stringData: _stringData, ...rest }) => rest);
    if (path === "/apis/events.k8s.io/v1/events") events = items.length;
    objects += items.length;
    dump[path] = items;
  }
  return { text: JSON.stringify(dump, null, 1), objects, events };
}

/** Removes a run's directory (the CI test does, once it passed). */
export async function removeLogs(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
