// Issue 10: many teams share one operator. Each rule of docs/security.md, tried as a tenant
// would: a user who may manage MemoryDBUsers in their own namespace (the shipped
// memorydb-user-editor role) and nothing else, with the local API server enforcing RBAC and the
// operator running as its ServiceAccount under exactly the shipped RBAC.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { expect } from "chai";
import * as yaml from "js-yaml";
import { GROUP, type MemoryDBUser, OWNERSHIP_TAG_KEY, PLURAL, RETAINED_TAG_KEY, VERSION } from "../../src/model.ts";
import { DEPLOY, type KubeObject } from "../deploy/manifests.ts";
import { clusterScopedRbac } from "../deploy/rbac.ts";
import { condition, isReady, PASSWORD_1, PASSWORD_2, reasonIs, TestEnv } from "./harness.ts";

const LEGACY_PASSWORD = "legacy-password-0123456789";

/** The tenant roles deploy/tenants ships. */
function tenantRoles(): KubeObject[] {
  return yaml.loadAll(readFileSync(join(DEPLOY, "tenants", "tenant-roles.yaml"), "utf8")) as KubeObject[];
}

/** A tenant: the editor role in one namespace, nothing else. */
class Tenant {
  readonly namespace: string;
  readonly custom: CustomObjectsApi;
  readonly core: CoreV1Api;
  constructor(namespace: string, kc: KubeConfig) {
    this.namespace = namespace;
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
  }

  async createUser(name: string, spec: Record<string, unknown>): Promise<MemoryDBUser> {
    return (await this.custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: this.namespace,
      plural: PLURAL,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: "MemoryDBUser", metadata: { name }, spec },
    })) as MemoryDBUser;
  }

  async patchSpec(name: string, spec: Record<string, unknown>): Promise<void> {
    await this.custom.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace: this.namespace, plural: PLURAL, name, body: { spec } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  }

  async deleteUser(name: string): Promise<void> {
    await this.custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: this.namespace, plural: PLURAL, name });
  }
}

const spec = (secret: string, extra: Record<string, unknown> = {}) => ({
  accessString: "on ~app:* &* +@read",
  authenticationMode: { type: "password", passwords: [{ secretKeyRef: { name: secret, key: "password" } }] },
  ...extra,
});

async function status(err: Promise<unknown>): Promise<number | undefined> {
  try {
    await err;
    return undefined;
  } catch (e) {
    return e instanceof ApiException ? e.code : -1;
  }
}

