// Credentials of an assumed role, for the MemoryDB clients of a mapped namespace: the SDK's own
// provider (fromTemporaryCredentials: STS AssumeRole with the operator's default credential
// chain as the source). Each MemoryDB client caches what it returns and asks again shortly
// before the credentials expire (the SDK's identity memoization), so a role costs one AssumeRole
// per client per session, not one per call.
import type { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import type { AccountRole } from "./accounts.ts";
import { AssumeRoleError } from "./faults.ts";

/** The session name CloudTrail shows for the operator's calls in a mapped account. */
export const ROLE_SESSION_NAME = "memorydb-user-operator";

export interface RoleCredentialsOptions {
  /** Region of the STS endpoint (the operator's --region): regional STS, as the SDK defaults to. */
  region: string;
  /** --sts-endpoint: STS at this URL instead of AWS's. */
  endpoint?: string | undefined;
}

export type CredentialProvider = ReturnType<typeof fromTemporaryCredentials>;

export function roleCredentials(role: AccountRole, options: RoleCredentialsOptions): CredentialProvider {
  // Loaded when a mapped namespace first calls AWS: an operator without accounts never holds it
  // (the package loads every provider and an STS client, ~10 MiB resident).
  let provider: Promise<CredentialProvider> | undefined;
  // Tagged, so that a refusal reads as the role's problem, not as a MemoryDB permission.
  return async (properties) => {
    try {
      provider ??= import("@aws-sdk/credential-providers").then((m) =>
        m.fromTemporaryCredentials({
          params: {
            RoleArn: role.roleArn,
            RoleSessionName: ROLE_SESSION_NAME,
            ...(role.externalId ? { ExternalId: role.externalId } : {}),
          },
          clientConfig: { region: options.region, ...(options.endpoint ? { endpoint: options.endpoint } : {}) },
        }),
      );
      return await (await provider)(properties);
    } catch (err) {
      throw new AssumeRoleError(role.roleArn, err);
    }
  };
}
