// The chaos suite's reusable parts: options, a seeded PRNG, the workload, the figures and the
// checks that turn what was recorded (the emulator's call log, kills, watched resources, logs)
// into them. Pure functions: test/chaos/lib.test.ts feeds them made-up records.
const USAGE = `usage: npm run chaos -- [--users N] [--namespaces N] [--kills K] [--seed S] [--timeout SECONDS]
                         [--rates name=rate,...] [--time-scale F] [--log-dir DIR]

  --users N          MemoryDBUsers of the workload (default 500)
  --namespaces N     namespaces they are spread over (default 3)
  --kills K          SIGKILLs of the operator process, spread over the create, rotate and delete
                     phases at random moments (default 6)
  --seed S           seed of the workload, the fault draws and the kill moments (default: random,
                     printed; a seed reproduces those, not the exact interleaving of two processes)
  --timeout SECONDS  longest each phase may take to converge (default 300)
  --rates LIST       fault rates, e.g. awsThrottle=0.05,kube429=0.03; names: RATE_NAMES
                     (defaults: DEFAULTS)
  --time-scale F     production timings times F on every side (default 0.1)
  --log-dir DIR      where the operator's logs and the dumps go (default: a new temporary directory)

Exits 0 when every figure passes, 1 when one fails, 2 on a usage error.`;

export interface FaultRates {
  /** MemoryDB: ThrottlingException, per call. */
  awsThrottle: number;
  /** MemoryDB: 500 InternalFailure, per call. */
  aws5xx: number;
  /** MemoryDB: connection reset before any effect, per call. */
  awsReset: number;
  /** MemoryDB: CreateUser, UpdateUser and DeleteUser applied, then the answer lost. */
  awsLost: number;
  /** API server: 409 Conflict on the operator's PUT and PATCH. */
  kube409: number;
  /** API server: 429 with Retry-After on the operator's writes (POST, PUT, PATCH, DELETE). */
  kube429: number;
  /** API server: 500 on the operator's reads (GET, list; watches are cut instead). */
  kube500: number;
  /** Every open watch stream is cut at a random interval within these seconds. */
  watchCutMinSeconds: number;
  watchCutMaxSeconds: number;
}

export const DEFAULT_RATES: FaultRates = {
  awsThrottle: 0.05,
  aws5xx: 0.03,
  awsReset: 0.02,
  awsLost: 0.1,
  kube409: 0.03,
  kube429: 0.03,
  kube500: 0.03,
  watchCutMinSeconds: 15,
  watchCutMaxSeconds: 30,
};

const RATE_NAMES = Object.keys(DEFAULT_RATES) as Array<keyof FaultRates>;

export interface ChaosOptions {
  users: number;
  namespaces: number;
  kills: number;
  seed: number;
  /** Longest each phase may take to converge. */
  timeoutMs: number;
  rates: FaultRates;
  /** Production timings times this, on the operator, the emulator and the API server alike. */
  timeScale: number;
  /** Where logs and dumps go; default a new temporary directory. */
  logDir?: string | undefined;
}

export function usage(): string {
  return USAGE.replace("RATE_NAMES", RATE_NAMES.join(", ")).replace(
    "DEFAULTS",
    RATE_NAMES.map((k) => `${k}=${DEFAULT_RATES[k]}`).join(","),
  );
}

export function defaultOptions(seed = randomSeed()): ChaosOptions {
  return { users: 500, namespaces: 3, kills: 6, seed, timeoutMs: 300_000, rates: { ...DEFAULT_RATES }, timeScale: 0.1 };
}

export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}

