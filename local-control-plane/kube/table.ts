// Server-side printing: meta.k8s.io/v1 Table (what `kubectl get` asks for with
// `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`) and PartialObjectMetadata(List).
// Custom resources use the CRD's additionalPrinterColumns (apiextensions' tableconvertor); built-in
// types the columns of k8s.io/kubernetes/pkg/printers/internalversion; others the default
// convertor (Name, Created At).
import { badRequest } from "./errors.ts";
import { evalJsonPath, formatJsonPathValue } from "./jsonpath.ts";
import type { JsonObject, ResourceType } from "./resources.ts";

const META = "meta.k8s.io/v1";

const NAME_DESC =
  "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const CREATED_DESC =
  "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

export interface ColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

const col = (name: string, type: string, description: string, priority = 0, format = ""): ColumnDefinition => ({
  name,
  type,
  format,
  description,
  priority,
});
const nameCol = () => col("Name", "string", NAME_DESC, 0, "name");
const ageCol = () => col("Age", "string", CREATED_DESC);

/** k8s.io/apimachinery/pkg/util/duration.HumanDuration */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(seconds / 3600);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.trunc(hours / 24)}d` : `${Math.trunc(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.trunc(hours / 24) % 365;
    const y = Math.trunc(hours / 24 / 365);
    return dy === 0 ? `${y}y` : `${y}y${dy}d`;
  }
  return `${Math.trunc(hours / 24 / 365)}y`;
}

/** translateTimestampSince: "<unknown>" for a missing timestamp. */
export function since(ts: unknown): string {
  if (typeof ts !== "string" || !ts) return "<unknown>";
  const t = Date.parse(ts);
  return Number.isNaN(t) ? "<unknown>" : humanDuration(Date.now() - t);
}

interface Printer {
  columns: ColumnDefinition[];
  cells: (o: JsonObject) => unknown[];
}

function eventSource(e: JsonObject): string {
  const component = e.source?.component || e.reportingComponent || "";
  const host = e.source?.host || e.reportingInstance || "";
  return host ? `${component}, ${host}` : component;
}

function builtinPrinter(rt: ResourceType): Printer | undefined {
  const key = `${rt.group}/${rt.plural}`;
  switch (key) {
    case "/namespaces":
      return {
        columns: [nameCol(), col("Status", "string", "The status of the namespace"), ageCol()],
        cells: (o) => [o.metadata.name, o.status?.phase ?? "", since(o.metadata.creationTimestamp)],
      };
    case "/secrets":
      return {
        columns: [
          nameCol(),
          col(
            "Type",
            "string",
            "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types",
          ),
          col(
            "Data",
            "string",
            "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4",
          ),
          ageCol(),
        ],
        cells: (o) => [o.metadata.name, o.type ?? "", Object.keys(o.data ?? {}).length, since(o.metadata.creationTimestamp)],
      };
    case "/configmaps":
      return {
        columns: [
          nameCol(),
          col(
            "Data",
            "string",
            "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.",
          ),
          ageCol(),
        ],
        cells: (o) => [
          o.metadata.name,
          Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length,
          since(o.metadata.creationTimestamp),
        ],
      };
    case "/serviceaccounts":
      return {
        columns: [
          nameCol(),
          col(
            "Secrets",
            "string",
            "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.",
          ),
          ageCol(),
        ],
        cells: (o) => [o.metadata.name, (o.secrets ?? []).length, since(o.metadata.creationTimestamp)],
      };
    case "coordination.k8s.io/leases":
      return {
        columns: [nameCol(), col("Holder", "string", "holderIdentity contains the identity of the holder of a current lease."), ageCol()],
        cells: (o) => [o.metadata.name, o.spec?.holderIdentity ?? "", since(o.metadata.creationTimestamp)],
      };
    case "/events":
    case "events.k8s.io/events":
      // The server prints with Wide: true; kubectl hides priority-1 columns unless -o wide.
      return {
        columns: [
          col("Last Seen", "string", "Time when last occurrence observed"),
          col("Type", "string", "Type of this event (Normal, Warning), new types could be added in the future"),
          col(
            "Reason",
            "string",
            "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
          ),
          col("Object", "string", "The object this Event is about"),
          col("Subobject", "string", "The subobject this Event is about", 1),
          col("Source", "string", "The component reporting this event. Should be a short machine understandable string.", 1),
          col("Message", "string", "A human-readable description of the status of this operation."),
          col("First Seen", "string", "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)", 1),
          col("Count", "string", "The number of times this event has occurred.", 1),
          col("Name", "string", NAME_DESC, 1, "name"),
        ],
        cells: (raw) => {
          // Both groups are printed from the stored (core) shape.
          const e =
            raw.apiVersion === "events.k8s.io/v1" || raw.regarding
              ? {
                  ...raw,
                  involvedObject: raw.regarding ?? {},
                  message: raw.note,
                  source: raw.deprecatedSource ?? {},
                  firstTimestamp: raw.deprecatedFirstTimestamp,
                  lastTimestamp: raw.deprecatedLastTimestamp,
                  count: raw.deprecatedCount,
                  reportingComponent: raw.reportingController,
                }
              : raw;
          let first = since(e.firstTimestamp);
          if (!e.firstTimestamp) first = since(e.eventTime);
          let last = e.lastTimestamp ? since(e.lastTimestamp) : first;
          let count = e.count ?? 0;
          if (e.series) {
            last = since(e.series.lastObservedTime);
            count = e.series.count ?? 0;
          } else if (!count) count = 1;
          const io = e.involvedObject ?? {};
          const target = io.name ? `${String(io.kind ?? "").toLowerCase()}/${io.name}` : String(io.kind ?? "").toLowerCase();
          return [
            last,
            e.type ?? "",
            e.reason ?? "",
            target,
            io.fieldPath ?? "",
            eventSource(e),
            String(e.message ?? "").trim(),
            first,
            count,
            e.metadata.name,
          ];
        },
      };
    case "rbac.authorization.k8s.io/rolebindings":
    case "rbac.authorization.k8s.io/clusterrolebindings":
      return {
        columns: [
          nameCol(),
          col("Role", "string", "Role"),
          ageCol(),
          col("Users", "string", "Users in the roleBinding", 1),
          col("Groups", "string", "Groups in the roleBinding", 1),
          col("ServiceAccounts", "string", "ServiceAccounts in the roleBinding", 1),
        ],
        cells: (o) => {
          const subs: JsonObject[] = o.subjects ?? [];
          const of = (k: string) =>
            subs
              .filter((s) => s.kind === k)
              .map((s) => (k === "ServiceAccount" ? `${s.namespace ?? ""}/${s.name}` : s.name))
              .join(", ");
          return [
            o.metadata.name,
            `${o.roleRef?.kind}/${o.roleRef?.name}`,
            since(o.metadata.creationTimestamp),
            of("User"),
            of("Group"),
            of("ServiceAccount"),
          ];
        },
      };
    case "rbac.authorization.k8s.io/roles":
    case "rbac.authorization.k8s.io/clusterroles":
      return {
        columns: [nameCol(), col("Created At", "date", CREATED_DESC)],
        cells: (o) => [o.metadata.name, o.metadata.creationTimestamp ?? ""],
      };
    default:
      return undefined;
  }
}

