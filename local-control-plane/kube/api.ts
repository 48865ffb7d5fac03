// The REST verbs (create, get, list, update, patch, delete, deletecollection) with the generic
// registry's semantics: resourceVersion preconditions, generation, status subresource,
// finalizers and graceful deletion, custom-resource pruning, defaulting and validation.
import { randomUUID } from "node:crypto";
import {
  ApiError,
  alreadyExists,
  badRequest,
  conflict,
  expired,
  type FieldError,
  fe,
  forbidden,
  invalid,
  methodNotAllowed,
  notFound,
  RawValue,
  timeoutError,
  unknownError,
  unsupportedMediaType,
} from "./errors.ts";
import { eventToCore, presentCoreEvent, presentV1Event, validateEvent } from "./events.ts";
import { type Collectable, collectDependents } from "./gc.ts";
import { generateName, nowTimestamp, validateObjectMeta, validateObjectMetaUpdate } from "./meta.ts";
import { clone, deepEqual, jsonPatch, mergePatch, strategicMergePatch } from "./patch.ts";
import { compileRe2 } from "./re2.ts";
import { apiVersionOf, crdResources, type JsonObject, type ResourceType, resourceKey } from "./resources.ts";
import { parseFieldSelector, parseLabelSelector } from "./selectors.ts";
import { objectKey, type Store } from "./store.ts";
import { applyDefaults, prune, validateCustomResource } from "./validation.ts";

const isEvent = (rt: ResourceType) => rt.kind === "Event" && (rt.group === "" || rt.group === "events.k8s.io");

export interface RequestInfo {
  rt: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
  query: URLSearchParams;
}

export interface WriteResult {
  code: number;
  body: unknown;
  warnings: string[];
}

type FieldValidation = "Strict" | "Warn" | "Ignore";

const isObj = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

export class Api {
  readonly store: Store;
  private readonly types: () => ResourceType[];
  private readonly onCrd: (crd: JsonObject, removed: boolean) => void;

  constructor(store: Store, types: () => ResourceType[], onCrd: (crd: JsonObject, removed: boolean) => void) {
    this.store = store;
    this.types = types;
    this.onCrd = onCrd;
  }

  gr(rt: ResourceType): { group: string; resource: string } {
    return { group: rt.group, resource: rt.plural };
  }

  /** Renders a stored object as the given version serves it (read-time defaulting for custom resources). */
  present(rt: ResourceType, obj: JsonObject, inList = false): JsonObject {
    const { apiVersion: _a, kind: _k, metadata, ...rest } = clone(obj);
    let out: JsonObject = inList && !rt.custom ? { metadata, ...rest } : { apiVersion: apiVersionOf(rt), kind: rt.kind, metadata, ...rest };
    if (rt.custom) applyDefaults(out, rt.schema);
    if (isEvent(rt)) {
      out = rt.group ? presentV1Event(out) : presentCoreEvent(out);
      if (inList) {
        delete out.apiVersion;
        delete out.kind;
      }
    }
    return out;
  }

  private key(rt: ResourceType, namespace: string | undefined, name: string): string {
    return objectKey(rt.namespaced ? namespace : undefined, name);
  }

  private requireNamespace(rt: ResourceType, ns: string | undefined, name: string, creating: boolean): void {
    if (!rt.namespaced || ns === undefined) return;
    const nsObj = this.store.get("/namespaces", objectKey(undefined, ns));
    if (!nsObj) throw notFound({ group: "", resource: "namespaces" }, ns);
    if (creating && nsObj.metadata?.deletionTimestamp) {
      const err = forbidden(this.gr(rt), name, `unable to create new content in namespace ${ns} because it is being terminated`);
      err.status.details!.causes = [
        { reason: "NamespaceTerminating", message: `namespace ${ns} is being terminated`, field: "metadata.namespace" },
      ];
      throw err;
    }
  }

  private fieldValidation(q: URLSearchParams): FieldValidation {
    const v = q.get("fieldValidation") ?? "Warn";
    if (v !== "Strict" && v !== "Warn" && v !== "Ignore") throw badRequest(`fieldValidation parameter unsupported: ${v}`);
    return v;
  }

