// The steps. Each one is independent: its own MemoryDBUsers, Secrets and MemoryDB user names
// under the run's prefix, created at its start and deleted by its cleanup.
import { condition, describeUser, hasFinalizer, inSync, type StepContext } from "./context.ts";
import { type MdbUser, OWNERSHIP_TAG } from "./kube.ts";
import { type UserSpec, userManifest } from "./manifests.ts";
import { MUTATING_OPS } from "./memorydb.ts";

export interface Step {
  name: string;
  summary: string;
  run(ctx: StepContext): Promise<void>;
}

class AssertionFailed extends Error {
  override name = "AssertionFailed";
}

function check(ok: boolean, message: string): asserts ok {
  if (!ok) throw new AssertionFailed(message);
}

/** JSON with object keys sorted: API servers return fields in their own order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

function equal<T>(actual: T, expected: T, what: string): void {
  check(canonical(actual) === canonical(expected), `${what}: expected ${canonical(expected)}, got ${canonical(actual)}`);
}

/** The ownership tag names the resource: `<cluster id>/<namespace>/<name>/<uid>` (or without the UID, as older operators wrote it). */
function ownedBy(tag: string | undefined, ns: string, user: MdbUser): boolean {
  const uid = user.metadata.uid;
  const tail = `/${ns}/${user.metadata.name}`;
  return tag !== undefined && (tag.endsWith(tail) || (uid !== undefined && tag.endsWith(`${tail}/${uid}`)));
}

/**
 * MemoryDB normalises access strings (inserts `-@all`, `resetchannels`, reorders `on`), so the
 * status follows the spec when every token of the spec is in it.
 */
function follows(reported: string | undefined, desired: string): boolean {
  const have = new Set((reported ?? "").toLowerCase().split(/\s+/));
  return desired
    .toLowerCase()
    .split(/\s+/)
    .every((t) => have.has(t));
}

const readOnly = (key: string) => `on ~${key}:* &* +@read`;

/** A user named `name`, read-only on its own keys, deleted with its resource, passwords from `secret`. */
const passwordUserSpec = (name: string, secret: string, keys = ["password"]): UserSpec => ({
  userName: name,
  accessString: readOnly(name),
  deletionPolicy: "Delete",
  passwords: keys.map((key) => ({ secret, key })),
});

async function expectManaged(ctx: StepContext, name: string, user: MdbUser, spec: UserSpec): Promise<void> {
  const want = { ...spec, type: spec.type ?? "password", passwords: spec.passwords ?? [], tags: spec.tags ?? {} };
  const s = user.status ?? {};
  equal(s.userName, want.userName, "status.userName");
  check(
    new RegExp(`^arn:aws[a-z-]*:memorydb:[a-z0-9-]+:\\d{12}:user/${want.userName}$`).test(s.arn ?? ""),
    `status.arn: not the ARN of user ${want.userName}: ${JSON.stringify(s.arn)}`,
  );
  equal(s.status, "active", "status.status");
  equal(s.authentication?.type, want.type, "status.authentication.type");
  equal(
    s.authentication?.passwordCount,
    want.type === "password" ? want.passwords.length : undefined,
    "status.authentication.passwordCount",
  );
  check(
    follows(s.accessString, want.accessString),
    `status.accessString ${JSON.stringify(s.accessString)} does not follow the spec's ${JSON.stringify(want.accessString)}`,
  );
  check(hasFinalizer(user), `the finalizer memorydb.operators.dev/finalizer is missing: ${JSON.stringify(user.metadata.finalizers)}`);
  if (want.type === "password") {
    const sources = await Promise.all(
      want.passwords.map(async (p) => ({ name: p.secret, key: p.key, resourceVersion: await ctx.secretVersion(p.secret) })),
    );
    // Compared on what the README promises; the operator may record more (a verifier of each password).
    const recorded = s.passwordSecrets?.map(({ name: n, key, resourceVersion }) => ({ name: n, key, resourceVersion }));
    equal(recorded, sources, "status.passwordSecrets (name, key and the Secret's current resourceVersion)");
  } else {
    check((s.passwordSecrets ?? []).length === 0, `status.passwordSecrets of an iam user: ${JSON.stringify(s.passwordSecrets)}`);
  }
  const view = ctx.memorydb;
  if (!view) return;
  const m = await view.user(want.userName);
  check(m !== undefined, `MemoryDB has no user ${want.userName}`);
  equal(m.status, "active", "MemoryDB status");
  equal(m.accessString, s.accessString, "MemoryDB's access string (= status.accessString)");
  equal(m.authType, want.type, "MemoryDB authentication type");
  equal(m.passwordCount, want.type === "password" ? want.passwords.length : undefined, "MemoryDB password count");
  const owner = m.tags[OWNERSHIP_TAG];
  check(
    ownedBy(owner, ctx.ns, user),
    `MemoryDB ownership tag ${OWNERSHIP_TAG}=${JSON.stringify(owner)} does not name ${ctx.ns}/${name} (uid ${user.metadata.uid})`,
  );
  for (const [k, v] of Object.entries(want.tags)) equal(m.tags[k], v, `MemoryDB tag ${k}`);
}

