// core/v1 Events and events.k8s.io/v1 Events are the same stored objects (like the real server,
// which stores the internal Event and converts per version). Storage here is the core/v1 shape.
import { type FieldError, fe } from "./errors.ts";
import type { JsonObject } from "./resources.ts";

/** events.k8s.io/v1 field → core/v1 field (k8s.io/kubernetes/pkg/apis/events/v1 conversion). */
const V1_TO_CORE: Array<[string, string]> = [
  ["regarding", "involvedObject"],
  ["note", "message"],
  ["reportingController", "reportingComponent"],
  ["deprecatedSource", "source"],
  ["deprecatedFirstTimestamp", "firstTimestamp"],
  ["deprecatedLastTimestamp", "lastTimestamp"],
  ["deprecatedCount", "count"],
];
const SAME = ["metadata", "eventTime", "series", "reportingInstance", "action", "reason", "related", "type"];

/** Adds the fields Go always serialises for a core/v1 Event (non-omitempty structs and strings). */
function coreDefaults(e: JsonObject): JsonObject {
  e.involvedObject ??= {};
  e.source ??= {};
  if (e.firstTimestamp === undefined) e.firstTimestamp = null;
  if (e.lastTimestamp === undefined) e.lastTimestamp = null;
  if (e.eventTime === undefined) e.eventTime = null;
  e.reportingComponent ??= "";
  e.reportingInstance ??= "";
  return e;
}

/** An events.k8s.io/v1 Event (decoded body) → the stored core/v1 shape. */
export function eventToCore(obj: JsonObject): JsonObject {
  const out: JsonObject = { apiVersion: "v1", kind: "Event" };
  for (const k of SAME) if (obj[k] !== undefined) out[k] = obj[k];
  for (const [v1, core] of V1_TO_CORE) if (obj[v1] !== undefined) out[core] = obj[v1];
  return coreDefaults(out);
}

/** A stored Event rendered as core/v1 (fields Go always writes included). */
export function presentCoreEvent(obj: JsonObject): JsonObject {
  return coreDefaults(obj);
}

/** A stored Event rendered as events.k8s.io/v1. */
export function presentV1Event(stored: JsonObject): JsonObject {
  const out: JsonObject = { apiVersion: "events.k8s.io/v1", kind: "Event" };
  const e = coreDefaults({ ...stored });
  for (const k of SAME) if (e[k] !== undefined) out[k] = e[k];
  for (const [v1, core] of V1_TO_CORE) if (e[core] !== undefined) out[v1] = e[core];
  // omitempty in events.k8s.io/v1: reportingController, reportingInstance, deprecatedCount
  if (!out.reportingController) delete out.reportingController;
  if (!out.reportingInstance) delete out.reportingInstance;
  if (!out.deprecatedCount) delete out.deprecatedCount;
  return out;
}

/** Field-selector field of events.k8s.io/v1 → the stored (core) field. */
export const V1_FIELD_LABELS: Record<string, string> = {
  "regarding.kind": "involvedObject.kind",
  "regarding.namespace": "involvedObject.namespace",
  "regarding.name": "involvedObject.name",
  "regarding.uid": "involvedObject.uid",
  "regarding.apiVersion": "involvedObject.apiVersion",
  "regarding.resourceVersion": "involvedObject.resourceVersion",
  "regarding.fieldPath": "involvedObject.fieldPath",
  reportingController: "reportingComponent",
  reason: "reason",
  type: "type",
  "metadata.name": "metadata.name",
  "metadata.namespace": "metadata.namespace",
};

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QNAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const QNAME_MSG =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const bytes = (s: unknown) => Buffer.byteLength(typeof s === "string" ? s : "", "utf8");

/** validation.IsDNS1123Subdomain (apimachinery/pkg/util/validation). */
export function isDns1123Subdomain(v: string): string[] {
  const errs: string[] = [];
  if (bytes(v) > 253) errs.push("must be no more than 253 characters");
  if (!SUBDOMAIN.test(v)) errs.push(SUBDOMAIN_MSG);
  return errs;
}

/** validation.IsQualifiedName (apimachinery/pkg/util/validation). */
export function isQualifiedName(v: string): string[] {
  const errs: string[] = [];
  const parts = v.split("/");
  let name: string;
  if (parts.length === 1) name = parts[0]!;
  else if (parts.length === 2) {
    const [prefix, n] = parts as [string, string];
    name = n;
    if (!prefix) errs.push("prefix part must be non-empty");
    else errs.push(...isDns1123Subdomain(prefix).map((m) => `prefix part ${m}`));
  } else {
    return [`a qualified name ${QNAME_MSG} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`];
  }
  if (!name) errs.push("name part must be non-empty");
  else if (bytes(name) > 63) errs.push("name part must be no more than 63 characters");
  if (!QNAME.test(name)) errs.push(`name part ${QNAME_MSG}`);
  return errs;
}

