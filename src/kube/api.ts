// Kubernetes access: the reads and writes the operator makes, typed in its own terms.
import {
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  type KubeConfig,
  PatchStrategy,
  V1MicroTime,
  type V1Secret,
} from "@kubernetes/client-node";
import { GROUP, type MemoryDBUser, type MemoryDBUserStatus, PLURAL, VERSION } from "../model.ts";
import type { JsonPatchOp } from "./finalizer.ts";
import { type CallOptions, httpStatus, KubeError, type MergePatch, requestOptions } from "./request.ts";

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

/** A Secret as seen by the metadata-only watch. */
/** A ConfigMap's name, version and data (the accounts mapping). */
export interface ConfigMapData {
  metadata: { name: string; namespace: string; resourceVersion: string };
  data: Record<string, string>;
}

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

function secretData(secret: V1Secret): SecretData {
  const meta = secret.metadata;
  return {
    resourceVersion: meta?.resourceVersion ?? "",
    labels: meta?.labels ?? {},
    annotations: meta?.annotations ?? {},
    ownerReferences: meta?.ownerReferences ?? [],
    data: secret.data ?? {},
  };
}

export class KubeApi {
  readonly kc: KubeConfig;
  readonly #core: CoreV1Api;
  readonly #custom: CustomObjectsApi;
  readonly #events: EventsV1Api;
  readonly #instance: string;

  constructor(kc: KubeConfig, reportingInstance: string) {
    this.kc = kc;
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#custom = kc.makeApiClient(CustomObjectsApi);
    this.#events = kc.makeApiClient(EventsV1Api);
    this.#instance = reportingInstance;
  }

  /** One page of MemoryDBUsers, in one namespace or (namespace undefined) all of them. */
  async listUsers(namespace: string | undefined, continueToken: string | undefined, call?: CallOptions): Promise<ListPage<MemoryDBUser>> {
    const common = { group: GROUP, version: VERSION, plural: PLURAL, limit: 500, ...(continueToken ? { _continue: continueToken } : {}) };
    try {
      const list = (
        namespace === undefined
          ? await this.#custom.listClusterCustomObject(common, requestOptions(call))
          : await this.#custom.listNamespacedCustomObject({ ...common, namespace }, requestOptions(call))
      ) as { items: MemoryDBUser[] | null; metadata: { resourceVersion: string; continue?: string } };
      // Go serialises an empty list's items as null.
      return {
        items: list.items ?? [],
        resourceVersion: list.metadata.resourceVersion,
        continueToken: list.metadata.continue || undefined,
      };
    } catch (err) {
      throw new KubeError(`list MemoryDBUsers${namespace ? ` in ${namespace}` : ""}`, err);
    }
  }

