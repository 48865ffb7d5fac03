// AWS access: the MemoryDB calls the operator makes, typed in the operator's own terms.
import {
  CreateUserCommand,
  DeleteUserCommand,
  DescribeUsersCommand,
  ListTagsCommand,
  MemoryDBClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateUserCommand,
  type User,
} from "@aws-sdk/client-memorydb";
import { AdaptiveRetryStrategy } from "@smithy/core/retry";
import pRetry from "p-retry";
import type { AuthenticationType, ObservedUser } from "../model.ts";
import type { Redacted } from "../redacted.ts";
import type { CreateUserInput, MemoryDBApi, UpdateUserInput } from "./api.ts";
import type { CredentialProvider } from "./credentials.ts";
import { AwsFault, classify } from "./faults.ts";
import { AcceptedRateLimiter } from "./rate-limiter.ts";
import { Sha256 } from "./sha256.ts";

export interface MemoryDBOptions {
  region: string;
  endpoint?: string | undefined;
  /** Credentials other than the default chain's: an assumed role (credentials.ts). */
  credentials?: CredentialProvider | undefined;
  /** In-call retries of transient faults; the work queue's backoff takes over after that. */
  retries?: number;
  minRetryDelayMs?: number;
  /** Called for every AWS call with its outcome (for metrics and tests). */
  onCall?: (operation: string, outcome: string, ms: number) => void;
}

function toObserved(user: User | undefined, operation: string): ObservedUser {
  if (!user?.Name || !user.ARN) {
    throw new AwsFault(operation, "MalformedResponse", "transient", "the response has no user name or ARN");
  }
  return {
    name: user.Name,
    arn: user.ARN,
    status: user.Status ?? "unknown",
    accessString: user.AccessString ?? "",
    aclNames: user.ACLNames ?? [],
    minimumEngineVersion: user.MinimumEngineVersion ?? "",
    authentication: {
      type: user.Authentication?.Type ?? "unknown",
      ...(user.Authentication?.PasswordCount === undefined ? {} : { passwordCount: user.Authentication.PasswordCount }),
    },
  };
}

function scrub(err: unknown, secrets: readonly Redacted[]): unknown {
  if (!(err instanceof Error) || secrets.length === 0) return err;
  let message = err.message;
  for (const secret of secrets) message = message.split(secret.reveal()).join(String(secret));
  if (message !== err.message) err.message = message;
  return err;
}

function authenticationMode(type: AuthenticationType, passwords: Redacted[]) {
  return type === "iam" ? { Type: "iam" as const } : { Type: "password" as const, Passwords: passwords.map((p) => p.reveal()) };
}

/** p-retry's schedule of in-call retries (delays in ms, jittered by up to ×2). */
export const IN_CALL_RETRY = { retries: 3, minTimeout: 200, maxTimeout: 3_000, factor: 2 } as const;

/**
 * MemoryDB through the AWS SDK with the default credential chain (env, IRSA, EKS Pod
 * Identity, instance profile), or a namespace's assumed role. Retries are layered so that they
 * never multiply: the SDK makes one attempt per send (maxAttempts 1), exactly one layer retries
 * inside a call (p-retry, the operator's transient faults only), and the work queue backs off per
 * resource beyond. The SDK's adaptive retry strategy is there for its client-side rate limiter
 * alone: every attempt of every layer waits for a token of this client's limiter (one per region
 * and identity), which slows down when MemoryDB throttles and speeds up again while it does not,
 * so retries spend the same budget instead of adding load. The limiter is the operator's own
 * (rate-limiter.ts), in the SDK's place for it.
 */
export class MemoryDB implements MemoryDBApi {
  readonly #client: MemoryDBClient;
  readonly #options: MemoryDBOptions;
  /** Cancels this view's calls, in-call retries included (shutdown). */
  readonly #signal: AbortSignal | undefined;
  /** The listing's page size, until MemoryDB refuses it (shared by every view of the client). */
  readonly #pageSize: { value: number | undefined };

  constructor(
    options: MemoryDBOptions,
    shared?: { client: MemoryDBClient; signal: AbortSignal | undefined; pageSize: { value: number | undefined } },
  ) {
    this.#options = options;
    this.#signal = shared?.signal;
    this.#pageSize = shared?.pageSize ?? { value: 100 };
    this.#client =
      shared?.client ??
      new MemoryDBClient({
        region: options.region,
        // One attempt per send (a number: with options, the SDK takes a provider function for 3),
        // paced by the operator's rate limiter (rate-limiter.ts: why not the SDK's own).
        maxAttempts: 1,
        // Signing with the operator's SHA-256: HMAC keys prepared once (sha256.ts).
        sha256: Sha256,
        retryStrategy: new AdaptiveRetryStrategy(1, { rateLimiter: new AcceptedRateLimiter() }),
        requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
      });
  }

  /** The same client, with its calls cancelled by `signal`. */
  withSignal(signal: AbortSignal | undefined): MemoryDB {
    return signal ? new MemoryDB(this.#options, { client: this.#client, signal, pageSize: this.#pageSize }) : this;
  }

  destroy(): void {
    this.#client.destroy();
  }

  get #sendOptions(): { abortSignal?: AbortSignal } {
    return this.#signal ? { abortSignal: this.#signal } : {};
  }

