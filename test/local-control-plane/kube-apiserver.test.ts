import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1OwnerReference,
  Watch,
} from "@kubernetes/client-node";
import { expect } from "chai";
import { KubeApiServer } from "../../local-control-plane/kube/server.ts";

const CRD = new URL("../../crds/memorydb.operators.dev_memorydbusers.yaml", import.meta.url).pathname;
const G = "memorydb.operators.dev",
  V = "v1alpha1",
  P = "memorydbusers";
const NS = "default";

type Obj = Record<string, any>;

function user(name: string, spec: Obj = {}, extra: Obj = {}): Obj {
  return {
    apiVersion: `${G}/${V}`,
    kind: "MemoryDBUser",
    metadata: { name, ...(extra.metadata ?? {}) },
    spec: {
      accessString: "on ~* &* +@all",
      authenticationMode: { passwords: [{ secretKeyRef: { name: "pw", key: "password" } }] },
      ...spec,
    },
  };
}

/** The Status of a failed call. */
async function failure(p: Promise<unknown>): Promise<Obj> {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof ApiException)) throw e;
    const body = typeof e.body === "string" ? JSON.parse(e.body) : e.body;
    expect(body.code).to.equal(e.code);
    return body;
  }
  throw new Error("expected the call to fail");
}

describe("fake kube-apiserver", () => {
  let server: KubeApiServer;
  let kc: KubeConfig;
  let core: CoreV1Api;
  let co: CustomObjectsApi;
  const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
  const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);

  before(async () => {
    server = await KubeApiServer.start({ crdFiles: [CRD], watchCacheSize: 50, bookmarkIntervalMs: 100 });
    kc = new KubeConfig();
    kc.loadFromString(server.kubeconfig());
    core = kc.makeApiClient(CoreV1Api);
    co = kc.makeApiClient(CustomObjectsApi);
  });
  after(async () => server.stop());
  afterEach(() => server.faults.reset());

  const create = (body: Obj, ns = NS) =>
    co.createNamespacedCustomObject({ group: G, version: V, namespace: ns, plural: P, body }) as Promise<Obj>;
  const get = (name: string) => co.getNamespacedCustomObject({ group: G, version: V, namespace: NS, plural: P, name }) as Promise<Obj>;
  const replace = (name: string, body: Obj) =>
    co.replaceNamespacedCustomObject({ group: G, version: V, namespace: NS, plural: P, name, body }) as Promise<Obj>;
  const patch = (name: string, body: unknown, opt = merge) =>
    co.patchNamespacedCustomObject({ group: G, version: V, namespace: NS, plural: P, name, body }, opt) as Promise<Obj>;
  const patchStatus = (name: string, body: unknown) =>
    co.patchNamespacedCustomObjectStatus({ group: G, version: V, namespace: NS, plural: P, name, body }, merge) as Promise<Obj>;
  const del = (name: string) => co.deleteNamespacedCustomObject({ group: G, version: V, namespace: NS, plural: P, name }) as Promise<Obj>;

  describe("basics", () => {
    it("serves discovery, version and health", async () => {
      const res = await fetch(`${server.url}/apis/${G}/${V}`);
      const doc = (await res.json()) as Obj;
      expect(doc.resources.map((r: Obj) => r.name)).to.deep.equal(["memorydbusers", "memorydbusers/status"]);
      expect(doc.resources[0]).to.include({ kind: "MemoryDBUser", namespaced: true });
      expect(doc.resources[0].shortNames).to.deep.equal(["mdbu"]);
      const groups = (await (await fetch(`${server.url}/apis`)).json()) as Obj;
      expect(groups.groups.map((g: Obj) => g.name)).to.include.members([G, "coordination.k8s.io", "events.k8s.io"]);
      expect(((await (await fetch(`${server.url}/version`)).json()) as Obj).gitVersion).to.match(/^v1\.32\./);
      expect(await (await fetch(`${server.url}/readyz`)).text()).to.equal("ok");
    });

    it("has default and kube-system namespaces; 404 for objects in a missing namespace", async () => {
      const ks = await core.readNamespace({ name: "kube-system" });
      expect(ks.metadata?.uid).to.be.a("string");
      expect((await core.readNamespace({ name: "kube-system" })).metadata?.uid).to.equal(ks.metadata?.uid);
      const st = await failure(create(user("nowhere"), "missing"));
      expect(st).to.deep.include({ code: 404, reason: "NotFound", message: 'namespaces "missing" not found' });
      expect(st.details).to.deep.equal({ name: "missing", kind: "namespaces" });
    });

    it("converts secret stringData to data and lists core items without kind", async () => {
      await core.createNamespacedSecret({
        namespace: NS,
        body: { metadata: { name: "pw", labels: { app: "x" } }, stringData: { password: "p".repeat(20) } },
      });
      const s = await core.readNamespacedSecret({ namespace: NS, name: "pw" });
      expect(s.data?.password).to.equal(Buffer.from("p".repeat(20)).toString("base64"));
      expect((s as Obj).stringData).to.equal(undefined);
      expect(s.type).to.equal("Opaque");
      const raw = (await (await fetch(`${server.url}/api/v1/namespaces/${NS}/secrets`)).json()) as Obj;
      expect(raw.kind).to.equal("SecretList");
      expect(raw.items[0].kind).to.equal(undefined);
    });
  });

  describe("CRUD, resourceVersion and generation", () => {
    it("creates with server fields and the authenticationMode.type default", async () => {
      const u = await create(user("alice"));
      expect(u.metadata.uid).to.be.a("string");
      expect(u.metadata.creationTimestamp).to.match(/Z$/);
      expect(u.metadata.generation).to.equal(1);
      expect(Number(u.metadata.resourceVersion)).to.be.greaterThan(0);
      expect(u.spec.authenticationMode.type).to.equal("password");
      const st = await failure(create(user("alice")));
      expect(st).to.deep.include({
        code: 409,
        reason: "AlreadyExists",
        message: 'memorydbusers.memorydb.operators.dev "alice" already exists',
      });
    });

    it("honours generateName and ignores status on create", async () => {
      const u = await create({
        ...user(""),
        metadata: { generateName: "gen-" },
        spec: { ...user("x").spec, userName: "gen-user" },
        status: { arn: "x" },
      });
      expect(u.metadata.name).to.match(/^gen-[a-z0-9]{5}$/);
      expect(u.status).to.equal(undefined);
    });

    it("bumps resourceVersion on every write and generation only on spec changes", async () => {
      const u = await create(user("bob"));
      const labelled = await patch("bob", { metadata: { labels: { team: "a" }, finalizers: ["x.dev/f"] } });
      expect(Number(labelled.metadata.resourceVersion)).to.be.greaterThan(Number(u.metadata.resourceVersion));
      expect(labelled.metadata.generation).to.equal(1);
      const changed = await patch("bob", { spec: { accessString: "on ~* +@read" } });
      expect(changed.metadata.generation).to.equal(2);
      const noop = await patch("bob", { spec: { accessString: "on ~* +@read" } });
      expect(noop.metadata.resourceVersion).to.equal(changed.metadata.resourceVersion);
      await patch("bob", { metadata: { finalizers: null } });
    });

    it("answers 409 Conflict to an update with a stale resourceVersion and 422 without one", async () => {
      const u = await create(user("carol"));
      const fresh = await replace("carol", { ...u, spec: { ...u.spec, accessString: "on ~a* +get" } });
      expect(fresh.metadata.generation).to.equal(2);
      const st = await failure(replace("carol", { ...u, spec: { ...u.spec, accessString: "on ~b* +get" } }));
      expect(st).to.deep.include({
        code: 409,
        reason: "Conflict",
        message:
          'Operation cannot be fulfilled on memorydbusers.memorydb.operators.dev "carol": the object has been modified; please apply your changes to the latest version and try again',
      });
      const noRv = { ...fresh, metadata: { ...fresh.metadata, resourceVersion: undefined } };
      const st2 = await failure(replace("carol", noRv));
      expect(st2.code).to.equal(422);
      expect(st2.message).to.equal(
        'memorydbusers.memorydb.operators.dev "carol" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update',
      );
    });

    it("applies JSON patches including test, failing a test op with 422", async () => {
      const u = await create(user("dave"));
      const ok = await patch(
        "dave",
        [
          { op: "test", path: "/metadata/resourceVersion", value: u.metadata.resourceVersion },
          { op: "replace", path: "/spec/accessString", value: "on ~k +get" },
        ],
        jsonPatch,
      );
      expect(ok.spec.accessString).to.equal("on ~k +get");
      const st = await failure(
        patch(
          "dave",
          [
            { op: "test", path: "/metadata/resourceVersion", value: u.metadata.resourceVersion },
            { op: "replace", path: "/spec/accessString", value: "on ~z +get" },
          ],
          jsonPatch,
        ),
      );
      expect(st).to.deep.include({
        code: 422,
        reason: "Invalid",
        message: "the server rejected our request due to an error in our request",
      });
      // v1.20: NewGenericServerResponse(422, ..., isUnexpectedResponse=false) drops the json-patch error.
      expect(st.details).to.deep.equal({});
      expect((await get("dave")).spec.accessString).to.equal("on ~k +get");
    });

    it("stores no empty labels, annotations, finalizers (typed ObjectMeta, omitempty)", async () => {
      const cm = await core.createNamespacedConfigMap({
        namespace: NS,
        body: { metadata: { name: "meta-empty", labels: {}, annotations: {}, finalizers: [] } },
      });
      expect(cm.metadata).to.not.have.any.keys("labels", "annotations", "finalizers");
      await core.patchNamespacedConfigMap({ namespace: NS, name: "meta-empty", body: { metadata: { labels: { a: "b" } } } }, merge);
      const cm2 = await core.patchNamespacedConfigMap(
        { namespace: NS, name: "meta-empty", body: { metadata: { labels: { a: null } } } },
        merge,
      );
      expect(cm2.metadata).to.not.have.property("labels");
      await create(user("meta-fin", {}, { metadata: { finalizers: ["x.io/f"] } }));
      const u = await patch(
        "meta-fin",
        [
          { op: "test", path: "/metadata/finalizers", value: ["x.io/f"] },
          { op: "remove", path: "/metadata/finalizers/0" },
        ],
        jsonPatch,
      );
      expect(u.metadata).to.not.have.property("finalizers");
    });

    it("conflicts on a merge patch carrying a stale resourceVersion; 415 for strategic merge on CRs", async () => {
      const u = await create(user("erin"));
      await patch("erin", { metadata: { labels: { a: "b" } } });
      const st = await failure(patch("erin", { metadata: { resourceVersion: u.metadata.resourceVersion }, spec: { accessString: "on" } }));
      expect(st.reason).to.equal("Conflict");
      const st2 = await failure(
        patch("erin", { metadata: { labels: { c: "d" } } }, setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch)),
      );
      expect(st2).to.deep.include({ code: 415, reason: "UnsupportedMediaType" });
    });

    it("lists with label selectors and paginates consistently", async () => {
      for (const [n, tier] of [
        ["l-a", "gold"],
        ["l-b", "silver"],
        ["l-c", "gold"],
      ] as const) {
        await create({ ...user(n), metadata: { name: n, labels: { tier, ...(n === "l-c" ? { extra: "y" } : {}) } } });
      }
      const list = (labelSelector: string) =>
        co.listNamespacedCustomObject({ group: G, version: V, namespace: NS, plural: P, labelSelector }) as Promise<Obj>;
      const names = async (sel: string) => (await list(sel)).items.map((i: Obj) => i.metadata.name);
      expect(await names("tier=gold")).to.deep.equal(["l-a", "l-c"]);
      expect(await names("tier==gold,extra")).to.deep.equal(["l-c"]);
      expect(await names("tier!=gold,tier")).to.deep.equal(["l-b"]);
      expect(await names("tier in (silver, bronze)")).to.deep.equal(["l-b"]);
      expect(await names("tier notin (gold),tier")).to.deep.equal(["l-b"]);
      expect(await names("tier,!extra")).to.deep.equal(["l-a", "l-b"]);
      const page1 = (await co.listNamespacedCustomObject({
        group: G,
        version: V,
        namespace: NS,
        plural: P,
        labelSelector: "tier",
        limit: 2,
      })) as Obj;
      expect(page1.items).to.have.length(2);
      await del("l-c");
      const page2 = (await co.listNamespacedCustomObject({
        group: G,
        version: V,
        namespace: NS,
        plural: P,
        labelSelector: "tier",
        limit: 2,
        _continue: page1.metadata.continue,
      })) as Obj;
      expect(page2.items.map((i: Obj) => i.metadata.name)).to.deep.equal(["l-c"]); // snapshot of the first page's revision
      expect(page2.metadata.resourceVersion).to.equal(page1.metadata.resourceVersion);
    });
  });

  describe("names and generateName (ValidateObjectMeta), Event validation", () => {
    const SUB =
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    const post = (path: string, body: Obj) =>
      fetch(`${server.url}${path}`, {
        method: "POST",
        body: JSON.stringify(body),
        headers: { Authorization: `Bearer ${server.token}`, "Content-Type": "application/json" },
      });
    const v1Event = (metadata: Obj) => ({
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata,
      eventTime: "2026-12-01T10:00:00.000000Z",
      reportingController: "memorydb.operators.dev/memorydb-user-operator",
      reportingInstance: "i1",
      action: "CreateUser",
      reason: "Created",
      type: "Normal",
      note: "x",
      regarding: { apiVersion: `${G}/${V}`, kind: "MemoryDBUser", name: "app-user", namespace: NS },
    });

    it("refuses a generateName that is no name prefix with the real 422 (events.k8s.io/v1, ConfigMap, Secret, custom resource)", async () => {
      const cases: Array<[string, Obj, string, string | undefined]> = [
        [`/apis/events.k8s.io/v1/namespaces/${NS}/events`, v1Event({ generateName: "app-user." }), "Event", undefined],
        [`/api/v1/namespaces/${NS}/configmaps`, { metadata: { generateName: "app-user." } }, "ConfigMap", undefined],
        [`/api/v1/namespaces/${NS}/secrets`, { metadata: { generateName: "app-user." } }, "Secret", undefined],
        [
          `/apis/${G}/${V}/namespaces/${NS}/${P}`,
          user("", { userName: "uu" }, { metadata: { generateName: "app-user." } }),
          "MemoryDBUser",
          G,
        ],
      ];
      for (const [path, body, kind, group] of cases) {
        if (body.metadata.name === "") delete body.metadata.name;
        const r = await post(path, body);
        expect(r.status, path).to.equal(422);
        const st = (await r.json()) as Obj;
        const name = st.details.name as string;
        expect(name).to.match(/^app-user\.[bcdfghjklmnpqrstvwxz2456789]{5}$/);
        expect(st).to.deep.equal({
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Failure",
          message: `${group ? `${kind}.${group}` : kind} "${name}" is invalid: metadata.generateName: Invalid value: "app-user.": ${SUB}`,
          reason: "Invalid",
          details: {
            name,
            ...(group ? { group } : {}),
            kind,
            causes: [{ reason: "FieldValueInvalid", message: `Invalid value: "app-user.": ${SUB}`, field: "metadata.generateName" }],
          },
          code: 422,
        });
      }
      // A trailing '-' is masked, v1.20-style (the last two bytes become "a"); the generated name is checked too.
      const bad = (await (await post(`/api/v1/namespaces/${NS}/configmaps`, { metadata: { generateName: "Bad-" } })).json()) as Obj;
      expect(bad.details.causes.map((c: Obj) => c.field)).to.deep.equal(["metadata.generateName", "metadata.name"]);
      const dot = (await (await post(`/api/v1/namespaces/${NS}/configmaps`, { metadata: { generateName: "ab.-" } })).json()) as Obj;
      expect(dot.details.causes.map((c: Obj) => c.field)).to.deep.equal(["metadata.name"]);
      expect((await post(`/api/v1/namespaces/${NS}/configmaps`, { metadata: { generateName: "ab-" } })).status).to.equal(201);
      // "-" alone makes maskTrailingDash panic: the connection is dropped without a response.
      let dropped = false;
      try {
        await post(`/api/v1/namespaces/${NS}/configmaps`, { metadata: { generateName: "-" } });
      } catch {
        dropped = true;
      }
      expect(dropped).to.equal(true);
      // The prefix is cut at 58 bytes, not characters.
      const long = (await (
        await post(`/api/v1/namespaces/${NS}/configmaps`, { metadata: { generateName: `${"a".repeat(70)}` } })
      ).json()) as Obj;
      expect(long.metadata.name).to.have.length(63);
    });

    it("refuses a bad name with the real 422, but core/v1 Events only check names as path segments", async () => {
      const st = (await (await post(`/apis/events.k8s.io/v1/namespaces/${NS}/events`, v1Event({ name: "Bad_Name" }))).json()) as Obj;
      expect(st.message).to.equal(`Event "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": ${SUB}`);
      expect(st.details).to.deep.equal({
        name: "Bad_Name",
        kind: "Event",
        causes: [{ reason: "FieldValueInvalid", message: `Invalid value: "Bad_Name": ${SUB}`, field: "metadata.name" }],
      });
      const core1 = {
        involvedObject: { kind: "MemoryDBUser", name: "app-user", namespace: NS },
        reason: "Created",
        message: "x",
        type: "Normal",
      };
      expect((await post(`/api/v1/namespaces/${NS}/events`, { ...core1, metadata: { name: "Bad_Name" } })).status).to.equal(201);
      expect((await post(`/api/v1/namespaces/${NS}/events`, { ...core1, metadata: { generateName: "app-user." } })).status).to.equal(201);
      const slash = (await (await post(`/api/v1/namespaces/${NS}/events`, { ...core1, metadata: { name: "a%b" } })).json()) as Obj;
      expect(slash.message).to.equal(`Event "a%b" is invalid: metadata.name: Invalid value: "a%b": may not contain '%'`);
      const cm = (await (await post(`/api/v1/namespaces/${NS}/configmaps`, { metadata: { name: "Bad_Name" } })).json()) as Obj;
      expect(cm.message).to.equal(`ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": ${SUB}`);
    });

    it("validates events.k8s.io/v1 Events like ValidateEventCreate, with the internal field names", async () => {
      const st = (await (
        await post(`/apis/events.k8s.io/v1/namespaces/${NS}/events`, {
          metadata: { name: "e-bad" },
          type: "Info",
          note: "n".repeat(1100),
          regarding: { kind: "MemoryDBUser", name: "app-user", namespace: "other" },
          reportingController: "Bad Controller",
          deprecatedCount: 3,
          series: { count: 1 },
        })
      ).json()) as Obj;
      expect(st.message).to.equal(
        'Event "e-bad" is invalid: [involvedObject.namespace: Invalid value: "other": does not match event.namespace, series.count: Invalid value: "": should be at least 2, series.lastObservedTime: Required value, eventTime: Required value, type: Invalid value: "": has invalid value: Info, count: Invalid value: "": needs to be unset]',
      );
      const st2 = (await (
        await post(`/apis/events.k8s.io/v1/namespaces/${NS}/events`, {
          ...v1Event({ name: "e-bad2" }),
          reportingController: "Bad Controller/x/y",
          reportingInstance: "i".repeat(130),
          action: undefined,
          note: "n".repeat(1100),
        })
      ).json()) as Obj;
      expect(st2.details.causes.map((c: Obj) => `${c.field}: ${c.message}`)).to.deep.equal([
        "reportingController: Invalid value: \"Bad Controller/x/y\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
        'reportingInstance: Invalid value: "": can have at most 128 characters',
        "action: Required value",
        'message: Invalid value: "": can have at most 1024 characters',
      ]);
    });
  });

  describe("status subresource", () => {
    it("ignores status on the main resource and everything but status on /status", async () => {
      await create(user("stat"));
      const s1 = await patchStatus("stat", {
        status: { arn: "arn:1", observedGeneration: 1 },
        metadata: { labels: { ignored: "yes" } },
        spec: { accessString: "off" },
      });
      expect(s1.status.arn).to.equal("arn:1");
      expect(s1.metadata.labels).to.equal(undefined);
      expect(s1.spec.accessString).to.equal("on ~* &* +@all");
      expect(s1.metadata.generation).to.equal(1);
      const m = await patch("stat", { status: { arn: "arn:2" }, metadata: { labels: { kept: "yes" } } });
      expect(m.status.arn).to.equal("arn:1");
      expect(m.metadata.labels).to.deep.equal({ kept: "yes" });
      const viaStatus = (await co.getNamespacedCustomObjectStatus({ group: G, version: V, namespace: NS, plural: P, name: "stat" })) as Obj;
      expect(viaStatus.spec).to.be.an("object");
      const st = await failure(
        patchStatus("stat", {
          status: { conditions: [{ type: "Ready", status: "Maybe", lastTransitionTime: "x", reason: "R", message: "" }] },
        }),
      );
      expect(st.code).to.equal(422);
      expect(st.message).to.contain(
        'status.conditions[0].status: Unsupported value: "Maybe": supported values: "True", "False", "Unknown"',
      );
      expect(st.message).to.contain(
        'status.conditions[0].lastTransitionTime: Invalid value: "x": status.conditions[0].lastTransitionTime in body must be of type date-time: "x"',
      );
    });
  });

  describe("finalizers and deletion", () => {
    it("keeps a finalized object with deletionTimestamp until the last finalizer goes", async () => {
      await create({ ...user("fin"), metadata: { name: "fin", finalizers: ["memorydb.operators.dev/cleanup"] } });
      const d = await del("fin");
      expect(d.metadata.deletionTimestamp).to.be.a("string");
      expect(d.metadata.deletionGracePeriodSeconds).to.equal(0);
      expect(d.metadata.generation).to.equal(2);
      const again = await del("fin");
      expect(again.metadata.resourceVersion).to.equal(d.metadata.resourceVersion);
      const st = await failure(patch("fin", { metadata: { finalizers: ["memorydb.operators.dev/cleanup", "other.dev/x"] } }));
      expect(st.message).to.equal(
        'MemoryDBUser.memorydb.operators.dev "fin" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"other.dev/x"}',
      );
      const st2 = await patchStatus("fin", { status: { arn: "a" } });
      expect(st2.metadata.deletionTimestamp).to.equal(d.metadata.deletionTimestamp);
      await patch("fin", [{ op: "remove", path: "/metadata/finalizers" }], jsonPatch);
      expect((await failure(get("fin"))).code).to.equal(404);
    });

    it("deletes objects without finalizers immediately with a Success status", async () => {
      await create(user("gone"));
      const d = await del("gone");
      expect(d).to.deep.include({ kind: "Status", status: "Success" });
      expect(d.details).to.include({ name: "gone", group: G, kind: P });
    });

    describe("garbage collection (the controller manager's, in the background)", () => {
      const ref = (owner: Obj, controller = true) => ({
        apiVersion: `${G}/${V}`,
        kind: "MemoryDBUser",
        name: owner.metadata.name,
        uid: owner.metadata.uid,
        controller,
      });
      const secret = (name: string, ownerReferences: V1OwnerReference[]) =>
        core.createNamespacedSecret({ namespace: NS, body: { metadata: { name, ownerReferences }, stringData: { k: "v" } } });
      const secretGone = async (name: string) => {
        for (let i = 0; i < 100; i++) {
          try {
            await core.readNamespacedSecret({ namespace: NS, name });
          } catch (e) {
            if (e instanceof ApiException && e.code === 404) return true;
            throw e;
          }
          await new Promise((r) => setTimeout(r, 10));
        }
        return false;
      };

      it("deletes a dependent once its owner is gone (after the owner's finalizers), keeps one that has another owner", async () => {
        const owner = await create({ ...user("gc-owner"), metadata: { name: "gc-owner", finalizers: ["memorydb.operators.dev/cleanup"] } });
        const other = await create(user("gc-other"));
        await secret("gc-dep", [ref(owner)]);
        await secret("gc-shared", [ref(owner), ref(other, false)]);
        await del("gc-owner");
        // Deleting, not gone: the dependents stay.
        await new Promise((r) => setTimeout(r, 20));
        expect((await core.readNamespacedSecret({ namespace: NS, name: "gc-dep" })).metadata?.name).to.equal("gc-dep");
        await patch("gc-owner", [{ op: "remove", path: "/metadata/finalizers" }], jsonPatch);
        expect(await secretGone("gc-dep")).to.equal(true);
        const shared = await core.readNamespacedSecret({ namespace: NS, name: "gc-shared" });
        expect(shared.metadata?.ownerReferences?.map((r) => r.name)).to.deep.equal(["gc-other"]);
        await del("gc-other");
        expect(await secretGone("gc-shared")).to.equal(true);
      });

      it("with propagationPolicy Orphan releases the dependents instead", async () => {
        const owner = await create(user("gc-orphaner"));
        await secret("gc-orphan", [ref(owner)]);
        await co.deleteNamespacedCustomObject({
          group: G,
          version: V,
          namespace: NS,
          plural: P,
          name: "gc-orphaner",
          propagationPolicy: "Orphan",
        });
        await new Promise((r) => setTimeout(r, 20));
        const orphan = await core.readNamespacedSecret({ namespace: NS, name: "gc-orphan" });
        expect(orphan.metadata?.ownerReferences).to.equal(undefined);
      });

      it("ignores a reference whose UID is not the owner's (a namesake)", async () => {
        await create(user("gc-namesake"));
        await secret("gc-stale", [{ apiVersion: `${G}/${V}`, kind: "MemoryDBUser", name: "gc-namesake", uid: "not-its-uid" }]);
        await del("gc-namesake");
        await new Promise((r) => setTimeout(r, 20));
        expect((await core.readNamespacedSecret({ namespace: NS, name: "gc-stale" })).metadata?.name).to.equal("gc-stale");
      });
    });
  });

  describe("watch", () => {
    type Ev = { type: string; object: Obj };
    function watch(query: Obj, onEvent?: (e: Ev) => void): Promise<{ events: Ev[]; done: Promise<unknown>; abort: () => void }> {
      const events: Ev[] = [];
      let resolveDone!: (v: unknown) => void;
      const done = new Promise((r) => {
        resolveDone = r;
      });
      return new Watch(kc)
        .watch(
          `/apis/${G}/${V}/namespaces/${NS}/${P}`,
          query,
          (type, object) => {
            events.push({ type, object });
            onEvent?.({ type, object });
          },
          (err) => resolveDone(err ?? null),
        )
        .then((ctrl) => ({ events, done, abort: () => ctrl.abort() }));
    }
    const until = async (cond: () => boolean, ms = 2000) => {
      const end = Date.now() + ms;
      while (!cond()) {
        if (Date.now() > end) throw new Error("timed out");
        await new Promise((r) => setTimeout(r, 10));
      }
    };

    it("replays events after a resourceVersion and streams new ones", async () => {
      const u = await create(user("w-a"));
      await patch("w-a", { spec: { accessString: "on ~1 +get" } });
      await create({ ...user("w-b"), metadata: { name: "w-b", labels: { w: "yes" } } });
      const w = await watch({ resourceVersion: u.metadata.resourceVersion });
      await del("w-a");
      await until(() => w.events.length >= 3);
      expect(w.events.map((e) => `${e.type}:${e.object.metadata.name}`)).to.deep.equal(["MODIFIED:w-a", "ADDED:w-b", "DELETED:w-a"]);
      w.abort();
    });

    it("starts with synthetic ADDED events, honours label selectors and timeoutSeconds (no bookmark within 2 s of the deadline)", async () => {
      const w = await watch({ labelSelector: "w=yes", allowWatchBookmarks: true, timeoutSeconds: 1 });
      await until(() => w.events.length > 0);
      expect(w.events[0]).to.deep.include({ type: "ADDED" });
      expect(w.events[0]!.object.metadata.name).to.equal("w-b");
      await patch("w-b", { metadata: { labels: { w: "no" } } }); // leaves the selector: DELETED
      await until(() => w.events.some((e) => e.type === "DELETED"));
      expect(await w.done).to.equal(null); // closed by timeoutSeconds
      // nextBookmarkTime: min(now + 100 ms, deadline - 2 s) is already past, so never a bookmark.
      expect(w.events.map((e) => e.type)).to.deep.equal(["ADDED", "DELETED"]);
    });

    it("sends a 410 Expired ERROR event for a resourceVersion older than the history", async () => {
      const u = await get("w-b");
      await patch("w-b", { spec: { accessString: "on ~2 +get" } });
      server.faults.expireWatchHistory(); // the history now starts after the patch
      const w = await watch({ resourceVersion: u.metadata.resourceVersion });
      await w.done;
      expect(w.events).to.have.length(1);
      expect(w.events[0]!.type).to.equal("ERROR");
      expect(w.events[0]!.object).to.include({ kind: "Status", code: 410, reason: "Expired" });
      const st = await failure(
        co.listNamespacedCustomObject({
          group: G,
          version: V,
          namespace: NS,
          plural: P,
          resourceVersion: u.metadata.resourceVersion,
          resourceVersionMatch: "Exact",
        }),
      );
      expect(st.code).to.equal(410);
    });

    it("drops and stalls watches on demand", async () => {
      const w = await watch({});
      await until(() => w.events.length > 0);
      server.faults.dropWatches();
      const err = await w.done;
      expect(err).to.not.equal(undefined);
      server.faults.stallWatches(true);
      const w2 = await watch({ resourceVersion: String((await get("w-b")).metadata.resourceVersion) });
      const withheld = server.faults.withheldEvents;
      await patch("w-b", { spec: { accessString: "on ~3 +get" } });
      await until(() => server.faults.withheldEvents > withheld);
      expect(w2.events).to.have.length(0);
      expect(server.faults.openWatches).to.be.greaterThan(0);
      w2.abort();
      server.faults.stallWatches(false);
    });
  });

  describe("validation", () => {
    async function rejected(body: Obj): Promise<string> {
      const st = await failure(create(body));
      expect(st).to.deep.include({ code: 422, reason: "Invalid", kind: "Status" });
      expect(st.details).to.include({ group: G, kind: "MemoryDBUser" });
      return st.message as string;
    }
    const base = (n: string) => `MemoryDBUser.memorydb.operators.dev "${n}" is invalid: `;

    it("runs OpenAPI pattern and CEL matches() on RE2, not JavaScript regexes", async () => {
      const crd = {
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        metadata: { name: "regexes.re2.test" },
        spec: {
          group: "re2.test",
          scope: "Namespaced",
          names: { plural: "regexes", singular: "regex", kind: "Regex" },
          versions: [
            {
              name: "v1",
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: "object",
                  properties: {
                    spec: {
                      type: "object",
                      properties: {
                        flags: { type: "string", pattern: "(?i)^abc$" },
                        letters: { type: "string", pattern: "^\\pL+\\z" },
                        posix: { type: "string", pattern: "^[[:alpha:]]+$" },
                        ws: { type: "string", pattern: "^\\s$" },
                        space: { type: "string", "x-kubernetes-validations": [{ rule: "self.matches('^\\\\s$')" }] },
                        digit: { type: "string", "x-kubernetes-validations": [{ rule: "!self.matches('\\\\d')" }] },
                      },
                    },
                  },
                },
              },
            },
          ],
        },
      };
      server.installCrd(crd);
      const post = (spec: Obj) =>
        fetch(`${server.url}/apis/re2.test/v1/namespaces/${NS}/regexes`, {
          method: "POST",
          headers: { Authorization: `Bearer ${server.token}`, "Content-Type": "application/json" },
          body: JSON.stringify({ apiVersion: "re2.test/v1", kind: "Regex", metadata: { generateName: "r-" }, spec }),
        }).then(async (r) => ({ code: r.status, body: (await r.json()) as Obj }));
      // RE2 syntax JavaScript lacks (inline flags, \pL, \z, POSIX classes) works.
      for (const spec of [{ flags: "ABC" }, { letters: "éß" }, { posix: "abc" }, { space: " " }, { digit: "١٢" }]) {
        const r = await post(spec);
        expect(r.code, JSON.stringify([spec, r.body])).to.equal(201);
      }
      // \s is ASCII in RE2 (a no-break space is not one); \d is ASCII in both.
      const nbsp = await post({ space: "\u00a0" });
      expect(nbsp.code).to.equal(422);
      expect(nbsp.body.message).to.include("spec.space: Invalid value: \"string\": failed rule: self.matches('^\\\\s$')");
      const ws = await post({ ws: "\u00a0" });
      expect(ws.body.message).to.equal(
        `Regex.re2.test "${ws.body.details.name}" is invalid: spec.ws: Invalid value: "\\u00a0": spec.ws in body should match '^\\s$'`,
      );
      // A lookahead is no RE2: the CRD is refused (recorded on v1.20.2).
      const bad = structuredClone(crd) as Obj;
      bad.metadata.name = "aheads.re2.test";
      Object.assign(bad.spec, { group: "re2.test", names: { plural: "aheads", singular: "ahead", kind: "Ahead" } });
      bad.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties = { ahead: { type: "string", pattern: "^(?=a)a$" } };
      const r = await fetch(`${server.url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions`, {
        method: "POST",
        body: JSON.stringify(bad),
        headers: { Authorization: `Bearer ${server.token}`, "Content-Type": "application/json" },
      });
      expect(r.status).to.equal(422);
      expect(((await r.json()) as Obj).message).to.equal(
        'CustomResourceDefinition.apiextensions.k8s.io "aheads.re2.test" is invalid: spec.validation.openAPIV3Schema.properties[spec].properties[ahead].pattern: Invalid value: "^(?=a)a$": must be a valid regular expression, but isn\'t: error parsing regexp: invalid or unsupported Perl syntax: `(?=`',
      );
    });

    it("keeps the CRD's own regexes in the common subset of RE2 and JavaScript, with the access-string rules on Redis' whitespace", async () => {
      const { RE2JS } = await import("re2js");
      const yaml = await import("js-yaml");
      const { readFileSync } = await import("node:fs");
      const regexes: string[] = [];
      const walk = (v: unknown): void => {
        if (Array.isArray(v)) {
          v.forEach(walk);
          return;
        }
        if (!v || typeof v !== "object") return;
        const o = v as Obj;
        if (typeof o.pattern === "string") regexes.push(o.pattern);
        for (const r of o["x-kubernetes-validations"] ?? []) {
          for (const m of String(r.rule).matchAll(/matches\('((?:[^'\\]|\\.)*)'\)/g)) regexes.push(m[1]!.replace(/\\(.)/g, "$1"));
        }
        Object.values(o).forEach(walk);
      };
      walk(yaml.load(readFileSync(CRD, "utf8")));
      expect(regexes.length).to.be.greaterThan(5);
      const chars = [
        "a",
        "Z",
        "0",
        "-",
        ".",
        "_",
        " ",
        "\t",
        "\n",
        "\v",
        "\f",
        "\r",
        "\u00a0",
        "\u2003",
        "\u3000",
        "\ufeff",
        "é",
        "١",
        ">",
        "<",
        "#",
        "~",
        "*",
        "&",
        "+",
        "@",
        ":",
        "/",
      ];
      const probes = [
        "",
        "on ~* &* +@all",
        "on nopass",
        "on\tnopass",
        "on\vnopass",
        "on\u00a0nopass",
        "on >pw",
        "on\u2003>pw",
        "reset",
        "resetkeys",
        "app-user",
        "us-east-1",
        "a.b-c",
        "Bad_Name",
        "ab\n",
      ];
      for (const a of chars) for (const b of chars) probes.push(a + b, `on${a}>x${b}`, `${a}nopass${b}`);
      for (const re of regexes) {
        const js = new RegExp(re),
          re2 = RE2JS.compile(re);
        for (const p of probes) expect(re2.matcher(p).find(), `${re} on ${JSON.stringify(p)}`).to.equal(js.test(p));
      }
      // Redis separates ACL rules by isspace(): \v too (which RE2's \s lacks), not by Unicode spaces.
      expect((await failure(create(user("ws-v", { accessString: "on\u000bnopass" })))).message).to.include("must not set passwords");
      expect((await failure(create(user("ws-blank", { accessString: " \t\u000b " })))).message).to.include(
        "accessString must not be blank",
      );
      expect((await create(user("ws-nbsp", { accessString: "on\u00a0nopass" }))).metadata.name).to.equal("ws-nbsp");
    });

    it("prunes unknown fields with a warning; strict field validation rejects them", async () => {
      const res = await fetch(`${server.url}/apis/${G}/${V}/namespaces/${NS}/${P}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ ...user("prune"), spec: { ...user("x").spec, bogus: 1 } }),
      });
      expect(res.status).to.equal(201);
      expect(res.headers.get("warning")).to.equal('299 - "unknown field \\"spec.bogus\\""');
      expect(((await res.json()) as Obj).spec.bogus).to.equal(undefined);
      const res2 = await fetch(`${server.url}/apis/${G}/${V}/namespaces/${NS}/${P}?fieldValidation=Strict`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ ...user("strict"), spec: { ...user("x").spec, bogus: 1 } }),
      });
      expect(res2.status).to.equal(400);
      expect(((await res2.json()) as Obj).message).to.equal(
        'MemoryDBUser in version "v1alpha1" cannot be handled as a MemoryDBUser: strict decoding error: unknown field "spec.bogus"',
      );
    });

    it("rejects a bad userName pattern", async () => {
      expect(await rejected(user("v1", { userName: "Bad" }))).to.equal(
        `${base("v1")}spec.userName: Invalid value: "Bad": spec.userName in body should match '^[a-z][a-z0-9]*(-[a-z0-9]+)*$'`,
      );
    });

    it("rejects userName 'default'", async () => {
      expect(await rejected(user("v2", { userName: "default" }))).to.equal(
        `${base("v2")}spec.userName: Invalid value: "string": the 'default' user is built into MemoryDB and cannot be managed`,
      );
    });

    it("rejects iam with passwords and password without passwords", async () => {
      expect(
        await rejected(user("v3", { authenticationMode: { type: "iam", passwords: [{ secretKeyRef: { name: "a", key: "b" } }] } })),
      ).to.equal(
        `${base("v3")}spec.authenticationMode: Invalid value: "object": authenticationMode.passwords and generatePassword must not be set when type is 'iam'`,
      );
      expect(await rejected(user("v4", { authenticationMode: {} }))).to.equal(
        `${base("v4")}spec.authenticationMode: Invalid value: "object": authenticationMode.passwords needs 1 or 2 entries (or use generatePassword) when type is 'password'`,
      );
      const ok = await create(user("v4iam", { authenticationMode: { type: "iam" } }));
      expect(ok.spec.authenticationMode).to.deep.equal({ type: "iam" });
    });

    it("rejects 3 passwords (and skips CEL after a blocking error)", async () => {
      const pw = { secretKeyRef: { name: "a", key: "b" } };
      expect(await rejected(user("v5", { authenticationMode: { passwords: [pw, pw, pw] } }))).to.equal(
        `${base("v5")}[spec.authenticationMode.passwords: Too many: 3: must have at most 2 items, <nil>: Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation]`,
      );
    });

    it("rejects blank access strings and access strings with passwords", async () => {
      expect(await rejected(user("v6", { accessString: "   " }))).to.equal(
        `${base("v6")}spec.accessString: Invalid value: "string": accessString must not be blank`,
      );
      expect(await rejected(user("v7", { accessString: "on >secret ~* +@all" }))).to.equal(
        `${base("v7")}spec.accessString: Invalid value: "string": accessString must not set passwords or reset the user (>, <, #, !, nopass, resetpass, reset, in any letter case): use authenticationMode.passwords`,
      );
      expect(await rejected(user("v7b", { accessString: "" }))).to.contain(
        'spec.accessString: Invalid value: "": spec.accessString in body should be at least 1 chars long',
      );
    });

    it("rejects 50 tags and reserved tag keys", async () => {
      const tags = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, "v"]));
      expect(await rejected(user("v8", { tags }))).to.equal(
        `${base("v8")}[spec.tags: Too many: 50: must have at most 49 items, <nil>: Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation]`,
      );
      expect(await rejected(user("v9", { tags: { "aws:x": "1" } }))).to.equal(
        `${base("v9")}spec.tags: Invalid value: "object": tag keys must not start with 'aws:' or 'memorydb.operators.dev/' (reserved)`,
      );
    });

    it("rejects a metadata.name that is not a user name when spec.userName is absent", async () => {
      const msg = await rejected(user("a.b"));
      expect(msg).to.equal(
        `${base("a.b")}<nil>: Invalid value: "object": metadata.name is not a valid MemoryDB user name (1-40 characters, a lower-case letter first, then lower-case letters, digits and single hyphens, not 'default'): set spec.userName`,
      );
      const ok = await create(user("a.b", { userName: "ab" }));
      expect(ok.spec.userName).to.equal("ab");
    });

    it("rejects required fields missing and wrong types", async () => {
      const msg = await rejected({
        apiVersion: `${G}/${V}`,
        kind: "MemoryDBUser",
        metadata: { name: "v10" },
        spec: { accessString: 5, authenticationMode: { type: "x" } },
      });
      expect(msg).to.contain('spec.accessString: Invalid value: "integer": spec.accessString in body must be of type string: "integer"');
      expect(msg).to.contain('spec.authenticationMode.type: Unsupported value: "x": supported values: "password", "iam"');
      expect(await rejected({ apiVersion: `${G}/${V}`, kind: "MemoryDBUser", metadata: { name: "v11" } })).to.contain(
        "spec: Required value",
      );
    });

    it("makes the user name immutable (CEL transition rule) on update", async () => {
      const u = await create(user("imm"));
      const st = await failure(patch("imm", { spec: { userName: "other" } }));
      expect(st.message).to.equal(
        `${base("imm")}<nil>: Invalid value: "object": the MemoryDB user name is immutable: spec.userName cannot be changed after creation (create a new MemoryDBUser instead)`,
      );
      const same = await patch("imm", { spec: { userName: "imm" } });
      expect(same.metadata.generation).to.equal(u.metadata.generation + 1);
    });
  });

  describe("namespaces", () => {
    it("terminates a namespace: content deleted, finalizers honoured, new content refused", async () => {
      await core.createNamespace({ body: { metadata: { name: "doomed" } } });
      await create({ ...user("held"), metadata: { name: "held", finalizers: ["memorydb.operators.dev/cleanup"] } }, "doomed");
      await core.createNamespacedConfigMap({ namespace: "doomed", body: { metadata: { name: "cm" }, data: { a: "b" } } });
      const ns = (await core.deleteNamespace({ name: "doomed" })) as Obj;
      expect(ns.status.phase).to.equal("Terminating");
      // The namespace controller empties it in the background.
      const cmGone = () =>
        core.readNamespacedConfigMap({ namespace: "doomed", name: "cm" }).then(
          () => false,
          (e) => e instanceof ApiException && e.code === 404,
        );
      for (const end = Date.now() + 2000; !(await cmGone()); ) if (Date.now() > end) throw new Error("configmap not deleted");
      const st = await failure(create(user("late"), "doomed"));
      expect(st).to.include({ code: 403, reason: "Forbidden" });
      const held = (await co.getNamespacedCustomObject({ group: G, version: V, namespace: "doomed", plural: P, name: "held" })) as Obj;
      expect(held.metadata.deletionTimestamp).to.be.a("string");
      await co.patchNamespacedCustomObject(
        { group: G, version: V, namespace: "doomed", plural: P, name: "held", body: { metadata: { finalizers: null } } },
        merge,
      );
      const end = Date.now() + 2000;
      while (Date.now() < end) {
        try {
          await core.readNamespace({ name: "doomed" });
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      expect((await failure(core.readNamespace({ name: "doomed" }))).code).to.equal(404);
    });
  });

  describe("faults", () => {
    it("fails the next matching requests with the given status", async () => {
      server.faults.failNext(1, { status: 500, method: "GET", pathIncludes: "/memorydbusers/alice" });
      expect((await failure(get("alice"))).reason).to.equal("InternalError");
      expect((await get("alice")).metadata.name).to.equal("alice");
      server.faults.failNext(1, { status: 429, method: "PATCH" });
      try {
        await patch("alice", { metadata: { labels: { x: "y" } } });
        expect.fail("should fail");
      } catch (e) {
        expect((e as ApiException<unknown>).code).to.equal(429);
        expect((e as ApiException<unknown>).headers["retry-after"]).to.equal("1");
      }
      server.faults.failNext(1, { status: 409, method: "PUT" });
      const a = await get("alice");
      expect((await failure(replace("alice", a))).reason).to.equal("Conflict");
      server.faults.failNext(1, { status: 503 });
      expect((await failure(core.readNamespace({ name: "default" }))).code).to.equal(503);
      expect(server.requests.some((r) => r.status === 503 && r.path === "/api/v1/namespaces/default")).to.equal(true);
    });

    it("failRate fails matching requests with the given probability until removed; user narrows any rule", async () => {
      const draws = [0.1, 0.9, 0.1, 0.9];
      const asked: string[] = [];
      server.faults.random = (r) => {
        asked.push(`${r.method} ${r.path} ${r.user}`);
        return draws.shift() ?? 0.9;
      };
      try {
        const stop = server.faults.failRate(0.5, {
          status: 429,
          method: "GET",
          watch: false,
          pathIncludes: "/memorydbusers/alice",
          retryAfterSeconds: 2,
        });
        const outcomes: Array<number | string> = [];
        for (let i = 0; i < 4; i++) {
          try {
            outcomes.push((await get("alice")).metadata.name);
          } catch (e) {
            outcomes.push((e as ApiException<unknown>).code);
            expect((e as ApiException<unknown>).headers["retry-after"]).to.equal("2");
          }
        }
        expect(outcomes).to.deep.equal([429, "alice", 429, "alice"]);
        // the source is told the request (a seeded one can decide per request, whatever the arrival order)
        expect(asked).to.deep.equal(Array(4).fill(`GET /apis/${G}/${V}/namespaces/${NS}/${P}/alice kubernetes-admin`));
        // other requests draw nothing and pass
        expect((await core.readNamespace({ name: "default" })).metadata?.name).to.equal("default");
        stop();
        server.faults.random = () => 0;
        expect((await get("alice")).metadata.name).to.equal("alice");

        // a rule for another identity leaves the admin alone; one for the admin fails it
        server.faults.failRate(1, { status: 500, user: "system:serviceaccount:ops:operator" });
        server.faults.failNext(1, { status: 409, method: "PATCH", user: "system:serviceaccount:ops:operator" });
        expect((await get("alice")).metadata.name).to.equal("alice");
        await patch("alice", { metadata: { labels: { rate: "ok" } } });
        const sa = new KubeConfig();
        sa.loadFromString(server.kubeconfig({ serviceAccount: { namespace: "ops", name: "operator" } }));
        const saClient = sa.makeApiClient(CustomObjectsApi);
        const saGet = saClient.getNamespacedCustomObject({ group: G, version: V, namespace: NS, plural: P, name: "alice" });
        expect((await failure(saGet)).reason).to.equal("InternalError");
        const saPatch = saClient.patchNamespacedCustomObject(
          { group: G, version: V, namespace: NS, plural: P, name: "alice", body: { metadata: { labels: { x: "y" } } } },
          merge,
        );
        expect((await failure(saPatch)).reason).to.equal("Conflict"); // failNext first
        server.faults.failNext(1, { status: 503, user: "kubernetes-admin" });
        expect((await failure(get("alice"))).code).to.equal(503);
        server.faults.reset(); // rate rules too
        expect(
          ((await saClient.getNamespacedCustomObject({ group: G, version: V, namespace: NS, plural: P, name: "alice" })) as Obj).metadata
            .name,
        ).to.equal("alice");
        expect(() => server.faults.failRate(1.5, { status: 500 })).to.throw(/0\.\.1/);
      } finally {
        server.faults.random = Math.random;
      }
    });
  });
});