  /** Merge-patch the status subresource; answers the updated object, undefined if it is gone. */
  async patchUserStatus(
    namespace: string,
    name: string,
    status: MergePatch<MemoryDBUserStatus>,
    call?: CallOptions,
  ): Promise<MemoryDBUser | undefined> {
    try {
      return (await this.#custom.patchNamespacedCustomObjectStatus(
        { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body: { status } },
        requestOptions(call, ["Content-Type", PatchStrategy.MergePatch]),
      )) as MemoryDBUser;
    } catch (err) {
      if (httpStatus(err) === 404) return undefined;
      throw new KubeError(`patch status of MemoryDBUser ${namespace}/${name}`, err);
    }
  }

  /**
   * JSON-patch the resource's metadata (finalizers). Answers the updated object; undefined if
   * it is gone. A failed `test` op (someone else changed the list) surfaces as a KubeError 422.
   */
  async patchUserMetadata(namespace: string, name: string, patch: JsonPatchOp[], call?: CallOptions): Promise<MemoryDBUser | undefined> {
    try {
      return (await this.#custom.patchNamespacedCustomObject(
        { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body: patch },
        requestOptions(call, ["Content-Type", PatchStrategy.JsonPatch]),
      )) as MemoryDBUser;
    } catch (err) {
      if (httpStatus(err) === 404) return undefined;
      // The patches here are guarded by `test` ops: a 422 is the list having changed.
      throw new KubeError(`patch MemoryDBUser ${namespace}/${name}`, err, { testFailed: true });
    }
  }

  /** One page of Secrets' metadata (never their data), of those matching `labelSelector` if given. */
  /**
   * One ConfigMap, as a list of at most one item: a list (and watch) with the field selector
   * metadata.name=<name> is what RBAC's resourceNames allows for list and watch.
   */
  async listConfigMap(namespace: string, name: string, call?: CallOptions): Promise<ListPage<ConfigMapData>> {
    try {
      const list = await this.#core.listNamespacedConfigMap({ namespace, fieldSelector: `metadata.name=${name}` }, requestOptions(call));
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
    } catch (err) {
      throw new KubeError(`list ConfigMap ${namespace}/${name}`, err);
    }
  }

  async listSecretsMetadata(
    namespace: string | undefined,
    continueToken: string | undefined,
    call?: CallOptions,
    labelSelector?: string,
  ): Promise<ListPage<SecretMeta>> {
    const common = { limit: 500, ...(continueToken ? { _continue: continueToken } : {}), ...(labelSelector ? { labelSelector } : {}) };
    const options = requestOptions(call, ["Accept", METADATA_ONLY_LIST]);
    try {
      const list =
        namespace === undefined
          ? await this.#core.listSecretForAllNamespaces(common, options)
          : await this.#core.listNamespacedSecret({ ...common, namespace }, options);
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
        continueToken: list.metadata?._continue || undefined,
      };
    } catch (err) {
      throw new KubeError(`list Secrets${namespace ? ` in ${namespace}` : ""}`, err);
    }
  }

  async readSecret(namespace: string, name: string, call?: CallOptions): Promise<SecretData | undefined> {
    try {
      return secretData(await this.#core.readNamespacedSecret({ namespace, name }, requestOptions(call)));
    } catch (err) {
      if (httpStatus(err) === 404) return undefined;
      throw new KubeError(`read Secret ${namespace}/${name}`, err);
    }
  }

  /** Creates a Secret; resolves to undefined when one of that name exists already. */
  async createSecret(namespace: string, name: string, secret: NewSecret, call?: CallOptions): Promise<SecretData | undefined> {
    const { data, labels, annotations, ownerReferences } = secret;
    try {
      const created = await this.#core.createNamespacedSecret(
        {
          namespace,
          body: {
            metadata: { name, namespace, labels, annotations, ...(ownerReferences ? { ownerReferences } : {}) },
            type: "Opaque",
            data,
          },
        },
        requestOptions(call),
      );
      return secretData(created);
    } catch (err) {
      if (httpStatus(err) === 409) return undefined;
      throw new KubeError(`create Secret ${namespace}/${name}`, err);
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
        await this.#core.patchNamespacedSecret({ namespace, name, body }, requestOptions(call, ["Content-Type", PatchStrategy.MergePatch])),
      );
    } catch (err) {
      if (httpStatus(err) === 404) return undefined;
      throw new KubeError(`patch Secret ${namespace}/${name}`, err);
    }
  }

  async namespaceUid(name: string, call?: CallOptions): Promise<string> {
    try {
      const ns = await this.#core.readNamespace({ name }, requestOptions(call));
      if (!ns.metadata?.uid) throw new Error("the namespace has no uid");
      return ns.metadata.uid;
    } catch (err) {
      throw new KubeError(`read namespace ${name}`, err);
    }
  }

  async createEvent(event: EventInput, call?: CallOptions): Promise<void> {
    const meta = event.regarding.metadata;
    try {
      await this.#events.createNamespacedEvent(
        {
          namespace: meta.namespace,
          body: {
            apiVersion: "events.k8s.io/v1",
            kind: "Event",
            metadata: { generateName: eventNamePrefix(meta.name), namespace: meta.namespace },
            eventTime: new V1MicroTime(),
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
        },
        requestOptions(call),
      );
    } catch (err) {
      throw new KubeError(`create Event for ${meta.namespace}/${meta.name}`, err);
    }
  }
}
