// The MemoryDB operations the reconciler uses, in the operator's own terms (memorydb.ts makes
// them with the AWS SDK; tests may substitute their own).
import type { AuthenticationType, ObservedUser } from "../model.ts";
import type { Redacted } from "../redacted.ts";

export interface CreateUserInput {
  userName: string;
  accessString: string;
  authType: AuthenticationType;
  passwords: Redacted[];
  tags: Record<string, string>;
}

export interface UpdateUserInput {
  userName: string;
  accessString?: string;
  /** Present to change the authentication mode or the passwords. */
  authentication?: { type: AuthenticationType; passwords: Redacted[] };
}

/** The MemoryDB operations the reconciler uses; tests may substitute their own. */
export interface MemoryDBApi {
  /** The user, or undefined when MemoryDB has no user of that name. */
  describeUser(userName: string): Promise<ObservedUser | undefined>;
  createUser(input: CreateUserInput): Promise<ObservedUser>;
  updateUser(input: UpdateUserInput): Promise<ObservedUser>;
  /** Deletes the user; resolves to false when it was already gone. */
  deleteUser(userName: string): Promise<boolean>;
  listTags(arn: string): Promise<Record<string, string>>;
  tagResource(arn: string, tags: Record<string, string>): Promise<void>;
  untagResource(arn: string, keys: string[]): Promise<void>;
  /** Every user of the region (paginated DescribeUsers). */
  listUsers(): Promise<ObservedUser[]>;
}
