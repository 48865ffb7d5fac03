// Label and field selectors (k8s.io/apimachinery/pkg/labels and pkg/fields syntax).
import { badRequest } from "./errors.ts";
import { V1_FIELD_LABELS } from "./events.ts";
import type { JsonObject } from "./resources.ts";

type Req = { key: string; op: "in" | "notin" | "=" | "!=" | "exists" | "!exists"; values: string[] };

export type Matcher = (obj: JsonObject) => boolean;

/** Splits on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const parts: string[] = [];
  let depth = 0,
    cur = "";
  for (const ch of s) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  parts.push(cur);
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

export function parseLabelSelector(sel: string | null): Matcher {
  if (!sel?.trim()) return () => true;
  const reqs: Req[] = [];
  for (const part of splitTop(sel)) {
    const absent = part.match(/^!\s*([A-Za-z0-9_./-]+)$/);
    const set = part.match(/^([A-Za-z0-9_./-]+)\s+(in|notin)\s*\(([^)]*)\)$/);
    const equality = part.match(/^([A-Za-z0-9_./-]+)\s*(==|=|!=)\s*([A-Za-z0-9_.-]*)$/);
    const exists = part.match(/^([A-Za-z0-9_./-]+)$/);
    if (absent) reqs.push({ key: absent[1]!, op: "!exists", values: [] });
    else if (set) reqs.push({ key: set[1]!, op: set[2] as "in" | "notin", values: set[3]!.split(",").map((v) => v.trim()) });
    else if (equality) reqs.push({ key: equality[1]!, op: equality[2] === "!=" ? "!=" : "=", values: [equality[3]!] });
    else if (exists) reqs.push({ key: exists[1]!, op: "exists", values: [] });
    else throw badRequest(`unable to parse requirement: found '${part}', expected: in, notin, =, ==, !=, gt, lt`);
  }
  return (obj) => {
    const labels: Record<string, string> = obj.metadata?.labels ?? {};
    return reqs.every((r) => {
      const has = Object.hasOwn(labels, r.key);
      const v = labels[r.key];
      switch (r.op) {
        case "exists":
          return has;
        case "!exists":
          return !has;
        case "=":
          return has && v === r.values[0];
        case "!=":
          return !has || v !== r.values[0];
        case "in":
          return has && r.values.includes(v!);
        case "notin":
          return !has || !r.values.includes(v!);
        default:
          return false;
      }
    });
  };
}

/** Field selectors: metadata.name, metadata.namespace (all types) plus the type-specific ones of the real types. */
export function parseFieldSelector(sel: string | null, kind: string, group = ""): Matcher {
  if (!sel?.trim()) return () => true;
  const reqs: Array<{ field: string; neg: boolean; value: string }> = [];
  for (const part of sel
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = part.match(/^([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw badRequest(`invalid selector: '${sel}'; can't understand '${part}'`);
    let field = m[1]!;
    const allowed = ["metadata.name", "metadata.namespace"];
    if (kind === "Secret") allowed.push("type");
    if (kind === "Namespace") allowed.push("status.phase");
    if (kind === "Event" && group === "events.k8s.io") {
      // Stored as core/v1 Events: events.k8s.io field labels are converted to the core ones.
      if (!V1_FIELD_LABELS[field]) throw badRequest(`field label not supported: ${field}`);
      field = V1_FIELD_LABELS[field]!;
    } else if (kind === "Event") {
      allowed.push(
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
      );
      if (!allowed.includes(field)) throw badRequest(`field label not supported: ${field}`);
    } else if (!allowed.includes(field)) throw badRequest(`field label not supported: ${field}`);
    reqs.push({ field, neg: m[2] === "!=", value: m[3]! });
  }
  return (obj) =>
    reqs.every((r) => {
      let v: any = obj;
      const path = kind === "Event" && r.field === "source" ? "source.component" : r.field;
      for (const p of path.split(".")) v = v?.[p];
      const s = v === undefined || v === null ? "" : String(v);
      return r.neg ? s !== r.value : s === r.value;
    });
}
