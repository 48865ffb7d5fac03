// Kubernetes access: the reads and writes the operator makes, typed in its own terms, over the
// operator's one request path (client.ts).
import type { KubeConfig } from "@kubernetes/client-node";
import { GROUP, type MemoryDBUser, type MemoryDBUserStatus, PLURAL, VERSION } from "../model.ts";
import { KubeClient } from "./client.ts";
import type { JsonPatchOp } from "./finalizer.ts";
import { TokenBucket } from "./rate-limit.ts";
import { type CallOptions, httpStatus, KubeError, type MergePatch } from "./request.ts";

export interface SecretData {
  resourceVersion: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  /** Values base64-encoded, as the API returns them. */
  data: Record<string, string>;
}

/** metav1.OwnerReference. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** A Secret the operator creates; values base64-encoded. */
export interface NewSecret {
  data: Record<string, string>;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

/** What the operator writes into a Secret: `null` removes a key, label, annotation or the owner references (patch only). */
export interface SecretWrite {
  labels?: Record<string, string | null>;
  annotations?: Record<string, string | null>;
  ownerReferences?: OwnerReference[] | null;
  /** Values base64-encoded. */
  data?: Record<string, string | null>;
}

export interface ListPage<T> {
  items: T[];
  resourceVersion: string;
  continueToken: string | undefined;
}

export interface EventInput {
  regarding: MemoryDBUser;
  type: "Normal" | "Warning";
  reason: string;
  action: string;
  note: string;
}

export const REPORTING_CONTROLLER = `${GROUP}/memorydb-user-operator`;

/**
 * Ask for metadata only: the operator never holds the cluster's Secret values in memory. A list
 * asks for the List form, a watch for the single-object form (each watch event is one object: a
 * real API server cannot encode a watch event as a List and ends the stream). Plain JSON is the
 * fallback for servers without the transformation, as client-go and kube-rs ask.
 */
export const METADATA_ONLY_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";

export const METADATA_ONLY_WATCH = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";

/** A ConfigMap's name, version and data (the accounts mapping). */
export interface ConfigMapData {
  metadata: { name: string; namespace: string; resourceVersion: string };
  data: Record<string, string>;
}

/** A Secret as seen by the metadata-only watch. */
export interface SecretMeta {
  metadata: { name: string; namespace: string; resourceVersion?: string; uid?: string };
}

/**
 * `generateName` for an Event about the object `name`. The API server validates it as a name
 * prefix: a DNS subdomain once a trailing "-" is masked, so "app-user-" is valid and "app-user."
 * is not. It keeps 58 characters of the prefix and adds 5 random ones.
 */
export function eventNamePrefix(name: string): string {
  return `${name.slice(0, 57)}-`;
}

/** The request-rate bound, client-go's QPS and burst; undefined: none. */
export interface RequestLimits {
  qps: number;
  burst: number;
}

const USERS = `/apis/${GROUP}/${VERSION}`;
const path = (...segments: string[]) => segments.map(encodeURIComponent).join("/");
const usersPath = (namespace: string | undefined) =>
  namespace === undefined ? `${USERS}/${PLURAL}` : `${USERS}/namespaces/${path(namespace)}/${PLURAL}`;
const userPath = (namespace: string, name: string) => `${usersPath(namespace)}/${path(name)}`;
const secretsPath = (namespace: string | undefined) =>
  namespace === undefined ? "/api/v1/secrets" : `/api/v1/namespaces/${path(namespace)}/secrets`;
const is404 = (err: unknown) => httpStatus(err) === 404;

/** A Secret as the API answers it. */
interface Secret {
  metadata?: {
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
  };
  data?: Record<string, string>;
}

function secretData(secret: Secret): SecretData {
  const meta = secret.metadata;
  return {
    resourceVersion: meta?.resourceVersion ?? "",
    labels: meta?.labels ?? {},
    annotations: meta?.annotations ?? {},
    ownerReferences: meta?.ownerReferences ?? [],
    data: secret.data ?? {},
  };
}

/** A MicroTime as the API server takes it: RFC 3339 with six digits of the second's fraction. */
export function microTime(date = new Date()): string {
  return `${date.toISOString().slice(0, -1)}000Z`;
}

export class KubeApi {
  readonly #client: KubeClient;
  /** Events have their own bound, as controller-runtime's event recorder has its own client. */
  readonly #events: KubeClient;
  readonly #instance: string;