/** apiextensions tableconvertor.cellForJSONValue */
function cellForJsonValue(type: string, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (type) {
    case "integer":
      return typeof v === "number" ? Math.trunc(v) : null;
    case "number":
      return typeof v === "number" ? v : null;
    case "boolean":
      return typeof v === "boolean" ? v : null;
    case "date":
      return typeof v === "string" && !Number.isNaN(Date.parse(v)) ? since(v) : null;
    default:
      return null;
  }
}

function crdPrinter(rt: ResourceType): Printer {
  const cols = rt.printerColumns ?? [];
  return {
    columns: [nameCol(), ...cols.map((c) => col(c.name, c.type, c.description ?? "", c.priority ?? 0, c.format ?? ""))],
    cells: (o) => [
      o.metadata.name,
      ...cols.map((c) => {
        let results: unknown[];
        try {
          results = evalJsonPath(o, c.jsonPath);
        } catch {
          return null;
        }
        if (!results.length) return null;
        const v = results[0];
        if (c.type === "string") return formatJsonPathValue(v);
        return cellForJsonValue(c.type, v);
      }),
    ],
  };
}

function defaultPrinter(): Printer {
  return {
    columns: [nameCol(), col("Created At", "date", CREATED_DESC)],
    cells: (o) => [o.metadata.name, o.metadata.creationTimestamp ?? ""],
  };
}

export function printerFor(rt: ResourceType): Printer {
  return rt.custom ? crdPrinter(rt) : (builtinPrinter(rt) ?? defaultPrinter());
}

export type IncludeObject = "None" | "Metadata" | "Object";

export function includeObjectParam(q: URLSearchParams): IncludeObject {
  const v = q.get("includeObject") ?? "Metadata";
  if (v !== "None" && v !== "Metadata" && v !== "Object")
    throw badRequest(`includeObject: Unsupported value: "${v}": supported values: "Metadata", "None", "Object"`);
  return v;
}

/** meta.AsPartialObjectMetadata: a typed ObjectMeta, so a missing creationTimestamp is serialised as null. */
export function partialObjectMetadata(o: JsonObject): JsonObject {
  const m: JsonObject = { ...(o.metadata ?? {}) };
  if (m.creationTimestamp === undefined) m.creationTimestamp = null;
  return { kind: "PartialObjectMetadata", apiVersion: META, metadata: m };
}

/** A Table of `objects` (each a fully presented object with apiVersion and kind). */
export function toTable(
  rt: ResourceType,
  objects: JsonObject[],
  listMeta: JsonObject,
  include: IncludeObject,
  noHeaders: boolean,
): JsonObject {
  const p = printerFor(rt);
  const metadata: JsonObject = { resourceVersion: listMeta.resourceVersion ?? "" };
  if (listMeta.continue) metadata.continue = listMeta.continue;
  if (listMeta.remainingItemCount !== undefined) metadata.remainingItemCount = listMeta.remainingItemCount;
  return {
    kind: "Table",
    apiVersion: META,
    metadata,
    // TableOptions.NoHeaders (set after a watch's first event) leaves ColumnDefinitions nil: `null`.
    columnDefinitions: noHeaders ? null : p.columns,
    rows: objects.map((o) => ({
      // Go printers print missing fields as "" (custom-resource columns answer null themselves).
      cells: p.cells(o).map((c) => (c === undefined ? "" : c)),
      ...(include === "None" ? {} : { object: include === "Object" ? o : partialObjectMetadata(o) }),
    })),
  };
}

/**
 * asPartialObjectMetadataList (apiserver endpoints/handlers/response.go): copies resourceVersion and
 * continue only (no remainingItemCount), and its items slice is built by append, so an empty list
 * has `items: null`.
 */
export function toPartialList(list: JsonObject): JsonObject {
  const metadata: JsonObject = { resourceVersion: list.metadata?.resourceVersion ?? "" };
  if (list.metadata?.continue) metadata.continue = list.metadata.continue;
  const items = (list.items ?? []).map(partialObjectMetadata);
  return { kind: "PartialObjectMetadataList", apiVersion: META, metadata, items: items.length ? items : null };
}
