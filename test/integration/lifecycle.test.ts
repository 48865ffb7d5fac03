// Issue 3: the user's whole life: updates, password rotation, tags, deletion, adoption,
// ownership conflicts, IAM and regions, asserted on what the emulator saw.

import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { expect } from "chai";
import { OWNERSHIP_TAG_KEY, RETAINED_TAG_KEY } from "../../src/model.ts";
import { condition, isReady, PASSWORD_1, PASSWORD_2, passwordSpec, reasonIs, TestEnv } from "./harness.ts";

const PASSWORD_3 = "third-password-klmnopqrstu";
const setMerge = () => setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const NS = "life";

// Twice: with access strings rewritten as MemoryDB is documented to, and as Redis' ACL LIST
// prints them (an order and forms the operator's comparison does not model). Tag calls answer
// UserNotFound while a user is modifying, as ElastiCache's are recorded to.
for (const accessStringMode of ["memorydb", "acl-list"] as const)
  describe(`user lifecycle (operator against the local control plane; access strings as ${accessStringMode})`, function () {
    this.timeout(30_000);
    let env: TestEnv;

    before(async () => {
      env = await TestEnv.start({
        emulator: { modifyingMs: 150, deletingMs: 300, accessStringMode, tagsUnavailableWhileModifying: true },
        extraRegion: "eu-west-1",
        env: { ALLOW_ADOPTION: NS },
      });
      await env.createNamespace(NS);
      await env.createNamespace("other");
      await env.createSecret(NS, "pw", { password: PASSWORD_1, second: PASSWORD_2 });
    });
    after(async () => {
      await env?.stop();
    });

    async function readyUser(name: string, spec: Record<string, unknown> = passwordSpec("pw")) {
      await env.createUser(NS, name, spec);
      return env.waitForUser(NS, name, isReady);
    }

    async function reasons(name: string, ns = NS): Promise<string[]> {
      return (await env.eventsFor(ns, name)).map((e) => e.reason ?? "");
    }

    it("puts its finalizer on before creating the user", async () => {
      const user = await readyUser("finalized");
      expect(user.metadata.finalizers).to.deep.equal(["memorydb.operators.dev/finalizer"]);
    });

    it("puts its finalizer back when someone removes it", async () => {
      await readyUser("refinalized");
      await env.patchUser(NS, "refinalized", { metadata: { finalizers: null } });
      await env.waitForUser(NS, "refinalized", (u) => (u.metadata.finalizers ?? []).includes("memorydb.operators.dev/finalizer"), 5_000);
    });

    it("updates the access string, with no drift loop from MemoryDB's normalisation", async () => {
      await readyUser("acl");
      env.aws.resetCalls();
      await env.patchUserSpec(NS, "acl", { accessString: "on +get" });
      await env.until("the access string is updated", () => env.aws.user("acl")?.accessString === "on resetchannels -@all +get");
      const user = await env.waitForUser(NS, "acl", (u) => isReady(u) && u.status?.observedGeneration === 2);
      expect(user.status?.accessString).to.equal("on resetchannels -@all +get");
      await env.operator!.resync();
      await env.idle();
      await env.operator!.resync();
      await env.idle();
      expect(env.aws.calls.UpdateUser).to.equal(1);
      expect(await reasons("acl")).to.include("Updated");
    });

    it("switches the authentication mode between password and iam", async () => {
      await readyUser("switch");
      await env.patchUserSpec(NS, "switch", { authenticationMode: { type: "iam", passwords: null } });
      await env.until("the user uses IAM", () => env.aws.user("switch")?.authType === "iam");
      expect(env.aws.user("switch")!.passwords).to.deep.equal([]);
      let user = await env.waitForUser(NS, "switch", (u) => isReady(u) && u.status?.authentication?.type === "iam");
      // MemoryDB reports no password count for an IAM user: the status must not keep the old one,
      // else every reconcile finds a difference and writes the status again.
      expect(user.status?.authentication).to.deep.equal({ type: "iam" });
      await env.idle();
      const statusWrites = () =>
        env.kube.requests.filter((r) => r.method === "PATCH" && r.path.endsWith("/memorydbusers/switch/status")).length;
      const writes = statusWrites();
      await env.operator!.resync();
      await env.idle();
      expect(statusWrites()).to.equal(writes);
      await env.patchUserSpec(NS, "switch", {
        authenticationMode: { type: "password", passwords: [{ secretKeyRef: { name: "pw", key: "password" } }] },
      });
      user = await env.waitForUser(NS, "switch", (u) => isReady(u) && u.status?.authentication?.type === "password");
      expect(env.aws.user("switch")!.passwords).to.deep.equal([PASSWORD_1]);
      expect(user.status?.authentication).to.deep.equal({ type: "password", passwordCount: 1 });
    });

    it("rotates the password when the Secret's value changes, and documents it in an Event", async () => {
      await env.createSecret(NS, "rot-pw", { password: PASSWORD_1 });
      const before = await readyUser("rotated", passwordSpec("rot-pw"));
      const sourcesBefore = before.status?.passwordSecrets;
      env.aws.resetCalls();
      await env.replaceSecret(NS, "rot-pw", { password: PASSWORD_3 });
      await env.until("the new password reaches MemoryDB", () => env.aws.user("rotated")?.passwords[0] === PASSWORD_3, 5_000);
      expect(env.aws.calls.UpdateUser).to.equal(1);
      const after = await env.waitForUser(
        NS,
        "rotated",
        (u) => isReady(u) && JSON.stringify(u.status?.passwordSecrets) !== JSON.stringify(sourcesBefore),
      );
      expect(after.status?.passwordSecrets).to.have.length(1);
      expect(JSON.stringify(after)).to.not.include(PASSWORD_3);
      expect(await reasons("rotated")).to.include("PasswordRotated");

      // A metadata-only change of the Secret sends nothing to MemoryDB.
      const touched = await env.core.patchNamespacedSecret(
        { namespace: NS, name: "rot-pw", body: { metadata: { labels: { touched: "yes" } } } },
        setMerge(),
      );
      // Read and found unchanged (by its verifier): the new version is recorded, nothing sent.
      await env.waitForUser(NS, "rotated", (u) => u.status?.passwordSecrets?.[0]?.resourceVersion === touched.metadata?.resourceVersion);
      await env.idle();
      expect(env.aws.calls.UpdateUser).to.equal(1);
    });

    it("runs the two-password rotation: add a second password, then drop the first", async () => {
      await readyUser("two");
      await env.patchUserSpec(NS, "two", {
        authenticationMode: {
          type: "password",
          passwords: [{ secretKeyRef: { name: "pw", key: "password" } }, { secretKeyRef: { name: "pw", key: "second" } }],
        },
      });
      await env.until("two passwords", () => env.aws.user("two")?.passwords.length === 2);
      expect(env.aws.user("two")!.passwords).to.deep.equal([PASSWORD_1, PASSWORD_2]);
      await env.waitForUser(NS, "two", (u) => isReady(u) && u.status?.authentication?.passwordCount === 2);
      await env.patchUserSpec(NS, "two", {
        authenticationMode: { type: "password", passwords: [{ secretKeyRef: { name: "pw", key: "second" } }] },
      });
      await env.until("only the second password", () => JSON.stringify(env.aws.user("two")?.passwords) === JSON.stringify([PASSWORD_2]));
    });

    it("keeps tags in step with spec.tags and never drops the ownership tag", async () => {
      await readyUser("tagged", { ...passwordSpec("pw"), tags: { team: "a", env: "dev" } });
      await env.patchUserSpec(NS, "tagged", { tags: { team: "b", env: null, cost: "42" } });
      await env.until("tags are updated", () => {
        const t = env.aws.user("tagged")?.tags ?? {};
        return t.team === "b" && t.cost === "42" && !("env" in t);
      });
      expect(env.aws.user("tagged")!.tags[OWNERSHIP_TAG_KEY]).to.equal(
        `${env.operator!.clusterId}/${NS}/tagged/${(await env.getUser(NS, "tagged")).metadata.uid}`,
      );
    });

    it("applies tags changed while MemoryDB is still modifying the user", async () => {
      await env.createSecret(NS, "busy-pw", { password: PASSWORD_1 });
      await readyUser("busy-tags", passwordSpec("busy-pw"));
      await env.replaceSecret(NS, "busy-pw", { password: PASSWORD_2 });
      await env.until("MemoryDB is modifying the user", () => env.aws.user("busy-tags")?.status === "modifying");
      await env.patchUserSpec(NS, "busy-tags", { tags: { team: "billing" } });
      await env.until("the tag change reaches MemoryDB", () => env.aws.user("busy-tags")?.tags.team === "billing", 5_000);
    });

    it("deletes the user on resource deletion, waiting while MemoryDB says deleting", async () => {
      await readyUser("doomed");
      await env.deleteUser(NS, "doomed");
      await env.until("MemoryDB is deleting", () => env.aws.user("doomed")?.status === "deleting", 5_000);
      // The finalizer holds the resource while MemoryDB is deleting.
      const held = await env.getUser(NS, "doomed");
      expect(held.metadata.deletionTimestamp).to.be.a("string");
      expect(condition(held, "Ready")?.reason).to.equal("Deleting");
      await env.waitForGone(NS, "doomed");
      expect(env.aws.user("doomed")).to.equal(undefined);
    });

    it("deletes even when the password Secret is gone, and treats an already-deleted user as success", async () => {
      await env.createSecret(NS, "gone-pw", { password: PASSWORD_1 });
      await readyUser("no-secret", passwordSpec("gone-pw"));
      await env.core.deleteNamespacedSecret({ namespace: NS, name: "gone-pw" });
      env.aws.deleteUserOutOfBand("no-secret");
      await env.deleteUser(NS, "no-secret");
      await env.waitForGone(NS, "no-secret");
    });

    it("removes only its own finalizer, keeping another controller's", async () => {
      await readyUser("shared-fin");
      const user = await env.getUser(NS, "shared-fin");
      await env.patchUser(NS, "shared-fin", { metadata: { finalizers: [...(user.metadata.finalizers ?? []), "example.com/other"] } });
      await env.deleteUser(NS, "shared-fin");
      await env.until("the user is deleted from MemoryDB", () => env.aws.user("shared-fin") === undefined);
      await env.waitForUser(NS, "shared-fin", (u) => JSON.stringify(u.metadata.finalizers) === JSON.stringify(["example.com/other"]));
      await env.patchUser(NS, "shared-fin", { metadata: { finalizers: null } });
      await env.waitForGone(NS, "shared-fin");
    });

    it("Retain keeps the user, drops the ownership tag and records where it was retained from", async () => {
      await readyUser("kept", { ...passwordSpec("pw"), deletionPolicy: "Retain", tags: { team: "x" } });
      await env.deleteUser(NS, "kept");
      await env.waitForGone(NS, "kept");
      const kept = env.aws.user("kept");
      expect(kept?.status).to.equal("active");
      expect(kept?.tags).to.deep.equal({ team: "x", [RETAINED_TAG_KEY]: `${env.operator!.clusterId}/${NS}/kept` });
    });

    it("adopts an unowned user only when asked, and brings it to the spec", async () => {
      env.aws.seedUser({ name: "legacy", accessString: "on ~* +@all", passwords: [PASSWORD_3], tags: { old: "tag" } });
      await env.createUser(NS, "legacy", passwordSpec("pw"));
      await env.waitForUser(NS, "legacy", reasonIs("UserAlreadyExists"));
      expect(env.aws.user("legacy")!.passwords).to.deep.equal([PASSWORD_3]);

      await env.patchUserSpec(NS, "legacy", { adoptExisting: true });
      await env.waitForUser(NS, "legacy", (u) => isReady(u) && u.status?.observedGeneration === 2);
      const adopted = env.aws.user("legacy")!;
      expect(adopted.passwords).to.deep.equal([PASSWORD_1]);
      expect(adopted.tags).to.deep.equal({
        team: "payments",
        [OWNERSHIP_TAG_KEY]: `${env.operator!.clusterId}/${NS}/legacy/${(await env.getUser(NS, "legacy")).metadata.uid}`,
      });
      expect(adopted.accessString).to.equal("on ~app:* &* -@all +@read"); // as MemoryDB normalises it
      expect(await reasons("legacy")).to.include("Adopted");
    });

    it("gives a user name claimed by two resources to the first; the later one gets UserNameConflict", async () => {
      await readyUser("first", { ...passwordSpec("pw"), userName: "contested" });
      await env.createSecret("other", "pw", { password: PASSWORD_2 });
      await env.createUser("other", "second", { ...passwordSpec("pw"), userName: "contested", adoptExisting: true });
      const later = await env.waitForUser("other", "second", reasonIs("UserNameConflict"));
      // Another namespace's resource is not named to this one (its name stays in the operator's log).
      expect(condition(later, "Ready")!.message).to.include("another MemoryDBUser in this cluster").and.not.include("first");
      expect(env.aws.user("contested")!.passwords).to.deep.equal([PASSWORD_1]);
      expect(env.aws.user("contested")!.tags[OWNERSHIP_TAG_KEY]).to.equal(
        `${env.operator!.clusterId}/${NS}/first/${(await env.getUser(NS, "first")).metadata.uid}`,
      );
      expect(isReady(await env.getUser(NS, "first"))).to.equal(true);
    });

    it("never adopts a user owned by another cluster", async () => {
      env.aws.seedUser({
        name: "elsewhere",
        accessString: "on ~* +@all",
        passwords: [PASSWORD_3],
        tags: { [OWNERSHIP_TAG_KEY]: "other-cluster/ns/x" },
      });
      await env.createUser(NS, "elsewhere", { ...passwordSpec("pw"), adoptExisting: true });
      const user = await env.waitForUser(NS, "elsewhere", reasonIs("UserNameConflict"));
      expect(condition(user, "Ready")!.message).to.include("a MemoryDBUser in another cluster").and.not.include("other-cluster");
      expect(env.aws.user("elsewhere")!.passwords).to.deep.equal([PASSWORD_3]);
    });

    it("manages IAM users end to end", async () => {
      const user = await readyUser("iam-user", { accessString: "on ~* +@all", authenticationMode: { type: "iam" } });
      expect(env.aws.user("iam-user")).to.deep.include({ authType: "iam", passwords: [] });
      expect(user.status?.authentication?.type).to.equal("iam");
      expect(user.status?.minimumEngineVersion).to.equal("7.0");
    });

    it("creates the user in spec.region with that region's client", async () => {
      const user = await readyUser("eu-user", { ...passwordSpec("pw"), region: "eu-west-1" });
      expect(env.otherRegion!.user("eu-user")).to.not.equal(undefined);
      expect(env.aws.user("eu-user")).to.equal(undefined);
      expect(user.status?.arn).to.match(/^arn:aws:memorydb:eu-west-1:/);
    });

    it("never deletes or changes a user recreated by someone else under the same name (same ARN)", async () => {
      await env.createSecret(NS, "victim-pw", { password: PASSWORD_1 });
      await readyUser("victim", passwordSpec("victim-pw"));
      env.aws.deleteUserOutOfBand("victim");
      env.aws.seedUser({
        name: "victim",
        accessString: "on ~* +@all",
        passwords: [PASSWORD_3],
        tags: { [OWNERSHIP_TAG_KEY]: "another-cluster/ns/victim" },
      });
      env.aws.resetCalls();
      // A rotation would update the user if ownership were presumed from the ARN in status.
      await env.replaceSecret(NS, "victim-pw", { password: PASSWORD_2 });
      await env.waitForUser(NS, "victim", reasonIs("UserNameConflict"));
      await env.deleteUser(NS, "victim");
      await env.waitForGone(NS, "victim");
      const survivor = env.aws.user("victim")!;
      expect(survivor.passwords).to.deep.equal([PASSWORD_3]);
      expect(survivor.tags[OWNERSHIP_TAG_KEY]).to.equal("another-cluster/ns/victim");
      for (const op of ["UpdateUser", "DeleteUser", "TagResource", "UntagResource"]) expect(env.aws.calls[op] ?? 0, op).to.equal(0);
    });

    it("swaps 40 tags for 40 others within MemoryDB's 50-tag quota", async () => {
      const tags = (prefix: string) => Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`${prefix}${i}`, "v"]));
      await readyUser("many-tags", { ...passwordSpec("pw"), tags: tags("old") });
      const replaced = { ...Object.fromEntries(Object.keys(tags("old")).map((k) => [k, null])), ...tags("new") };
      await env.patchUserSpec(NS, "many-tags", { tags: replaced });
      await env.until("the new tags are on the user", () => {
        const t = env.aws.user("many-tags")?.tags ?? {};
        return Object.keys(t).length === 41 && "new39" in t && !("old0" in t);
      });
      expect(condition(await env.getUser(NS, "many-tags"), "Synced")?.status).to.not.equal("False");
    });

    it("finishes a Retain deletion that was interrupted after the ownership tag was removed", async () => {
      await readyUser("kept-twice", { ...passwordSpec("pw"), deletionPolicy: "Retain" });
      // The finalizer removal fails once, after UntagResource succeeded.
      env.kube.faults.failNext(1, { status: 500, method: "PATCH", pathIncludes: "/memorydbusers/kept-twice" });
      try {
        await env.deleteUser(NS, "kept-twice");
        await env.waitForGone(NS, "kept-twice");
      } finally {
        env.kube.faults.reset();
      }
      expect(env.aws.user("kept-twice")?.tags).to.not.have.property(OWNERSHIP_TAG_KEY);
    });

    it("restarts without an UpdateUser or a drift Event, whatever form MemoryDB rewrote the access strings to", async () => {
      const strings = [
        "on +get ~k:*",
        "on %RW~data:* &chan -@all +get +set",
        "on allkeys allchannels allcommands -flushall",
        "on ~a:* ~b:* ~a:* +@read +config|get",
      ];
      for (const [i, accessString] of strings.entries()) await readyUser(`form-${i}`, { ...passwordSpec("pw"), accessString });
      await env.idle();
      await env.stopOperator();
      env.aws.resetCalls();
      await env.startOperator({ ALLOW_ADOPTION: NS });
      await env.idle();
      for (let i = 0; i < 2; i++) {
        await env.operator!.resync();
        await env.idle();
      }
      expect(env.aws.calls.UpdateUser ?? 0).to.equal(0);
      for (const i of strings.keys()) expect(await reasons(`form-${i}`), accessStringMode).to.not.include("DriftCorrected");
    });

    it("looks again when a user vanishes between DescribeUsers and UpdateUser", async () => {
      await readyUser("vanishing");
      env.aws.faults.failNext("UpdateUser", "UserNotFoundFault", 1);
      await env.patchUserSpec(NS, "vanishing", { accessString: "on ~* +@read" });
      const user = await env.waitForUser(NS, "vanishing", (u) => isReady(u) && u.status?.observedGeneration === 2, 5_000);
      expect(condition(user, "Synced")?.reason).to.equal("ReconcileSuccess");
    });
  });
