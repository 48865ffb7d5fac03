// Password verifiers: what lets the operator know, across restarts, which passwords MemoryDB
// holds without keeping a password anywhere. A verifier is a keyed HMAC of one password, bound
// to the resource and the Secret key it came from; the key lives in a Secret the operator owns,
// so the status (readable by tenants) gives nothing to brute-force or compare across users.
import { createHmac, createSecretKey, type KeyObject } from "node:crypto";
import type { PasswordSource, PendingPasswords, SecretKeyRef } from "../model.ts";
import type { Redacted } from "../redacted.ts";

export class PasswordVerifier {
  /** A KeyObject, made once: a raw key would be imported again for every HMAC. */
  readonly #key: KeyObject;
  /** Names the key, so that verifiers made with another key are told apart from changed passwords. */
  readonly keyId: string;

  constructor(key: Buffer) {
    this.#key = createSecretKey(key);
    this.keyId = createHmac("sha256", key).update("memorydb-user-operator key id").digest("hex").slice(0, 8);
  }

  /** `<key id>:<hmac>` of the password, for this resource (UID) and Secret key. */
  of(uid: string, ref: SecretKeyRef, password: Redacted): string {
    const mac = createHmac("sha256", this.#key)
      .update(["v1", uid, ref.name, ref.key, password.reveal()].map((part) => `${part.length}:${part}`).join("|"))
      .digest("hex");
    return `${this.keyId}:${mac}`;
  }

  /**
   * A generated password's verifier, bound to the resource and its generated Secret but not to
   * the key: a rotation moves passwords between keys (pending-password → password →
   * previous-password) while MemoryDB holds the same ones. (A key is never empty, so these never
   * equal a referenced password's.)
   */
  ofGenerated(uid: string, secretName: string, password: Redacted): string {
    return this.of(uid, { name: secretName, key: "" }, password);
  }
}

/** What the operator can know about the passwords MemoryDB holds for a resource. */
export type PasswordKnowledge =
  /** MemoryDB holds exactly the Secrets' passwords (by verifier, or by unchanged Secret versions). */
  | { state: "same" }
  /** They differ from what was applied; `rotated` when a kept entry's value changed. */
  | { state: "changed"; rotated: boolean }
  /**
   * The operator was interrupted while sending exactly these with UpdateUser (recorded as
   * pending): MemoryDB may or may not hold them, and cannot say. The one window where a
   * password is sent twice.
   */
  | { state: "uncertain"; rotated: boolean }
  /**
   * The operator sent exactly these with CreateUser and did not see the answer: if the user
   * exists and carries this resource's ownership tag, CreateUser took them.
   */
  | { state: "created" }
  /** Nothing applied is known (adoption, a status from before verifiers, another key). */
  | { state: "unknown" };

const refKey = (s: { name: string; key: string }) => `${s.name}/${s.key}`;

/** The same Secret keys in the same order, each with the same verifier. */
export function sameVerifiers(current: readonly PasswordSource[], recorded: readonly PasswordSource[] | undefined): boolean {
  return (
    recorded !== undefined &&
    recorded.length === current.length &&
    current.every((c, i) => refKey(c) === refKey(recorded[i]!) && c.verifier !== undefined && c.verifier === recorded[i]!.verifier)
  );
}

/**
 * Compares the Secrets' passwords now (`current`, with verifiers) with those applied
 * (`applied`) and those whose sending was interrupted (`pending`). An entry whose Secret
 * version did not move holds the value applied; one whose version moved is compared by verifier
 * (a label edit, or a change of another key, moves the version but not the value).
 */
export function passwordKnowledge(
  current: readonly PasswordSource[],
  applied: readonly PasswordSource[] | undefined,
  pending: PendingPasswords | undefined,
  keyId: string,
): PasswordKnowledge {
  type Entry = "same" | "added" | "rotated" | "unknown";
  const entries: Entry[] = current.map((c) => {
    const before = applied?.find((a) => refKey(a) === refKey(c));
    if (!before) return applied === undefined ? "unknown" : "added";
    if (before.resourceVersion === c.resourceVersion) return "same";
    if (!before.verifier?.startsWith(`${keyId}:`)) return "unknown";
    return before.verifier === c.verifier ? "same" : "rotated";
  });
  const removed = (applied ?? []).some((a) => !current.some((c) => refKey(c) === refKey(a)));
  if (!removed && entries.every((e) => e === "same")) return { state: "same" };
  const rotated = entries.includes("rotated");
  if (pending && sameVerifiers(current, pending.secrets))
    return pending.operation === "CreateUser" ? { state: "created" } : { state: "uncertain", rotated };
  return entries.includes("unknown") ? { state: "unknown" } : { state: "changed", rotated };
}

/**
 * passwordKnowledge for generated passwords: MemoryDB holds a set of passwords, whichever keys
 * of the generated Secret hold them now, so verifiers (ofGenerated) are compared as sets.
 */
export function generatedPasswordKnowledge(
  current: readonly PasswordSource[],
  applied: readonly PasswordSource[] | undefined,
  pending: PendingPasswords | undefined,
  keyId: string,
): PasswordKnowledge {
  const set = (sources: readonly PasswordSource[]) => [...new Set(sources.map((s) => s.verifier ?? ""))].sort().join(",");
  const known = (sources: readonly PasswordSource[] | undefined) => sources?.every((s) => s.verifier?.startsWith(`${keyId}:`)) ?? false;
  if (known(applied) && set(applied!) === set(current)) return { state: "same" };
  if (pending && known(pending.secrets) && set(pending.secrets) === set(current))
    return pending.operation === "CreateUser" ? { state: "created" } : { state: "uncertain", rotated: false };
  return known(applied) ? { state: "changed", rotated: false } : { state: "unknown" };
}