describe("one operator, many tenants", function () {
  this.timeout(30_000);
  let env: TestEnv;
  let alice: Tenant;
  let bob: Tenant;

  before(async () => {
    env = await TestEnv.start({
      startOperator: false,
      env: {
        ALLOW_ADOPTION: "team-a/legacy-*",
        SECRET_LABEL_SELECTOR: "memorydb.operators.dev/password=true",
        DEFAULT_TAGS: "cost-center=platform",
      },
    });
    const objects = KubernetesObjectApi.makeApiClient(env.kc);
    for (const role of tenantRoles()) await objects.create(role as never);
    for (const [who, ns] of [
      ["alice", "team-a"],
      ["bob", "team-b"],
    ] as const) {
      await env.createNamespace(ns);
      await objects.create({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: `${who}-memorydb`, namespace: ns },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "memorydb-user-editor" },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: who }],
      } as never);
    }
    const operatorKc = await env.grant(clusterScopedRbac());
    env.kube.enforceRbac();
    await env.startOperator({ POD_NAMESPACE: "memorydb-system" }, { kc: operatorKc });
    alice = new Tenant("team-a", env.userConfig("alice"));
    bob = new Tenant("team-b", env.userConfig("bob"));
    const labelled = { labels: { "memorydb.operators.dev/password": "true" } };
    await env.core.createNamespacedSecret({
      namespace: "team-a",
      body: { metadata: { name: "pw", ...labelled }, stringData: { password: PASSWORD_1 } },
    });
    await env.core.createNamespacedSecret({
      namespace: "team-b",
      body: { metadata: { name: "pw", ...labelled }, stringData: { password: PASSWORD_2 } },
    });
  });
  after(async () => {
    await env?.stop();
  });

  it("a tenant can neither read Secrets nor write a MemoryDBUser's status", async () => {
    expect(await status(alice.core.readNamespacedSecret({ namespace: "team-a", name: "pw" }))).to.equal(403);
    await alice.createUser("own", spec("pw"));
    await env.waitForUser("team-a", "own", isReady);
    const write = alice.custom.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, namespace: "team-a", plural: PLURAL, name: "own", body: { status: { userName: "victim" } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    expect(await status(write)).to.equal(403);
    expect(await status(bob.createUser("intruder", spec("pw")).then(() => undefined))).to.equal(undefined);
    expect(
      await status(
        alice.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: "team-b", plural: PLURAL, name: "intruder" }),
      ),
    ).to.equal(403);
  });

  it("cannot take over an existing user without an administrator's grant", async () => {
    env.aws.seedUser({ name: "payroll", accessString: "on ~* +@all", passwords: [LEGACY_PASSWORD] });
    await alice.createUser("grab", spec("pw", { userName: "payroll", adoptExisting: true }));
    const refused = await env.waitForUser("team-a", "grab", reasonIs("AdoptionNotAllowed"));
    expect(condition(refused, "Ready")!.message).to.match(
      /adopting it is not allowed in this namespace: a cluster administrator grants adoption/,
    );
    expect(env.aws.user("payroll")?.passwords).to.deep.equal([LEGACY_PASSWORD]);
    expect(env.aws.user("payroll")?.tags).to.deep.equal({});
    await alice.deleteUser("grab");
    await env.waitForGone("team-a", "grab");
    expect(env.aws.user("payroll")?.passwords).to.deep.equal([LEGACY_PASSWORD]);
  });

  it("adopts where the administrator granted it (team-a, names legacy-*)", async () => {
    env.aws.seedUser({ name: "legacy-reports", accessString: "on ~* +@all", passwords: [LEGACY_PASSWORD] });
    await alice.createUser("legacy", spec("pw", { userName: "legacy-reports", adoptExisting: true }));
    await env.waitForUser("team-a", "legacy", isReady);
    expect(env.aws.user("legacy-reports")?.passwords).to.deep.equal([PASSWORD_1]);
    // The same name from another namespace is not granted.
    env.aws.seedUser({ name: "legacy-billing", accessString: "on ~* +@all", passwords: [LEGACY_PASSWORD] });
    await bob.createUser("legacy", spec("pw", { userName: "legacy-billing", adoptExisting: true }));
    await env.waitForUser("team-b", "legacy", reasonIs("AdoptionNotAllowed"));
  });

  it("lets a namespace adopt back what it retained, and no other namespace", async () => {
    await alice.createUser("kept", spec("pw", { deletionPolicy: "Retain" }));
    await env.waitForUser("team-a", "kept", isReady);
    await alice.deleteUser("kept");
    await env.waitForGone("team-a", "kept");
    expect(env.aws.user("kept")?.tags[RETAINED_TAG_KEY]).to.match(/\/team-a\/kept$/);

    await bob.createUser("steal", spec("pw", { userName: "kept", adoptExisting: true }));
    const refused = await env.waitForUser("team-b", "steal", reasonIs("AdoptionNotAllowed"));
    // The other namespace is not named to bob.
    expect(condition(refused, "Ready")!.message).to.include("another MemoryDBUser in this cluster").and.not.include("team-a");
    await bob.deleteUser("steal");
    await env.waitForGone("team-b", "steal");

    await alice.createUser("kept-again", spec("pw", { userName: "kept", adoptExisting: true }));
    await env.waitForUser("team-a", "kept-again", isReady);
    expect(env.aws.user("kept")?.tags[OWNERSHIP_TAG_KEY]).to.match(/\/team-a\/kept-again\//);
    expect(env.aws.user("kept")?.tags[RETAINED_TAG_KEY]).to.equal(undefined);
  });

  it("never copies a Secret the administrator did not label for it, nor says whether it exists", async () => {
    await env.core.createNamespacedSecret({
      namespace: "team-a",
      body: {
        metadata: { name: "tls" },
        type: "kubernetes.io/tls",
        stringData: { "tls.key": "-----BEGIN PRIVATE KEY-----abcdefghijklmnop", "tls.crt": "x" },
      },
    });
    await alice.createUser("tls-copy", {
      ...spec("tls"),
      authenticationMode: { type: "password", passwords: [{ secretKeyRef: { name: "tls", key: "tls.key" } }] },
    });
    const unlabelled = condition(await env.waitForUser("team-a", "tls-copy", reasonIs("SecretNotFound")), "Ready")!.message;
    await alice.createUser("no-such", spec("does-not-exist"));
    const missing = condition(await env.waitForUser("team-a", "no-such", reasonIs("SecretNotFound")), "Ready")!.message;
    expect(unlabelled.replace('"tls"', "S")).to.equal(missing.replace('"does-not-exist"', "S"));
    expect(env.aws.user("tls-copy")).to.equal(undefined);
  });

  it("says how much too short a password is only as 'shorter than 16 characters'", async () => {
    await env.core.createNamespacedSecret({
      namespace: "team-a",
      body: { metadata: { name: "short", labels: { "memorydb.operators.dev/password": "true" } }, stringData: { password: "abc1234" } },
    });
    await alice.createUser("short", spec("short"));
    const message = condition(await env.waitForUser("team-a", "short", reasonIs("InvalidPassword")), "Ready")!.message;
    expect(message).to.include("shorter than 16 characters").and.not.match(/\b7\b/);
  });

  it("names another namespace's resource to nobody: a name conflict says 'another MemoryDBUser'", async () => {
    await alice.createUser("shared", spec("pw", { userName: "shared-name" }));
    await env.waitForUser("team-a", "shared", isReady);
    await bob.createUser("shared", spec("pw", { userName: "shared-name" }));
    const message = condition(await env.waitForUser("team-b", "shared", reasonIs("UserNameConflict")), "Ready")!.message;
    expect(message).to.include("another MemoryDBUser in this cluster").and.not.include("team-a");
    const events = (await env.eventsFor("team-b", "shared")).map((e) => e.note ?? "").join("\n");
    expect(events).to.not.include("team-a");
  });

  it("refuses CRD rules a tenant could step around: keywords in any case, AWS: tags", async () => {
    for (const accessString of ["on NOPASS ~* +@all", "Reset on ~*", "on ResetPass", `on !${"a".repeat(64)}`]) {
      expect(await status(alice.createUser("sneaky", spec("pw", { accessString }))), accessString).to.equal(422);
    }
    expect(await status(alice.createUser("sneaky", spec("pw", { tags: { "AWS:team": "x" } })))).to.equal(422);
  });

  it("says exactly why 49 spec tags plus the default tags are too many", async () => {
    const tags = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`k${i}`, "v"]));
    await alice.createUser("tagged", spec("pw", { tags }));
    const message = condition(await env.waitForUser("team-a", "tagged", reasonIs("TooManyTags")), "Ready")!.message;
    expect(message).to.equal(
      "spec.tags has 49 tags, the operator's default tags (--default-tags) add 1 more and the ownership tag 1: 51 in all, and MemoryDB allows 50 per user; remove 1 from spec.tags",
    );
    expect(env.aws.user("tagged")).to.equal(undefined);
  });
});
