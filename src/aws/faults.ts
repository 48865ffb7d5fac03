// How the operator treats each AWS failure: retry soon, retry slowly, or stop until the spec or
// a Secret changes (docs/aws-api.md, "Which faults are terminal"). What is not an AWS failure at
// all (a TypeError: a bug) is not classified: it surfaces as an error with its stack.

export type FaultKind =
  /** Throttling, 5xx, network errors, a user busy modifying: retry with backoff. */
  | "transient"
  /** The request itself is wrong: only a spec or Secret change can help. */
  | "terminal"
  /** Outside the resource's control (quota, permissions, credentials): retry, but slowly. */
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
  "ServiceUnavailableException",
  "InvalidUserStateFault",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
  "NetworkingError",
]);

const TERMINAL = new Set([
  "InvalidParameterValueException",
  "InvalidParameterCombinationException",
  "ValidationException",
  "TagQuotaPerResourceExceeded",
]);

/** Socket-level failures that pass, by Node's error code. */
const NETWORK_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "ECONNABORTED", "UND_ERR_SOCKET"]);
/** No such host: a region (or endpoint) that does not exist, not a passing fault. */
const NO_SUCH_HOST = "ENOTFOUND";

/** Problems an administrator must fix, each with its own condition reason. */
const ADMIN_PROBLEMS: Record<string, { reason: string; fix: string }> = {
  AccessDenied: { reason: "AccessDenied", fix: "an administrator must allow this call in the operator's IAM policy (docs/install.md)" },
  AccessDeniedException: {
    reason: "AccessDenied",
    fix: "an administrator must allow this call in the operator's IAM policy (docs/install.md)",
  },
  ExpiredToken: {
    reason: "InvalidCredentials",
    fix: "the operator's AWS credentials expired; an administrator must fix its AWS identity (IRSA, EKS Pod Identity or environment)",
  },
  ExpiredTokenException: {
    reason: "InvalidCredentials",
    fix: "the operator's AWS credentials expired; an administrator must fix its AWS identity (IRSA, EKS Pod Identity or environment)",
  },
  UnrecognizedClientException: {
    reason: "InvalidCredentials",
    fix: "AWS does not recognise the operator's credentials; an administrator must fix its AWS identity (IRSA, EKS Pod Identity or environment)",
  },
  InvalidClientTokenId: {
    reason: "InvalidCredentials",
    fix: "AWS does not recognise the operator's credentials; an administrator must fix its AWS identity (IRSA, EKS Pod Identity or environment)",
  },
  InvalidSignatureException: {
    reason: "InvalidCredentials",
    fix: "AWS rejected the request signature; an administrator must check the operator's AWS credentials and clock",
  },
  CredentialsProviderError: {
    reason: "NoCredentials",
    fix: "the operator found no AWS credentials; an administrator must give it an AWS identity (IRSA, EKS Pod Identity or environment)",
  },
  ServiceLinkedRoleNotFoundFault: {
    reason: "ServiceLinkedRoleNotFound",
    fix: "MemoryDB's service-linked role is missing in this account; an administrator must create it (aws iam create-service-linked-role --aws-service-name memorydb.amazonaws.com)",
  },
  ENOTFOUND: {
    reason: "RegionUnreachable",
    fix: "the region's MemoryDB endpoint does not resolve; check spec.region (or the endpoint override)",
  },
};

/**
 * STS refusing to let the operator assume a namespace's role (--accounts-configmap): problems an
 * administrator must fix, in the role's trust policy or the operator's own identity. Codes from
 * the STS API reference (AssumeRole's errors, and the common errors of every action).
 */
const TRUST_FIX =
  "an administrator must let the operator's identity assume the role: the role's trust policy must name it as principal for sts:AssumeRole (with an sts:ExternalId condition matching the mapping's external ID, if any), and the operator's own IAM policy must allow sts:AssumeRole on the role (docs/install.md)";
