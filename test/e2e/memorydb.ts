// Optional direct checks of MemoryDB, beside what the Kubernetes resources say: through the
// project's emulator (--emulator-url) or through the AWS API itself (--aws-region). Read-only:
// the suite never changes MemoryDB except through the operator.
import { DescribeUsersCommand, ListTagsCommand, MemoryDBClient, type User } from "@aws-sdk/client-memorydb";

/** A MemoryDB user as the suite compares it (MemoryDB never returns passwords). */
export interface UserState {
  name: string;
  status: string;
  accessString: string;
  authType: string;
  passwordCount: number | undefined;
  tags: Record<string, string>;
}

/** A MemoryDB API call naming a user, as the emulator logged it. */
export interface Call {
  op: string;
  /** How many passwords an UpdateUser/CreateUser sent (their values are never logged). */
  passwordsSent: number | undefined;
  error: string | undefined;
}

export const MUTATING_OPS = ["CreateUser", "UpdateUser", "DeleteUser", "TagResource", "UntagResource"];

export interface MemoryDBView {
  readonly description: string;
  /** Fails unless MemoryDB answers (credentials, endpoint, region). */
  check(): Promise<void>;
  user(name: string): Promise<UserState | undefined>;
  /** Names of every user whose name starts with `prefix`. */
  usersWithPrefix(prefix: string): Promise<string[]>;
  /** A point in MemoryDB's call history, or undefined when this view cannot see calls. */
  mark(): Promise<number | undefined>;
  /** The calls naming `name` since `mark`. */
  callsSince(mark: number, name: string): Promise<Call[]>;
  /** Whether a Redis AUTH as this user with this password would succeed (the emulator only). */
  authenticate?(name: string, password: string): Promise<boolean>;
}

interface EmulatedUser {
  name: string;
  status: string;
  accessString: string;
  authType: string;
  passwordCount?: number;
  tags: Record<string, string>;
}

interface LogEntry {
  op: string;
  input: { UserName?: string; ResourceArn?: string; AuthenticationMode?: { Passwords?: unknown[] } };
  error?: string;
}

export class EmulatorView implements MemoryDBView {
  readonly description: string;
  readonly #url: string;

  constructor(url: string) {
    this.#url = url;
    this.description = `the MemoryDB emulator at ${url}`;
  }

  async #get<T>(path: string): Promise<T> {
    const res = await fetch(`${this.#url}${path}`, { signal: AbortSignal.timeout(15_000) }).catch((err: Error) => {
      throw new Error(`emulator GET ${path}: ${err.message}`);
    });
    if (!res.ok) throw new Error(`emulator GET ${path}: HTTP ${res.status}`);
    return (await res.json()) as T;
  }

  async check(): Promise<void> {
    const body = await this.#get<{ users?: unknown }>("/_emulator/users");
    if (!Array.isArray(body.users))
      throw new Error(`${this.#url}/_emulator/users does not answer {users: [...]}: is this the project's MemoryDB emulator?`);
  }

  async #users(): Promise<EmulatedUser[]> {
    return (await this.#get<{ users: EmulatedUser[] }>("/_emulator/users")).users;
  }

  async user(name: string): Promise<UserState | undefined> {
    const u = (await this.#users()).find((x) => x.name === name);
    if (!u) return undefined;
    return {
      name: u.name,
      status: u.status,
      accessString: u.accessString,
      authType: u.authType,
      passwordCount: u.authType === "password" ? u.passwordCount : undefined,
      tags: u.tags,
    };
  }

  async usersWithPrefix(prefix: string): Promise<string[]> {
    return (await this.#users()).map((u) => u.name).filter((n) => n.startsWith(prefix));
  }

  async mark(): Promise<number> {
    return (await this.#get<{ callLog: LogEntry[] }>("/_emulator/log")).callLog.length;
  }

  async authenticate(name: string, password: string): Promise<boolean> {
    const res = await fetch(`${this.#url}/_emulator/auth`, {
      method: "POST",
      body: JSON.stringify({ userName: name, password }),
      signal: AbortSignal.timeout(15_000),
    });
    if (!res.ok) throw new Error(`emulator POST /_emulator/auth: HTTP ${res.status}`);
    return ((await res.json()) as { accepted: boolean }).accepted;
  }

  async callsSince(mark: number, name: string): Promise<Call[]> {
    const log = (await this.#get<{ callLog: LogEntry[] }>("/_emulator/log")).callLog.slice(mark);
    return log
      .filter((e) => e.input?.UserName?.toLowerCase() === name || (e.input?.ResourceArn ?? "").endsWith(`:user/${name}`))
      .map((e) => ({
        op: e.op,
        passwordsSent: Array.isArray(e.input?.AuthenticationMode?.Passwords) ? e.input.AuthenticationMode.Passwords.length : undefined,
        error: e.error,
      }));
  }
}

export class AwsView implements MemoryDBView {
  readonly description: string;
  readonly #client: MemoryDBClient;

  constructor(region: string, endpoint: string | undefined) {
    this.#client = new MemoryDBClient({ region, ...(endpoint ? { endpoint } : {}) });
    this.description = `MemoryDB in ${region}${endpoint ? ` at ${endpoint}` : ""} (DescribeUsers, ListTags)`;
  }

  async check(): Promise<void> {
    // A name no one uses: UserNotFoundFault proves credentials, region and endpoint work.
    await this.user("e2e-preflight-never-created");
  }

  async user(name: string): Promise<UserState | undefined> {
    let user: User | undefined;
    try {
      user = (await this.#client.send(new DescribeUsersCommand({ UserName: name }))).Users?.[0];
    } catch (err) {
      if ((err as Error).name === "UserNotFoundFault") return undefined;
      throw new Error(`DescribeUsers ${name}: ${(err as Error).name}: ${(err as Error).message}`);
    }
    if (!user?.Name) return undefined;
    let tags: Record<string, string> = {};
    if (user.ARN) {
      try {
        const list = (await this.#client.send(new ListTagsCommand({ ResourceArn: user.ARN }))).TagList ?? [];
        tags = Object.fromEntries(list.map((t) => [t.Key ?? "", t.Value ?? ""]));
      } catch (err) {
        // Deleted between the two calls.
        if ((err as Error).name === "UserNotFoundFault") return undefined;
        throw new Error(`ListTags ${name}: ${(err as Error).name}: ${(err as Error).message}`);
      }
    }
    return {
      name: user.Name,
      status: user.Status ?? "",
      accessString: user.AccessString ?? "",
      authType: user.Authentication?.Type ?? "",
      passwordCount: user.Authentication?.Type === "password" ? user.Authentication.PasswordCount : undefined,
      tags,
    };
  }

  async usersWithPrefix(prefix: string): Promise<string[]> {
    const names: string[] = [];
    let token: string | undefined;
    do {
      // MemoryDB's own page size: it documents no MaxResults range.
      const page = await this.#client.send(new DescribeUsersCommand(token ? { NextToken: token } : {}));
      for (const u of page.Users ?? []) if (u.Name?.startsWith(prefix)) names.push(u.Name);
      token = page.NextToken;
    } while (token);
    return names;
  }

  async mark(): Promise<undefined> {
    return undefined;
  }

  async callsSince(): Promise<Call[]> {
    throw new Error("the AWS API does not show the calls made");
  }
}
