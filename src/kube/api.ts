// Kubernetes access: the reads and writes the operator makes, typed in its own terms.
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  V1MicroTime,
} from "@kubernetes/client-node";
import { GROUP, type MemoryDBUser, type MemoryDBUserStatus, PLURAL, VERSION } from "../model.ts";
import type { JsonPatchOp } from "./finalizer.ts";

/** HTTP status of a failed Kubernetes call, if it got an answer. */
export function httpStatus(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** A Kubernetes API error reduced to status and the server's message (no request dump). */
export class KubeError extends Error {
  override name = "KubeError";
  readonly status: number | undefined;
  constructor(what: string, err: unknown) {
    const status = httpStatus(err);
    super(`${what}: ${status === undefined ? (err as Error)?.message ?? String(err) : `HTTP ${status}: ${serverMessage(err)}`}`);
    this.status = status;
  }
}

function serverMessage(err: unknown): string {
  if (!(err instanceof ApiException)) return String(err);
  try {
    const body = typeof err.body === "string" ? JSON.parse(err.body) : err.body;
    if (body && typeof body.message === "string") return body.message;
  } catch {
    // not a Status object
  }
  return `${err.code}`;
}

export interface SecretData {
  resourceVersion: string;
  /** Values base64-encoded, as the API returns them. */
  data: Record<string, string>;
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

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);

/** Ask for metadata only: the operator never holds the cluster's Secret values in memory. */
export const METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
const metadataOnly = setHeaderOptions("Accept", METADATA_ONLY);

/** A Secret as seen by the metadata-only watch. */
export interface SecretMeta {
  metadata: { name: string; namespace: string; resourceVersion?: string; uid?: string };
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
  async listUsers(namespace: string | undefined, continueToken: string | undefined): Promise<ListPage<MemoryDBUser>> {
    const common = { group: GROUP, version: VERSION, plural: PLURAL, limit: 500, ...(continueToken ? { _continue: continueToken } : {}) };
    try {
      const list = (
        namespace === undefined
          ? await this.#custom.listClusterCustomObject(common)
          : await this.#custom.listNamespacedCustomObject({ ...common, namespace })
      ) as { items: MemoryDBUser[]; metadata: { resourceVersion: string; continue?: string } };
      return { items: list.items, resourceVersion: list.metadata.resourceVersion, continueToken: list.metadata.continue || undefined };
    } catch (err) {
      throw new KubeError(`list MemoryDBUsers${namespace ? ` in ${namespace}` : ""}`, err);
    }
  }

  /** Merge-patch the status subresource; answers the updated object, undefined if it is gone. */
  async patchUserStatus(namespace: string, name: string, status: MemoryDBUserStatus): Promise<MemoryDBUser | undefined> {
    try {
      return (await this.#custom.patchNamespacedCustomObjectStatus(
        { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body: { status } },
        mergePatch,
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
  async patchUserMetadata(namespace: string, name: string, patch: JsonPatchOp[]): Promise<MemoryDBUser | undefined> {
    try {
      return (await this.#custom.patchNamespacedCustomObject(
        { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body: patch },
        jsonPatch,
      )) as MemoryDBUser;
    } catch (err) {
      if (httpStatus(err) === 404) return undefined;
      throw new KubeError(`patch MemoryDBUser ${namespace}/${name}`, err);
    }
  }

  /** One page of Secrets' metadata (never their data). */
  async listSecretsMetadata(namespace: string | undefined, continueToken: string | undefined): Promise<ListPage<SecretMeta>> {
    const common = { limit: 500, ...(continueToken ? { _continue: continueToken } : {}) };
    try {
      const list =
        namespace === undefined
          ? await this.#core.listSecretForAllNamespaces(common, metadataOnly)
          : await this.#core.listNamespacedSecret({ ...common, namespace }, metadataOnly);
      return {
        items: list.items.map((s) => ({
          metadata: { name: s.metadata?.name ?? "", namespace: s.metadata?.namespace ?? "", resourceVersion: s.metadata?.resourceVersion ?? "" },
        })),
        resourceVersion: list.metadata?.resourceVersion ?? "",
        continueToken: list.metadata?._continue || undefined,
      };
    } catch (err) {
      throw new KubeError(`list Secrets${namespace ? ` in ${namespace}` : ""}`, err);
    }
  }

  async readSecret(namespace: string, name: string): Promise<SecretData | undefined> {
    try {
      const secret = await this.#core.readNamespacedSecret({ namespace, name });
      return { resourceVersion: secret.metadata?.resourceVersion ?? "", data: secret.data ?? {} };
    } catch (err) {
      if (httpStatus(err) === 404) return undefined;
      throw new KubeError(`read Secret ${namespace}/${name}`, err);
    }
  }

  async namespaceUid(name: string): Promise<string> {
    try {
      const ns = await this.#core.readNamespace({ name });
      if (!ns.metadata?.uid) throw new Error("the namespace has no uid");
      return ns.metadata.uid;
    } catch (err) {
      throw new KubeError(`read namespace ${name}`, err);
    }
  }

  async createEvent(event: EventInput): Promise<void> {
    const meta = event.regarding.metadata;
    try {
      await this.#events.createNamespacedEvent({
        namespace: meta.namespace,
        body: {
          apiVersion: "events.k8s.io/v1",
          kind: "Event",
          metadata: { generateName: `${meta.name}.`, namespace: meta.namespace },
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
      });
    } catch (err) {
      throw new KubeError(`create Event for ${meta.namespace}/${meta.name}`, err);
    }
  }
}