const STS_PROBLEMS: Record<string, { reason: string; fix: string }> = {
  AccessDenied: { reason: "AssumeRoleFailed", fix: TRUST_FIX },
  AccessDeniedException: { reason: "AssumeRoleFailed", fix: TRUST_FIX },
  ExpiredToken: { reason: "AssumeRoleFailed", fix: ADMIN_PROBLEMS.ExpiredToken!.fix },
  ExpiredTokenException: { reason: "AssumeRoleFailed", fix: ADMIN_PROBLEMS.ExpiredToken!.fix },
  InvalidClientTokenId: { reason: "AssumeRoleFailed", fix: ADMIN_PROBLEMS.InvalidClientTokenId!.fix },
  UnrecognizedClientException: { reason: "AssumeRoleFailed", fix: ADMIN_PROBLEMS.InvalidClientTokenId!.fix },
  SignatureDoesNotMatch: { reason: "AssumeRoleFailed", fix: ADMIN_PROBLEMS.InvalidSignatureException!.fix },
  RegionDisabledException: {
    reason: "AssumeRoleFailed",
    fix: "STS is not activated in this region for the operator's account; an administrator must activate it (IAM account settings, STS regions) or point --sts-endpoint at an activated region",
  },
  ValidationError: {
    reason: "AssumeRoleFailed",
    fix: "STS refused the request's parameters; an administrator must check the role ARN and external ID in the account mapping",
  },
  CredentialsProviderError: { reason: "AssumeRoleFailed", fix: ADMIN_PROBLEMS.CredentialsProviderError!.fix },
};

/** Assuming a namespace's role failed; thrown from the credential provider (credentials.ts). */
export class AssumeRoleError extends Error {
  override name = "AssumeRoleError";
  readonly roleArn: string;
  override readonly cause: unknown;

  constructor(roleArn: string, cause: unknown) {
    super(`cannot assume role ${roleArn}: ${(cause as Error)?.message ?? String(cause)}`);
    this.roleArn = roleArn;
    this.cause = cause;
  }
}

/** An AWS call that failed, with the service's error code and how to treat it. */
export class AwsFault extends Error {
  override name = "AwsFault";
  readonly code: string;
  readonly kind: FaultKind;
  /** The service whose call failed: MemoryDB, or STS when a role could not be assumed. */
  service = "MemoryDB";
  readonly operation: string;
  /** The condition reason when it is not the code itself (problems an administrator must fix). */
  readonly reason: string;
  /** What someone must do about it, when that is not the resource's owner. */
  readonly fix: string | undefined;

  constructor(operation: string, code: string, kind: FaultKind, message: string, admin?: { reason: string; fix: string }) {
    super(`${operation}: ${code}: ${message}`);
    this.operation = operation;
    this.code = code;
    this.kind = kind;
    this.reason = admin?.reason ?? code;
    this.fix = admin?.fix;
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
  $fault?: string;
  $retryable?: unknown;
}

/** Errors the SDK or the network produce, as opposed to a bug in the operator. */
function fromAws(e: SdkLikeError): boolean {
  return (
    e.$metadata !== undefined ||
    e.$fault !== undefined ||
    (e.code !== undefined && (NETWORK_CODES.has(e.code) || e.code === NO_SUCH_HOST)) ||
    ["TimeoutError", "AbortError", "CredentialsProviderError"].includes(e.name ?? "")
  );
}

/** The fault, or undefined when `err` is not an AWS or network failure (a bug: do not retry it as one). */
export function classify(operation: string, err: unknown): AwsFault | undefined {
  if (err instanceof AwsFault) return err;
  if (err instanceof AssumeRoleError) return assumeRoleFault(err);
  const e = (err ?? {}) as SdkLikeError;
  if (!fromAws(e)) return undefined;
  const code = (e.code && (NETWORK_CODES.has(e.code) || e.code === NO_SUCH_HOST) ? e.code : e.name) || "UnknownError";
  const status = e.$metadata?.httpStatusCode;
  const admin = ADMIN_PROBLEMS[code];
  let kind: FaultKind;
  if (admin) kind = "slow";
  else if (TERMINAL.has(code)) kind = "terminal";
  else if (TRANSIENT.has(code) || NETWORK_CODES.has(code) || e.$retryable !== undefined || (status ?? 0) >= 500) kind = "transient";
  else if (status === undefined && !code.endsWith("Fault") && !code.endsWith("Exception")) kind = "transient";
  else kind = "slow";
  return new AwsFault(operation, code, kind, e.message ?? String(err), admin);
}

/** A failed AssumeRole as a fault: transient ones retried, the rest an administrator's to fix. */
function assumeRoleFault(err: AssumeRoleError): AwsFault {
  const base = classify("AssumeRole", err.cause);
  const e = (err.cause ?? {}) as SdkLikeError;
  const code = base?.code ?? e.name ?? "UnknownError";
  const problem = STS_PROBLEMS[code];
  const kind: FaultKind = problem ? "slow" : (base?.kind ?? "slow");
  const fault = new AwsFault("AssumeRole", code, kind, `role ${err.roleArn} (${code}): ${e.message ?? String(err.cause)}`, {
    reason: "AssumeRoleFailed",
    fix: problem?.fix ?? "an administrator must check the role in the account mapping and the operator's AWS identity",
  });
  fault.service = "STS";
  return fault;
}
