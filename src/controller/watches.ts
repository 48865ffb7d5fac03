// What a controller watches and when an update of it needs a reconcile: named predicates, and
// field indexes from a value (a Secret, a user name) to the keys of the resources using it.
import type { KubeObject } from "../kube/reflector.ts";

/** Whether a watch update (`old` undefined: the object is new) needs a reconcile. */
export type Predicate<T> = (old: T | undefined, obj: T) => boolean;

interface Meta {
  metadata?: {
    generation?: number | undefined;
    deletionTimestamp?: string | undefined;
    labels?: Record<string, string> | undefined;
    annotations?: Record<string, string> | undefined;
    finalizers?: string[] | undefined;
    resourceVersion?: string | undefined;
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? {}) === JSON.stringify(b ?? {});

export const predicates = {
  created: ((old) => old === undefined) as Predicate<Meta>,
  /** The spec changed (for custom resources, generation moves only then). */
  generationChanged: ((old, obj) => old?.metadata?.generation !== obj.metadata?.generation) as Predicate<Meta>,
  deletionStarted: ((old, obj) => old?.metadata?.deletionTimestamp !== obj.metadata?.deletionTimestamp) as Predicate<Meta>,
  labelsChanged: ((old, obj) => !same(old?.metadata?.labels, obj.metadata?.labels)) as Predicate<Meta>,
  annotationsChanged: ((old, obj) => !same(old?.metadata?.annotations, obj.metadata?.annotations)) as Predicate<Meta>,
  resourceVersionChanged: ((old, obj) => old?.metadata?.resourceVersion !== obj.metadata?.resourceVersion) as Predicate<Meta>,
  /** A live object lacks the finalizer (someone removed it): put it back before a deletion. */
  finalizerMissing:
    (name: string): Predicate<Meta> =>
    (_old, obj) =>
      !obj.metadata?.deletionTimestamp && !(obj.metadata?.finalizers ?? []).includes(name),
};

export function anyOf<T>(...ps: Predicate<T>[]): Predicate<T> {
  return (old, obj) => ps.some((p) => p(old, obj));
}

/** A many-to-many index from a field's values to the keys of the objects that have them. */
export class FieldIndex<T extends KubeObject> {
  readonly #extract: (obj: T) => string[];
  readonly #byValue = new Map<string, Set<string>>();
  readonly #byKey = new Map<string, string[]>();

  constructor(extract: (obj: T) => string[]) {
    this.#extract = extract;
  }

  set(key: string, obj: T): void {
    const values = this.#extract(obj);
    // Most updates (a status write) leave the values as they were.
    const before = this.#byKey.get(key);
    if (before && before.length === values.length && before.every((v, i) => v === values[i])) return;
    this.delete(key);
    this.#byKey.set(key, values);
    for (const v of values) {
      const keys = this.#byValue.get(v) ?? new Set<string>();
      this.#byValue.set(v, keys);
      keys.add(key);
    }
  }

  delete(key: string): void {
    for (const v of this.#byKey.get(key) ?? []) {
      const keys = this.#byValue.get(v);
      keys?.delete(key);
      if (keys?.size === 0) this.#byValue.delete(v);
    }
    this.#byKey.delete(key);
  }

  /** The keys of the objects whose field has `value`. */
  keysFor(value: string): string[] {
    return [...(this.#byValue.get(value) ?? [])];
  }

  /** The values `obj` is indexed under. */
  valuesOf(obj: T): string[] {
    return this.#extract(obj);
  }
}