  constructor(kc: KubeConfig, reportingInstance: string, limits?: RequestLimits) {
    const bucket = () => (limits ? new TokenBucket(limits) : undefined);
    this.#client = new KubeClient(kc, bucket());
    this.#events = new KubeClient(kc, bucket());
    this.#instance = reportingInstance;
  }

  /** One page of MemoryDBUsers, in one namespace or (namespace undefined) all of them. */
  async listUsers(namespace: string | undefined, continueToken: string | undefined, call?: CallOptions): Promise<ListPage<MemoryDBUser>> {
    const list = await this.#client.request<{ items: MemoryDBUser[] | null; metadata: { resourceVersion: string; continue?: string } }>(
      `list MemoryDBUsers${namespace ? ` in ${namespace}` : ""}`,
      { method: "GET", path: usersPath(namespace), query: { limit: 500, continue: continueToken }, signal: call?.signal },
    );
    // Go serialises an empty list's items as null.
    return { items: list.items ?? [], resourceVersion: list.metadata.resourceVersion, continueToken: list.metadata.continue || undefined };
  }

  /** Merge-patch the status subresource; answers the updated object, undefined if it is gone. */
  async patchUserStatus(
    namespace: string,
    name: string,
    status: MergePatch<MemoryDBUserStatus>,
    call?: CallOptions,
  ): Promise<MemoryDBUser | undefined> {
    try {
      return await this.#client.request<MemoryDBUser>(`patch status of MemoryDBUser ${namespace}/${name}`, {
        method: "PATCH",
        path: `${userPath(namespace, name)}/status`,
        body: { status },
        contentType: "application/merge-patch+json",
        signal: call?.signal,
      });
    } catch (err) {
      if (is404(err)) return undefined;
      throw err;
    }
  }

  /**
   * JSON-patch the resource's metadata (finalizers). Answers the updated object; undefined if
   * it is gone. A failed `test` op (someone else changed the list) surfaces as a KubeError 422.
   */
  async patchUserMetadata(namespace: string, name: string, patch: JsonPatchOp[], call?: CallOptions): Promise<MemoryDBUser | undefined> {
    try {
      return await this.#client.request<MemoryDBUser>(
        `patch MemoryDBUser ${namespace}/${name}`,
        { method: "PATCH", path: userPath(namespace, name), body: patch, contentType: "application/json-patch+json", signal: call?.signal },
        // The patches here are guarded by `test` ops: a 422 is the list having changed.
        { testFailed: true },
      );
    } catch (err) {
      if (is404(err)) return undefined;
      throw err;
    }
  }

  /**
   * One ConfigMap, as a list of at most one item: a list (and watch) with the field selector
   * metadata.name=<name> is what RBAC's resourceNames allows for list and watch.
   */
  async listConfigMap(namespace: string, name: string, call?: CallOptions): Promise<ListPage<ConfigMapData>> {
    type Item = { metadata?: { name?: string; namespace?: string; resourceVersion?: string }; data?: Record<string, string> };
    const list = await this.#client.request<{ items: Item[] | null; metadata?: { resourceVersion?: string } }>(
      `list ConfigMap ${namespace}/${name}`,
      {
        method: "GET",
        path: `/api/v1/namespaces/${path(namespace)}/configmaps`,
        query: { fieldSelector: `metadata.name=${name}` },
        signal: call?.signal,
      },
    );
    return {
      items: (list.items ?? []).map((c) => ({
        metadata: {
          name: c.metadata?.name ?? "",
          namespace: c.metadata?.namespace ?? "",
          resourceVersion: c.metadata?.resourceVersion ?? "",
        },
        data: c.data ?? {},
      })),
      resourceVersion: list.metadata?.resourceVersion ?? "",
      continueToken: undefined,
    };
  }

  /** One page of Secrets' metadata (never their data), of those matching `labelSelector` if given. */
  async listSecretsMetadata(
    namespace: string | undefined,
    continueToken: string | undefined,
    call?: CallOptions,
    labelSelector?: string,
  ): Promise<ListPage<SecretMeta>> {
    type Item = { metadata?: { name?: string; namespace?: string; resourceVersion?: string } };
    const list = await this.#client.request<{ items: Item[] | null; metadata?: { resourceVersion?: string; continue?: string } }>(
      `list Secrets${namespace ? ` in ${namespace}` : ""}`,
      {
        method: "GET",
        path: secretsPath(namespace),
        query: { limit: 500, continue: continueToken, labelSelector },
        accept: METADATA_ONLY_LIST,
        signal: call?.signal,
      },
    );
    // Go serialises an empty list's items as null.
    return {
      items: (list.items ?? []).map((s) => ({
        metadata: {
          name: s.metadata?.name ?? "",
          namespace: s.metadata?.namespace ?? "",
          resourceVersion: s.metadata?.resourceVersion ?? "",
        },
      })),
      resourceVersion: list.metadata?.resourceVersion ?? "",
      continueToken: list.metadata?.continue || undefined,
    };
  }

  async readSecret(namespace: string, name: string, call?: CallOptions): Promise<SecretData | undefined> {
    try {
      return secretData(
        await this.#client.request<Secret>(`read Secret ${namespace}/${name}`, {
          method: "GET",
          path: `${secretsPath(namespace)}/${path(name)}`,
          signal: call?.signal,
        }),
      );
    } catch (err) {
      if (is404(err)) return undefined;
      throw err;
    }
  }

  /** Creates a Secret; resolves to undefined when one of that name exists already. */
  async createSecret(namespace: string, name: string, secret: NewSecret, call?: CallOptions): Promise<SecretData | undefined> {
    const { data, labels, annotations, ownerReferences } = secret;
    try {
      return secretData(
        await this.#client.request<Secret>(`create Secret ${namespace}/${name}`, {
          method: "POST",
          path: secretsPath(namespace),
          body: {
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name, namespace, labels, annotations, ...(ownerReferences ? { ownerReferences } : {}) },
            type: "Opaque",
            data,
          },
          signal: call?.signal,
        }),
      );
    } catch (err) {
      if (httpStatus(err) === 409) return undefined;
      throw err;
    }
  }

  /**
   * Merge-patches a Secret, only if it is still at `resourceVersion` (otherwise a 409, a
   * KubeError with `conflict`). Resolves to the updated Secret; undefined if it is gone.
   */
  async patchSecret(
    namespace: string,
    name: string,
    resourceVersion: string,
    patch: SecretWrite,
    call?: CallOptions,
  ): Promise<SecretData | undefined> {
    const { data, labels, annotations, ownerReferences } = patch;
    const body = {
      metadata: {
        resourceVersion,
        ...(labels ? { labels } : {}),
        ...(annotations ? { annotations } : {}),
        ...(ownerReferences !== undefined ? { ownerReferences } : {}),
      },
      ...(data ? { data } : {}),
    };
    try {
      return secretData(
        await this.#client.request<Secret>(`patch Secret ${namespace}/${name}`, {
          method: "PATCH",
          path: `${secretsPath(namespace)}/${path(name)}`,
          body,
          contentType: "application/merge-patch+json",
          signal: call?.signal,
        }),
      );
    } catch (err) {
      if (is404(err)) return undefined;
      throw err;
    }
  }

  async namespaceUid(name: string, call?: CallOptions): Promise<string> {
    const ns = await this.#client.request<{ metadata?: { uid?: string } }>(`read namespace ${name}`, {
      method: "GET",
      path: `/api/v1/namespaces/${path(name)}`,
      signal: call?.signal,
    });
    if (!ns.metadata?.uid) throw new KubeError(`read namespace ${name}`, new Error("the namespace has no uid"));
    return ns.metadata.uid;
  }

  async createEvent(event: EventInput, call?: CallOptions): Promise<void> {
    const meta = event.regarding.metadata;
    await this.#events.request(
      `create Event for ${meta.namespace}/${meta.name}`,
      {
        method: "POST",
        path: `/apis/events.k8s.io/v1/namespaces/${path(meta.namespace)}/events`,
        body: {
          apiVersion: "events.k8s.io/v1",
          kind: "Event",
          metadata: { generateName: eventNamePrefix(meta.name), namespace: meta.namespace },
          eventTime: microTime(),
          reportingController: REPORTING_CONTROLLER,
          reportingInstance: this.#instance,
          action: event.action,
          reason: event.reason,
          type: event.type,
          note: event.note.slice(0, 1024),
          regarding: {
            apiVersion: event.regarding.apiVersion,
            kind: event.regarding.kind,
            name: meta.name,
            namespace: meta.namespace,
            ...(meta.uid ? { uid: meta.uid } : {}),
            ...(meta.resourceVersion ? { resourceVersion: meta.resourceVersion } : {}),
          },
        },
        signal: call?.signal,
      },
      // The Event as stored is of no use to the operator.
      { discard: true },
    );
  }
}