  /** `secrets` are scrubbed from any error message, in case the service ever echoes them. */
  async #call<T>(operation: string, send: () => Promise<T>, secrets: readonly Redacted[] = []): Promise<T> {
    return pRetry(
      async () => {
        const started = performance.now();
        try {
          const result = await send();
          this.#options.onCall?.(operation, "success", performance.now() - started);
          return result;
        } catch (err) {
          const scrubbed = scrub(err, secrets);
          const fault = classify(operation, scrubbed);
          // A role that could not be assumed is STS's answer, not MemoryDB's: told apart in the outcome.
          const outcome = fault ? (fault.service === "STS" ? `AssumeRole:${fault.code}` : fault.code) : "Bug";
          this.#options.onCall?.(operation, outcome, performance.now() - started);
          // Not an AWS or network failure: a bug, which surfaces (with its stack) unretried.
          throw fault ?? scrubbed;
        }
      },
      {
        retries: this.#options.retries ?? IN_CALL_RETRY.retries,
        minTimeout: this.#options.minRetryDelayMs ?? IN_CALL_RETRY.minTimeout,
        maxTimeout: IN_CALL_RETRY.maxTimeout,
        factor: IN_CALL_RETRY.factor,
        randomize: true,
        shouldRetry: ({ error }) => error instanceof AwsFault && error.kind === "transient",
        ...(this.#signal ? { signal: this.#signal } : {}),
      },
    );
  }

  async describeUser(userName: string): Promise<ObservedUser | undefined> {
    try {
      const out = await this.#call("DescribeUsers", () =>
        this.#client.send(new DescribeUsersCommand({ UserName: userName }), this.#sendOptions),
      );
      const user = out.Users?.find((u) => u.Name?.toLowerCase() === userName.toLowerCase());
      return user ? toObserved(user, "DescribeUsers") : undefined;
    } catch (err) {
      if (err instanceof AwsFault && err.code === "UserNotFoundFault") return undefined;
      throw err;
    }
  }

  async createUser(input: CreateUserInput): Promise<ObservedUser> {
    const out = await this.#call(
      "CreateUser",
      () =>
        this.#client.send(
          new CreateUserCommand({
            UserName: input.userName,
            AccessString: input.accessString,
            AuthenticationMode: authenticationMode(input.authType, input.passwords),
            Tags: Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value })),
          }),
          this.#sendOptions,
        ),
      input.passwords,
    );
    return toObserved(out.User, "CreateUser");
  }

  async updateUser(input: UpdateUserInput): Promise<ObservedUser> {
    const out = await this.#call(
      "UpdateUser",
      () =>
        this.#client.send(
          new UpdateUserCommand({
            UserName: input.userName,
            ...(input.accessString === undefined ? {} : { AccessString: input.accessString }),
            ...(input.authentication === undefined
              ? {}
              : { AuthenticationMode: authenticationMode(input.authentication.type, input.authentication.passwords) }),
          }),
          this.#sendOptions,
        ),
      input.authentication?.passwords,
    );
    return toObserved(out.User, "UpdateUser");
  }

  async deleteUser(userName: string): Promise<boolean> {
    try {
      await this.#call("DeleteUser", () => this.#client.send(new DeleteUserCommand({ UserName: userName }), this.#sendOptions));
      return true;
    } catch (err) {
      if (err instanceof AwsFault && err.code === "UserNotFoundFault") return false;
      throw err;
    }
  }

  async tagResource(arn: string, tags: Record<string, string>): Promise<void> {
    await this.#tagCall("TagResource", () =>
      this.#client.send(
        new TagResourceCommand({ ResourceArn: arn, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }),
        this.#sendOptions,
      ),
    );
  }

  /** Removing a tag that is already gone is success: the call is retried after crashes. */
  async untagResource(arn: string, keys: string[]): Promise<void> {
    try {
      await this.#tagCall("UntagResource", () =>
        this.#client.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: keys }), this.#sendOptions),
      );
    } catch (err) {
      if (err instanceof AwsFault && err.code === "TagNotFoundFault") return;
      throw err;
    }
  }

  /**
   * A tag call's UserNotFoundFault does not mean the user is gone: the tagging service answers
   * it while a user is busy ("not available for tagging"). It is transient; only DescribeUsers
   * or DeleteUser saying not found means gone.
   */
  async #tagCall<T>(operation: string, send: () => Promise<T>): Promise<T> {
    return this.#call(operation, async () => {
      try {
        return await send();
      } catch (err) {
        const fault = classify(operation, err);
        if (fault?.code !== "UserNotFoundFault") throw err;
        throw new AwsFault(operation, fault.code, "transient", `${fault.detail} (the user may be busy; looking again)`);
      }
    });
  }

  async listUsers(): Promise<ObservedUser[]> {
    try {
      return await this.#listUsers(this.#pageSize.value);
    } catch (err) {
      // MemoryDB does not document the page size range: if it refuses ours, list with its default.
      if (!(err instanceof AwsFault) || err.code !== "InvalidParameterValueException" || this.#pageSize.value === undefined) throw err;
      this.#pageSize.value = undefined;
      return this.#listUsers(undefined);
    }
  }

  async #listUsers(pageSize: number | undefined): Promise<ObservedUser[]> {
    const users: ObservedUser[] = [];
    let token: string | undefined;
    do {
      const out = await this.#call("DescribeUsers", () =>
        this.#client.send(
          new DescribeUsersCommand({ ...(pageSize === undefined ? {} : { MaxResults: pageSize }), ...(token ? { NextToken: token } : {}) }),
          this.#sendOptions,
        ),
      );
      for (const u of out.Users ?? []) users.push(toObserved(u, "DescribeUsers"));
      token = out.NextToken || undefined;
    } while (token);
    return users;
  }

  async listTags(arn: string): Promise<Record<string, string>> {
    const out = await this.#tagCall("ListTags", () => this.#client.send(new ListTagsCommand({ ResourceArn: arn }), this.#sendOptions));
    return Object.fromEntries((out.TagList ?? []).filter((t) => t.Key !== undefined).map((t) => [t.Key!, t.Value ?? ""]));
  }
}
