// How the text of each setting (a flag or an environment variable) is read, with messages that
// name the setting.

import { GROUP } from "./model.ts";

export const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `1500ms`, `30s`, `10m`, `1h30m`; a bare number is seconds. */
export function parseDuration(text: string, what: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== trimmed) {
    throw new ConfigError(`${what}: "${text}" is not a duration (use e.g. 30s, 10m, 1h)`);
  }
  return Math.round(parts.reduce((ms, p) => ms + Number(p[1]) * (UNITS[p[2] ?? "s"] ?? 1000), 0));
}

export function positiveInt(text: string, what: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) {
    throw new ConfigError(`${what}: "${text}" must be a positive integer`);
  }
  return Number(text);
}

export function nonNegativeNumber(text: string, what: string): number {
  if (!/^\d+(\.\d+)?$/.test(text.trim())) {
    throw new ConfigError(`${what}: "${text}" must be a number, 0 or more`);
  }
  return Number(text);
}

export function oneOf<T extends string>(text: string, allowed: readonly T[], what: string): T {
  if (!(allowed as readonly string[]).includes(text)) {
    throw new ConfigError(`${what}: "${text}" must be one of ${allowed.join(", ")}`);
  }
  return text as T;
}

export const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

export function checkUrl(text: string, flag = "--memorydb-endpoint"): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`${flag}: "${text}" is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(`${flag}: "${text}" must be an http or https URL`);
  }
  return text;
}

/** Either one URL for every region, or `region=URL` pairs separated by commas. */
export function parseEndpoints(text: string | undefined): { endpoint: string | undefined; endpoints: Record<string, string> } {
  if (text === undefined) return { endpoint: undefined, endpoints: {} };
  if (!/^[a-z0-9-]+=/.test(text)) return { endpoint: checkUrl(text), endpoints: {} };
  const endpoints: Record<string, string> = {};
  for (const pair of text
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "")) {
    const at = pair.indexOf("=");
    const region = pair.slice(0, at);
    if (at < 1 || !REGION.test(region)) throw new ConfigError(`--memorydb-endpoint: "${pair}" is not region=URL`);
    endpoints[region] = checkUrl(pair.slice(at + 1));
  }
  return { endpoint: undefined, endpoints };
}

/** `namespace/name` of a Secret; "" for none. */
export function parseSecretName(text: string, kind = "Secret"): { namespace: string; name: string } | undefined {
  if (text === "") return undefined;
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(text);
  if (!m) throw new Error(`"${text}" is not namespace/name of a ${kind}`);
  return { namespace: m[1]!, name: m[3]! };
}

/** A comma-separated list, blanks dropped. */
export function list(text: string | undefined): string[] {
  return (text ?? "")
    .split(",")
    .map((v) => v.trim())
    .filter((v) => v !== "");
}

/** `key=value,key2=value2`, with MemoryDB's tag rules. */
export function parseTags(text: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const pair of text
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "")) {
    const at = pair.indexOf("=");
    const key = at < 0 ? pair : pair.slice(0, at).trim();
    const value = at < 0 ? "" : pair.slice(at + 1).trim();
    const lower = key.toLowerCase();
    if (key.length < 1 || key.length > 128 || lower.startsWith("aws:") || lower.startsWith(`${GROUP}/`) || value.length > 256) {
      throw new ConfigError(`--default-tags: "${pair}" is not a valid tag (key 1-128 characters, not aws: or ${GROUP}/; value up to 256)`);
    }
    tags[key] = value;
  }
  return tags;
}

/** ":8080", "127.0.0.1:8081", "[::1]:8080", or "0" to disable. */
export function bindAddress(text: string, what: string): BindAddress | undefined {
  if (text === "0") return undefined;
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]*):(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (!match || port > 65535) {
    throw new ConfigError(`${what}: "${text}" is not a bind address (e.g. :8080, 127.0.0.1:8080, or 0 to disable)`);
  }
  const host = match[1]!.replace(/^\[|\]$/g, "");
  return { host: host === "" ? undefined : host, port };
}

/** A listening address; no host means every interface. */
export interface BindAddress {
  host: string | undefined;
  port: number;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}