/** The Secret, the MemoryDBUser, Ready, the checks above, and the Created Event. */
async function createPasswordUser(ctx: StepContext, suffix: string, keys: string[], extra: Partial<UserSpec> = {}) {
  const name = ctx.name(suffix);
  const secret = `${name}-pw`;
  const values = Object.fromEntries(keys.map((k) => [k, ctx.password()]));
  await ctx.applySecret(secret, values);
  const spec: UserSpec = { ...passwordUserSpec(name, secret, keys), tags: { "e2e-step": ctx.step }, ...extra };
  await ctx.applyUser(name, spec);
  const user = await ctx.waitReady(name);
  await expectManaged(ctx, name, user, spec);
  await ctx.waitEvent(name, "Created", { test: (e) => e.message.includes(name) });
  return { name, secret, spec, user };
}

const passwordOne: Step = {
  name: "password-1",
  summary: "a user with one password from a Secret: Ready, status, finalizer, Created Event",
  async run(ctx) {
    await createPasswordUser(ctx, "pw1", ["password"]);
  },
};

const passwordTwo: Step = {
  name: "password-2",
  summary: "a user with two passwords (count 2), then one of them removed (count 1, Updated Event)",
  async run(ctx) {
    const { name, secret, spec } = await createPasswordUser(ctx, "pw2", ["current", "next"]);
    // The last step of a rotation without downtime: drop the old password.
    const next: UserSpec = { ...spec, passwords: [{ secret, key: "next" }] };
    const seen = await ctx.eventNames(name);
    await ctx.applyUser(name, next);
    const user = await ctx.until<MdbUser>(`MemoryDBUser ${name} to have one password`, async () => {
      const u = await ctx.user(name);
      return inSync(u) && u.status?.authentication?.passwordCount === 1 ? { ok: u } : { wait: describeUser(u) };
    });
    await expectManaged(ctx, name, user, next);
    // Removing an entry is an update, not a rotation (README, Events).
    await ctx.waitEvent(name, "Updated", { seen });
  },
};

const iam: Step = {
  name: "iam",
  summary: "an IAM-authenticated user: Ready, authentication type iam, no passwords",
  async run(ctx) {
    const name = ctx.name("iam");
    const spec: UserSpec = {
      userName: name,
      accessString: readOnly(name),
      deletionPolicy: "Delete",
      type: "iam",
      tags: { "e2e-step": ctx.step },
    };
    await ctx.applyUser(name, spec);
    const user = await ctx.waitReady(name);
    await expectManaged(ctx, name, user, spec);
    await ctx.waitEvent(name, "Created", { test: (e) => e.message.includes(name) });
  },
};

