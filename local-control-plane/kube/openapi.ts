// OpenAPI v3 documents (/openapi/v3 and /openapi/v3/<api|apis/g>/<v>), enough for kubectl:
// field-validation support detection (the PATCH operation's `fieldValidation` query parameter,
// so kubectl sends fieldValidation=Strict and the server validates), and `kubectl explain` of
// custom resources (their CRD schemas are published like apiextensions' builder does).
// Built-in types are published with their paths but only a skeleton schema (see the docs).
import { createHash } from "node:crypto";
import { apiVersionOf, type JsonObject, type ResourceType } from "./resources.ts";

const PKG: Record<string, string> = {
  "": "io.k8s.api.core",
  "events.k8s.io": "io.k8s.api.events",
  "coordination.k8s.io": "io.k8s.api.coordination",
  "rbac.authorization.k8s.io": "io.k8s.api.rbac",
  "apiextensions.k8s.io": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions",
};
const OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const LIST_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
const STATUS = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

export function schemaName(rt: ResourceType, kind = rt.kind): string {
  const pkg = PKG[rt.group] ?? rt.group.split(".").reverse().join(".");
  return `${pkg}.${rt.version}.${kind}`;
}

const gvk = (rt: ResourceType, kind = rt.kind) => [{ group: rt.group, kind, version: rt.version }];

function param(name: string, inWhere: "query" | "path", description: string, type = "string"): JsonObject {
  return { name, in: inWhere, description, ...(inWhere === "path" ? { required: true } : {}), schema: { type, uniqueItems: true } };
}

const FIELD_VALIDATION = param(
  "fieldValidation",
  "query",
  "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore - Warn - Strict",
);
const DRY_RUN = param("dryRun", "query", "When present, indicates that modifications should not be persisted.");
const FIELD_MANAGER = param(
  "fieldManager",
  "query",
  "fieldManager is a name associated with the actor or entity that is making these changes.",
);

function objectSchema(rt: ResourceType): JsonObject {
  const base: JsonObject =
    rt.custom && rt.schema
      ? structuredClone(rt.schema)
      : {
          type: "object",
          description: `${rt.kind} (this local API server publishes only a skeleton schema for built-in types)`,
          properties: {},
          "x-kubernetes-preserve-unknown-fields": true,
        };
  base.properties ??= {};
  base.properties.apiVersion = {
    type: "string",
    description:
      "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
  };
  base.properties.kind = {
    type: "string",
    description:
      "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
  };
  base.properties.metadata = {
    allOf: [ref(OBJECT_META)],
    default: {},
    description:
      "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
  };
  base["x-kubernetes-group-version-kind"] = gvk(rt);
  return base;
}

function listSchema(rt: ResourceType): JsonObject {
  return {
    type: "object",
    description: `${rt.listKind} is a list of ${rt.kind}`,
    required: ["items"],
    properties: {
      apiVersion: { type: "string" },
      kind: { type: "string" },
      items: { type: "array", description: `List of ${rt.plural}.`, items: { allOf: [ref(schemaName(rt))], default: {} } },
      metadata: { allOf: [ref(LIST_META)], default: {} },
    },
    "x-kubernetes-group-version-kind": gvk(rt, rt.listKind),
  };
}

