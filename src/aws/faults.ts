// How the operator treats each AWS failure: retry soon, retry slowly, or stop until the
// spec or a Secret changes (see ../shared/memorydb-api.md, "Which faults are terminal").

export type FaultKind =
  /** Throttling, 5xx, network errors, a user busy modifying: retry with backoff. */
  | "transient"
  /** The request itself is wrong: only a spec or Secret change can help. */
  | "terminal"
  /** Outside the resource's control (quota, permissions): retry, but slowly. */
  | "slow";

const TRANSIENT = new Set([
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "InternalFailure",
  "InternalServerError",
  "ServiceUnavailable",
  "InvalidUserStateFault",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
  "NetworkingError",
]);

const TERMINAL = new Set([
  "InvalidParameterValueException",
  "InvalidParameterCombinationException",
  "DuplicateUserNameFault",
  "TagQuotaPerResourceExceeded",
]);

const NETWORK_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "ECONNABORTED", "UND_ERR_SOCKET"]);

/** An AWS call that failed, with the service's error code and how to treat it. */
export class AwsFault extends Error {
  override name = "AwsFault";
  readonly code: string;
  readonly kind: FaultKind;
  readonly operation: string;

  constructor(operation: string, code: string, kind: FaultKind, message: string) {
    super(`${operation}: ${code}: ${message}`);
    this.operation = operation;
    this.code = code;
    this.kind = kind;
  }

  /** The service's own message, without the operation and code prefix. */
  get detail(): string {
    return this.message.slice(this.operation.length + this.code.length + 4);
  }
}

interface SdkLikeError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

export function classify(operation: string, err: unknown): AwsFault {
  if (err instanceof AwsFault) return err;
  const e = (err ?? {}) as SdkLikeError;
  const code = (e.code && NETWORK_CODES.has(e.code) ? e.code : e.name) || "UnknownError";
  const status = e.$metadata?.httpStatusCode;
  let kind: FaultKind;
  if (TERMINAL.has(code)) kind = "terminal";
  else if (TRANSIENT.has(code) || NETWORK_CODES.has(code) || e.$retryable !== undefined || (status ?? 0) >= 500) kind = "transient";
  else if (status === undefined && !code.endsWith("Fault") && !code.endsWith("Exception")) kind = "transient";
  else kind = "slow";
  return new AwsFault(operation, code, kind, e.message ?? String(err));
}
