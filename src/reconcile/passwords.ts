// Passwords come from Secrets in the resource's own namespace. MemoryDB's rules for them, and
// their resolution, are pure: the reconciler fetches the Secrets, this decides what they mean.

import { randomInt } from "node:crypto";
import type { SecretData } from "../kube/api.ts";
import type { LabelSelector } from "../kube/label-selector.ts";
import type { PasswordSource, SecretKeyRef } from "../model.ts";
import { Redacted } from "../redacted.ts";

/** MemoryDB's password rules (docs/aws-api.md), checked before any call so the message can be precise. */
export const PASSWORD_MIN = 16;

export const PASSWORD_MAX = 128;

/** Printable ASCII, without the characters MemoryDB refuses: , " / @ (space is not printable here). */
const PASSWORD_CHARACTER = /^[!#-+\--.0-?A-~]$/;

/** Every character PASSWORD_CHARACTER allows: what generated passwords are drawn from. */
const ALPHABET = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).filter((c) => PASSWORD_CHARACTER.test(c));

export const GENERATED_LENGTH = 32;

/** A new password: 32 characters drawn uniformly from MemoryDB's alphabet by the CSPRNG (randomInt rejects biased draws). */
export function generatePassword(): Redacted {
  return new Redacted(Array.from({ length: GENERATED_LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]!).join(""));
}

/** Where a password comes from, for messages. */
export function where(ref: SecretKeyRef): string {
  return `the password in Secret "${ref.name}" key "${ref.key}"`;
}

/**
 * A problem with a password's value, described without echoing it, nor its exact length (a
 * tenant who may not read the Secret must not learn it through the operator).
 */
export function passwordProblem(ref: SecretKeyRef, password: Redacted): string | undefined {
  const value = password.reveal();
  const rule = `MemoryDB needs ${PASSWORD_MIN}-${PASSWORD_MAX} printable ASCII characters other than , " / @`;
  if (password.length < PASSWORD_MIN) return `${where(ref)} is shorter than ${PASSWORD_MIN} characters; ${rule}`;
  if (password.length > PASSWORD_MAX) return `${where(ref)} is longer than ${PASSWORD_MAX} characters; ${rule}`;
  if (/\r?\n$/.test(value)) {
    return `${where(ref)} ends with a line break (as "echo" adds: use "echo -n", or kubectl create secret --from-literal); ${rule}`;
  }
  if (![...value].every((c) => PASSWORD_CHARACTER.test(c))) return `${where(ref)} contains a character MemoryDB does not allow; ${rule}`;
  return undefined;
}

export type PasswordResolution =
  | { ok: true; passwords: Redacted[] }
  | { ok: false; reason: "SecretNotFound" | "InvalidPassword"; message: string };

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * `secrets` maps each referenced Secret name to its data, or undefined when it is absent. With a
 * `selector` (--secret-label-selector) a Secret it does not match is treated as absent, and
 * told apart from one that is not there by nothing: no Secret is revealed to exist.
 */
export function resolvePasswords(
  namespace: string,
  refs: readonly SecretKeyRef[],
  secrets: ReadonlyMap<string, SecretData | undefined>,
  selector?: LabelSelector,
): PasswordResolution {
  const passwords: Redacted[] = [];
  for (const ref of refs) {
    const secret = secrets.get(ref.name);
    if (secret === undefined || (selector && !selector.matches(secret.labels))) {
      const only = selector ? ` (only Secrets labelled ${selector.text} may hold passwords)` : "";
      return { ok: false, reason: "SecretNotFound", message: `Secret "${ref.name}" not found in namespace "${namespace}"${only}` };
    }
    const encoded = secret.data[ref.key];
    if (encoded === undefined) {
      return { ok: false, reason: "SecretNotFound", message: `Secret "${ref.name}" in namespace "${namespace}" has no key "${ref.key}"` };
    }
    const password = decodeSecretValue(encoded);
    if (!password) return { ok: false, reason: "InvalidPassword", message: `${where(ref)} is not valid UTF-8 text` };
    const problem = passwordProblem(ref, password);
    if (problem) return { ok: false, reason: "InvalidPassword", message: problem };
    if (passwords.some((p) => p.reveal() === password.reveal())) {
      return { ok: false, reason: "InvalidPassword", message: "the two passwords are identical; use two different passwords, or one" };
    }
    passwords.push(password);
  }
  return { ok: true, passwords };
}

/**
 * A Secret value (base64, as the API returns it) as text; undefined if it is not UTF-8. Strict:
 * invalid bytes would silently become U+FFFD, and two different Secrets one password.
 */
function decodeSecretValue(encoded: string): Redacted | undefined {
  try {
    return new Redacted(utf8.decode(Buffer.from(encoded, "base64")));
  } catch {
    return undefined;
  }
}

/** The Secret versions the desired passwords come from. */
export function passwordSources(refs: readonly SecretKeyRef[], versions: ReadonlyMap<string, string | undefined>): PasswordSource[] {
  return refs.map((r) => ({ name: r.name, key: r.key, resourceVersion: versions.get(r.name) ?? "" }));
}

export function sameSources(a: readonly PasswordSource[] | undefined, b: readonly PasswordSource[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return (
    x.length === y.length && x.every((s, i) => s.name === y[i]?.name && s.key === y[i]?.key && s.resourceVersion === y[i]?.resourceVersion)
  );
}

/**
 * What a terminal failure was decided on: the spec's generation and the referenced Secrets'
 * resourceVersions (undefined: absent). Retrying is pointless until this changes. Holds no
 * secret material.
 */
export function inputsFingerprint(generation: number | undefined, secretVersions: ReadonlyMap<string, string | undefined>): string {
  const versions = [...secretVersions].sort(([a], [b]) => a.localeCompare(b)).map(([name, rv]) => `${name}@${rv ?? "-"}`);
  return `${generation ?? 0};${versions.join(",")}`;
}