const METAV1 = {
  [OBJECT_META]: {
    type: "object",
    description: "ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.",
    properties: {
      annotations: {
        type: "object",
        additionalProperties: { type: "string", default: "" },
        description:
          "Annotations is an unstructured key value map stored with a resource that may be set by external tools to store and retrieve arbitrary metadata.",
      },
      creationTimestamp: {
        type: "string",
        format: "date-time",
        description: "CreationTimestamp is a timestamp representing the server time when this object was created.",
      },
      deletionGracePeriodSeconds: {
        type: "integer",
        format: "int64",
        description: "Number of seconds allowed for this object to gracefully terminate before it will be removed from the system.",
      },
      deletionTimestamp: {
        type: "string",
        format: "date-time",
        description: "DeletionTimestamp is RFC 3339 date and time at which this resource will be deleted.",
      },
      finalizers: {
        type: "array",
        items: { type: "string", default: "" },
        "x-kubernetes-list-type": "set",
        "x-kubernetes-patch-strategy": "merge",
        description: "Must be empty before the object is deleted from the registry.",
      },
      generateName: {
        type: "string",
        description:
          "GenerateName is an optional prefix, used by the server, to generate a unique name ONLY IF the Name field has not been provided.",
      },
      generation: {
        type: "integer",
        format: "int64",
        description: "A sequence number representing a specific generation of the desired state.",
      },
      labels: {
        type: "object",
        additionalProperties: { type: "string", default: "" },
        description: "Map of string keys and values that can be used to organize and categorize (scope and select) objects.",
      },
      name: { type: "string", description: "Name must be unique within a namespace." },
      namespace: { type: "string", description: "Namespace defines the space within which each name must be unique." },
      ownerReferences: {
        type: "array",
        items: { type: "object" },
        "x-kubernetes-patch-merge-key": "uid",
        "x-kubernetes-patch-strategy": "merge",
        description: "List of objects depended by this object.",
      },
      resourceVersion: { type: "string", description: "An opaque value that represents the internal version of this object." },
      uid: { type: "string", description: "UID is the unique in time and space value for this object." },
    },
  },
  [LIST_META]: {
    type: "object",
    description: "ListMeta describes metadata that synthetic resources must have.",
    properties: {
      continue: { type: "string" },
      remainingItemCount: { type: "integer", format: "int64" },
      resourceVersion: { type: "string" },
    },
  },
  [STATUS]: {
    type: "object",
    description: "Status is a return value for calls that don't return other objects.",
    properties: {
      apiVersion: { type: "string" },
      code: { type: "integer", format: "int32" },
      kind: { type: "string" },
      message: { type: "string" },
      reason: { type: "string" },
    },
  },
};

function op(rt: ResourceType, action: string, id: string, params: JsonObject[], body: string[] | undefined, response: string): JsonObject {
  const json = (name: string) => ({ schema: ref(name) });
  return {
    tags: [rt.group ? rt.group.split(".")[0] + rt.version : `core_${rt.version}`],
    description: `${action} ${rt.kind}`,
    operationId: `${id}${rt.kind}`,
    ...(params.length ? { parameters: params } : {}),
    ...(body
      ? {
          requestBody: {
            content: Object.fromEntries(
              body.map((ct) => [ct, json(action === "patch" ? "io.k8s.apimachinery.pkg.apis.meta.v1.Patch" : schemaName(rt))]),
            ),
            required: true,
          },
        }
      : {}),
    responses: { 200: { description: "OK", content: { "application/json": json(response) } }, 401: { description: "Unauthorized" } },
    "x-kubernetes-action": action,
    "x-kubernetes-group-version-kind": gvk(rt)[0],
  };
}

