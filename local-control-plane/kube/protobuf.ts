// Decoding of Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) for the
// built-in types typed clients write here: client-go (and so `kubectl create namespace|secret|configmap`)
// sends them as protobuf. The envelope is the 4-byte magic "k8s\0" and a runtime.Unknown message.
// Responses are always JSON (clients list application/json as acceptable too).
import { unsupportedMediaType } from "./errors.ts";
import type { JsonObject } from "./resources.ts";

type Field =
  | { n: string; t: "string" | "bytes" | "int" | "bool" | "time" }
  | { n: string; t: "repeated-string" }
  | { n: string; t: "map-string" | "map-bytes" }
  | { n: string; t: "msg" | "repeated-msg"; m: Schema };
type Schema = Record<number, Field>;

const OWNER_REF: Schema = {
  1: { n: "kind", t: "string" },
  3: { n: "name", t: "string" },
  4: { n: "uid", t: "string" },
  5: { n: "apiVersion", t: "string" },
  6: { n: "controller", t: "bool" },
  7: { n: "blockOwnerDeletion", t: "bool" },
};
const OBJECT_META: Schema = {
  1: { n: "name", t: "string" },
  2: { n: "generateName", t: "string" },
  3: { n: "namespace", t: "string" },
  4: { n: "selfLink", t: "string" },
  5: { n: "uid", t: "string" },
  6: { n: "resourceVersion", t: "string" },
  7: { n: "generation", t: "int" },
  8: { n: "creationTimestamp", t: "time" },
  9: { n: "deletionTimestamp", t: "time" },
  10: { n: "deletionGracePeriodSeconds", t: "int" },
  11: { n: "labels", t: "map-string" },
  12: { n: "annotations", t: "map-string" },
  13: { n: "ownerReferences", t: "repeated-msg", m: OWNER_REF },
  14: { n: "finalizers", t: "repeated-string" },
};
const TYPES: Record<string, Schema> = {
  "v1/Namespace": {
    1: { n: "metadata", t: "msg", m: OBJECT_META },
    2: { n: "spec", t: "msg", m: { 1: { n: "finalizers", t: "repeated-string" } } },
    3: { n: "status", t: "msg", m: { 1: { n: "phase", t: "string" } } },
  },
  "v1/Secret": {
    1: { n: "metadata", t: "msg", m: OBJECT_META },
    2: { n: "data", t: "map-bytes" },
    3: { n: "type", t: "string" },
    4: { n: "stringData", t: "map-string" },
    5: { n: "immutable", t: "bool" },
  },
  "v1/ConfigMap": {
    1: { n: "metadata", t: "msg", m: OBJECT_META },
    2: { n: "data", t: "map-string" },
    3: { n: "binaryData", t: "map-bytes" },
    4: { n: "immutable", t: "bool" },
  },
};

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

export const PROTOBUF = "application/vnd.kubernetes.protobuf";

interface Raw {
  field: number;
  wire: number;
  value: bigint | Buffer;
}

function readVarint(buf: Buffer, pos: { i: number }): bigint {
  let result = 0n,
    shift = 0n;
  for (;;) {
    if (pos.i >= buf.length) throw new Error("truncated varint");
    const b = buf[pos.i++]!;
    result |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) return result;
    shift += 7n;
  }
}

function fields(buf: Buffer): Raw[] {
  const out: Raw[] = [];
  const pos = { i: 0 };
  while (pos.i < buf.length) {
    const tag = Number(readVarint(buf, pos));
    const field = tag >>> 3,
      wire = tag & 7;
    if (wire === 0) out.push({ field, wire, value: readVarint(buf, pos) });
    else if (wire === 2) {
      const len = Number(readVarint(buf, pos));
      out.push({ field, wire, value: buf.subarray(pos.i, pos.i + len) });
      pos.i += len;
    } else if (wire === 1) {
      out.push({ field, wire, value: buf.subarray(pos.i, pos.i + 8) });
      pos.i += 8;
    } else if (wire === 5) {
      out.push({ field, wire, value: buf.subarray(pos.i, pos.i + 4) });
      pos.i += 4;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
  return out;
}

function decodeMessage(buf: Buffer, schema: Schema): JsonObject {
  const out: JsonObject = {};
  for (const f of fields(buf)) {
    const d = schema[f.field];
    if (!d) continue;
    const bytes = f.value as Buffer;
    switch (d.t) {
      case "string":
        out[d.n] = bytes.toString("utf8");
        break;
      case "bytes":
        out[d.n] = bytes.toString("base64");
        break;
      case "int":
        out[d.n] = Number(BigInt.asIntN(64, f.value as bigint));
        break;
      case "bool":
        out[d.n] = (f.value as bigint) !== 0n;
        break;
      case "time": {
        const t = decodeMessage(bytes, { 1: { n: "s", t: "int" } });
        out[d.n] = new Date((t.s ?? 0) * 1000).toISOString().replace(/\.\d+Z$/, "Z");
        break;
      }
      case "repeated-string":
        out[d.n] = [...(out[d.n] ?? []), bytes.toString("utf8")];
        break;
      case "map-string":
      case "map-bytes": {
        const e = decodeMessage(bytes, { 1: { n: "k", t: "string" }, 2: { n: "v", t: d.t === "map-string" ? "string" : "bytes" } });
        out[d.n] = { ...(out[d.n] ?? {}), [e.k ?? ""]: e.v ?? "" };
        break;
      }
      case "msg":
        out[d.n] = decodeMessage(bytes, d.m);
        break;
      case "repeated-msg":
        out[d.n] = [...(out[d.n] ?? []), decodeMessage(bytes, d.m)];
        break;
    }
  }
  return out;
}

/** Decodes a protobuf body into a JSON object; 415 for types not supported here. */
export function decodeProtobuf(body: Buffer, accepted: string[]): JsonObject {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw unsupportedMediaType(accepted);
  const unknown = decodeMessage(body.subarray(4), {
    1: { n: "typeMeta", t: "msg", m: { 1: { n: "apiVersion", t: "string" }, 2: { n: "kind", t: "string" } } },
    2: { n: "raw", t: "bytes" },
  });
  const apiVersion = unknown.typeMeta?.apiVersion ?? "",
    kind = unknown.typeMeta?.kind ?? "";
  const schema = TYPES[`${apiVersion}/${kind}`];
  if (!schema) throw unsupportedMediaType(accepted);
  return { apiVersion, kind, ...decodeMessage(Buffer.from(unknown.raw ?? "", "base64"), schema) };
}

/** Whether protobuf bodies of this built-in type can be decoded. */
export function protobufSupported(apiVersion: string, kind: string): boolean {
  return !!TYPES[`${apiVersion}/${kind}`];
}