const update: Step = {
  name: "update",
  summary: "an access string change: status.accessString follows, Updated Event, MemoryDB updated",
  async run(ctx) {
    const { name, spec, user: before } = await createPasswordUser(ctx, "update", ["password"]);
    const seen = await ctx.eventNames(name);
    const changed: UserSpec = { ...spec, accessString: `${spec.accessString} +@write` };
    await ctx.applyUser(name, changed);
    const user = await ctx.until<MdbUser>(`status.accessString of ${name} to follow the new access string`, async () => {
      const u = await ctx.user(name);
      return inSync(u) && follows(u.status?.accessString, changed.accessString)
        ? { ok: u }
        : { wait: `${describeUser(u)}; status.accessString ${JSON.stringify(u.status?.accessString)}` };
    });
    check(user.status?.accessString !== before.status?.accessString, "status.accessString did not change");
    await expectManaged(ctx, name, user, changed);
    await ctx.waitEvent(name, "Updated", { seen, test: (e) => /access string/i.test(e.message) });
  },
};

const rotate: Step = {
  name: "rotate",
  summary: "a new value in the Secret: PasswordRotated Event, status.passwordSecrets follows, MemoryDB updated",
  async run(ctx) {
    const { name, secret, spec, user: before } = await createPasswordUser(ctx, "rotate", ["password"]);
    const oldVersion = before.status?.passwordSecrets?.[0]?.resourceVersion;
    const seen = await ctx.eventNames(name);
    const mark = ctx.memorydb ? await ctx.memorydb.mark() : undefined;
    await ctx.applySecret(secret, { password: ctx.password() });
    const newVersion = await ctx.secretVersion(secret);
    check(newVersion !== oldVersion, `the Secret's resourceVersion did not move on (${newVersion})`);
    const user = await ctx.until<MdbUser>(
      `status.passwordSecrets of ${name} to record the Secret's resourceVersion ${newVersion}`,
      async () => {
        const u = await ctx.user(name);
        const recorded = u.status?.passwordSecrets?.[0]?.resourceVersion;
        return recorded === newVersion && inSync(u)
          ? { ok: u }
          : { wait: `${describeUser(u)}; status.passwordSecrets ${JSON.stringify(u.status?.passwordSecrets)}` };
      },
    );
    await ctx.waitEvent(name, "PasswordRotated", { seen });
    await expectManaged(ctx, name, user, spec);
    if (mark !== undefined) {
      // The emulator logs calls with passwords masked: the value cannot be compared, but an
      // UpdateUser carrying the password set must have reached MemoryDB.
      const calls = await ctx.memorydb!.callsSince(mark, spec.userName);
      const sent = calls.filter((c) => c.op === "UpdateUser" && c.error === undefined && c.passwordsSent === 1);
      check(
        sent.length >= 1,
        `no successful UpdateUser with one password reached MemoryDB after the Secret changed; calls: ${JSON.stringify(calls)}`,
      );
    }
  },
};

const generated: Step = {
  name: "generated",
  summary:
    "a generated password: its Secret (username, 32-character password), then a rotation on demand (PasswordRotated, a new password)",
  async run(ctx) {
    const name = ctx.name("gen");
    const secretName = `${name}-redis`;
    const spec: UserSpec = {
      userName: name,
      accessString: readOnly(name),
      deletionPolicy: "Delete",
      generate: { secretName, overlap: "5s" },
    };
    await ctx.applyUser(name, spec);
    await ctx.waitReady(name);
    const values = async () => {
      const v = await ctx.cluster.secretValues(ctx.ns, secretName);
      check(v !== undefined, `the Secret ${secretName} does not exist`);
      return v;
    };
    const first = await values();
    equal(Object.keys(first).sort(), ["password", "username"], `the keys of the Secret ${secretName}`);
    check(first.username === name, `the Secret's username is not ${name}`);
    check(first.password!.length === 32, "the generated password is not 32 characters long");
    // Only the emulator can say what a Redis AUTH would get; MemoryDB's API cannot.
    const auth = ctx.memorydb?.authenticate ? (password: string) => ctx.memorydb!.authenticate!(name, password) : undefined;
    if (auth) check(await auth(first.password!), "MemoryDB does not accept the generated password");
    await ctx.waitEvent(name, "PasswordGenerated");
    const seen = await ctx.eventNames(name);
    await ctx.kubectl(["annotate", "mdbu", name, "-n", ctx.ns, "--overwrite", `memorydb.operators.dev/rotate-password=${ctx.env.prefix}`]);
    await ctx.until<MdbUser>(`the rotation of ${name}'s generated password to complete (overlap 5s)`, async () => {
      const u = await ctx.user(name);
      const r = u.status?.passwordRotation;
      return inSync(u) && r?.phase === "Stable" && r.lastRotationRequest === ctx.env.prefix
        ? { ok: u }
        : { wait: `${describeUser(u)}; passwordRotation ${JSON.stringify(r)}` };
    });
    await ctx.waitEvent(name, "PasswordRotated", { seen });
    const second = await values();
    check(second.password !== first.password, "the password did not change");
    check(second["previous-password"] === undefined, "previous-password is still in the Secret after the overlap");
    if (auth) {
      check(await auth(second.password!), "MemoryDB does not accept the new password");
      check(!(await auth(first.password!)), "MemoryDB still accepts the old password after the overlap");
    }
  },
};

