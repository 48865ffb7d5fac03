// Passwords come from Secrets in the resource's own namespace. Resolution is pure: the
// reconciler fetches the Secrets, this decides what they mean.
import type { SecretKeyRef } from "../model.ts";
import type { SecretData } from "../kube/api.ts";
import { Redacted } from "../redacted.ts";
import type { LabelSelector } from "../kube/label-selector.ts";
import { passwordProblem, where } from "./decide.ts";

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
    let text: string;
    try {
      // Strict: invalid bytes would silently become U+FFFD, and two different Secrets one password.
      text = utf8.decode(Buffer.from(encoded, "base64"));
    } catch {
      return { ok: false, reason: "InvalidPassword", message: `${where(ref)} is not valid UTF-8 text` };
    }
    const password = new Redacted(text);
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
 * What a terminal failure was decided on: the spec's generation and the referenced Secrets'
 * resourceVersions (undefined: absent). Retrying is pointless until this changes. Holds no
 * secret material.
 */
export function inputsFingerprint(generation: number | undefined, secretVersions: ReadonlyMap<string, string | undefined>): string {
  const versions = [...secretVersions].sort(([a], [b]) => a.localeCompare(b)).map(([name, rv]) => `${name}@${rv ?? "-"}`);
  return `${generation ?? 0};${versions.join(",")}`;
}
