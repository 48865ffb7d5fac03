import { inspect } from "node:util";

const REDACTED = "[REDACTED]";

/**
 * A secret value (a password) that cannot leak by accident: string conversion, JSON
 * serialisation and util.inspect (which winston and console use) all print [REDACTED].
 * The only way to the plain text is `reveal()`, called where the value is sent to AWS.
 */
export class Redacted {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  /** Length in characters (code points), as MemoryDB counts them; reveals nothing else. */
  get length(): number {
    return [...this.#value].length;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

/** Field names whose values are always redacted when logged, whatever their type. */
const SENSITIVE_KEY = /pass(word)?s?$|secret(value)?$|token$|authorization$/i;

/** A deep copy of `value` with every sensitive field replaced: a last line of defence for log metadata. */
export function redactDeep(value: unknown, depth = 0): unknown {
  if (value instanceof Redacted) return REDACTED;
  if (depth > 8 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SENSITIVE_KEY.test(k) ? REDACTED : redactDeep(v, depth + 1);
  }
  return out;
}

export { REDACTED };