const tags: Step = {
  name: "tags",
  summary: "spec.tags added, changed and removed: Updated Events name the keys, MemoryDB's tags converge",
  async run(ctx) {
    const initial = { "e2e-team": "alpha", "e2e-env": "test" };
    const { name, spec, user } = await createPasswordUser(ctx, "tags", ["password"], { tags: initial });
    const converge = async (wanted: Record<string, string>, removed: string[], keys: string[]) => {
      const seen = await ctx.eventNames(name);
      await ctx.applyUser(name, { ...spec, tags: wanted });
      await ctx.waitInSync(name);
      await ctx.waitEvent(name, "Updated", { seen, test: (e) => keys.every((k) => e.message.includes(k)) });
      if (!ctx.memorydb) return;
      await ctx.waitMemoryDB(
        spec.userName,
        `to carry tags ${JSON.stringify(wanted)} and not ${removed.join(", ")}`,
        (u) =>
          u !== undefined &&
          Object.entries(wanted).every(([k, v]) => u.tags[k] === v) &&
          removed.every((k) => !(k in u.tags)) &&
          ownedBy(u.tags[OWNERSHIP_TAG], ctx.ns, user),
      );
    };
    // Change one, remove one, add one.
    await converge({ "e2e-team": "beta", "e2e-cost": "c-42" }, ["e2e-env"], ["e2e-team", "e2e-cost", "e2e-env"]);
    // Remove the rest.
    await converge({}, ["e2e-team", "e2e-cost", "e2e-env"], ["e2e-team", "e2e-cost"]);
  },
};