describe("fake kube-apiserver: watch bookmarks as the v1.20 cacher sends them", function () {
  this.timeout(20_000);
  type Ev = { type: string; object: Obj; at: number };
  const servers: KubeApiServer[] = [];
  after(async () => {
    for (const s of servers) await s.stop();
  });
  async function start(bookmarkIntervalMs?: number): Promise<KubeApiServer> {
    const s = await KubeApiServer.start({ crdFiles: [CRD], ...(bookmarkIntervalMs ? { bookmarkIntervalMs } : {}) });
    servers.push(s);
    return s;
  }
  /** A raw watch: every event with its arrival time (ms after the request). */
  async function watch(s: KubeApiServer, path: string, accept = "application/json") {
    const events: Ev[] = [];
    const ctl = new AbortController();
    const t0 = Date.now();
    const r = await fetch(`${s.url}${path}`, { signal: ctl.signal, headers: { Authorization: `Bearer ${s.token}`, Accept: accept } });
    const done = (async () => {
      let buf = "";
      try {
        for await (const chunk of r.body!) {
          buf += Buffer.from(chunk as Uint8Array).toString("utf8");
          for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
            const e = JSON.parse(buf.slice(0, i));
            events.push({ ...e, at: Date.now() - t0 });
            buf = buf.slice(i + 1);
          }
        }
      } catch {
        /* aborted */
      }
      return Date.now() - t0;
    })();
    return { events, done, abort: () => ctl.abort(), bookmarks: () => events.filter((e) => e.type === "BOOKMARK") };
  }
  /** Waits for cond: the bookmark timers run on real time, so tests wait for rounds and events, not for fixed periods. */
  async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > end) throw new Error("timed out");
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  const post = (s: KubeApiServer, path: string, body: Obj) =>
    fetch(`${s.url}${path}`, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { Authorization: `Bearer ${s.token}`, "Content-Type": "application/json" },
    }).then((r) => r.json() as Promise<Obj>);

  it("never sends a bookmark for a type with no event since start, and drops such a watcher from the bookmark queue for good", async () => {
    const s = await start(200);
    const w = await watch(s, "/apis/coordination.k8s.io/v1/namespaces/default/leases?watch=true&allowWatchBookmarks=true");
    await until(() => s.bookmarkRounds >= 1); // its first round: the cacher has seen nothing, so it is dropped
    expect(w.events).to.deep.equal([]);
    await post(s, "/apis/coordination.k8s.io/v1/namespaces/default/leases", { metadata: { name: "l1" }, spec: { holderIdentity: "a" } });
    await until(() => w.events.length >= 1);
    expect(w.events.map((e) => e.type)).to.deep.equal(["ADDED"]);
    // A watch opened now gets them, once a newer event exists.
    const w2 = await watch(s, "/apis/coordination.k8s.io/v1/namespaces/default/leases?watch=true&allowWatchBookmarks=true");
    const rounds = s.bookmarkRounds;
    await until(() => s.bookmarkRounds > rounds); // w2's first round (w has none any more)
    expect(w2.events.map((e) => e.type)).to.deep.equal(["ADDED"]); // its start is the cache's resourceVersion: nothing newer yet
    const l2 = await post(s, "/apis/coordination.k8s.io/v1/namespaces/default/leases", {
      metadata: { name: "l2" },
      spec: { holderIdentity: "a" },
    });
    // Two of w2's rounds after l2: had w still been in the queue, its round (same interval) would have come too.
    await until(() => w2.bookmarks().length >= 2);
    expect(w2.events.filter((e) => e.type !== "BOOKMARK").map((e) => e.type)).to.deep.equal(["ADDED", "ADDED"]);
    expect(w2.bookmarks()[0]!.object).to.deep.equal({
      kind: "Lease",
      apiVersion: "coordination.k8s.io/v1",
      metadata: { resourceVersion: l2.metadata.resourceVersion, creationTimestamp: null },
      spec: {},
    });
    expect(w.events.map((e) => e.type)).to.deep.equal(["ADDED", "ADDED"]);
    w.abort();
    w2.abort();
  });

  it("carries the type's last resourceVersion, also for events outside the watch's scope, and only when newer than the watch's start", async () => {
    const s = await start(200);
    for (const ns of ["x", "y"]) await post(s, "/api/v1/namespaces", { metadata: { name: ns } });
    const a = await post(s, "/api/v1/namespaces/x/secrets", { metadata: { name: "a" } });
    const r = Number(a.metadata.resourceVersion);
    const rounds = s.bookmarkRounds;
    const fromNow = await watch(s, "/api/v1/namespaces/y/secrets?watch=true&allowWatchBookmarks=true");
    const before = await watch(s, `/api/v1/namespaces/y/secrets?watch=true&allowWatchBookmarks=true&resourceVersion=${r - 1}`);
    const at = await watch(s, `/api/v1/namespaces/y/secrets?watch=true&allowWatchBookmarks=true&resourceVersion=${r}`);
    const pom = await watch(
      s,
      `/api/v1/namespaces/y/secrets?watch=true&allowWatchBookmarks=true&resourceVersion=${r}`,
      "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
    );
    await until(() => s.bookmarkRounds >= rounds + 8); // two rounds of each of the four watches
    // Object "a" (another namespace) makes the from-now watch start at its resourceVersion; the replay of
    // its event (filtered out) moves the resumed one there too.
    for (const w of [fromNow, before, at, pom]) expect(w.events).to.deep.equal([]);
    const b = await post(s, "/api/v1/namespaces/x/secrets", { metadata: { name: "b" } });
    await until(() => [fromNow, before, at, pom].every((w) => w.events.length >= 1));
    for (const w of [fromNow, before, at]) {
      for (const e of w.events)
        expect(e).to.deep.include({
          type: "BOOKMARK",
          object: { kind: "Secret", apiVersion: "v1", metadata: { resourceVersion: b.metadata.resourceVersion, creationTimestamp: null } },
        });
    }
    expect(pom.bookmarks()[0]!.object).to.deep.equal({
      kind: "PartialObjectMetadata",
      apiVersion: "meta.k8s.io/v1",
      metadata: { resourceVersion: b.metadata.resourceVersion, creationTimestamp: null },
    });
    for (const w of [fromNow, before, at, pom]) w.abort();
  });

  it("sends one 2 s before the timeoutSeconds deadline when that comes before the next minute, with custom-resource and Table shapes; Events never get one", async () => {
    const s = await start(); // the real one-minute frequency
    const u = await post(s, `/apis/${G}/${V}/namespaces/default/${P}`, user("bm-a"));
    const path = `/apis/${G}/${V}/namespaces/default/${P}?watch=true&allowWatchBookmarks=true&timeoutSeconds=3&resourceVersion=${u.metadata.resourceVersion}`;
    const cr = await watch(s, path);
    const table = await watch(s, path, "application/json;as=Table;g=meta.k8s.io;v=v1");
    const ev = await watch(s, "/api/v1/namespaces/default/events?watch=true&allowWatchBookmarks=true&timeoutSeconds=3");
    const b = await post(s, `/apis/${G}/${V}/namespaces/default/${P}`, user("bm-b"));
    await post(s, "/api/v1/namespaces/default/events", {
      metadata: { name: "e1" },
      involvedObject: { namespace: "default" },
      reason: "R",
      message: "m",
    });
    const ends = await Promise.all([cr.done, table.done, ev.done]);
    for (const ms of ends) expect(ms).to.be.within(2900, 4000);
    expect(cr.events.map((e) => e.type)).to.deep.equal(["ADDED", "BOOKMARK"]);
    expect(cr.events[1]!.at).to.be.within(900, 1600);
    expect(cr.events[1]!.object).to.deep.equal({
      apiVersion: `${G}/${V}`,
      kind: "MemoryDBUser",
      metadata: { resourceVersion: b.metadata.resourceVersion },
    });
    // Table watches: column definitions on the first event only; the bookmark is a Table too.
    expect(table.events.map((e) => e.type)).to.deep.equal(["ADDED", "BOOKMARK"]);
    expect(table.events[0]!.object.columnDefinitions).to.be.an("array");
    expect(table.events[1]!.object).to.deep.include({ kind: "Table", columnDefinitions: null });
    expect(table.events[1]!.object.rows[0].object).to.deep.equal({
      kind: "PartialObjectMetadata",
      apiVersion: "meta.k8s.io/v1",
      metadata: { resourceVersion: b.metadata.resourceVersion, creationTimestamp: null },
    });
    expect(ev.events.map((e) => e.type)).to.deep.equal(["ADDED"]);
  });
});