/** The command line; "help" for --help. Throws with a message on a usage error. */
export function parseArgs(argv: readonly string[]): ChaosOptions | "help" {
  const o = defaultOptions();
  const int = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < min) throw new Error(`${flag} needs an integer >= ${min}, got ${v ?? "nothing"}`);
    return n;
  };
  const num = (flag: string, v: string | undefined, min: number, max: number): number => {
    const n = Number(v);
    if (v === undefined || v.trim() === "" || !Number.isFinite(n) || n < min || n > max)
      throw new Error(`${flag} needs a number within ${min}..${max}, got ${v ?? "nothing"}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const flag = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith("--") && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case "--users":
        o.users = int(flag, value(), 1);
        break;
      case "--namespaces":
        o.namespaces = int(flag, value(), 1);
        break;
      case "--kills":
        o.kills = int(flag, value(), 0);
        break;
      case "--seed":
        o.seed = int(flag, value(), 0);
        break;
      case "--timeout":
        o.timeoutMs = num(flag, value(), 1, 86_400) * 1000;
        break;
      case "--time-scale":
        o.timeScale = num(flag, value(), 0.01, 1);
        break;
      case "--log-dir":
        o.logDir = value();
        if (!o.logDir) throw new Error("--log-dir needs a directory");
        break;
      case "--rates":
        o.rates = parseRates(value() ?? "", o.rates);
        break;
      case "-h":
      case "--help":
        return "help";
      default:
        throw new Error(`unknown option ${arg}`);
    }
  }
  if (o.users < o.namespaces) throw new Error(`--users (${o.users}) must be at least --namespaces (${o.namespaces})`);
  return o;
}

export function parseRates(text: string, base: FaultRates = DEFAULT_RATES): FaultRates {
  const rates = { ...base };
  for (const part of text.split(",").filter((p) => p.trim() !== "")) {
    const [name, v] = part.split("=", 2).map((s) => s.trim()) as [string, string | undefined];
    if (!(RATE_NAMES as string[]).includes(name)) throw new Error(`--rates: unknown rate ${name} (names: ${RATE_NAMES.join(", ")})`);
    const n = Number(v);
    const seconds = name.startsWith("watchCut");
    if (v === undefined || v === "" || !Number.isFinite(n) || n < 0 || (!seconds && n > 1)) {
      throw new Error(`--rates: ${name} needs ${seconds ? "seconds >= 0" : "a probability within 0..1"}, got ${v ?? "nothing"}`);
    }
    rates[name as keyof FaultRates] = n;
  }
  if (rates.watchCutMaxSeconds < rates.watchCutMinSeconds)
    throw new Error("--rates: watchCutMaxSeconds must not be below watchCutMinSeconds");
  return rates;
}

export function describeRates(r: FaultRates): string[] {
  const pct = (x: number) => `${+(x * 100).toFixed(2)} %`;
  return [
    `MemoryDB: throttling ${pct(r.awsThrottle)}, 5xx ${pct(r.aws5xx)}, connection resets ${pct(r.awsReset)} of calls; applied-then-lost ${pct(r.awsLost)} of CreateUser/UpdateUser/DeleteUser`,
    `API server (operator's requests): 409 ${pct(r.kube409)} of PUT/PATCH, 429 + Retry-After ${pct(r.kube429)} of writes, 500 ${pct(r.kube500)} of reads; every watch cut every ${r.watchCutMinSeconds}–${r.watchCutMaxSeconds} s`,
  ];
}

// ---------------------------------------------------------------------------------------------
// seeded randomness

/** mulberry32: a small, fast, seeded PRNG (0 <= x < 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An independent stream per purpose, so that one consumer drawing more does not shift the others. */
export function stream(seed: number, purpose: string): () => number {
  let h = 2166136261 ^ seed;
  for (const c of purpose) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return prng(h >>> 0);
}

export const between = (random: () => number, min: number, max: number) => min + random() * (max - min);

/**
 * A seeded source that decides by key: the n-th draw for a key is the same number in every run
 * with this seed, whatever order the keys come in. Given a request's identity as the key, the
 * same requests meet the same faults although two processes never interleave the same way twice.
 */
export function keyedRandom(seed: number, purpose: string): (key: string) => number {
  const counts = new Map<string, number>();
  return (key) => {
    const n = counts.get(key) ?? 0;
    counts.set(key, n + 1);
    return stream(seed, `${purpose}|${key}|${n}`)();
  };
}

// ---------------------------------------------------------------------------------------------
// the workload

export type UserKind = "password1" | "password2" | "iam";

export interface SecretRef {
  name: string;
  key: string;
}

export interface WorkloadUser {
  namespace: string;
  /** metadata.name */
  name: string;
  /** The MemoryDB user name: spec.userName, or metadata.name. */
  userName: string;
  kind: UserKind;
  refs: SecretRef[];
  spec: Record<string, unknown>;
}

export interface WorkloadSecret {
  namespace: string;
  name: string;
  data: Record<string, string>;
}

export interface Workload {
  namespaces: string[];
  secrets: WorkloadSecret[];
  users: WorkloadUser[];
  /** The one Secret key changed after convergence, with its new value. */
  rotation: { namespace: string; secret: string; key: string; value: string };
  /** Every password generated (the rotation's new value included), for the leak search. */
  passwords: string[];
  /** What every generated password begins with (the leak search scans for it). */
  prefix: string;
}

export const SHARED_SECRET = "shared";
const SHARED_KEYS = ["k0", "k1", "k2"];
const ACCESS_STRINGS = ["on ~app:* &* +@read", "on ~* &* +@all", "on ~cache:* -@all +get +set +del", "on ~jobs:* &jobs:* +@read +@write"];
const PREFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/** MemoryDB's rule allows more; characters a JSON or HTML encoder might escape are left out so a leak is found verbatim. */
const PASSWORD_ALPHABET = `${PREFIX_ALPHABET}-_.!~*+=^%#$`;
export const PREFIX_LENGTH = 6;
export const PASSWORD_LENGTH = 26;

const pad = (i: number) => String(i).padStart(5, "0");

/**
 * N users over the namespaces, deterministic in the seed: i % 10 picks the kind (0–4 one password,
 * 5–7 two, 8–9 iam); one-password users 0–2 (mod 10) and the second password of 5 come from the
 * namespace's shared Secret (half of them key k0, a quarter each k1 and k2), the rest from the
 * user's own Secret; every fourth
 * user has a custom spec.userName; two users in three have tags. The rotation changes key k0 of
 * the first namespace's shared Secret: its users must be updated once, the users of k1 and k2
 * (same Secret, whose version moves) not at all.
 */
export function workload(users: number, namespaceCount: number, seed: number): Workload {
  const random = stream(seed, "workload");
  const prefix = Array.from({ length: PREFIX_LENGTH }, () => PREFIX_ALPHABET[Math.floor(random() * PREFIX_ALPHABET.length)]).join("");
  const passwords: string[] = [];
  const password = () => {
    let p = prefix;
    while (p.length < PASSWORD_LENGTH) p += PASSWORD_ALPHABET[Math.floor(random() * PASSWORD_ALPHABET.length)];
    passwords.push(p);
    return p;
  };
  const namespaces = Array.from({ length: namespaceCount }, (_, i) => `chaos-${i + 1}`);
  const secrets: WorkloadSecret[] = namespaces.map((namespace) => ({
    namespace,
    name: SHARED_SECRET,
    data: Object.fromEntries(SHARED_KEYS.map((k) => [k, password()])),
  }));
  const out: WorkloadUser[] = [];
  for (let i = 0; i < users; i++) {
    const namespace = namespaces[i % namespaceCount]!;
    const name = `user-${pad(i)}`;
    const userName = i % 4 === 1 ? `app-${pad(i)}` : name;
    const slot = i % 10;
    const kind: UserKind = slot < 5 ? "password1" : slot < 8 ? "password2" : "iam";
    const shared: SecretRef = { name: SHARED_SECRET, key: SHARED_KEYS[[0, 1, 0, 2][Math.floor(i / 10) % 4]!]! };
    const own = `pw-${pad(i)}`;
    const refs: SecretRef[] = [];
    if (kind === "password1") {
      if (slot <= 2) refs.push(shared);
      else {
        refs.push({ name: own, key: "password" });
        secrets.push({ namespace, name: own, data: { password: password() } });
      }
    } else if (kind === "password2") {
      refs.push({ name: own, key: "password" });
      if (slot === 5) {
        refs.push(shared);
        secrets.push({ namespace, name: own, data: { password: password() } });
      } else {
        refs.push({ name: own, key: "next" });
        secrets.push({ namespace, name: own, data: { password: password(), next: password() } });
      }
    }
    const tags = i % 3 === 0 ? { team: `team-${i % 7}`, env: "chaos" } : i % 3 === 1 ? { team: `team-${i % 7}` } : undefined;
    const spec: Record<string, unknown> = {
      ...(userName !== name ? { userName } : {}),
      accessString: ACCESS_STRINGS[i % ACCESS_STRINGS.length],
      authenticationMode: kind === "iam" ? { type: "iam" } : { type: "password", passwords: refs.map((r) => ({ secretKeyRef: r })) },
      ...(tags ? { tags } : {}),
    };
    out.push({ namespace, name, userName, kind, refs, spec });
  }
  const rotation = { namespace: namespaces[0]!, secret: SHARED_SECRET, key: SHARED_KEYS[0]!, value: password() };
  return { namespaces, secrets, users: out, rotation, passwords, prefix };
}

/** The users whose passwords the rotation changes. */
export function rotatedUsers(w: Workload): WorkloadUser[] {
  const r = w.rotation;
  return w.users.filter((u) => u.namespace === r.namespace && u.refs.some((ref) => ref.name === r.secret && ref.key === r.key));
}

/** The passwords a user should have in MemoryDB, in spec order. */
export function expectedPasswords(w: Workload, u: WorkloadUser, rotated: boolean): string[] {
  return u.refs.map((ref) => {
    if (rotated && u.namespace === w.rotation.namespace && ref.name === w.rotation.secret && ref.key === w.rotation.key)
      return w.rotation.value;
    const s = w.secrets.find((x) => x.namespace === u.namespace && x.name === ref.name);
    const v = s?.data[ref.key];
    if (v === undefined) throw new Error(`workload: no Secret key ${u.namespace}/${ref.name}/${ref.key}`);
    return v;
  });
}

// ---------------------------------------------------------------------------------------------
// counting MemoryDB calls

export interface CallEntry {
  op: string;
  input: unknown;
  error?: string | undefined;
  at: number;
}

export interface AcceptedCall {
  at: number;
  /** Applied, and the answer was lost. */
  lost: boolean;
}

/** A call took effect when MemoryDB answered success, or applied it and lost the answer. */
export const tookEffect = (e: CallEntry) => e.error === undefined || e.error === "ResponseLost";

/** The calls of `op` that took effect, per (lower-case) user name, in time order. */
export function acceptedByUser(log: readonly CallEntry[], op: string): Map<string, AcceptedCall[]> {
  const out = new Map<string, AcceptedCall[]>();
  for (const e of log) {
    if (e.op !== op || !tookEffect(e)) continue;
    const name = String((e.input as { UserName?: unknown } | undefined)?.UserName ?? "").toLowerCase();
    const list = out.get(name) ?? [];
    list.push({ at: e.at, lost: e.error === "ResponseLost" });
    out.set(name, list);
  }
  for (const list of out.values()) list.sort((a, b) => a.at - b.at);
  return out;
}

export type ResendCause = "lost answer" | "kill";

export interface UpdateVerdict {
  /** UpdateUser calls that took effect. */
  accepted: number;
  /** Expected: 1 for a rotated user, 0 for an unchanged one. */
  expected: number;
  /** Re-sends inside the window (the previous call's answer was lost, or a kill came before its status was recorded), by cause. */
  window: ResendCause[];
  /** accepted − window − expected: 0 when the user is fine; above 0 extra calls outside the window, below 0 a missing update. */
  outside: number;
}

/**
 * Judges one user's accepted UpdateUser calls. A rotated user expects one, an unchanged user
 * none. The k-th call (k >= 2) of a rotated user is a re-send inside the window when the (k-1)-th
 * lost its answer, or when the operator was killed after sending it and before the status
 * recorded it (`recordedAt(after)`: when the status was first seen recording the passwords after
 * that moment, undefined if never). An unchanged user has no window: it should never be sent one.
 */
export function judgeUpdates(
  calls: readonly AcceptedCall[],
  rotated: boolean,
  kills: readonly number[],
  recordedAt: (after: number) => number | undefined,
): UpdateVerdict {
  const window: ResendCause[] = [];
  const expected = rotated ? 1 : 0;
  if (rotated) {
    for (let k = 1; k < calls.length; k++) {
      const prev = calls[k - 1]!;
      const until = Math.min(recordedAt(prev.at) ?? Infinity, calls[k]!.at);
      if (prev.lost) window.push("lost answer");
      else if (kills.some((t) => t >= prev.at && t <= until)) window.push("kill");
    }
  }
  return { accepted: calls.length, expected, window, outside: calls.length - window.length - expected };
}

// ---------------------------------------------------------------------------------------------
// Ready flaps, from a watch of the resources

interface Tracked {
  ready: string | undefined;
  generation: number | undefined;
}

export interface Flap {
  key: string;
  at: number;
  reason: string | undefined;
  message: string | undefined;
}

interface WatchedObject {
  metadata?: { namespace?: string; name?: string; generation?: number; deletionTimestamp?: string };
  status?: { conditions?: Array<{ type?: string; status?: string; reason?: string; message?: string }> };
}

/**
 * Follows every resource's Ready condition and reports a flap: Ready=True, then not True, with
 * the same generation, no deletion, and no change the workload made on purpose (`expect`).
 */
export class FlapDetector {
  readonly flaps: Flap[] = [];
  readonly #state = new Map<string, Tracked>();
  readonly #expected = new Map<string, (obj: WatchedObject) => boolean>();

  /** A change is coming for `key` (its Secret changed): Ready may turn False until `done(obj)` holds. */
  expect(key: string, done: (obj: WatchedObject) => boolean): void {
    this.#expected.set(key, done);
  }

  get expecting(): number {
    return this.#expected.size;
  }

  observe(type: string, obj: WatchedObject, at: number): void {
    const key = `${obj.metadata?.namespace}/${obj.metadata?.name}`;
    if (type === "DELETED") {
      this.#state.delete(key);
      return;
    }
    if (type !== "ADDED" && type !== "MODIFIED") return;
    const cond = obj.status?.conditions?.find((c) => c.type === "Ready");
    const ready = cond?.status;
    const before = this.#state.get(key);
    const generation = obj.metadata?.generation;
    const expected = this.#expected.get(key);
    if (before?.ready === "True" && ready !== "True" && !obj.metadata?.deletionTimestamp && before.generation === generation && !expected) {
      this.flaps.push({ key, at, reason: cond?.reason, message: cond?.message });
    }
    if (expected?.(obj)) this.#expected.delete(key);
    this.#state.set(key, { ready, generation });
  }
}

// ---------------------------------------------------------------------------------------------
// password leaks

export interface Leak {
  where: string;
  form: "password" | "base64" | "prefix";
  /** Some context, with the secret part masked. */
  context: string;
}

/**
 * Finds every generated password, and its base64, in `text`: scans for the common prefix (and its
 * base64, which is fixed because the prefix is a multiple of 3 bytes long) and checks what follows
 * against the known values; a prefix followed by anything else is reported too (a partial leak).
 */
export class LeakScanner {
  readonly #prefix: string;
  readonly #b64prefix: string;
  readonly #passwords: Set<string>;
  readonly #b64: Set<string>;
  readonly #b64len: number;

  constructor(passwords: readonly string[], prefix: string) {
    if (prefix.length % 3 !== 0 || prefix.length === 0)
      throw new Error("LeakScanner: the prefix must be a non-empty multiple of 3 characters");
    if (passwords.some((p) => !p.startsWith(prefix) || p.length !== passwords[0]!.length))
      throw new Error("LeakScanner: every password must start with the prefix and have the same length");
    this.#prefix = prefix;
    this.#b64prefix = Buffer.from(prefix).toString("base64");
    this.#passwords = new Set(passwords);
    this.#b64 = new Set(passwords.map((p) => Buffer.from(p).toString("base64")));
    this.#b64len = Buffer.from(passwords[0] ?? prefix).toString("base64").length;
  }

  scan(text: string, where: string): Leak[] {
    const found: Leak[] = [];
    const len = [...this.#passwords][0]?.length ?? this.#prefix.length;
    for (const [needle, set, size, form] of [
      [this.#prefix, this.#passwords, len, "password"],
      [this.#b64prefix, this.#b64, this.#b64len, "base64"],
    ] as const) {
      for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
        const candidate = text.slice(i, i + size);
        const context = `${text.slice(Math.max(0, i - 40), i)}<${size} characters masked>${text.slice(i + size, i + size + 20)}`
          .replaceAll(this.#prefix, "<masked>")
          .replaceAll(this.#b64prefix, "<masked>")
          .replace(/\s+/g, " ");
        found.push({ where, form: set.has(candidate) ? form : "prefix", context });
      }
    }
    return found;
  }
}

// ---------------------------------------------------------------------------------------------
// crash signatures

export const CRASH_PATTERN = /TypeError|ReferenceError|unhandled|reconcile failed unexpectedly/i;

// ---------------------------------------------------------------------------------------------
// figures

export interface Figure {
  name: string;
  value: string;
  target: string;
  /** undefined: information, not judged. */
  pass: boolean | undefined;
  /** Evidence shown under a failed (or informative) figure. */
  details?: string[];
}

export function renderFigures(figures: readonly Figure[]): string {
  const w = Math.max(...figures.map((f) => f.name.length));
  const out: string[] = [];
  for (const f of figures) {
    const verdict = f.pass === undefined ? "    " : f.pass ? "PASS" : "FAIL";
    const target = f.pass === undefined ? "" : `   (target: ${f.target})`;
    out.push(`${verdict}  ${f.name.padEnd(w)}  ${f.value}${target}`);
    for (const d of f.details ?? []) out.push(`      ${"".padEnd(w)}  ${d}`);
  }
  return out.join("\n");
}

export const fmtS = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Sum of a metric's samples whose label set includes `labels` (Prometheus text format). */
export function promValue(text: string, metric: string, labels = ""): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(metric)) continue;
    const rest = line.slice(metric.length);
    if (rest[0] !== "{" && rest[0] !== " ") continue;
    if (labels && !rest.includes(labels)) continue;
    const v = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (Number.isFinite(v)) sum += v;
  }
  return sum;
}