/**
 * ValidateEventCreate / ValidateEventUpdate (pkg/apis/core/validation/events.go, v1.20) over the stored
 * core shape: legacyValidateEvent for both groups; the strict rules (and ValidateObjectMeta, passed in
 * as `meta`) only for events.k8s.io/v1. Field paths are the internal type's (`reportingController`,
 * `message`, `involvedObject.namespace`), whichever API version the request used.
 */
export function validateEvent(e: JsonObject, old: JsonObject | undefined, strict: boolean, meta: () => FieldError[]): FieldError[] {
  const errs: FieldError[] = [];
  const ns: string = e.metadata?.namespace ?? "";
  const io: JsonObject = e.involvedObject ?? {};
  if (!e.eventTime) {
    if (!io.namespace) {
      if (ns !== "" && ns !== "default")
        errs.push(fe.invalid("involvedObject.namespace", io.namespace ?? "", "does not match event.namespace"));
    } else if (ns !== io.namespace) errs.push(fe.invalid("involvedObject.namespace", io.namespace, "does not match event.namespace"));
  } else {
    if (!io.namespace && ns !== "kube-system")
      errs.push(fe.invalid("involvedObject.namespace", io.namespace ?? "", "does not match event.namespace"));
    const rc: string = e.reportingComponent ?? "";
    if (!rc) errs.push(fe.required("reportingController", ""));
    for (const m of isQualifiedName(rc)) errs.push(fe.invalid("reportingController", rc, m));
    if (!e.reportingInstance) errs.push(fe.required("reportingInstance", ""));
    if (bytes(e.reportingInstance) > 128) errs.push(fe.invalid("reportingInstance", "", "can have at most 128 characters"));
    if (!e.action) errs.push(fe.required("action", ""));
    if (bytes(e.action) > 128) errs.push(fe.invalid("action", "", "can have at most 128 characters"));
    if (!e.reason) errs.push(fe.required("reason", ""));
    if (bytes(e.reason) > 128) errs.push(fe.invalid("reason", "", "can have at most 128 characters"));
    if (bytes(e.message) > 1024) errs.push(fe.invalid("message", "", "can have at most 1024 characters"));
  }
  for (const m of isDns1123Subdomain(ns)) errs.push(fe.invalid("namespace", ns, m));
  if (!strict) return errs;
  errs.push(...meta());
  const series = () => {
    if (!e.series) return;
    if (!(Number(e.series.count) >= 2)) errs.push(fe.invalid("series.count", "", "should be at least 2"));
    if (!e.series.lastObservedTime) errs.push(fe.required("series.lastObservedTime", ""));
  };
  if (!old) {
    series();
    if (!e.eventTime) errs.push(fe.required("eventTime", ""));
    if (e.type !== "Normal" && e.type !== "Warning") errs.push(fe.invalid("type", "", `has invalid value: ${e.type ?? ""}`));
    if (e.firstTimestamp) errs.push(fe.invalid("firstTimestamp", "", "needs to be unset"));
    if (e.lastTimestamp) errs.push(fe.invalid("lastTimestamp", "", "needs to be unset"));
    if (e.count) errs.push(fe.invalid("count", "", "needs to be unset"));
    if (e.source?.component || e.source?.host) errs.push(fe.invalid("source", "", "needs to be unset"));
    return errs;
  }
  if (JSON.stringify(e.series) !== JSON.stringify(old.series)) series();
  // ValidateImmutableField of the scalar fields (struct-valued ones are not checked here).
  for (const [f, label] of [
    ["reason", "reason"],
    ["message", "message"],
    ["firstTimestamp", "firstTimestamp"],
    ["lastTimestamp", "lastTimestamp"],
    ["count", "count"],
    ["type", "type"],
    ["eventTime", "eventTime"],
    ["action", "action"],
    ["reportingComponent", "reportingController"],
    ["reportingInstance", "reportingInstance"],
  ] as const) {
    if ((e[f] ?? null) !== (old[f] ?? null)) errs.push(fe.invalid(label, e[f] ?? "", "field is immutable"));
  }
  return errs;
}
