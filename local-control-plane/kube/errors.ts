// Status objects and field errors, worded like k8s.io/apimachinery/pkg/api/errors and
// k8s.io/apimachinery/pkg/util/validation/field.

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: Array<{ reason: string; message: string; field?: string }>;
  retryAfterSeconds?: number;
}

export interface Status {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, unknown>;
  status: "Failure" | "Success";
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** An error carrying a Status; the HTTP layer answers status.code with it as the body. */
export class ApiError extends Error {
  readonly status: Status;
  readonly headers: Record<string, string>;
  constructor(status: Status, headers: Record<string, string> = {}) {
    super(status.message ?? status.reason ?? "error");
    this.status = status;
    this.headers = headers;
  }
}

/** A Go panic in the apiserver's handler chain: the connection is dropped without a response. */
export class ServerPanic extends Error {}

export interface GroupResource {
  group: string;
  resource: string;
}

function grString(gr: GroupResource): string {
  return gr.group ? `${gr.resource}.${gr.group}` : gr.resource;
}

function failure(code: number, reason: string | undefined, message: string, details?: StatusDetails): Status {
  const s: Status = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, code };
  if (reason !== undefined) s.reason = reason;
  if (details) s.details = details;
  // Field order like the real server: kind, apiVersion, metadata, status, message, reason, details, code.
  return {
    kind: s.kind,
    apiVersion: s.apiVersion,
    metadata: s.metadata,
    status: s.status,
    message: s.message,
    ...(s.reason !== undefined ? { reason: s.reason } : {}),
    ...(s.details ? { details: s.details } : {}),
    code: s.code,
  } as Status;
}

function grDetails(gr: GroupResource, name?: string): StatusDetails {
  const d: StatusDetails = {};
  if (name) d.name = name;
  if (gr.group) d.group = gr.group;
  d.kind = gr.resource;
  return d;
}

export function notFound(gr: GroupResource, name: string): ApiError {
  return new ApiError(failure(404, "NotFound", `${grString(gr)} "${name}" not found`, grDetails(gr, name)));
}

export function alreadyExists(gr: GroupResource, name: string): ApiError {
  return new ApiError(failure(409, "AlreadyExists", `${grString(gr)} "${name}" already exists`, grDetails(gr, name)));
}

export const OPTIMISTIC_LOCK_MSG = "the object has been modified; please apply your changes to the latest version and try again";

export function conflict(gr: GroupResource, name: string, msg: string = OPTIMISTIC_LOCK_MSG): ApiError {
  return new ApiError(failure(409, "Conflict", `Operation cannot be fulfilled on ${grString(gr)} "${name}": ${msg}`, grDetails(gr, name)));
}

export function badRequest(message: string): ApiError {
  return new ApiError(failure(400, "BadRequest", message));
}

export function methodNotSupported(gr: GroupResource, verb: string): ApiError {
  return new ApiError(failure(405, "MethodNotAllowed", `${verb} is not supported on resources of kind "${grString(gr)}"`, grDetails(gr)));
}

/** A method the route does not serve (the go-restful container's 405: empty details). */
export function methodNotAllowed(): ApiError {
  return new ApiError(failure(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {}));
}

export function unsupportedMediaType(accepted: string[]): ApiError {
  return new ApiError(
    failure(
      415,
      "UnsupportedMediaType",
      `the body of the request was in an unknown format - accepted media types include: ${accepted.join(", ")}`,
    ),
  );
}

export function forbidden(gr: GroupResource, name: string, message: string): ApiError {
  const what = name ? `${grString(gr)} "${name}"` : grString(gr);
  return new ApiError(failure(403, "Forbidden", `${what} is forbidden: ${message}`, grDetails(gr, name)));
}

export function expired(message: string): ApiError {
  return new ApiError(failure(410, "Expired", message));
}

export function gone(message: string): ApiError {
  return new ApiError(failure(410, "Gone", message));
}

export function tooManyRequests(message: string, retryAfterSeconds: number): ApiError {
  return new ApiError(failure(429, "TooManyRequests", message, { retryAfterSeconds }), { "Retry-After": String(retryAfterSeconds) });
}

export function internalError(message: string): ApiError {
  return new ApiError(failure(500, "InternalError", `Internal error occurred: ${message}`, { causes: [{ reason: "", message }] }));
}

/** A non-Status error surfaced by the storage layer: the real server answers 500 with no reason. */
export function unknownError(code: number, message: string): ApiError {
  return new ApiError(failure(code, undefined, message));
}

export function serviceUnavailable(message: string): ApiError {
  return new ApiError(failure(503, "ServiceUnavailable", message));
}

export function timeoutError(message: string, retryAfterSeconds: number): ApiError {
  return new ApiError(failure(504, "Timeout", message, { retryAfterSeconds }));
}

/**
 * errors.NewGenericServerResponse(422, "", {}, "", err.Error(), 0, false) as the patch handler answers a
 * failed JSON patch: isUnexpectedResponse is false, so the json-patch error is dropped (`details: {}`).
 * `serverMessage` is kept only for the fake's own diagnostics.
 */
export function genericUnprocessable(serverMessage: string): ApiError {
  const e = new ApiError(failure(422, "Invalid", "the server rejected our request due to an error in our request", {}));
  e.message = serverMessage;
  return e;
}

// ---- field errors ----

export type FieldErrorType = "Required" | "Invalid" | "TypeInvalid" | "NotSupported" | "Forbidden" | "TooLong" | "TooMany" | "Duplicate";

