// ObjectMeta rules shared by all resources (k8s.io/apimachinery/pkg/api/validation).
import { type FieldError, fe, ServerPanic } from "./errors.ts";
import type { JsonObject } from "./resources.ts";

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export function nowTimestamp(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

const GEN_CHARS = "bcdfghjklmnpqrstvwxz2456789";
/**
 * names.SimpleNameGenerator (apiserver/pkg/storage/names/generate.go): the prefix cut to 58 *bytes*
 * (maxNameLength 63 − randomLength 5; Go slices bytes), then 5 characters of utilrand's alphabet.
 */
export function generateName(prefix: string): string {
  const bytes = Buffer.from(prefix, "utf8");
  let s = bytes.length > 58 ? bytes.subarray(0, 58).toString("utf8") : prefix;
  for (let i = 0; i < 5; i++) s += GEN_CHARS[Math.floor(Math.random() * GEN_CHARS.length)];
  return s;
}

/**
 * maskTrailingDash (apimachinery/pkg/api/validation/generic.go, v1.20): a prefix ending in '-' has its
 * last *two* bytes replaced by "a" (`name[:len(name)-2] + "a"`), so "ab.-" passes as a prefix; for "-"
 * alone the slice bound is -1 and the apiserver panics (the request gets no response).
 */
function maskTrailingDash(name: string): string {
  if (!name.endsWith("-")) return name;
  if (name.length < 2) throw new ServerPanic("runtime error: slice bounds out of range [:-1]");
  return `${name.slice(0, -2)}a`;
}

/** NameIsDNSSubdomain / NameIsDNSLabel(name, prefix): a generateName is checked as a prefix. */
export function validateName(name: string, dnsLabel: boolean, field = "metadata.name", prefix = false): FieldError[] {
  if (prefix) return validateName(maskTrailingDash(name), dnsLabel, field).map((e) => ({ ...e, value: name }));
  if (dnsLabel) {
    const errs: FieldError[] = [];
    if (name.length > 63) errs.push(fe.invalid(field, name, "must be no more than 63 characters"));
    if (!LABEL.test(name)) errs.push(fe.invalid(field, name, LABEL_MSG));
    return errs;
  }
  const errs: FieldError[] = [];
  if (name.length > 253) errs.push(fe.invalid(field, name, "must be no more than 253 characters"));
  if (!SUBDOMAIN.test(name)) errs.push(fe.invalid(field, name, SUBDOMAIN_MSG));
  return errs;
}

/** path.ValidatePathSegmentName: the only name rule of the registry's common ObjectMeta validation (rest.BeforeCreate). */
export function validatePathSegmentName(name: string, prefix: boolean, field: string): FieldError[] {
  if (!prefix && (name === "." || name === "..")) return [fe.invalid(field, name, `may not be '${name}'`)];
  return ["/", "%"].filter((c) => name.includes(c)).map((c) => fe.invalid(field, name, `may not contain '${c}'`));
}

export type NameRule = "subdomain" | "label" | "pathSegment";

/**
 * ValidateObjectMetaAccessor (apimachinery/pkg/api/validation/objectmeta.go): generateName as a prefix,
 * then the (generated) name, namespace, labels, annotations size, finalizers. Runs after name generation.
 */
export function validateObjectMeta(meta: JsonObject, namespaced: boolean, rule: NameRule | boolean): FieldError[] {
  const errs: FieldError[] = [];
  const r: NameRule = rule === true ? "label" : rule === false ? "subdomain" : rule;
  const check = (v: string, field: string, prefix: boolean) =>
    r === "pathSegment" ? validatePathSegmentName(v, prefix, field) : validateName(v, r === "label", field, prefix);
  if (meta.generateName) errs.push(...check(meta.generateName, "metadata.generateName", true));
  if (!meta.name) errs.push(fe.required("metadata.name", "name or generateName is required"));
  else errs.push(...check(meta.name, "metadata.name", false));
  if (namespaced && !meta.namespace) errs.push(fe.required("metadata.namespace", ""));
  for (const [k, v] of Object.entries((meta.labels ?? {}) as Record<string, unknown>)) {
    if (!QUALIFIED.test(k) || k.split("/").pop()!.length > 63) {
      errs.push(
        fe.invalid(
          "metadata.labels",
          k,
          "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        ),
      );
    }
    if (typeof v !== "string" || v.length > 63 || !LABEL_VALUE.test(v)) {
      errs.push(
        fe.invalid(
          `metadata.labels`,
          v,
          "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        ),
      );
    }
  }
  const annSize = Object.entries((meta.annotations ?? {}) as Record<string, string>).reduce(
    (n, [k, v]) => n + k.length + String(v).length,
    0,
  );
  if (annSize > 256 * 1024) errs.push({ type: "TooLong", field: "metadata.annotations", detail: "must have at most 262144 bytes" });
  const fins: unknown[] = meta.finalizers ?? [];
  fins.forEach((f, i) => {
    if (typeof f !== "string" || !QUALIFIED.test(f))
      errs.push(
        fe.invalid(
          `metadata.finalizers[${i}]`,
          f,
          "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        ),
      );
  });
  return errs;
}

function goStringSlice(xs: string[]): string {
  return `[]string{${xs.map((x) => JSON.stringify(x)).join(", ")}}`;
}

/** ValidateObjectMetaUpdate (the parts not already enforced by resetting the fields). */
export function validateObjectMetaUpdate(meta: JsonObject, old: JsonObject): FieldError[] {
  const errs: FieldError[] = [];
  if (old.deletionTimestamp) {
    const extra = ((meta.finalizers ?? []) as string[]).filter((f) => !((old.finalizers ?? []) as string[]).includes(f));
    if (extra.length)
      errs.push(
        fe.forbidden(
          "metadata.finalizers",
          `no new finalizers can be added if the object is being deleted, found new finalizers ${goStringSlice([...new Set(extra)].sort())}`,
        ),
      );
  }
  for (const f of ["name", "namespace", "uid", "creationTimestamp"] as const) {
    if ((meta[f] ?? "") !== (old[f] ?? "")) errs.push(fe.invalid(`metadata.${f}`, meta[f] ?? "", "field is immutable"));
  }
  return errs;
}
