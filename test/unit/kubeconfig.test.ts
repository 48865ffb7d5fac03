import { expect } from "chai";
import { KubeConfig, RequestContext } from "@kubernetes/client-node";
import { HttpMethod } from "@kubernetes/client-node";
import { reuseConnections } from "../../src/kube/config.ts";

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
    (kc.clusters[0] as { caData?: string }).caData = Buffer.from("-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n").toString("base64");
    expect(await dispatcherOf(kc)).to.not.equal(first);
  });
});