  /** Decodes a request body into an object of this resource type (kind/apiVersion checks, pruning, defaulting). */
  private decode(rt: ResourceType, body: unknown, q: URLSearchParams, warnings: string[], fromBody = false): JsonObject {
    if (!isObj(body)) throw badRequest(`the body of the request was not a JSON object`);
    const obj = clone(body);
    if (rt.custom) {
      if (!obj.kind) throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(body)}'`);
      if (!obj.apiVersion) throw badRequest(`Object 'apiVersion' is missing in '${JSON.stringify(body)}'`);
    }
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersionOf(rt)) {
      throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersionOf(rt)})`);
    }
    if (obj.kind !== undefined && obj.kind !== rt.kind) {
      throw badRequest(`the kind in the data (${obj.kind}) does not match the expected kind (${rt.kind})`);
    }
    if (obj.metadata !== undefined && !isObj(obj.metadata))
      throw badRequest("json: cannot unmarshal into Go struct field .metadata of type v1.ObjectMeta");
    obj.apiVersion = apiVersionOf(rt);
    obj.kind = rt.kind;
    obj.metadata = obj.metadata ?? {};
    if (rt.custom) {
      const unknown: string[] = [];
      prune(obj, rt.schema, "", unknown, true);
      const mode = this.fieldValidation(q);
      if (unknown.length && mode === "Strict") {
        const strict = `strict decoding error: ${unknown.map((u) => `unknown field "${u}"`).join(", ")}`;
        // create and update decode the request body (transformDecodeError); patch decodes the patched object.
        throw badRequest(fromBody ? `${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: ${strict}` : strict);
      }
      if (mode === "Warn") for (const u of unknown) warnings.push(`unknown field "${u}"`);
      applyDefaults(obj, rt.schema);
    }
    delete obj.metadata.managedFields;
    omitEmptyMeta(obj.metadata);
    if (isEvent(rt)) return rt.group ? eventToCore(obj) : presentCoreEvent(obj);
    return obj;
  }

  /** A stored object in the shape objects of `rt` are stored in (for no-op detection on update). */
  private storedShape(rt: ResourceType, existing: JsonObject): JsonObject {
    return isEvent(rt) ? presentCoreEvent(clone(existing)) : this.present(rt, existing);
  }

  private kindForErrors(rt: ResourceType): [string, string] {
    return [rt.group, rt.kind];
  }

  /** Type-specific normalisation on every write (PrepareForCreate/Update of the built-in strategies). */
  private normalise(rt: ResourceType, obj: JsonObject): void {
    if (rt.kind === "Secret" && !rt.group) {
      obj.type = obj.type || "Opaque"; // SetDefaults_Secret: empty means Opaque
      const data: Record<string, string> = obj.data ?? {};
      for (const v of Object.values(data)) {
        if (typeof v !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 === 1)
          throw badRequest(`illegal base64 data at input byte 0`);
      }
      if (isObj(obj.stringData)) {
        for (const [k, v] of Object.entries(obj.stringData)) data[k] = Buffer.from(String(v), "utf8").toString("base64");
        delete obj.stringData;
      }
      if (Object.keys(data).length || obj.data) obj.data = data;
    }
  }

  private validate(rt: ResourceType, obj: JsonObject, old: JsonObject | undefined): void {
    const errs: FieldError[] = [];
    const meta = obj.metadata;
    if (isEvent(rt)) {
      // The Event strategy validates ObjectMeta only for events.k8s.io/v1 requests; rest.BeforeCreate's
      // common validation (ValidateObjectMetaAccessor with path.ValidatePathSegmentName) follows it.
      const strict = rt.group === "events.k8s.io";
      errs.push(
        ...validateEvent(obj, old, strict, () =>
          old ? validateObjectMetaUpdate(meta, old.metadata) : validateObjectMeta(meta, true, "subdomain"),
        ),
      );
      if (!errs.length) errs.push(...validateObjectMeta(meta, true, "pathSegment"));
      if (!errs.length && old && !strict) errs.push(...validateObjectMetaUpdate(meta, old.metadata));
      if (errs.length) throw invalid("", "Event", meta.name ?? "", errs);
      return;
    }
    errs.push(...validateObjectMeta(meta, rt.namespaced, rt.kind === "Namespace"));
    if (old) errs.push(...validateObjectMetaUpdate(meta, old.metadata));
    if (rt.custom) errs.push(...validateCustomResource(obj, rt.schema, old));
    if (rt.kind === "CustomResourceDefinition") errs.push(...this.validateCrd(obj));
    if (rt.kind === "Secret" && old && old.immutable && (!deepEqual(old.data, obj.data) || obj.immutable !== true)) {
      errs.push(fe.forbidden("data", "field is immutable when `immutable` is set"));
    }
    if (errs.length) {
      const [g, k] = this.kindForErrors(rt);
      throw invalid(g, k, meta.name ?? "", errs);
    }
  }

  private validateCrd(crd: JsonObject): FieldError[] {
    const spec = crd.spec ?? {};
    const errs: FieldError[] = [];
    if (!spec.group) errs.push(fe.required("spec.group", ""));
    if (!spec.names?.plural) errs.push(fe.required("spec.names.plural", ""));
    if (!spec.names?.kind) errs.push(fe.required("spec.names.kind", ""));
    if (spec.group && spec.names?.plural && crd.metadata?.name !== `${spec.names.plural}.${spec.group}`) {
      errs.push(fe.invalid("metadata.name", crd.metadata?.name ?? "", 'must be spec.names.plural+"."+spec.group'));
    }
    if (!Array.isArray(spec.versions) || spec.versions.length === 0)
      errs.push(fe.required("spec.versions", "must have exactly one version marked as storage version"));
    else {
      // Patterns must compile as Go regexps (validateValueValidation in apiextensions-apiserver
      // pkg/apiserver/schema/validation.go). Identical per-version schemas are reported at the internal
      // type's spec.validation (recorded on v1.20.2).
      const schemas = (spec.versions as JsonObject[]).map((v) => v.schema?.openAPIV3Schema);
      const same = schemas.every((x) => deepEqual(x, schemas[0]));
      schemas.forEach((sch, i) => {
        if (same && i > 0) return;
        errs.push(...invalidPatterns(sch, same ? "spec.validation.openAPIV3Schema" : `spec.versions[${i}].schema.openAPIV3Schema`));
      });
    }
    return errs;
  }

  // ---- read verbs ----

  get(req: RequestInfo): JsonObject {
    const obj = this.store.get(resourceKey(req.rt), this.key(req.rt, req.namespace, req.name!));
    if (!obj) throw notFound(this.gr(req.rt), req.name!);
    return this.present(req.rt, obj);
  }

  list(req: RequestInfo): JsonObject {
    const { rt, query: q } = req;
    const rk = resourceKey(rt);
    const labelMatch = parseLabelSelector(q.get("labelSelector"));
    const fieldMatch = parseFieldSelector(q.get("fieldSelector"), rt.kind, rt.group);
    const limit = Number(q.get("limit") ?? 0) || 0;
    const cont = q.get("continue");
    const rvParam = q.get("resourceVersion");
    const rvMatch = q.get("resourceVersionMatch");
    let at = this.store.currentRevision;
    let start = "";
    let source: Array<[string, JsonObject]>;
    if (cont) {
      if (rvParam) throw badRequest("specifying resource version is not allowed when using continue");
      let tok: { v?: string; rv?: number; start?: string };
      try {
        tok = JSON.parse(Buffer.from(cont, "base64url").toString("utf8"));
      } catch {
        throw badRequest("invalid continue token: continue key is not valid: illegal base64 data");
      }
      if (tok.v !== "meta.k8s.io/v1" || typeof tok.rv !== "number" || typeof tok.start !== "string")
        throw badRequest(
          "invalid continue token: continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        );
      at = tok.rv;
      start = tok.start;
      const snap = this.store.snapshot(rk, at);
      if (!snap) {
        throw expired(
          "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
        );
      }
      source = snap;
    } else if (rvParam && rvParam !== "0") {
      const n = Number(rvParam);
      if (!/^\d+$/.test(rvParam)) throw badRequest(`invalid resource version: ${rvParam}`);
      if (n > this.store.currentRevision) throw timeoutError(`Too large resource version: ${n}, current: ${this.store.currentRevision}`, 1);
      if (rvMatch === "Exact") {
        const snap = this.store.snapshot(rk, n);
        if (!snap) throw expired(`too old resource version: ${n} (${this.store.historyStart(rk)})`);
        source = snap;
        at = n;
      } else source = this.store.list(rk);
    } else {
      source = this.store.list(rk);
    }
    const matching = source.filter(
      ([key, o]) =>
        key > start &&
        (!rt.namespaced || req.namespace === undefined || o.metadata?.namespace === req.namespace) &&
        labelMatch(o) &&
        fieldMatch(o),
    );
    let items = matching;
    // Custom-resource lists are unstructured: ListMeta's empty continue is kept (`continue: ""`).
    const metadata: JsonObject = rt.custom ? { continue: "", resourceVersion: String(at) } : { resourceVersion: String(at) };
    // limit is ignored for resourceVersion=0 reads from the watch cache, like the real server.
    if (limit > 0 && !(rvParam === "0" && !cont) && matching.length > limit) {
      items = matching.slice(0, limit);
      const lastKey = items[items.length - 1]![0];
      metadata.continue = Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv: at, start: `${lastKey}\u0000` })).toString("base64url");
      if (!q.get("labelSelector") && !q.get("fieldSelector")) metadata.remainingItemCount = matching.length - limit;
    }
    return { apiVersion: apiVersionOf(rt), kind: rt.listKind, metadata, items: items.map(([, o]) => this.present(rt, o, true)) };
  }

  // ---- write verbs ----

  create(req: RequestInfo, body: unknown): WriteResult {
    const { rt } = req;
    const warnings: string[] = [];
    if (req.subresource) throw methodNotAllowed();
    const obj = this.decode(rt, body, req.query, warnings, true);
    const meta = obj.metadata;
    if (rt.namespaced) {
      if (meta.namespace && req.namespace && meta.namespace !== req.namespace)
        throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
      meta.namespace = req.namespace ?? meta.namespace;
    } else delete meta.namespace;
    if (!meta.name && meta.generateName) meta.name = generateName(meta.generateName);
    this.requireNamespace(rt, meta.namespace, meta.name ?? "", true);
    // BeforeCreate
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    if (rt.custom) {
      if (rt.status) delete obj.status;
      meta.generation = 1;
    } else if (rt.generation) meta.generation = 1;
    else delete meta.generation;
    if (rt.kind === "Namespace") {
      obj.spec = { finalizers: ["kubernetes"] };
      obj.status = { phase: "Active" };
    }
    if (rt.kind === "CustomResourceDefinition") delete obj.status;
    this.normalise(rt, obj);
    meta.uid = randomUUID();
    meta.creationTimestamp = nowTimestamp();
    this.validate(rt, obj, undefined);
    if (meta.resourceVersion) throw unknownError(500, "resourceVersion should not be set on objects to be created");
    const rk = resourceKey(rt);
    const key = this.key(rt, meta.namespace, meta.name);
    if (this.store.get(rk, key)) throw alreadyExists(this.gr(rt), meta.name);
    if (rt.kind === "CustomResourceDefinition") {
      obj.status = crdStatus(obj);
      this.checkCrdConflicts(obj);
    }
    if (isDryRun(req.query)) return { code: 201, body: this.present(rt, obj), warnings };
    const stored = this.store.put(rk, key, obj);
    if (rt.kind === "CustomResourceDefinition") this.onCrd(stored, false);
    return { code: 201, body: this.present(rt, stored), warnings };
  }

  private checkCrdConflicts(crd: JsonObject): void {
    for (const t of crdResources(crd)) {
      if (this.types().some((e) => e.group === t.group && e.plural === t.plural && e.crdName !== crd.metadata.name)) {
        throw invalid("apiextensions.k8s.io", "CustomResourceDefinition", crd.metadata.name, [fe.duplicate("spec.names.plural", t.plural)]);
      }
    }
  }

  update(req: RequestInfo, body: unknown): WriteResult {
    const warnings: string[] = [];
    const obj = this.decode(req.rt, body, req.query, warnings, true);
    if (obj.metadata.name !== undefined && obj.metadata.name !== req.name) {
      throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${req.name})`);
    }
    if (req.rt.namespaced && obj.metadata.namespace && obj.metadata.namespace !== req.namespace) {
      throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
    return this.applyUpdate(req, obj, warnings);
  }

  patch(req: RequestInfo, contentType: string, rawBody: string): WriteResult {
    const { rt } = req;
    const ct = contentType.split(";")[0]!.trim().toLowerCase();
    const accepted = rt.custom
      ? ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]
      : [
          "application/json-patch+json",
          "application/merge-patch+json",
          "application/strategic-merge-patch+json",
          "application/apply-patch+yaml",
        ];
    if (!accepted.includes(ct) || ct === "application/apply-patch+yaml") {
      if (ct === "application/apply-patch+yaml") throw unsupportedMediaType(accepted.filter((a) => a !== "application/apply-patch+yaml"));
      throw unsupportedMediaType(accepted);
    }
    let patchBody: unknown;
    try {
      patchBody = JSON.parse(rawBody);
    } catch (e) {
      throw badRequest(`error decoding patch: ${(e as Error).message}`);
    }
    const rk = resourceKey(rt);
    const existing = this.store.get(rk, this.key(rt, req.namespace, req.name!));
    if (!existing) throw notFound(this.gr(rt), req.name!);
    const current = this.present(rt, existing);
    let patched: unknown;
    if (ct === "application/json-patch+json") patched = jsonPatch(current, patchBody);
    else if (ct === "application/merge-patch+json") {
      if (!isObj(patchBody)) throw badRequest("json: cannot unmarshal array into Go value of type map[string]interface {}");
      patched = mergePatch(current, patchBody);
    } else {
      if (!isObj(patchBody)) throw badRequest("json: cannot unmarshal array into Go value of type map[string]interface {}");
      patched = strategicMergePatch(current, patchBody);
    }
    const warnings: string[] = [];
    const obj = this.decode(rt, patched, req.query, warnings);
    if (obj.metadata.name !== req.name) {
      throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${req.name})`);
    }
    return this.applyUpdate(req, obj, warnings);
  }

  /** The shared update path (rest.BeforeUpdate + Store.Update). `obj` is decoded. */
  private applyUpdate(req: RequestInfo, obj: JsonObject, warnings: string[]): WriteResult {
    const { rt } = req;
    const rk = resourceKey(rt);
    const key = this.key(rt, req.namespace, req.name!);
    const existing = this.store.get(rk, key);
    if (!existing) throw notFound(this.gr(rt), req.name!);
    const old = this.storedShape(rt, existing);
    if (rt.namespaced) obj.metadata.namespace = req.namespace;
    else delete obj.metadata.namespace;
    obj.metadata.name = req.name;
    // Optimistic concurrency.
    const rv = obj.metadata.resourceVersion;
    if (!rv) {
      if (!rt.allowUnconditionalUpdate) {
        throw invalid(rt.group, rt.plural, req.name!, [
          fe.invalid("metadata.resourceVersion", new RawValue("0x0"), "must be specified for an update"),
        ]);
      }
    } else if (rv !== existing.metadata.resourceVersion) {
      throw conflict(this.gr(rt), req.name!);
    }
    obj.metadata.resourceVersion = existing.metadata.resourceVersion;
    // PrepareForUpdate.
    let next: JsonObject;
    if (req.subresource === "status") {
      next = clone(old);
      if ("status" in obj) next.status = obj.status;
      else delete next.status;
    } else {
      next = obj;
      if (rt.status) {
        if ("status" in old) next.status = clone(old.status);
        else delete next.status;
      }
    }
    this.normalise(rt, next);
    const nm = next.metadata,
      om = old.metadata;
    // BeforeUpdate: system fields cannot be changed through an update.
    nm.generation = om.generation;
    if (nm.generation === undefined) delete nm.generation;
    if (!nm.uid) nm.uid = om.uid;
    nm.creationTimestamp = om.creationTimestamp;
    if (om.deletionTimestamp) nm.deletionTimestamp = om.deletionTimestamp;
    else delete nm.deletionTimestamp;
    if (om.deletionGracePeriodSeconds !== undefined) nm.deletionGracePeriodSeconds = om.deletionGracePeriodSeconds;
    else delete nm.deletionGracePeriodSeconds;
    if (rt.generation && req.subresource !== "status") {
      const strip = (o: JsonObject) => {
        const { metadata: _m, status: _s, ...rest } = o;
        return rt.status ? rest : { ...rest, status: o.status };
      };
      if (!deepEqual(strip(next), strip(old))) nm.generation = (om.generation ?? 0) + 1;
    }
    if (rt.kind === "Namespace" && req.subresource !== "status") next.status = clone(old.status);
    this.validate(rt, next, old);
    if (rt.kind === "CustomResourceDefinition") next.status = crdStatus(next);
    // An update that removes the last finalizer of a deleting object deletes it.
    if (om.deletionTimestamp && !nm.finalizers?.length && !isDryRun(req.query) && !this.pendingSpecFinalizers(rt, next)) {
      this.store.remove(rk, key);
      this.afterRemove(rt, existing);
      return { code: 200, body: this.present(rt, next), warnings };
    }
    if (deepEqual(next, old)) return { code: 200, body: this.present(rt, old), warnings };
    if (isDryRun(req.query)) return { code: 200, body: this.present(rt, next), warnings };
    const stored = this.store.put(rk, key, next);
    if (rt.kind === "CustomResourceDefinition") this.onCrd(stored, false);
    return { code: 200, body: this.present(rt, stored), warnings };
  }

  private pendingSpecFinalizers(rt: ResourceType, obj: JsonObject): boolean {
    return rt.kind === "Namespace" && !rt.group && (obj.spec?.finalizers?.length ?? 0) > 0;
  }

  delete(req: RequestInfo, body: unknown): { code: number; body: unknown } {
    const { rt } = req;
    const rk = resourceKey(rt);
    const key = this.key(rt, req.namespace, req.name!);
    const existing = this.store.get(rk, key);
    if (!existing) throw notFound(this.gr(rt), req.name!);
    const opts = isObj(body) ? body : {};
    const pre = opts.preconditions ?? {};
    if (pre.uid && pre.uid !== existing.metadata.uid) {
      throw conflict(
        this.gr(rt),
        req.name!,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${existing.metadata.uid}`,
      );
    }
    if (pre.resourceVersion && pre.resourceVersion !== existing.metadata.resourceVersion) {
      throw conflict(
        this.gr(rt),
        req.name!,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${existing.metadata.resourceVersion}`,
      );
    }
    if (isDryRun(req.query)) return { code: 200, body: this.present(rt, existing) };
    // Orphan: the dependents are released first (the real server holds the owner with an `orphan`
    // finalizer until the garbage collector has done that; here it is done at once).
    // DeleteOptions come as the body or as query parameters.
    const policy = opts.propagationPolicy ?? req.query.get("propagationPolicy");
    const orphanDependents =
      opts.orphanDependents ?? (req.query.has("orphanDependents") ? req.query.get("orphanDependents") === "true" : undefined);
    if (policy === "Orphan" || (policy === undefined && orphanDependents === true)) collectDependents(this.collectable, existing, true);
    const finalizers: string[] = existing.metadata.finalizers ?? [];
    if (finalizers.length || this.pendingSpecFinalizers(rt, existing)) {
      if (existing.metadata.deletionTimestamp) return { code: 200, body: this.present(rt, existing) };
      const next = clone(existing);
      if ((next.metadata.generation ?? 0) > 0) next.metadata.generation += 1;
      next.metadata.deletionTimestamp = nowTimestamp();
      next.metadata.deletionGracePeriodSeconds = 0;
      if (rt.kind === "Namespace" && !rt.group) next.status = { ...(next.status ?? {}), phase: "Terminating" };
      const stored = this.store.put(rk, key, next);
      if (rt.kind === "Namespace" && !rt.group) setImmediate(() => this.finalizeNamespace(req.name!));
      return { code: 200, body: this.present(rt, stored) };
    }
    this.store.remove(rk, key);
    this.afterRemove(rt, existing);
    return {
      code: 200,
      body: {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Success",
        details: { name: req.name, ...(rt.group ? { group: rt.group } : {}), kind: rt.plural, uid: existing.metadata.uid },
      },
    };
  }

  deleteCollection(req: RequestInfo, body: unknown): { code: number; body: unknown } {
    const list = this.list({ ...req, query: new URLSearchParams([...req.query].filter(([k]) => k !== "limit" && k !== "continue")) });
    const deleted: JsonObject[] = [];
    for (const item of list.items as JsonObject[]) {
      try {
        const r = this.delete({ ...req, namespace: item.metadata.namespace, name: item.metadata.name }, body);
        deleted.push(
          isObj(r.body) && (r.body as JsonObject).kind === "Status"
            ? this.present(req.rt, item, true)
            : this.present(req.rt, r.body as JsonObject, true),
        );
      } catch (e) {
        if (!(e instanceof ApiError) || e.status.code !== 404) throw e;
      }
    }
    return {
      code: 200,
      body: {
        apiVersion: apiVersionOf(req.rt),
        kind: req.rt.listKind,
        metadata: { resourceVersion: String(this.store.currentRevision) },
        items: deleted,
      },
    };
  }

  private afterRemove(rt: ResourceType, obj: JsonObject): void {
    if (rt.kind === "CustomResourceDefinition") this.onCrd(obj, true);
    // The garbage collector works after the fact, as the real one (a controller) does.
    setImmediate(() => collectDependents(this.collectable, obj, false));
  }

  private get collectable(): Collectable {
    return {
      store: this.store,
      types: () => this.types(),
      delete: (rt, namespace, name) => {
        try {
          this.delete({ rt, ...(namespace ? { namespace } : {}), name, query: new URLSearchParams() }, undefined);
        } catch {
          /* raced: gone already */
        }
      },
    };
  }

  /** The namespace controller: deletes the namespace's content, then the namespace once it is empty. */
  private finalizeNamespace(ns: string): void {
    const nsKey = objectKey(undefined, ns);
    const nsObj = this.store.get("/namespaces", nsKey);
    if (!nsObj?.metadata.deletionTimestamp) return;
    let remaining = 0;
    for (const rt of this.types()) {
      if (!rt.namespaced) continue;
      const rk = resourceKey(rt);
      for (const [key, o] of this.store.list(rk)) {
        if (o.metadata.namespace !== ns) continue;
        remaining++;
        if (!o.metadata.deletionTimestamp) {
          try {
            this.delete({ rt, namespace: ns, name: o.metadata.name, query: new URLSearchParams() }, undefined);
          } catch {
            /* raced */
          }
        }
        if (this.store.get(rk, key)) continue;
        remaining--;
      }
    }
    if (remaining === 0) {
      this.store.remove("/namespaces", nsKey);
      return;
    }
    setTimeout(() => this.finalizeNamespace(ns), 50).unref();
  }
}

/**
 * ObjectMeta round-trips through the typed struct (also for custom resources, whose metadata the
 * apiextensions-apiserver coerces), where these fields are omitempty: `labels: {}`, `finalizers: []`
 * or `generateName: ""` are not stored.
 */
function omitEmptyMeta(meta: JsonObject): void {
  for (const k of ["labels", "annotations"]) if (isObj(meta[k]) && Object.keys(meta[k]).length === 0) delete meta[k];
  for (const k of ["finalizers", "ownerReferences"]) if (Array.isArray(meta[k]) && meta[k].length === 0) delete meta[k];
  for (const k of ["generateName", "namespace", "name", "uid", "resourceVersion", "selfLink"]) if (meta[k] === "") delete meta[k];
}

function invalidPatterns(schema: unknown, path: string): FieldError[] {
  if (!isObj(schema)) return [];
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries((schema.properties ?? {}) as JsonObject))
    errs.push(...invalidPatterns(v, `${path}.properties[${k}]`));
  errs.push(
    ...invalidPatterns(schema.items, `${path}.items`),
    ...invalidPatterns(schema.additionalProperties, `${path}.additionalProperties`),
  );
  for (const k of ["allOf", "anyOf", "oneOf"])
    for (const [i, v] of ((schema[k] ?? []) as unknown[]).entries()) errs.push(...invalidPatterns(v, `${path}.${k}[${i}]`));
  errs.push(...invalidPatterns(schema.not, `${path}.not`));
  if (typeof schema.pattern === "string" && schema.pattern) {
    try {
      compileRe2(schema.pattern);
    } catch (e) {
      errs.push(fe.invalid(`${path}.pattern`, schema.pattern, `must be a valid regular expression, but isn't: ${(e as Error).message}`));
    }
  }
  return errs;
}

function isDryRun(q: URLSearchParams): boolean {
  return q.getAll("dryRun").includes("All");
}

export function crdStatus(crd: JsonObject): JsonObject {
  const now = crd.status?.conditions?.[0]?.lastTransitionTime ?? nowTimestamp();
  return {
    acceptedNames: clone(crd.spec?.names ?? {}),
    conditions: [
      { type: "NamesAccepted", status: "True", lastTransitionTime: now, reason: "NoConflicts", message: "no conflicts found" },
      {
        type: "Established",
        status: "True",
        lastTransitionTime: now,
        reason: "InitialNamesAccepted",
        message: "the initial names have been accepted",
      },
    ],
    storedVersions: (crd.spec?.versions ?? []).filter((v: JsonObject) => v.storage).map((v: JsonObject) => v.name),
  };
}
