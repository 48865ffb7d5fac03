import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { expect } from "chai";
import { evalJsonPath } from "../../local-control-plane/kube/jsonpath.ts";
import { KubeApiServer } from "../../local-control-plane/kube/server.ts";

const CRD = new URL("../../crds/memorydb.operators.dev_memorydbusers.yaml", import.meta.url).pathname;
const G = "memorydb.operators.dev",
  V = "v1alpha1",
  P = "memorydbusers";
type Obj = Record<string, any>;

const user = (name: string) => ({
  apiVersion: `${G}/${V}`,
  kind: "MemoryDBUser",
  metadata: { name },
  spec: { accessString: "on ~* &* +@all", authenticationMode: { passwords: [{ secretKeyRef: { name: "pw", key: "password" } }] } },
});

async function status(p: Promise<unknown>): Promise<Obj> {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof ApiException)) throw e;
    return typeof e.body === "string" ? JSON.parse(e.body) : e.body;
  }
  throw new Error("expected the call to fail");
}

describe("fake kube-apiserver: RBAC", () => {
  let server: KubeApiServer;
  let admin: KubeConfig;
  let sa: KubeConfig;
  const rbac = (kc: KubeConfig) => kc;

  before(async () => {
    server = await KubeApiServer.start({ crdFiles: [CRD], rbac: true });
    admin = new KubeConfig();
    admin.loadFromString(server.kubeconfig());
    sa = new KubeConfig();
    sa.loadFromString(server.kubeconfig({ serviceAccount: { namespace: "ops", name: "operator" } }));
    await admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: "team-a" } } });
    await admin
      .makeApiClient(CustomObjectsApi)
      .createNamespacedCustomObject({ group: G, version: V, namespace: "team-a", plural: P, body: user("x") });
  });
  after(() => server.stop());

  it("gives ServiceAccount kubeconfigs a distinct token and the real identity", () => {
    const tok = (kc: KubeConfig) => kc.getCurrentUser()!.token;
    expect(tok(sa)).to.not.equal(server.token);
    const again = new KubeConfig();
    again.loadFromString(server.kubeconfig({ serviceAccount: { namespace: "ops", name: "operator" } }));
    expect(tok(again)).to.equal(tok(sa));
    expect(sa.getCurrentUser()!.name).to.equal("system:serviceaccount:ops:operator");
    expect(KubeApiServer.serviceAccountIdentity("ops", "operator").groups).to.deep.equal([
      "system:serviceaccounts",
      "system:serviceaccounts:ops",
      "system:authenticated",
    ]);
  });

  it("denies without bindings, with the real message; the admin (system:masters) is allowed", async () => {
    const st = await status(
      rbac(sa)
        .makeApiClient(CustomObjectsApi)
        .patchNamespacedCustomObjectStatus(
          { group: G, version: V, namespace: "team-a", plural: P, name: "x", body: { status: {} } },
          setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        ),
    );
    expect(st).to.include({ code: 403, reason: "Forbidden" });
    expect(st.message).to.equal(
      'memorydbusers.memorydb.operators.dev "x" is forbidden: User "system:serviceaccount:ops:operator" cannot patch resource "memorydbusers/status" in API group "memorydb.operators.dev" in the namespace "team-a"',
    );
    expect(st.details).to.deep.equal({ name: "x", group: G, kind: "memorydbusers" });
    const list = await status(sa.makeApiClient(CoreV1Api).listNamespace());
    expect(list.message).to.equal(
      'namespaces is forbidden: User "system:serviceaccount:ops:operator" cannot list resource "namespaces" in API group "" at the cluster scope',
    );
    await admin.makeApiClient(CoreV1Api).listNamespace();
  });

  it("allows by ClusterRole + ClusterRoleBinding and Role + RoleBinding, with subresources, resourceNames and wildcards", async () => {
    const rb = "rbac.authorization.k8s.io";
    const post = (path: string, body: Obj) =>
      fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${server.token}`, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      }).then(async (r) => {
        if (!r.ok) throw new Error(`${r.status} ${await r.text()}`);
      });
    await post(`/apis/${rb}/v1/clusterroles`, {
      apiVersion: `${rb}/v1`,
      kind: "ClusterRole",
      metadata: { name: "mdbu-operator" },
      rules: [
        { apiGroups: [G], resources: [P], verbs: ["get", "list", "watch", "update", "patch"] },
        { apiGroups: [G], resources: [`${P}/status`, `${P}/finalizers`], verbs: ["update", "patch"] },
        { apiGroups: [""], resources: ["namespaces"], resourceNames: ["kube-system"], verbs: ["get"] },
        { nonResourceURLs: ["/metrics*"], verbs: ["get"] },
      ],
    });
    await post(`/apis/${rb}/v1/clusterrolebindings`, {
      apiVersion: `${rb}/v1`,
      kind: "ClusterRoleBinding",
      metadata: { name: "mdbu-operator" },
      roleRef: { apiGroup: rb, kind: "ClusterRole", name: "mdbu-operator" },
      subjects: [{ kind: "ServiceAccount", name: "operator", namespace: "ops" }],
    });
    await post(`/apis/${rb}/v1/namespaces/team-a/roles`, {
      apiVersion: `${rb}/v1`,
      kind: "Role",
      metadata: { name: "secrets" },
      rules: [{ apiGroups: ["*"], resources: ["secrets"], verbs: ["*"] }],
    });
    await post(`/apis/${rb}/v1/namespaces/team-a/rolebindings`, {
      apiVersion: `${rb}/v1`,
      kind: "RoleBinding",
      metadata: { name: "secrets" },
      roleRef: { apiGroup: rb, kind: "Role", name: "secrets" },
      subjects: [{ kind: "Group", name: "system:serviceaccounts:ops" }],
    });

    const co = sa.makeApiClient(CustomObjectsApi),
      core = sa.makeApiClient(CoreV1Api);
    await co.listClusterCustomObject({ group: G, version: V, plural: P });
    await co.patchNamespacedCustomObjectStatus(
      { group: G, version: V, namespace: "team-a", plural: P, name: "x", body: { status: { userName: "x" } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    expect(
      (await status(co.createNamespacedCustomObject({ group: G, version: V, namespace: "team-a", plural: P, body: user("y") }))).code,
    ).to.equal(403);
    await core.readNamespace({ name: "kube-system" });
    expect((await status(core.readNamespace({ name: "default" }))).code).to.equal(403);
    await core.listNamespacedSecret({ namespace: "team-a" });
    expect((await status(core.listNamespacedSecret({ namespace: "default" }))).code).to.equal(403);
    const auth = { Authorization: `Bearer ${sa.getCurrentUser()!.token}` };
    expect((await fetch(`${server.url}/apis`, { headers: auth })).status).to.equal(200); // system:discovery
    const denied = await fetch(`${server.url}/logs`, { headers: auth });
    expect(denied.status).to.equal(403);
    expect(((await denied.json()) as Obj).message).to.equal('forbidden: User "system:serviceaccount:ops:operator" cannot get path "/logs"');
  });

  it("answers 401 to an unknown bearer token and names a missing role in the denial", async () => {
    const r = await fetch(`${server.url}/api/v1/namespaces`, { headers: { Authorization: "Bearer nope" } });
    expect(r.status).to.equal(401);
    expect(((await r.json()) as Obj).reason).to.equal("Unauthorized");
    const other = new KubeConfig();
    other.loadFromString(server.kubeconfig({ user: "alice" }));
    const rb = "rbac.authorization.k8s.io";
    await fetch(`${server.url}/apis/${rb}/v1/namespaces/team-a/rolebindings`, {
      method: "POST",
      headers: { Authorization: `Bearer ${server.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({
        apiVersion: `${rb}/v1`,
        kind: "RoleBinding",
        metadata: { name: "alice" },
        roleRef: { apiGroup: rb, kind: "Role", name: "missing" },
        subjects: [{ kind: "User", name: "alice" }],
      }),
    });
    const st = await status(other.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: "team-a" }));
    expect(st.message).to.equal(
      'configmaps is forbidden: User "alice" cannot list resource "configmaps" in API group "" in the namespace "team-a": RBAC: role.rbac.authorization.k8s.io "missing" not found',
    );
  });
});