const retain: Step = {
  name: "retain",
  summary: "deletionPolicy Retain keeps the MemoryDB user (Retained); adoptExisting takes it back; Delete removes it",
  async run(ctx) {
    const { name, spec, user } = await createPasswordUser(ctx, "retain", ["password"], { deletionPolicy: "Retain" });
    const arn = user.status?.arn;
    const adopter = ctx.name("retain-adopt");
    const adopterSecret = `${adopter}-pw`;
    const adopterSpec: UserSpec = {
      ...spec,
      adoptExisting: true,
      deletionPolicy: "Delete",
      passwords: [{ secret: adopterSecret, key: "password" }],
    };
    let retained = false;
    let deletedAgain = false;
    // A retained user belongs to no resource: if the step stops before adopting it back and
    // deleting it, adopt it here, so that the generic cleanup deletes it. Deleting an adopter
    // that has not adopted yet would only release the user.
    ctx.cleanups.push(async () => {
      if (!retained || deletedAgain) return;
      const existing = await ctx.cluster.getUser(ctx.ns, adopter);
      if (existing?.metadata.deletionTimestamp) return;
      if (!existing) {
        if (ctx.memorydb && !(await ctx.memorydb.user(spec.userName))) return;
        await ctx.applySecret(adopterSecret, { password: ctx.password() });
        await ctx.applyUser(adopter, adopterSpec);
      }
      await ctx.waitReady(adopter);
    });

    retained = true;
    await ctx.deleteUser(name);
    await ctx.waitEvent(name, "Retained", { test: (e) => e.message.includes(spec.userName) });
    if (ctx.memorydb) {
      const kept = await ctx.memorydb.user(spec.userName);
      check(kept !== undefined, `deletionPolicy Retain: MemoryDB user ${spec.userName} was deleted`);
      check(
        !(OWNERSHIP_TAG in kept.tags),
        `the retained user still carries the ownership tag: ${JSON.stringify(kept.tags[OWNERSHIP_TAG])}`,
      );
    }

    const mark = ctx.memorydb ? await ctx.memorydb.mark() : undefined;
    await ctx.applySecret(adopterSecret, { password: ctx.password() });
    await ctx.applyUser(adopter, adopterSpec);
    const adopted = await ctx.waitReady(adopter);
    equal(adopted.status?.arn, arn, "the adopting resource's status.arn (the retained user's)");
    await expectManaged(ctx, adopter, adopted, { ...spec, passwords: adopterSpec.passwords });
    await ctx.waitEvent(adopter, "Adopted", { test: (e) => e.message.includes(spec.userName) });
    const created = (await ctx.cluster.events(ctx.ns, adopter)).filter((e) => e.reason === "Created");
    check(created.length === 0, `adoption created a user instead: ${JSON.stringify(created.map((e) => e.message))}`);
    if (mark !== undefined) {
      const calls = await ctx.memorydb!.callsSince(mark, spec.userName);
      // A CreateUser sent at once (the region's listing predates the retained user) is refused
      // without touching the user; nothing else may create it.
      const creates = calls.filter((c) => c.op === "CreateUser");
      check(
        creates.every((c) => c.error === "UserAlreadyExistsFault") && creates.length <= 1,
        `adoption created the user: ${JSON.stringify(calls)}`,
      );
      check(
        calls.some((c) => c.op === "UpdateUser" && c.error === undefined && c.passwordsSent === 1),
        `adoption did not set the password from the Secret: ${JSON.stringify(calls)}`,
      );
    }

    await ctx.deleteUser(adopter);
    deletedAgain = true;
    await ctx.waitEvent(adopter, "Deleted", { test: (e) => e.message.includes(spec.userName) });
    if (ctx.memorydb) {
      const left = await ctx.memorydb.user(spec.userName);
      check(
        left === undefined,
        `MemoryDB user ${spec.userName} still exists (${left?.status}) after the adopting resource (Delete) was deleted`,
      );
    }
  },
};

const deletion: Step = {
  name: "delete",
  summary: "deletionPolicy Delete: the resource goes away only once the MemoryDB user is deleted (Deleted Event)",
  async run(ctx) {
    const { name, spec } = await createPasswordUser(ctx, "delete", ["password"]);
    await ctx.deleteUser(name);
    // kubectl delete returned: the resource is gone, so its user must be gone already.
    if (ctx.memorydb) {
      const left = await ctx.memorydb.user(spec.userName);
      check(left === undefined, `the MemoryDBUser was gone while MemoryDB still had user ${spec.userName} (${left?.status})`);
    }
    await ctx.waitEvent(name, "Deleted", { test: (e) => e.message.includes(spec.userName) });
  },
};