function paths(rt: ResourceType): Record<string, JsonObject> {
  const prefix = rt.group ? `/apis/${rt.group}/${rt.version}` : `/api/${rt.version}`;
  const coll = rt.namespaced ? `${prefix}/namespaces/{namespace}/${rt.plural}` : `${prefix}/${rt.plural}`;
  const item = `${coll}/{name}`;
  const nsParam = rt.namespaced ? [param("namespace", "path", "object name and auth scope, such as for teams and projects")] : [];
  const write = [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION];
  const patchTypes = ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"];
  const out: Record<string, JsonObject> = {
    [coll]: {
      get: op(rt, "list", "list", [], undefined, schemaName(rt, rt.listKind)),
      post: op(rt, "post", "create", write, ["*/*"], schemaName(rt)),
      delete: op(rt, "deletecollection", "deleteCollection", [], undefined, STATUS),
      parameters: nsParam,
    },
    [item]: {
      get: op(rt, "get", "read", [], undefined, schemaName(rt)),
      put: op(rt, "put", "replace", write, ["*/*"], schemaName(rt)),
      patch: op(
        rt,
        "patch",
        "patch",
        [...write, param("force", "query", 'Force is going to "force" Apply requests.', "boolean")],
        patchTypes,
        schemaName(rt),
      ),
      delete: op(rt, "delete", "delete", [DRY_RUN], undefined, STATUS),
      parameters: [param("name", "path", `name of the ${rt.kind}`), ...nsParam],
    },
  };
  if (rt.namespaced)
    out[`${prefix}/${rt.plural}`] = { get: op(rt, "list", "listForAllNamespaces", [], undefined, schemaName(rt, rt.listKind)) };
  if (rt.status) {
    out[`${item}/status`] = {
      get: op(rt, "get", "read", [], undefined, schemaName(rt)),
      put: op(rt, "put", "replace", write, ["*/*"], schemaName(rt)),
      patch: op(rt, "patch", "patch", write, patchTypes, schemaName(rt)),
      parameters: [param("name", "path", `name of the ${rt.kind}`), ...nsParam],
    };
  }
  return out;
}

/** The OpenAPI v3 document of one group/version, or undefined when it is not served. */
export function groupVersionDoc(types: ResourceType[], group: string, version: string): JsonObject | undefined {
  const ts = types.filter((t) => t.group === group && t.version === version);
  if (!ts.length) return undefined;
  const schemas: JsonObject = {
    ...structuredClone(METAV1),
    "io.k8s.apimachinery.pkg.apis.meta.v1.Patch": {
      type: "object",
      description: "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
    },
  };
  let p: JsonObject = {};
  for (const rt of ts) {
    schemas[schemaName(rt)] = objectSchema(rt);
    schemas[schemaName(rt, rt.listKind)] = listSchema(rt);
    p = { ...p, ...paths(rt) };
  }
  return { openapi: "3.0.0", info: { title: "Kubernetes", version: "v1.32.3" }, paths: p, components: { schemas } };
}

function gvPath(rt: ResourceType): string {
  return rt.group ? `apis/${apiVersionOf(rt)}` : `api/${rt.version}`;
}

export function docHash(doc: JsonObject): string {
  return createHash("sha512").update(JSON.stringify(doc)).digest("hex").toUpperCase();
}

/** /openapi/v3: the discovery document listing every group/version's document. */
export function openapiRoot(types: ResourceType[]): JsonObject {
  const out: JsonObject = {};
  for (const rt of types) {
    const p = gvPath(rt);
    if (out[p]) continue;
    const doc = groupVersionDoc(types, rt.group, rt.version)!;
    out[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${docHash(doc)}` };
  }
  return { paths: out };
}

/**
 * `/openapi/v2`: a Swagger 2.0 document without paths or definitions. kubectl needs it for the
 * client-side validation of `kind: List` documents (its fieldValidation verifier always reports v1/List
 * as unsupported, so each item is checked against OpenAPI v2): with no definitions, every item is
 * skipped there and validated by the server (fieldValidation=Strict) as usual.
 */
export const OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

export function openapiV2(version: string): JsonObject {
  return { swagger: "2.0", info: { title: "Kubernetes", version }, paths: {}, definitions: {} };
}

/** The same document as a gnostic openapi_v2.Document protobuf (what client-go's OpenAPISchema() asks for). */
export function openapiV2Protobuf(version: string): Buffer {
  const field = (no: number, v: Buffer) => Buffer.concat([Buffer.from([(no << 3) | 2, v.length]), v]);
  const str = (no: number, s: string) => field(no, Buffer.from(s, "utf8"));
  // Document: 1 swagger, 2 info (1 title, 2 version), 8 paths, 9 definitions.
  return Buffer.concat([
    str(1, "2.0"),
    field(2, Buffer.concat([str(1, "Kubernetes"), str(2, version)])),
    field(8, Buffer.alloc(0)),
    field(9, Buffer.alloc(0)),
  ]);
}