const TYPE_TEXT: Record<FieldErrorType, string> = {
  Required: "Required value",
  Invalid: "Invalid value",
  TypeInvalid: "Invalid value",
  NotSupported: "Unsupported value",
  Forbidden: "Forbidden",
  TooLong: "Too long",
  TooMany: "Too many",
  Duplicate: "Duplicate value",
};
const CAUSE_TYPE: Record<FieldErrorType, string> = {
  Required: "FieldValueRequired",
  Invalid: "FieldValueInvalid",
  TypeInvalid: "FieldValueTypeInvalid",
  NotSupported: "FieldValueNotSupported",
  Forbidden: "FieldValueForbidden",
  TooLong: "FieldValueTooLong",
  TooMany: "FieldValueTooMany",
  Duplicate: "FieldValueDuplicate",
};

export const OMIT = Symbol("omitValue");

/** A bad value rendered verbatim (e.g. Go's %#v of a uint64 zero: 0x0). */
export class RawValue {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

export interface FieldError {
  type: FieldErrorType;
  field: string;
  value?: unknown;
  detail: string;
  /** true for CEL transition rules (oldSelf): never ratcheted. */
  transition?: boolean;
}

/** strconv.Quote: printable runes kept, others escaped (\t, \v, \u00a0, \U0001f600 ...). */
export function goQuote(s: string): string {
  const named: Record<string, string> = {
    "\x07": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    '"': '\\"',
    "\\": "\\\\",
  };
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (named[ch]) out += named[ch];
    else if (ch !== " " && /[\p{C}\p{Z}]/u.test(ch)) {
      out +=
        cp < 0x80
          ? `\\x${cp.toString(16).padStart(2, "0")}`
          : cp < 0x10000
            ? `\\u${cp.toString(16).padStart(4, "0")}`
            : `\\U${cp.toString(16).padStart(8, "0")}`;
    } else out += ch;
  }
  return `${out}"`;
}

/** Go's %q-ish rendering of a bad value, like field.Error.ErrorBody. */
function renderValue(v: unknown): string {
  if (v === null || v === undefined) return '"null"';
  if (v instanceof RawValue) return v.text;
  if (typeof v === "string") return goQuote(v);
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (!Array.isArray(v)) {
    // Go's %#v of a map[string]interface{}.
    return `map[string]interface {}{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${JSON.stringify(k)}:${JSON.stringify(x)}`)
      .join(", ")}}`;
  }
  return JSON.stringify(v);
}

export function errorBody(e: FieldError): string {
  let s: string;
  if (e.type === "Required" || e.type === "Forbidden" || e.type === "TooLong" || e.value === OMIT) s = TYPE_TEXT[e.type];
  else s = `${TYPE_TEXT[e.type]}: ${renderValue(e.value)}`;
  if (e.detail) s += `: ${e.detail}`;
  return s;
}

export function fieldErrorString(e: FieldError): string {
  return `${e.field}: ${errorBody(e)}`;
}

export const fe = {
  required: (field: string, detail = ""): FieldError => ({ type: "Required", field, detail }),
  invalid: (field: string, value: unknown, detail: string): FieldError => ({ type: "Invalid", field, value, detail }),
  typeInvalid: (field: string, value: unknown, detail: string): FieldError => ({ type: "TypeInvalid", field, value, detail }),
  notSupported: (field: string, value: unknown, supported: string[]): FieldError => ({
    type: "NotSupported",
    field,
    value,
    detail: supported.length ? `supported values: ${supported.map((s) => JSON.stringify(s)).join(", ")}` : "",
  }),
  forbidden: (field: string, detail: string): FieldError => ({ type: "Forbidden", field, detail }),
  tooLong: (field: string, max: number): FieldError => ({
    type: "TooLong",
    field,
    detail: max >= 0 ? `may not be more than ${max} ${max === 1 ? "byte" : "bytes"}` : "value is too long",
  }),
  tooMany: (field: string, actual: number, max: number): FieldError => ({
    type: "TooMany",
    field,
    value: actual >= 0 ? actual : OMIT,
    detail: max >= 0 ? `must have at most ${max} ${max === 1 ? "item" : "items"}` : "has too many items",
  }),
  duplicate: (field: string, value: unknown): FieldError => ({ type: "Duplicate", field, value, detail: "" }),
};

/** errors.NewInvalid(qualifiedKind, name, errs). `kind` is "Kind.group" or plain "Kind". */
export function invalid(group: string, kind: string, name: string, errs: FieldError[]): ApiError {
  const qk = group ? `${kind}.${group}` : kind;
  const causes = errs.map((e) => ({ reason: CAUSE_TYPE[e.type], message: errorBody(e), field: e.field }));
  // ToAggregate de-duplicates identical messages.
  const msgs: string[] = [];
  for (const e of errs) {
    const m = fieldErrorString(e);
    if (!msgs.includes(m)) msgs.push(m);
  }
  const agg = msgs.length === 0 ? "" : msgs.length === 1 ? msgs[0] : `[${msgs.join(", ")}]`;
  const message = agg ? `${qk} "${name}" is invalid: ${agg}` : `${qk} "${name}" is invalid`;
  const details: StatusDetails = { name };
  if (group) details.group = group;
  details.kind = kind;
  details.causes = causes;
  return new ApiError(failure(422, "Invalid", message, details));
}
