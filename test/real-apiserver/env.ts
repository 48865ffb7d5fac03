// The operator against a real kube-apiserver (v1.20.2, built by local-control-plane/kube-apiserver/
// build.sh) and the MemoryDB emulator. The real server's timings (bookmarks, watch cache) cannot
// be scaled, so the operator runs its production watch timings here.
import type { KubeConfig } from "@kubernetes/client-node";
import { RealKubeApiServer } from "../../local-control-plane/kube-apiserver/real-api-server.ts";
import { CRD_FILE, type EnvOptions, OperatorEnv } from "../integration/harness.ts";

/** The ServiceAccount the manifests install, as a static token identity of the real server. */
export const OPERATOR_SA = { namespace: "memorydb-system", name: "memorydb-user-operator" };
export const OPERATOR_USER = `system:serviceaccount:${OPERATOR_SA.namespace}:${OPERATOR_SA.name}`;

export class RealClusterEnv extends OperatorEnv {
  readonly server: RealKubeApiServer;

  private constructor(server: RealKubeApiServer, emulators: Awaited<ReturnType<typeof OperatorEnv.emulators>>) {
    super(server.kubeconfig(), emulators.aws, emulators.extra, emulators.env, 1);
    this.server = server;
  }

  static async start(options: Omit<EnvOptions, "timeScale"> = {}): Promise<RealClusterEnv> {
    const server = await RealKubeApiServer.start({
      identities: [
        {
          user: OPERATOR_USER,
          groups: ["system:serviceaccounts", `system:serviceaccounts:${OPERATOR_SA.namespace}`, "system:authenticated"],
        },
      ],
    });
    await server.installCrd(CRD_FILE);
    const env = new RealClusterEnv(server, await OperatorEnv.emulators(options));
    if (options.startOperator !== false) await env.startOperator();
    return env;
  }

  protected override serviceAccountConfig(namespace: string, name: string): KubeConfig {
    return this.server.kubeConfig(`system:serviceaccount:${namespace}:${name}`);
  }

  override async stop(): Promise<void> {
    await super.stop();
    await this.server.stop();
  }
}
