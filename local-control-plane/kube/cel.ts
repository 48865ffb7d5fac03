// CEL (x-kubernetes-validations) evaluation with @marcbachmann/cel-js, shaped like the
// apiextensions-apiserver's CEL validator.
import { Environment } from "@marcbachmann/cel-js";
import { re2Test } from "./re2.ts";
import type { JsonObject } from "./resources.ts";

const env = new Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false });
// Kubernetes' string extension functions, where the library lacks them.
const extras: Array<[string, (s: string) => string]> = [
  ["lowerAscii", (s) => s.replace(/[A-Z]/g, (c) => c.toLowerCase())],
  ["upperAscii", (s) => s.replace(/[a-z]/g, (c) => c.toUpperCase())],
  ["trim", (s) => s.trim()],
];
for (const [name, handler] of extras) {
  try {
    env.registerFunction({ name, receiverType: "string", returnType: "string", handler, params: [] });
  } catch {
    /* already built in */
  }
}

// `matches()` runs on RE2 (cel-go's regexp.MatchString), not on cel-js's JavaScript RegExp: calls are
// rewritten to this overload, which cannot be replaced in place (cel-js refuses overlapping overloads).
const RE2_MATCHES = "matchesRe2";
env.registerFunction({
  name: RE2_MATCHES,
  receiverType: "string",
  returnType: "bool",
  params: [{ name: "re", type: "string" }],
  handler: (s: string, re: string) => {
    try {
      return re2Test(re, s);
    } catch (e) {
      throw new Error(`invalid regular expression: ${(e as Error).message}`);
    }
  },
});

/** Rewrites the receiver-style `.matches(` calls outside string literals to the RE2 overload. */
export function useRe2(expr: string): string {
  let out = "",
    i = 0;
  while (i < expr.length) {
    const lit = /^([rRbB]{0,2})('''|"""|'|")/.exec(expr.slice(i));
    if (lit && !(lit[1] && /\w/.test(expr[i - 1] ?? ""))) {
      const q = lit[2]!,
        raw = /[rR]/.test(lit[1]!);
      let j = i + lit[0].length;
      while (j < expr.length && !expr.startsWith(q, j)) j += !raw && expr[j] === "\\" ? 2 : 1;
      out += expr.slice(i, j + q.length);
      i = j + q.length;
      continue;
    }
    const call = /^\.\s*matches(\s*\()/.exec(expr.slice(i));
    if (call) {
      out += `.${RE2_MATCHES}${call[1]}`;
      i += call[0].length;
      continue;
    }
    out += expr[i];
    i++;
  }
  return out;
}

type Compiled = (ctx: Record<string, unknown>) => unknown;
const cache = new Map<string, Compiled>();

export function compile(expr: string): Compiled {
  let c = cache.get(expr);
  if (!c) {
    const parsed = env.parse(useRe2(expr)) as unknown as Compiled;
    c = (ctx) => parsed(ctx);
    cache.set(expr, c);
  }
  return c;
}

/** Whether a rule is a transition rule (references oldSelf outside string literals). */
export function isTransitionRule(rule: string): boolean {
  const stripped = rule.replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g, '""');
  return /\boldSelf\b/.test(stripped);
}

/**
 * Converts a JSON value to the CEL value the apiserver would build from the structural schema:
 * integers become int (BigInt), the root's metadata only exposes name and generateName.
 */
export function toCel(value: unknown, schema: JsonObject | undefined, root = false): unknown {
  if (value === null || value === undefined) return value;
  if (schema?.["x-kubernetes-int-or-string"]) return typeof value === "number" && Number.isInteger(value) ? BigInt(value) : value;
  if (typeof value === "number") {
    if (schema?.type === "integer" && Number.isInteger(value)) return BigInt(value);
    if (schema?.type === "number") return value;
    return Number.isInteger(value) && !schema ? BigInt(value) : value;
  }
  if (Array.isArray(value)) return value.map((v) => toCel(v, schema?.items));
  if (typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as JsonObject)) {
      if (root && k === "metadata") {
        const md: Record<string, unknown> = {};
        if ((v as JsonObject)?.name !== undefined) md.name = (v as JsonObject).name;
        if ((v as JsonObject)?.generateName !== undefined) md.generateName = (v as JsonObject).generateName;
        out[k] = md;
        continue;
      }
      const sub = schema?.properties?.[k] ?? (typeof schema?.additionalProperties === "object" ? schema.additionalProperties : undefined);
      out[k] = toCel(v, sub);
    }
    return out;
  }
  return value;
}

export interface RuleOutcome {
  ok: boolean;
  message: string;
  error?: boolean;
}

export function evaluateRule(rule: JsonObject, self: unknown, oldSelf: unknown, hasOld: boolean): RuleOutcome {
  const ctx: Record<string, unknown> = { self };
  if (hasOld) ctx.oldSelf = oldSelf;
  const ruleText = String(rule.rule);
  const errString = (rule.message ? String(rule.message) : ruleText).trim();
  let result: unknown;
  try {
    result = compile(ruleText)(ctx);
  } catch (e) {
    const msg = (e as Error).message.split("\n")[0]!;
    if (/no such overload/i.test(msg)) {
      return {
        ok: false,
        error: true,
        message: `'${msg}': call arguments did not match a supported operator, function or macro signature for rule: ${errString}`,
      };
    }
    return { ok: false, error: true, message: `${msg.replace(/^No such key/, "no such key")} evaluating rule: ${errString}` };
  }
  if (result === true) return { ok: true, message: "" };
  if (rule.messageExpression) {
    try {
      const m = compile(String(rule.messageExpression))(ctx);
      if (typeof m === "string" && m.trim() !== "" && !m.includes("\n")) return { ok: false, message: m };
    } catch {
      /* fall back to message */
    }
  }
  if (rule.message) return { ok: false, message: String(rule.message).trim() };
  return { ok: false, message: `failed rule: ${ruleText.trim()}` };
}
