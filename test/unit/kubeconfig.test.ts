import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { HttpMethod, KubeConfig, RequestContext } from "@kubernetes/client-node";
import { expect } from "chai";
import { loadKubeConfig, reuseConnections } from "../../src/kube/config.ts";

function kubeconfig(caData: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser({ name: "c", server: "https://127.0.0.1:6443", caData, skipTLSVerify: false }, { name: "u", token: "t" });
  return kc;
}

async function dispatcherOf(kc: KubeConfig): Promise<unknown> {
  const ctx = new RequestContext("https://127.0.0.1:6443/api", HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx);
  return ctx.getDispatcher();
}

describe("Kubernetes connections", () => {
  const ca = Buffer.from("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").toString("base64");

  it("client-node alone builds a connection pool per request (the reason for reuseConnections)", async () => {
    const kc = kubeconfig(ca);
    expect(await dispatcherOf(kc)).to.not.equal(await dispatcherOf(kc));
  });

  it("reuses one pool for every request with the same TLS settings", async () => {
    const kc = reuseConnections(kubeconfig(ca));
    const first = await dispatcherOf(kc);
    expect(first).to.not.equal(undefined);
    expect(await dispatcherOf(kc)).to.equal(first);
  });

  it("makes a new pool when the TLS settings change (e.g. a rotated CA)", async () => {
    const kc = reuseConnections(kubeconfig(ca));
    const first = await dispatcherOf(kc);
    (kc.clusters[0] as { caData?: string }).caData = Buffer.from("-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n").toString(
      "base64",
    );
    expect(await dispatcherOf(kc)).to.not.equal(first);
  });
});

describe("finding the kubeconfig", () => {
  const file = (dir: string, name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const config = (cluster: string, server: string, context: string | undefined) => `apiVersion: v1
kind: Config
clusters: [{ name: ${cluster}, cluster: { server: "${server}" } }]
users: [{ name: ${cluster}-user, user: { token: t } }]
contexts: [{ name: ${cluster}, context: { cluster: ${cluster}, user: ${cluster}-user } }]
${context ? `current-context: ${context}` : ""}
`;

  it("merges KUBECONFIG's path list as kubectl does: the first definition and current-context win", () => {
    const dir = mkdtempSync(join(tmpdir(), "kc-"));
    const a = file(dir, "a.yaml", config("one", "https://one.example:6443", undefined));
    const b = file(dir, "b.yaml", config("two", "https://two.example:6443", "two"));
    const c = file(dir, "c.yaml", config("two", "https://shadowed.example:6443", "one"));
    const kc = loadKubeConfig(undefined, { KUBECONFIG: [join(dir, "missing.yaml"), a, b, c].join(delimiter) });
    expect(kc.getCurrentContext()).to.equal("two");
    expect(kc.getCurrentCluster()?.server).to.equal("https://two.example:6443");
    expect(
      kc
        .getContexts()
        .map((x) => x.name)
        .sort(),
    ).to.deep.equal(["one", "two"]);
  });

  it("treats --kubeconfig as one file, and says which list named nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "kc-"));
    const a = file(dir, "a.yaml", config("one", "https://one.example:6443", "one"));
    expect(loadKubeConfig(a, { KUBECONFIG: "/nope" }).getCurrentCluster()?.server).to.equal("https://one.example:6443");
    expect(() => loadKubeConfig(`${a}${delimiter}${a}`, {})).to.throw(/--kubeconfig: no file at/);
    expect(() => loadKubeConfig(undefined, { KUBECONFIG: `/nope/a${delimiter}/nope/b` })).to.throw(/KUBECONFIG: none of its files exists/);
  });
});