const conflict: Step = {
  name: "conflict",
  summary: "a second MemoryDBUser naming the same user: Ready=False UserNameConflict, touches nothing, Released on delete",
  async run(ctx) {
    const userName = ctx.name("conflict");
    const first = ctx.name("conflict-a");
    const second = ctx.name("conflict-b");
    for (const n of [first, second]) await ctx.applySecret(`${n}-pw`, { password: ctx.password() });
    const firstSpec: UserSpec = {
      userName,
      accessString: readOnly(userName),
      deletionPolicy: "Delete",
      passwords: [{ secret: `${first}-pw`, key: "password" }],
      tags: { "e2e-claim": "first" },
    };
    await ctx.applyUser(first, firstSpec);
    const before = await ctx.waitReady(first);
    const memoryBefore = ctx.memorydb ? await ctx.memorydb.user(userName) : undefined;
    const mark = ctx.memorydb ? await ctx.memorydb.mark() : undefined;
    const firstEvents = await ctx.eventNames(first);

    // Everything about the second differs, so any change it made would show.
    const secondSpec: UserSpec = {
      userName,
      accessString: `on ~${second}:* &* +@all`,
      deletionPolicy: "Delete",
      passwords: [{ secret: `${second}-pw`, key: "password" }],
      tags: { "e2e-claim": "second" },
    };
    await ctx.applyUser(second, secondSpec);
    const loser = await ctx.waitReason(second, "UserNameConflict");
    const message = condition(loser, "Ready")?.message ?? "";
    check(
      message.includes(`${ctx.ns}/${first}`),
      `the UserNameConflict message does not name ${ctx.ns}/${first}: ${JSON.stringify(message)}`,
    );
    check(loser.status?.arn === undefined, `the conflicting resource claims the user: status.arn ${loser.status?.arn}`);
    await ctx.waitEvent(second, "UserNameConflict", { type: "Warning" });

    const untouched = async (when: string) => {
      const winner = await ctx.user(first);
      check(inSync(winner), `${when}: the first resource is no longer Ready: ${describeUser(winner)}`);
      equal(winner.status?.accessString, before.status?.accessString, `${when}: the first resource's status.accessString`);
      const news = (await ctx.cluster.events(ctx.ns, first)).filter((e) => !firstEvents.has(e.name));
      check(
        news.length === 0,
        `${when}: new Events on the first resource: ${JSON.stringify(news.map((e) => `${e.reason}: ${e.message}`))}`,
      );
      if (!ctx.memorydb) return;
      const now = await ctx.memorydb.user(userName);
      equal(now, memoryBefore, `${when}: MemoryDB user ${userName}`);
      if (mark !== undefined) {
        const writes = (await ctx.memorydb.callsSince(mark, userName)).filter((c) => MUTATING_OPS.includes(c.op));
        check(writes.length === 0, `${when}: MemoryDB calls changing ${userName}: ${JSON.stringify(writes)}`);
      }
    };
    await untouched("while both exist");
    await ctx.deleteUser(second);
    await ctx.waitEvent(second, "Released", { test: (e) => e.message.includes(userName) });
    const deleted = (await ctx.cluster.events(ctx.ns, second)).filter((e) => e.reason === "Deleted");
    check(deleted.length === 0, `deleting the conflicting resource reported Deleted: ${JSON.stringify(deleted.map((e) => e.message))}`);
    await untouched("after the second was deleted");
  },
};

const invalidPassword: Step = {
  name: "invalid-password",
  summary: "a 15-character password: Ready=False InvalidPassword naming the Secret, the value in no message; a valid one makes it Ready",
  async run(ctx) {
    const name = ctx.name("badpw");
    const secret = `${name}-pw`;
    const short = ctx.password(15);
    await ctx.applySecret(secret, { password: short });
    const spec = passwordUserSpec(name, secret);
    await ctx.applyUser(name, spec);
    const user = await ctx.waitReason(name, "InvalidPassword");
    const ready = condition(user, "Ready")?.message ?? "";
    check(ready.includes(secret), `the InvalidPassword message does not name the Secret ${secret}: "${ready}"`);
    const event = await ctx.waitEvent(name, "InvalidPassword", { type: "Warning" });
    for (const [where, text] of [
      ["the status", JSON.stringify(user.status)],
      ["the Event", event.message],
    ] as const) {
      check(!text.includes(short), `${where} contains the password`);
    }
    if (ctx.memorydb) check((await ctx.memorydb.user(name)) === undefined, `MemoryDB user ${name} exists although its password is invalid`);
    // Terminal until an input changes: a valid value in the Secret is one.
    await ctx.applySecret(secret, { password: ctx.password() });
    const fixed = await ctx.waitReady(name);
    await expectManaged(ctx, name, fixed, spec);
  },
};

