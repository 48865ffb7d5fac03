// The objects the suite applies, as plain objects dumped to YAML for `kubectl apply -f -`.
// Every one carries the run label, so a run's leftovers can always be found.
import { API_VERSION, RUN_LABEL } from "./kube.ts";

export interface PasswordRef {
  secret: string;
  key: string;
}

export interface UserSpec {
  userName: string;
  accessString: string;
  /** Always explicit: the operator's --default-deletion-policy may be Retain. */
  deletionPolicy: "Delete" | "Retain";
  type?: "password" | "iam";
  passwords?: PasswordRef[];
  /** Instead of passwords: the operator generates one into this Secret. */
  generate?: { secretName: string; overlap: string };
  tags?: Record<string, string>;
  adoptExisting?: boolean;
}

const labels = (prefix: string) => ({ "app.kubernetes.io/managed-by": "memorydb-user-operator-e2e", [RUN_LABEL]: prefix });

export function namespaceManifest(name: string, prefix: string): object {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name, labels: labels(prefix) } };
}

/** A Secret whose values go in `data`, base64-encoded (no plain value in kubectl's annotation). */
export function secretManifest(
  namespace: string,
  name: string,
  prefix: string,
  values: Record<string, string>,
  extraLabels: Record<string, string> = {},
): object {
  const data = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v, "utf8").toString("base64")]));
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace, labels: { ...extraLabels, ...labels(prefix) } },
    type: "Opaque",
    data,
  };
}

export function userManifest(namespace: string, name: string, prefix: string, spec: UserSpec): object {
  const type = spec.type ?? "password";
  return {
    apiVersion: API_VERSION,
    kind: "MemoryDBUser",
    metadata: { name, namespace, labels: labels(prefix) },
    spec: {
      userName: spec.userName,
      accessString: spec.accessString,
      deletionPolicy: spec.deletionPolicy,
      ...(spec.adoptExisting === undefined ? {} : { adoptExisting: spec.adoptExisting }),
      authenticationMode: {
        type,
        ...(type === "password" && spec.generate ? { generatePassword: spec.generate } : {}),
        ...(type === "password" && !spec.generate
          ? { passwords: (spec.passwords ?? []).map((p) => ({ secretKeyRef: { name: p.secret, key: p.key } })) }
          : {}),
      },
      ...(spec.tags === undefined ? {} : { tags: spec.tags }),
    },
  };
}
