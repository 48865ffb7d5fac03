// The RBAC of deploy/components/accounts means the same on the local API server and on a real
// kube-apiserver v1.20.2: the operator may list and watch its one accounts ConfigMap when it asks
// with the field selector metadata.name=<name> (requestinfo.go turns that into the request's name,
// which resourceNames matches), and nothing else: not without the selector, not another
// ConfigMap, not get. Then the operator itself reads its mapping under that RBAC.

import { CoreV1Api, type KubeConfig, Watch } from "@kubernetes/client-node";
import { expect } from "chai";
import { accountsRbac } from "../deploy/rbac.ts";
import { type OperatorEnv, TestEnv } from "../integration/harness.ts";
import { RealClusterEnv } from "./env.ts";

const status = (err: unknown): number | undefined =>
  (err as { code?: number; statusCode?: number }).code ?? (err as { statusCode?: number }).statusCode;

/** The HTTP status of a list, 200 when it succeeds. */
async function listStatus(kc: KubeConfig, namespace: string, fieldSelector?: string): Promise<number | undefined> {
  try {
    await kc.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace, ...(fieldSelector ? { fieldSelector } : {}) });
    return 200;
  } catch (err) {
    return status(err);
  }
}

/** What the first answer to a watch is: the first event's type, or the error status. */
function watchAnswer(kc: KubeConfig, namespace: string, fieldSelector?: string): Promise<string> {
  return new Promise((resolve) => {
    let controller: AbortController | undefined;
    new Watch(kc)
      .watch(
        `/api/v1/namespaces/${namespace}/configmaps`,
        { ...(fieldSelector ? { fieldSelector } : {}), timeoutSeconds: 5 },
        (type, obj: { metadata?: { name?: string } }) => {
          resolve(`${type} ${obj.metadata?.name}`);
          controller?.abort();
        },
        (err) => resolve(err ? `error ${status(err) ?? (err as Error).message}` : "ended"),
      )
      .then(
        (c) => {
          controller = c;
        },
        (err) => resolve(`error ${status(err) ?? (err as Error).message}`),
      );
  });
}

const servers: Array<[string, () => Promise<OperatorEnv & { enforce?: () => void }>]> = [
  [
    "the local API server",
    async () => {
      const env = await TestEnv.start({ startOperator: false });
      env.kube.enforceRbac();
      return env;
    },
  ],
  ["a real kube-apiserver v1.20.2", () => RealClusterEnv.start({ startOperator: false })],
];

for (const [name, start] of servers) {
  describe(`accounts ConfigMap RBAC on ${name}`, function () {
    this.timeout(120_000);
    let env: OperatorEnv;
    let kc: KubeConfig;
    const bundle = accountsRbac();
    const { namespace, name: cm } = bundle.configMap.metadata as { namespace: string; name: string };
    before(async () => {
      env = await start();
      kc = await env.grant(bundle);
      await env.core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: cm }, data: { "team-b": "arn:aws:iam::210987654321:role/r" } },
      });
      await env.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "other" }, data: { secret: "not yours" } } });
    });
    after(async () => {
      await env?.stop();
    });

    it("allows list and watch of that ConfigMap by field selector, and nothing else", async () => {
      const selector = `metadata.name=${cm}`;
      expect(await listStatus(kc, namespace, selector), "list by name").to.equal(200);
      expect(await watchAnswer(kc, namespace, selector), "watch by name").to.equal(`ADDED ${cm}`);
      expect(await listStatus(kc, namespace), "list all").to.equal(403);
      expect(await listStatus(kc, namespace, "metadata.name=other"), "list another").to.equal(403);
      expect(await watchAnswer(kc, namespace), "watch all").to.equal("error 403");
      expect(await watchAnswer(kc, namespace, "metadata.name=other"), "watch another").to.equal("error 403");
      const get = await kc
        .makeApiClient(CoreV1Api)
        .readNamespacedConfigMap({ namespace, name: cm })
        .then(() => 200, status);
      expect(get, "get").to.equal(403);
    });

    it("lets the operator read its mapping under that RBAC: an unmapped namespace is refused as the mapping says", async () => {
      await env.createNamespace("team-x");
      await env.startOperator(
        { ACCOUNTS_CONFIGMAP: `${namespace}/${cm}`, REQUIRE_ACCOUNT_MAPPING: "true", POD_NAMESPACE: namespace },
        { kc },
      );
      await env.createSecret("team-x", "pw", { password: "first-password-0123456789" });
      await env.createUser("team-x", "refused", {
        accessString: "on ~* +get",
        authenticationMode: { type: "password", passwords: [{ secretKeyRef: { name: "pw", key: "password" } }] },
      });
      const u = await env.waitForUser(
        "team-x",
        "refused",
        (x) => x.status?.conditions?.some((c) => c.reason === "AccountNotMapped") ?? false,
        30_000,
      );
      expect(u.status?.conditions?.find((c) => c.type === "Ready")?.message).to.include(`ConfigMap ${namespace}/${cm}`);
      expect(env.logLines.filter((l) => l.includes("watch failed") && l.includes("configmap"))).to.deep.equal([]);
    });
  });
}
