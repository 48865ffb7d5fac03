// The generated password's rotation, as plain functions: what the generated Secret holds, which
// of its passwords MemoryDB should hold, the next step of a rotation and when it falls due.
//
// A rotation takes four steps, each one write (generated.ts makes them, one per reconcile):
//   1. start:    the new password goes into the Secret first (`pending-password`);
//   2. (sync)    UpdateUser with both the old and the new password;
//   3. promote:  once MemoryDB holds both and the user is active, `password` becomes the new one,
//                `previous-password` the old one;
//   4. (sync)    after `overlap`, UpdateUser with the new password alone; then the Secret's
//      drop:     `previous-password` goes.
// The Secret's `password` is accepted by MemoryDB throughout, and MemoryDB never holds a password
// the Secret does not: the Secret is written before MemoryDB takes a password, and a password
// leaves the Secret only after MemoryDB let it go.
import { UNITS } from "../config-values.ts";
import type { GeneratePassword, PasswordRotationStatus, RotationPhase } from "../model.ts";
import { GROUP } from "../model.ts";

/** The generated Secret's keys. */
export const KEYS = {
  username: "username",
  password: "password",
  pending: "pending-password",
  previous: "previous-password",
} as const;

/**
 * Annotations of the generated Secret. They are written in the same write as the data they
 * describe, so that every step is one atomic write; the status mirrors them.
 */
export const SECRET_ANNOTATIONS = {
  /** The UID of the MemoryDBUser the operator generated the Secret for. */
  owner: `${GROUP}/generated-for`,
  /** When `password` got its current value (RFC 3339). */
  rotatedAt: `${GROUP}/password-rotated-at`,
  /** The rotate-password annotation's value the last rotation was started for. */
  request: `${GROUP}/rotation-request`,
} as const;

const MIN_ROTATE_EVERY_MS = 10_000;
const MIN_OVERLAP_MS = 1000;
const DEFAULT_OVERLAP = "1h";

/** The spec's generatePassword, read. */
export interface RotationSettings {
  secretName: string;
  rotateEveryMs: number | undefined;
  overlapMs: number;
  /** Why the spec cannot be used (the API server enforces the same rules where it runs CEL). */
  problem: string | undefined;
}

const DURATION = /^([0-9]+(h|ms|m|s))+$/;

/** A duration as the CRD allows it (`720h`, `1h30m`, `500ms`), in ms; undefined if malformed. */
export function specDuration(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  return [...text.matchAll(/([0-9]+)(h|ms|m|s)/g)].reduce((ms, m) => ms + Number(m[1]) * UNITS[m[2]!]!, 0);
}

export function rotationSettings(spec: GeneratePassword): RotationSettings {
  const rotateEveryMs = spec.rotateEvery === undefined ? undefined : specDuration(spec.rotateEvery);
  const overlapMs = specDuration(spec.overlap ?? DEFAULT_OVERLAP);
  const problem =
    spec.rotateEvery !== undefined && rotateEveryMs === undefined
      ? "generatePassword.rotateEvery must be a duration such as 720h or 1h30m (units h, m, s, ms)"
      : overlapMs === undefined
        ? "generatePassword.overlap must be a duration such as 1h or 15m (units h, m, s, ms)"
        : rotateEveryMs !== undefined && rotateEveryMs < MIN_ROTATE_EVERY_MS
          ? "generatePassword.rotateEvery must be at least 10s"
          : overlapMs < MIN_OVERLAP_MS
            ? "generatePassword.overlap must be at least 1s"
            : rotateEveryMs !== undefined && rotateEveryMs <= overlapMs
              ? "generatePassword.rotateEvery must be longer than generatePassword.overlap (default 1h): a rotation cannot start while the previous password is still accepted"
              : undefined;
  return { secretName: spec.secretName, rotateEveryMs, overlapMs: overlapMs ?? 0, problem };
}

/** What the generated Secret holds, as the rotation sees it (which keys, never their values). */
export interface GeneratedState {
  password: boolean;
  pending: boolean;
  previous: boolean;
  /** When `password` got its value (ms since the epoch), if the Secret says so believably. */
  rotatedAt: number | undefined;
  /** The rotation request the last rotation was started for. */
  request: string | undefined;
}