describe("fake kube-apiserver: Table, PartialObjectMetadata, Event views, protobuf, discovery, OpenAPI", () => {
  let server: KubeApiServer;
  let kc: KubeConfig;
  const get = (path: string, accept: string) =>
    fetch(`${server.url}${path}`, { headers: { Authorization: `Bearer ${server.token}`, Accept: accept } });

  before(async () => {
    server = await KubeApiServer.start({ crdFiles: [CRD] });
    kc = new KubeConfig();
    kc.loadFromString(server.kubeconfig());
    await kc
      .makeApiClient(CustomObjectsApi)
      .createNamespacedCustomObject({ group: G, version: V, namespace: "default", plural: P, body: user("t1") });
    await kc.makeApiClient(CustomObjectsApi).patchNamespacedCustomObjectStatus(
      {
        group: G,
        version: V,
        namespace: "default",
        plural: P,
        name: "t1",
        body: {
          status: {
            userName: "t1",
            status: "active",
            arn: "arn:x",
            conditions: [
              { type: "Synced", status: "False", reason: "R", message: "", lastTransitionTime: "2025-01-01T00:00:00Z" },
              { type: "Ready", status: "True", reason: "Available", message: "", lastTransitionTime: "2025-01-01T00:00:00Z" },
            ],
          },
        },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  });
  after(() => server.stop());

  it("evaluates printer-column JSONPath including filters", () => {
    const o = {
      status: {
        conditions: [
          { type: "Synced", status: "False" },
          { type: "Ready", status: "True" },
        ],
      },
      a: [1, 2, 3],
    };
    expect(evalJsonPath(o, '.status.conditions[?(@.type=="Ready")].status')).to.deep.equal(["True"]);
    expect(evalJsonPath(o, ".a[1:]")).to.deep.equal([2, 3]);
    expect(evalJsonPath(o, ".a[-1]")).to.deep.equal([3]);
    expect(evalJsonPath(o, ".missing.x")).to.deep.equal([]);
  });

  it("answers as=Table with the CRD printer columns (priority 1 kept for -o wide) and PartialObjectMetadata rows", async () => {
    const r = await get(`/apis/${G}/${V}/namespaces/default/${P}`, "application/json;as=Table;v=v1;g=meta.k8s.io,application/json");
    expect(r.headers.get("content-type")).to.equal("application/json"); // v1.20 does not name the transformation
    const t = (await r.json()) as Obj;
    expect(t).to.include({ kind: "Table", apiVersion: "meta.k8s.io/v1" });
    expect(t.columnDefinitions.map((c: Obj) => [c.name, c.type, c.priority])).to.deep.equal([
      ["Name", "string", 0],
      ["User", "string", 0],
      ["Status", "string", 0],
      ["Ready", "string", 0],
      ["Age", "date", 0],
      ["ARN", "string", 1],
      ["Auth", "string", 1],
      ["Next-Rotation", "string", 1],
    ]);
    expect(t.rows[0].cells.slice(0, 4)).to.deep.equal(["t1", "t1", "active", "True"]);
    expect(t.rows[0].cells[4]).to.match(/^\d+s$/);
    expect(t.rows[0].cells[6]).to.equal(null);
    expect(t.rows[0].object).to.deep.include({ kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1" });
    const none = (await (
      await get(`/apis/${G}/${V}/namespaces/default/${P}/t1?includeObject=None`, "application/json;as=Table;v=v1;g=meta.k8s.io")
    ).json()) as Obj;
    expect(none.rows[0]).to.not.have.property("object");
    const ns = (await (await get("/api/v1/namespaces", "application/json;as=Table;v=v1;g=meta.k8s.io")).json()) as Obj;
    expect(ns.columnDefinitions.map((c: Obj) => c.name)).to.deep.equal(["Name", "Status", "Age"]);
  });

  it("answers PartialObjectMetadataList / PartialObjectMetadata, and 406 for what it cannot produce", async () => {
    const l = (await (
      await get(
        "/api/v1/namespaces",
        "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json",
      )
    ).json()) as Obj;
    expect(l.kind).to.equal("PartialObjectMetadataList");
    expect(l.items[0]).to.have.keys("kind", "apiVersion", "metadata");
    const one = (await (
      await get("/api/v1/namespaces/default", "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1")
    ).json()) as Obj;
    expect(one).to.deep.include({ kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1" });
    expect(one.metadata.name).to.equal("default");
    const r = await get("/api/v1/namespaces", "application/vnd.kubernetes.protobuf");
    expect(r.status).to.equal(406);
    expect(((await r.json()) as Obj).reason).to.equal("NotAcceptable");
  });

  it("answers the real 406 to as=PartialObjectMetadata on a list and as=PartialObjectMetadataList on one object, with no fallback", async () => {
    const pom = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
      list = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
    const cases: Array<[string, string, string]> = [
      [
        "/api/v1/namespaces/default/secrets",
        pom,
        "you requested PartialObjectMetadata, but the requested object is a list (*core.SecretList)",
      ],
      [
        "/api/v1/secrets",
        `${pom},application/json`,
        "you requested PartialObjectMetadata, but the requested object is a list (*core.SecretList)",
      ],
      [
        "/apis/events.k8s.io/v1/namespaces/default/events",
        pom,
        "you requested PartialObjectMetadata, but the requested object is a list (*core.EventList)",
      ],
      [
        "/apis/coordination.k8s.io/v1/namespaces/default/leases",
        pom,
        "you requested PartialObjectMetadata, but the requested object is a list (*coordination.LeaseList)",
      ],
      [
        `/apis/${G}/${V}/namespaces/default/${P}`,
        pom,
        "you requested PartialObjectMetadata, but the requested object is a list (*unstructured.UnstructuredList)",
      ],
      [
        "/api/v1/namespaces/default",
        list,
        "you requested PartialObjectMetadataList, but the requested object is not a list (*core.Namespace)",
      ],
      [
        `/apis/${G}/${V}/namespaces/default/${P}/t1`,
        list,
        "you requested PartialObjectMetadataList, but the requested object is not a list (*unstructured.Unstructured)",
      ],
    ];
    for (const [path, accept, message] of cases) {
      const r = await get(path, accept);
      expect(r.status, path).to.equal(406);
      expect(await r.json(), path).to.deep.equal({
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message,
        reason: "NotAcceptable",
        code: 406,
      });
    }
    // The 404 of a missing object comes first.
    expect((await get(`/apis/${G}/${V}/namespaces/default/${P}/nope`, list)).status).to.equal(404);
  });

  it("answers an empty PartialObjectMetadataList with items null and without remainingItemCount; plain lists with []", async () => {
    const pomList = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: "empty-ns" } } });
    for (const path of [
      "/api/v1/namespaces/empty-ns/secrets?limit=500",
      `/apis/${G}/${V}/namespaces/empty-ns/${P}?limit=500`,
      "/apis/coordination.k8s.io/v1/namespaces/empty-ns/leases",
    ]) {
      const r = await get(path, pomList);
      expect(r.headers.get("content-type")).to.equal("application/json");
      const l = (await r.json()) as Obj;
      expect(l, path).to.deep.equal({
        kind: "PartialObjectMetadataList",
        apiVersion: "meta.k8s.io/v1",
        metadata: { resourceVersion: l.metadata.resourceVersion },
        items: null,
      });
      expect(l.metadata.resourceVersion).to.match(/^\d+$/);
    }
    for (const [path, kind] of [
      ["/api/v1/namespaces/empty-ns/secrets", "SecretList"],
      ["/api/v1/namespaces/empty-ns/events", "EventList"],
      ["/apis/events.k8s.io/v1/namespaces/empty-ns/events", "EventList"],
      ["/apis/coordination.k8s.io/v1/namespaces/empty-ns/leases", "LeaseList"],
    ] as const) {
      const l = (await (await get(path, "application/json")).json()) as Obj;
      expect(l, path).to.deep.include({ kind, items: [] });
      expect(Object.keys(l.metadata), path).to.deep.equal(["resourceVersion"]);
    }
    // Custom-resource lists are unstructured: the empty continue stays.
    const cr = (await (await get(`/apis/${G}/${V}/namespaces/empty-ns/${P}?limit=500`, "application/json")).json()) as Obj;
    expect(cr).to.deep.include({ kind: "MemoryDBUserList", items: [] });
    expect(cr.metadata).to.deep.equal({ continue: "", resourceVersion: cr.metadata.resourceVersion });
    const s = kc.makeApiClient(CoreV1Api);
    for (const n of ["p1", "p2"]) await s.createNamespacedSecret({ namespace: "empty-ns", body: { metadata: { name: n } } });
    const page = (await (await get("/api/v1/namespaces/empty-ns/secrets?limit=1", pomList)).json()) as Obj;
    expect(page.items).to.have.length(1);
    expect(page.metadata.continue).to.be.a("string");
    expect(page.metadata).to.not.have.property("remainingItemCount");
    expect(page.items[0].metadata).to.include({ name: "p1" });
  });

  it("ends an as=PartialObjectMetadataList watch at its first event without sending it; ERROR events still pass", async () => {
    const pomList = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: "pomw" } } });
    const read = async (path: string): Promise<{ status: number; type: string | null; body: string; ms: number }> => {
      const t0 = Date.now();
      const r = await get(path, pomList);
      return { status: r.status, type: r.headers.get("content-type"), body: await r.text(), ms: Date.now() - t0 };
    };
    // No objects in scope: open until the first event, which is lost.
    const open = server.faults.openWatches;
    const quiet = read("/api/v1/namespaces/pomw/secrets?watch=true&timeoutSeconds=5");
    while (server.faults.openWatches === open) await new Promise((r) => setTimeout(r, 5));
    const s1 = await core.createNamespacedSecret({ namespace: "pomw", body: { metadata: { name: "s1" } } });
    const q = await quiet;
    expect(q).to.deep.include({ status: 200, type: "application/json", body: "" });
    expect(q.ms).to.be.lessThan(3000);
    // From no resourceVersion with an object to send as ADDED: closes at once, no bytes.
    const now = await read("/api/v1/namespaces/pomw/secrets?watch=true&timeoutSeconds=5");
    expect(now).to.deep.include({ status: 200, body: "" });
    expect(now.ms).to.be.lessThan(1000);
    // Resumed from a resourceVersion with an event to replay: the same.
    const rv = Number(s1.metadata!.resourceVersion) - 1;
    const resumed = await read(`/api/v1/namespaces/pomw/secrets?watch=true&timeoutSeconds=5&resourceVersion=${rv}`);
    expect(resumed).to.deep.include({ status: 200, body: "" });
    // A Status (410) is not transformed and gets through.
    server.faults.expireWatchHistory();
    const gone = await read(`/api/v1/namespaces/pomw/secrets?watch=true&resourceVersion=${rv}`);
    expect(JSON.parse(gone.body)).to.deep.include({ type: "ERROR" });
    expect(JSON.parse(gone.body).object).to.include({ kind: "Status", code: 410 });
  });

  it("streams PartialObjectMetadata watch events", async () => {
    const ctl = new AbortController();
    const r = await fetch(`${server.url}/api/v1/namespaces/default/secrets?watch=true`, {
      signal: ctl.signal,
      headers: { Authorization: `Bearer ${server.token}`, Accept: "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1" },
    });
    await kc
      .makeApiClient(CoreV1Api)
      .createNamespacedSecret({ namespace: "default", body: { metadata: { name: "w1" }, stringData: { a: "b" } } });
    const reader = r.body!.getReader();
    const { value } = await reader.read();
    const ev = JSON.parse(Buffer.from(value!).toString("utf8").split("\n")[0]!) as Obj;
    expect(ev.type).to.equal("ADDED");
    expect(ev.object).to.have.keys("kind", "apiVersion", "metadata");
    expect(ev.object.kind).to.equal("PartialObjectMetadata");
    ctl.abort();
  });

  it("shows events.k8s.io/v1 Events as core/v1 Events (regarding→involvedObject, note→message) and back", async () => {
    await kc.makeApiClient(EventsV1Api).createNamespacedEvent({
      namespace: "default",
      body: {
        metadata: { name: "e1" },
        eventTime: new Date("2025-01-01T00:00:00Z") as any,
        reportingController: "memorydb.operators.dev/operator",
        reportingInstance: "pod-1",
        action: "CreateUser",
        reason: "Created",
        type: "Normal",
        note: 'created MemoryDB user "t1"',
        regarding: { apiVersion: `${G}/${V}`, kind: "MemoryDBUser", name: "t1", namespace: "default", uid: "u-1" },
      },
    });
    const core = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({
      namespace: "default",
      fieldSelector: "involvedObject.name=t1,involvedObject.kind=MemoryDBUser,involvedObject.uid=u-1",
    });
    expect(core.items).to.have.length(1);
    const e = core.items[0]!;
    expect(e.message).to.equal('created MemoryDB user "t1"');
    expect(e.involvedObject.name).to.equal("t1");
    expect(e.reportingComponent).to.equal("memorydb.operators.dev/operator");
    const v1 = await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: "default", fieldSelector: "regarding.name=t1" });
    expect(v1.items[0]!.note).to.equal('created MemoryDB user "t1"');
    expect(v1.items[0]!.regarding?.kind).to.equal("MemoryDBUser");
    const raw = (await (await get("/api/v1/namespaces/default/events/e1", "application/json")).json()) as Obj;
    expect(raw).to.include({ apiVersion: "v1", kind: "Event", firstTimestamp: null, lastTimestamp: null, reportingInstance: "pod-1" });
    expect(raw).to.not.have.property("note");
    const table = (await (await get("/api/v1/namespaces/default/events", "application/json;as=Table;v=v1;g=meta.k8s.io")).json()) as Obj;
    expect(table.rows[0].cells.slice(1, 5)).to.deep.equal(["Normal", "Created", "memorydbuser/t1", ""]);
    expect(table.rows[0].cells[6]).to.equal('created MemoryDB user "t1"');
  });

  it("decodes protobuf bodies of built-in types and answers 415 for custom resources", async () => {
    // kubectl create secret generic s --from-literal=k=v (client-go protobuf encoding)
    const varint = (n: number) => {
      const b: number[] = [];
      while (n > 127) {
        b.push((n & 127) | 128);
        n >>= 7;
      }
      b.push(n);
      return Buffer.from(b);
    };
    const field = (no: number, v: Buffer) => Buffer.concat([varint((no << 3) | 2), varint(v.length), v]);
    const str = (no: number, s: string) => field(no, Buffer.from(s));
    const secret = Buffer.concat([
      field(1, Buffer.concat([str(1, "pb"), str(3, "default")])),
      field(2, Buffer.concat([str(1, "k"), str(2, "v")])),
      str(3, ""),
    ]);
    const unknown = Buffer.concat([field(1, Buffer.concat([str(1, "v1"), str(2, "Secret")])), field(2, secret)]);
    const body = Buffer.concat([Buffer.from([0x6b, 0x38, 0x73, 0]), unknown]);
    const r = await fetch(`${server.url}/api/v1/namespaces/default/secrets`, {
      method: "POST",
      body,
      headers: {
        Authorization: `Bearer ${server.token}`,
        "Content-Type": "application/vnd.kubernetes.protobuf",
        Accept: "application/vnd.kubernetes.protobuf,application/json",
      },
    });
    expect(r.status).to.equal(201);
    const s = (await r.json()) as Obj;
    expect(s).to.deep.include({ type: "Opaque", data: { k: "dg==" } });
    const cr = await fetch(`${server.url}/apis/${G}/${V}/namespaces/default/${P}`, {
      method: "POST",
      body,
      headers: { Authorization: `Bearer ${server.token}`, "Content-Type": "application/vnd.kubernetes.protobuf" },
    });
    expect(cr.status).to.equal(415);
  });

  it("serves aggregated discovery (v2) when asked, legacy discovery otherwise, and OpenAPI v3 with fieldValidation", async () => {
    const agg = await get("/apis", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json");
    expect(agg.headers.get("content-type")).to.equal("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
    const doc = (await agg.json()) as Obj;
    const mdb = doc.items.find((i: Obj) => i.metadata.name === G);
    expect(mdb.versions[0].resources[0]).to.deep.include({
      resource: P,
      scope: "Namespaced",
      singularResource: "memorydbuser",
      shortNames: ["mdbu"],
    });
    expect(mdb.versions[0].resources[0].subresources[0].subresource).to.equal("status");
    expect(((await (await get("/apis", "application/json")).json()) as Obj).kind).to.equal("APIGroupList");
    const root = (await (await get("/openapi/v3", "application/json")).json()) as Obj;
    const url = root.paths[`apis/${G}/${V}`].serverRelativeURL as string;
    const gv = (await (await get(url, "application/json")).json()) as Obj;
    const patch = gv.paths[`/apis/${G}/${V}/namespaces/{namespace}/${P}/{name}`].patch;
    expect(patch["x-kubernetes-group-version-kind"]).to.deep.equal({ group: G, version: V, kind: "MemoryDBUser" });
    expect(patch.parameters.map((p: Obj) => p.name)).to.include("fieldValidation");
    expect(gv.components.schemas["dev.operators.memorydb.v1alpha1.MemoryDBUser"].properties.spec.required).to.deep.equal([
      "accessString",
      "authenticationMode",
    ]);
  });
});
