// Structural-schema processing for custom resources: pruning, defaulting, OpenAPI validation
// (kube-openapi wording), list-type map uniqueness, CEL rules and validation ratcheting.
import { evaluateRule, isTransitionRule, toCel } from "./cel.ts";
import { type FieldError, fe } from "./errors.ts";
import { clone, deepEqual } from "./patch.ts";
import { re2Test } from "./re2.ts";
import type { JsonObject } from "./resources.ts";

const isObj = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

function childPath(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/**
 * Drops fields the schema does not know (recording their paths for strict/warn field validation)
 * and non-nullable nulls. The root apiVersion, kind and metadata are always kept.
 */
export function prune(value: unknown, schema: JsonObject | undefined, path: string, unknown: string[], root = false): unknown {
  if (!schema || (schema["x-kubernetes-preserve-unknown-fields"] && !schema.properties)) return value;
  if (Array.isArray(value)) return value.map((v, i) => prune(v, schema.items, `${path}[${i}]`, unknown));
  if (!isObj(value) || (schema["x-kubernetes-embedded-resource"] && !schema.properties)) return value;
  const props: JsonObject | undefined = schema.properties;
  const addl = schema.additionalProperties;
  const preserve = !!schema["x-kubernetes-preserve-unknown-fields"];
  for (const k of Object.keys(value)) {
    if (root && (k === "apiVersion" || k === "kind" || k === "metadata")) continue;
    const sub: JsonObject | undefined = props?.[k] ?? (isObj(addl) ? addl : undefined);
    if (!sub && !(addl === true) && !preserve) {
      unknown.push(childPath(path, k));
      delete value[k];
      continue;
    }
    if (value[k] === null && sub && !sub.nullable) {
      if (sub.default === undefined) delete value[k];
      continue;
    }
    value[k] = prune(value[k], sub, childPath(path, k), unknown);
  }
  return value;
}

/** Applies `default`s (also replacing non-nullable nulls), like structuraldefaulting.Default. */
export function applyDefaults(value: unknown, schema: JsonObject | undefined): void {
  if (!schema) return;
  if (Array.isArray(value)) {
    for (const v of value) applyDefaults(v, schema.items);
    return;
  }
  if (!isObj(value)) return;
  const props: JsonObject = schema.properties ?? {};
  for (const [k, sub] of Object.entries(props)) {
    if (sub?.default !== undefined && (!(k in value) || (value[k] === null && !sub.nullable))) value[k] = clone(sub.default);
  }
  for (const [k, v] of Object.entries(value)) {
    const sub = props[k] ?? (isObj(schema.additionalProperties) ? schema.additionalProperties : undefined);
    applyDefaults(v, sub);
  }
}

function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function typeMatches(t: string, v: unknown): boolean {
  const jt = jsonType(v);
  if (t === "number") return jt === "number" || jt === "integer";
  return t === jt;
}

/**
 * Validates `value` at `path` against `schema`. `old` is the correlated old value (update only).
 * Schema errors and CEL errors are collected separately (CEL is skipped on blocking errors).
 */
function validateNode(
  value: unknown,
  schema: JsonObject | undefined,
  path: string,
  fieldPath: string,
  schemaErrs: FieldError[],
  celErrs: FieldError[],
  old: unknown,
  hasOld: boolean,
  root: boolean,
): void {
  if (!schema) return;
  const localSchema: FieldError[] = [];
  const localCel: FieldError[] = [];
  const name = path || ".";
  if (value === null) {
    if (!schema.nullable && schema.type)
      localSchema.push(fe.typeInvalid(fieldPath, "null", `${name} in body must be of type ${schema.type}: "null"`));
  } else if (schema.type && !schema["x-kubernetes-int-or-string"] && !typeMatches(schema.type, value)) {
    localSchema.push(fe.typeInvalid(fieldPath, jsonType(value), `${name} in body must be of type ${schema.type}: "${jsonType(value)}"`));
  } else {
    if (Array.isArray(schema.enum) && !schema.enum.some((e: unknown) => deepEqual(e, value))) {
      localSchema.push(
        fe.notSupported(
          fieldPath,
          value,
          schema.enum.map((e: unknown) => (typeof e === "string" ? e : JSON.stringify(e))),
        ),
      );
    }
    if (typeof value === "string") {
      if (schema.maxLength !== undefined && [...value].length > schema.maxLength) localSchema.push(fe.tooLong(fieldPath, schema.maxLength));
      if (schema.minLength !== undefined && [...value].length < schema.minLength)
        localSchema.push(fe.invalid(fieldPath, value, `${name} in body should be at least ${schema.minLength} chars long`));
      if (schema.pattern !== undefined) {
        // go-openapi validate.Pattern: RE2 (Go regexp); an invalid pattern fails every value (v1.20 does
        // not check patterns when the CRD is written).
        let ok: boolean,
          bad = "";
        try {
          ok = re2Test(String(schema.pattern), value);
        } catch (e) {
          ok = false;
          bad = `, but pattern is invalid: ${(e as Error).message}`;
        }
        if (!ok) localSchema.push(fe.invalid(fieldPath, value, `${name} in body should match '${schema.pattern}${bad}'`));
      }
      if (schema.format === "date-time" && !DATE_TIME.test(value))
        localSchema.push(fe.invalid(fieldPath, value, `${name} in body must be of type date-time: ${JSON.stringify(value)}`));
    }
    if (typeof value === "number") {
      if (schema.maximum !== undefined && (schema.exclusiveMaximum ? value >= schema.maximum : value > schema.maximum)) {
        localSchema.push(
          fe.invalid(
            fieldPath,
            value,
            `${name} in body should be less than ${schema.exclusiveMaximum ? "" : "or equal to "}${schema.maximum}`,
          ),
        );
      }
      if (schema.minimum !== undefined && (schema.exclusiveMinimum ? value <= schema.minimum : value < schema.minimum)) {
        localSchema.push(
          fe.invalid(
            fieldPath,
            value,
            `${name} in body should be greater than ${schema.exclusiveMinimum ? "" : "or equal to "}${schema.minimum}`,
          ),
        );
      }
      if (schema.multipleOf !== undefined && value % schema.multipleOf !== 0)
        localSchema.push(fe.invalid(fieldPath, value, `${name} in body should be a multiple of ${schema.multipleOf}`));
    }
    if (Array.isArray(value)) {
      if (schema.maxItems !== undefined && value.length > schema.maxItems)
        localSchema.push(fe.tooMany(fieldPath, value.length, schema.maxItems));
      if (schema.minItems !== undefined && value.length < schema.minItems)
        localSchema.push(fe.invalid(fieldPath, value.length, `${name} in body should have at least ${schema.minItems} items`));
      const listType = schema["x-kubernetes-list-type"];
      const keys: string[] = schema["x-kubernetes-list-map-keys"] ?? [];
      const keyOf = (item: unknown) => JSON.stringify(keys.map((k) => (item as JsonObject)?.[k]));
      if (listType === "map" || listType === "set") {
        const seen = new Set<string>();
        value.forEach((item, i) => {
          const k = listType === "map" ? keyOf(item) : JSON.stringify(item);
          if (seen.has(k)) {
            const dup = listType === "map" ? Object.fromEntries(keys.map((kk) => [kk, (item as JsonObject)?.[kk]])) : item;
            localSchema.push(fe.duplicate(`${fieldPath}[${i}]`, dup));
          }
          seen.add(k);
        });
      }
      const oldList = hasOld && Array.isArray(old) ? old : undefined;
      value.forEach((item, i) => {
        let oldItem: unknown,
          hasOldItem = false;
        if (oldList && listType === "map") {
          const found = oldList.find((o) => keyOf(o) === keyOf(item));
          if (found !== undefined) {
            oldItem = found;
            hasOldItem = true;
          }
        }
        validateNode(item, schema.items, `${path}[${i}]`, `${fieldPath}[${i}]`, localSchema, localCel, oldItem, hasOldItem, false);
      });
    }
    if (isObj(value)) {
      const props: JsonObject = schema.properties ?? {};
      if (schema.maxProperties !== undefined && Object.keys(value).length > schema.maxProperties) {
        localSchema.push(fe.tooMany(fieldPath, Object.keys(value).length, schema.maxProperties));
      }
      if (schema.minProperties !== undefined && Object.keys(value).length < schema.minProperties) {
        localSchema.push(
          fe.invalid(fieldPath, Object.keys(value).length, `${name} in body should have at least ${schema.minProperties} properties`),
        );
      }
      for (const r of schema.required ?? []) {
        if (!(r in value)) localSchema.push(fe.required(childPath(fieldPath, r), ""));
      }
      const oldObj = hasOld && isObj(old) ? old : undefined;
      for (const [k, v] of Object.entries(value)) {
        if (root && k === "metadata") continue;
        const isProp = k in props;
        const sub = isProp ? props[k] : isObj(schema.additionalProperties) ? schema.additionalProperties : undefined;
        const fp = isProp ? childPath(fieldPath, k) : `${fieldPath}[${k}]`;
        const hasOldChild = !!oldObj && k in oldObj;
        validateNode(v, sub, isProp ? childPath(path, k) : childPath(path, k), fp, localSchema, localCel, oldObj?.[k], hasOldChild, false);
      }
    }
  }
  // CEL rules declared at this node.
  const rules: JsonObject[] = schema["x-kubernetes-validations"] ?? [];
  if (rules.length && value !== null && value !== undefined) {
    const self = toCel(value, schema, root);
    const oldSelf = hasOld ? toCel(old, schema, root) : undefined;
    for (const rule of rules) {
      const transition = isTransitionRule(String(rule.rule));
      if (transition && !hasOld) continue;
      if (transition && rule.optionalOldSelf) {
        /* optionalOldSelf not supported: treat like required oldSelf */
      }
      const out = evaluateRule(rule, self, oldSelf, hasOld);
      if (out.ok) continue;
      let fp = rule.fieldPath ? `${fieldPath}${rule.fieldPath}` : fieldPath;
      if (fp.startsWith(".")) fp = fp.slice(1);
      if (fp === "") fp = "<nil>";
      const reason = out.error ? "FieldValueInvalid" : (rule.reason ?? "FieldValueInvalid");
      const err: FieldError =
        reason === "FieldValueRequired"
          ? fe.required(fp, out.message)
          : reason === "FieldValueForbidden"
            ? fe.forbidden(fp, out.message)
            : reason === "FieldValueDuplicate"
              ? { ...fe.duplicate(fp, schema.type ?? ""), detail: out.message }
              : fe.invalid(fp, schema.type ?? "", out.message);
      if (transition) err.transition = true;
      localCel.push(err);
    }
  }
  // Validation ratcheting (CRDValidationRatcheting, on by default since 1.30): errors of an unchanged
  // value are ignored on update, except those of transition rules.
  const unchanged = hasOld && deepEqual(old, value) && !root;
  schemaErrs.push(...(unchanged ? localSchema.filter((e) => e.transition) : localSchema));
  celErrs.push(...(unchanged ? localCel.filter((e) => e.transition) : localCel));
}

const BLOCKING = new Set(["NotSupported", "Required", "TooLong", "TooMany", "TypeInvalid"]);

/** Validates a whole custom resource; `old` is given on update. */
export function validateCustomResource(obj: JsonObject, schema: JsonObject | undefined, old?: JsonObject): FieldError[] {
  if (!schema) return [];
  const schemaErrs: FieldError[] = [];
  const celErrs: FieldError[] = [];
  validateNode(obj, schema, "", "", schemaErrs, celErrs, old, old !== undefined, true);
  if (schemaErrs.some((e) => BLOCKING.has(e.type))) {
    return [
      ...schemaErrs,
      fe.invalid(
        "<nil>",
        null,
        "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
      ),
    ];
  }
  return [...schemaErrs, ...celErrs];
}
