// The key of the password verifiers, in a Secret the operator owns in its own namespace: made
// on first start (by whichever replica gets there first), read on every start after that.
import { randomBytes } from "node:crypto";
import type { Logger } from "../observability/log.ts";
import type { KubeApi } from "./api.ts";
import { retryUntilSettled, transientStatus } from "./backoff.ts";
import { KubeError } from "./request.ts";

export const VERIFIER_KEY_FIELD = "key";

export async function loadVerifierKey(
  kube: Pick<KubeApi, "readSecret" | "createSecret">,
  where: { namespace: string; name: string },
  logger: Logger,
  signal?: AbortSignal,
): Promise<Buffer> {
  const { namespace, name } = where;
  const call = { signal };
  return retryUntilSettled(
    `read the verifier key Secret ${namespace}/${name}`,
    async () => {
      for (let attempt = 0; attempt < 3; attempt++) {
        const secret = await kube.readSecret(namespace, name, call);
        const encoded = secret?.data[VERIFIER_KEY_FIELD];
        if (encoded !== undefined) {
          const key = Buffer.from(encoded, "base64");
          if (key.length < 32) throw new Error(`the Secret ${namespace}/${name} holds no 32-byte key under "${VERIFIER_KEY_FIELD}"`);
          return key;
        }
        if (secret) throw new Error(`the Secret ${namespace}/${name} has no "${VERIFIER_KEY_FIELD}"`);
        const key = randomBytes(32);
        const labels = { "app.kubernetes.io/name": "memorydb-user-operator", "app.kubernetes.io/component": "password-verifier-key" };
        // Another replica may create it first (409): then read theirs.
        if (await kube.createSecret(namespace, name, { data: { [VERIFIER_KEY_FIELD]: key.toString("base64") }, labels }, call)) {
          logger.info("created the password verifier key", { secret: `${namespace}/${name}` });
          return key;
        }
      }
      throw new Error(`the Secret ${namespace}/${name} keeps appearing and disappearing`);
    },
    {
      transient: (err) => err instanceof KubeError && transientStatus(err.status),
      signal,
      onRetry: (err, delayMs) =>
        logger.warn("cannot read the password verifier key yet, retrying", { error: (err as Error).message, retryInMs: delayMs }),
    },
  );
}