const missingSecret: Step = {
  name: "missing-secret",
  summary: "a Secret that does not exist: Ready=False SecretNotFound; creating it makes the user Ready",
  async run(ctx) {
    const name = ctx.name("nosecret");
    const secret = `${name}-pw`;
    const spec = passwordUserSpec(name, secret);
    await ctx.applyUser(name, spec);
    const user = await ctx.waitReason(name, "SecretNotFound");
    const message = condition(user, "Ready")?.message ?? "";
    check(message.includes(secret), `the SecretNotFound message does not name the Secret ${secret}: "${message}"`);
    await ctx.waitEvent(name, "SecretNotFound", { type: "Warning" });
    if (ctx.memorydb) check((await ctx.memorydb.user(name)) === undefined, `MemoryDB user ${name} exists although its Secret does not`);
    await ctx.applySecret(secret, { password: ctx.password() });
    const ready = await ctx.waitReady(name);
    await expectManaged(ctx, name, ready, spec);
  },
};

interface InvalidCase {
  what: string;
  edit: (spec: Record<string, any>, ctx: StepContext) => void;
  field: string;
  /** The field error, as kube-apiserver 1.20 to 1.32 word it. */
  phrase: RegExp;
}

const INVALID: InvalidCase[] = [
  {
    what: "an upper-case spec.userName",
    edit: (s, ctx) => (s.userName = ctx.name("UPPER")),
    field: "spec.userName",
    phrase: /should match/,
  },
  {
    what: "a 41-character spec.userName",
    edit: (s, ctx) => (s.userName = ctx.name("x").padEnd(41, "x")),
    field: "spec.userName",
    phrase: /Too long|should be at most 40 chars long/,
  },
  { what: "deletionPolicy Keep", edit: (s) => (s.deletionPolicy = "Keep"), field: "spec.deletionPolicy", phrase: /Unsupported value/ },
  {
    what: "three passwords",
    edit: (s) => (s.authenticationMode.passwords = ["a", "b", "c"].map((key) => ({ secretKeyRef: { name: "some-secret", key } }))),
    field: "spec.authenticationMode.passwords",
    phrase: /must have at most 2 items|should have at most 2 items/,
  },
  { what: "no accessString", edit: (s) => delete s.accessString, field: "spec.accessString", phrase: /Required value/ },
];

const invalidSpec: Step = {
  name: "invalid-spec",
  summary: "specs the CRD's OpenAPI schema rejects (pattern, maxLength, enum, maxItems, required) never get stored",
  async run(ctx) {
    const base = (name: string) =>
      userManifest(ctx.ns, name, ctx.env.prefix, {
        userName: name,
        accessString: readOnly(name),
        deletionPolicy: "Delete",
        passwords: [{ secret: "some-secret", key: "password" }],
      }) as Record<string, any>;
    // --validate=false: the API server must be the one refusing (kubectl may validate on the
    // client against an old server's OpenAPI v2). A server-side dry run proves the base is valid.
    const control = await ctx.cluster.apply([base(ctx.name("valid"))], {
      extraArgs: ["--dry-run=server", "--validate=false"],
      signal: ctx.signal,
      timeoutMs: ctx.remainingMs() + 15_000,
    });
    check(control.code === 0, `the valid control manifest was refused by a server-side dry run: ${control.stderr.trim()}`);
    for (const [i, c] of INVALID.entries()) {
      const name = ctx.name(`invalid-${i + 1}`);
      const manifest = base(name);
      c.edit(manifest.spec, ctx);
      ctx.users.set(name, String(manifest.spec.userName ?? name));
      const run = await ctx.cluster.apply([manifest], {
        extraArgs: ["--validate=false"],
        signal: ctx.signal,
        timeoutMs: ctx.remainingMs() + 15_000,
      });
      check(run.code !== 0, `${c.what} was accepted (kubectl: ${run.stdout.trim()})`);
      const err = run.stderr;
      check(
        err.includes("is invalid") && err.includes(c.field) && c.phrase.test(err),
        `${c.what}: expected the API server to reject ${c.field} (${c.phrase}), kubectl said: ${err.trim()}`,
      );
      check((await ctx.cluster.getUser(ctx.ns, name)) === undefined, `${c.what}: the MemoryDBUser ${name} exists`);
    }
  },
};

export const STEPS: Step[] = [
  passwordOne,
  passwordTwo,
  iam,
  update,
  rotate,
  generated,
  tags,
  retain,
  deletion,
  conflict,
  invalidPassword,
  missingSecret,
  invalidSpec,
];