/** A time the Secret's annotation gives: a clock may be a little ahead, a time far ahead is not believed. */
export function believableTime(text: string | undefined, now: number): number | undefined {
  const at = Date.parse(text ?? "");
  return Number.isFinite(at) && at <= now + 60_000 ? Math.min(at, now) : undefined;
}

function phaseOf(state: GeneratedState): RotationPhase {
  return state.pending ? "Rotating" : state.previous ? "Overlap" : "Stable";
}

function overlapOver(state: GeneratedState, settings: RotationSettings, now: number): boolean {
  return state.rotatedAt !== undefined && now >= state.rotatedAt + settings.overlapMs;
}

/** The Secret keys whose passwords MemoryDB should hold now. */
export function desiredKeys(state: GeneratedState, settings: RotationSettings, now: number): string[] {
  if (state.pending) return [KEYS.password, KEYS.pending];
  if (state.previous && !overlapOver(state, settings, now)) return [KEYS.password, KEYS.previous];
  return [KEYS.password];
}

/** A rotation was asked for with a value of the annotation not acted upon yet. */
function requested(request: string | undefined, lastActedUpon: string | undefined): boolean {
  return request !== undefined && request !== lastActedUpon;
}

/** What MemoryDB is known to hold after this reconcile's sync. */
export interface Synced {
  /** Exactly the passwords of desiredKeys. */
  held: boolean;
  /** The user is active: every node of its clusters has what it holds. */
  ready: boolean;
}

export type SecretStep = "start" | "promote" | "drop";

/** The Secret's next step, once MemoryDB holds what the Secret's keys say it should. */
export function nextSecretStep(
  state: GeneratedState,
  settings: RotationSettings,
  now: number,
  request: string | undefined,
  synced: Synced,
): SecretStep | undefined {
  if (!synced.held || state.rotatedAt === undefined) return undefined;
  // The new password becomes `password` only once every node accepts it.
  if (state.pending) return synced.ready ? "promote" : undefined;
  // MemoryDB let the previous password go (desiredKeys stopped naming it at the end of the overlap).
  if (state.previous) return overlapOver(state, settings, now) ? "drop" : undefined;
  const due = settings.rotateEveryMs !== undefined && now >= state.rotatedAt + settings.rotateEveryMs;
  return synced.ready && (due || requested(request, state.request)) ? "start" : undefined;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The status that describes the Secret's state. */
export function rotationStatus(state: GeneratedState, settings: RotationSettings): PasswordRotationStatus {
  const phase = phaseOf(state);
  const at = state.rotatedAt;
  return {
    phase,
    ...(at === undefined ? {} : { lastRotationTime: iso(at) }),
    ...(at === undefined || settings.rotateEveryMs === undefined ? {} : { nextRotationTime: iso(at + settings.rotateEveryMs) }),
    ...(at === undefined || phase !== "Overlap" ? {} : { overlapEndTime: iso(at + settings.overlapMs) }),
    ...(state.request === undefined ? {} : { lastRotationRequest: state.request }),
  };
}

/**
 * How long until the rotation has a step to take, from the status alone (0: now; undefined:
 * never, unless asked): what schedules the next reconcile, and lets a resync that finds
 * everything in sync read nothing.
 */
export function nextStepIn(status: PasswordRotationStatus | undefined, request: string | undefined, now: number): number | undefined {
  if (status === undefined || status.phase === "Rotating") return 0;
  if (status.phase === "Stable" && requested(request, status.lastRotationRequest)) return 0;
  const times = [status.phase === "Overlap" ? status.overlapEndTime : undefined, status.nextRotationTime]
    .map((t) => Date.parse(t ?? ""))
    .filter((t) => Number.isFinite(t));
  // An overlap whose end the status lost: look now.
  if (status.phase === "Overlap" && status.overlapEndTime === undefined) return 0;
  return times.length === 0 ? undefined : Math.max(0, Math.min(...times) - now);
}

/** A scheduled rotation is past due (for the overdue metric). */
export function overdue(status: PasswordRotationStatus | undefined, settings: RotationSettings, now: number): boolean {
  if (settings.rotateEveryMs === undefined) return false;
  const next = Date.parse(status?.nextRotationTime ?? "");
  return Number.isFinite(next) && next < now;
}
