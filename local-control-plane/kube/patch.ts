// JSON merge patch (RFC 7386), JSON patch (RFC 6902, error texts of evanphx/json-patch v4 as the
// apiserver uses it) and a small strategic merge patch for the built-in types.
import { badRequest, genericUnprocessable } from "./errors.ts";
import type { JsonObject } from "./resources.ts";

export function clone<T>(v: T): T {
  return v === undefined ? v : structuredClone(v);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao);
  if (ak.length !== Object.keys(bo).length) return false;
  return ak.every((k) => Object.hasOwn(bo, k) && deepEqual(ao[k], bo[k]));
}

function isObj(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return clone(patch);
  const out: JsonObject = isObj(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function unescapeToken(tok: string): string {
  return tok.replace(/~1/g, "/").replace(/~0/g, "~");
}

function parsePointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw genericUnprocessable(`invalid path: ${path}`);
  return path.slice(1).split("/").map(unescapeToken);
}

function container(doc: any, toks: string[], op: string, path: string): any {
  let cur = doc;
  for (const t of toks.slice(0, -1)) {
    if (Array.isArray(cur)) {
      const i = Number(t);
      if (!/^\d+$/.test(t) || i >= cur.length)
        throw genericUnprocessable(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
      cur = cur[i];
    } else if (isObj(cur) && Object.hasOwn(cur, t)) cur = cur[t];
    else throw genericUnprocessable(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
  }
  if (!isObj(cur) && !Array.isArray(cur))
    throw genericUnprocessable(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
  return cur;
}

function getAt(doc: any, toks: string[]): { found: boolean; value?: unknown } {
  let cur = doc;
  for (const t of toks) {
    if (Array.isArray(cur) && /^\d+$/.test(t) && Number(t) < cur.length) cur = cur[Number(t)];
    else if (isObj(cur) && Object.hasOwn(cur, t)) cur = cur[t];
    else return { found: false };
  }
  return { found: true, value: cur };
}

function addAt(doc: any, toks: string[], value: unknown, path: string): any {
  if (toks.length === 0) return clone(value);
  const c = container(doc, toks, "add", path);
  const last = toks[toks.length - 1]!;
  if (Array.isArray(c)) {
    const i = last === "-" ? c.length : Number(last);
    if (!/^\d+$/.test(last) && last !== "-")
      throw genericUnprocessable(`add operation does not apply: doc is missing path: "${path}": missing value`);
    if (i > c.length) throw genericUnprocessable(`Unable to access invalid index: ${i}: invalid index referenced`);
    c.splice(i, 0, clone(value));
  } else c[last] = clone(value);
  return doc;
}

function removeAt(doc: any, toks: string[], path: string): any {
  const c = container(doc, toks, "remove", path);
  const last = toks[toks.length - 1]!;
  if (Array.isArray(c)) {
    const i = Number(last);
    if (!/^\d+$/.test(last) || i >= c.length)
      throw genericUnprocessable(`Unable to remove invalid index: ${last}: invalid index referenced`);
    c.splice(i, 1);
  } else {
    if (!Object.hasOwn(c, last)) throw genericUnprocessable(`Unable to remove nonexistent key: ${last}: missing value`);
    delete c[last];
  }
  return doc;
}

export function jsonPatch(doc: unknown, patchBody: unknown): unknown {
  if (!Array.isArray(patchBody)) throw badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
  let out: any = clone(doc);
  for (const op of patchBody as JsonObject[]) {
    const path = String(op.path ?? "");
    const toks = parsePointer(path);
    switch (op.op) {
      case "add":
        out = addAt(out, toks, op.value, path);
        break;
      case "remove":
        out = removeAt(out, toks, path);
        break;
      case "replace": {
        if (!getAt(out, toks).found)
          throw genericUnprocessable(`replace operation does not apply: doc is missing key: ${path}: missing value`);
        if (toks.length === 0) {
          out = clone(op.value);
          break;
        }
        const c = container(out, toks, "replace", path);
        const last = toks[toks.length - 1]!;
        if (Array.isArray(c)) c[Number(last)] = clone(op.value);
        else c[last] = clone(op.value);
        break;
      }
      case "move":
      case "copy": {
        const from = String(op.from ?? "");
        const src = getAt(out, parsePointer(from));
        if (!src.found) throw genericUnprocessable(`${op.op} operation does not apply: doc is missing from path: ${from}: missing value`);
        const v = clone(src.value);
        if (op.op === "move") out = removeAt(out, parsePointer(from), from);
        out = addAt(out, toks, v, path);
        break;
      }
      case "test": {
        const cur = getAt(out, toks);
        if ((!cur.found && op.value !== null && op.value !== undefined) || (cur.found && !deepEqual(cur.value, op.value))) {
          throw genericUnprocessable(`testing value ${path} failed: test failed`);
        }
        break;
      }
      default:
        throw genericUnprocessable(`Unexpected kind: ${String(op.op)}`);
    }
  }
  return out;
}

/**
 * Strategic merge patch for the built-in types served here. They have no lists with merge keys apart
 * from metadata.finalizers (merge, set semantics) and metadata.ownerReferences (merge key uid);
 * everything else merges like a JSON merge patch. Supports $patch: replace|delete on maps and
 * $deleteFromPrimitiveList/<field>.
 */
export function strategicMergePatch(target: unknown, patch: unknown, path: string[] = []): unknown {
  if (!isObj(patch)) return clone(patch);
  if (patch.$patch === "replace") {
    const p = clone(patch);
    delete p.$patch;
    return p;
  }
  if (patch.$patch === "delete") return undefined;
  const out: JsonObject = isObj(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === "$patch" || k.startsWith("$setElementOrder/") || k === "$retainKeys") continue;
    if (k.startsWith("$deleteFromPrimitiveList/")) {
      const f = k.slice("$deleteFromPrimitiveList/".length);
      if (Array.isArray(out[f]) && Array.isArray(v)) out[f] = out[f].filter((x: unknown) => !v.some((y) => deepEqual(x, y)));
      continue;
    }
    const here = [...path, k].join(".");
    if (v === null) {
      delete out[k];
      continue;
    }
    if (here === "metadata.finalizers" && Array.isArray(v)) {
      const cur: unknown[] = Array.isArray(out[k]) ? out[k] : [];
      out[k] = [...cur, ...v.filter((x) => !cur.includes(x))];
      continue;
    }
    if (here === "metadata.ownerReferences" && Array.isArray(v)) {
      const cur: JsonObject[] = Array.isArray(out[k]) ? clone(out[k]) : [];
      for (const item of v as JsonObject[]) {
        const i = cur.findIndex((c) => c.uid === item.uid);
        if (item.$patch === "delete") {
          if (i >= 0) cur.splice(i, 1);
          continue;
        }
        if (i >= 0) cur[i] = strategicMergePatch(cur[i], item, []) as JsonObject;
        else cur.push(clone(item));
      }
      out[k] = cur;
      continue;
    }
    const merged = strategicMergePatch(out[k], v, [...path, k]);
    if (merged === undefined) delete out[k];
    else out[k] = merged;
  }
  return out;
}
