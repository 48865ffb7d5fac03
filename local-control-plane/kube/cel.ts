// CEL (x-kubernetes-validations) evaluation with @marcbachmann/cel-js, shaped like the
// apiextensions-apiserver's CEL validator.
import { Environment } from '@marcbachmann/cel-js';
import type { JsonObject } from './resources.ts';

const env = new Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false });
// Kubernetes' string extension functions, where the library lacks them.
const extras: Array<[string, (s: string) => string]> = [
  ['lowerAscii', (s) => s.replace(/[A-Z]/g, (c) => c.toLowerCase())],
  ['upperAscii', (s) => s.replace(/[a-z]/g, (c) => c.toUpperCase())],
  ['trim', (s) => s.trim()],
];
for (const [name, handler] of extras) {
  try {
    env.registerFunction({ name, receiverType: 'string', returnType: 'string', handler, params: [] });
  } catch { /* already built in */ }
}

type Compiled = (ctx: Record<string, unknown>) => unknown;
const cache = new Map<string, Compiled>();

export function compile(expr: string): Compiled {
  let c = cache.get(expr);
  if (!c) {
    const parsed = env.parse(expr) as unknown as Compiled;
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
  if (schema?.['x-kubernetes-int-or-string']) return typeof value === 'number' && Number.isInteger(value) ? BigInt(value) : value;
  if (typeof value === 'number') {
    if (schema?.type === 'integer' && Number.isInteger(value)) return BigInt(value);
    if (schema?.type === 'number') return value;
    return Number.isInteger(value) && !schema ? BigInt(value) : value;
  }
  if (Array.isArray(value)) return value.map((v) => toCel(v, schema?.items));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as JsonObject)) {
      if (root && k === 'metadata') {
        const md: Record<string, unknown> = {};
        if ((v as JsonObject)?.name !== undefined) md.name = (v as JsonObject).name;
        if ((v as JsonObject)?.generateName !== undefined) md.generateName = (v as JsonObject).generateName;
        out[k] = md;
        continue;
      }
      const sub = schema?.properties?.[k] ?? (typeof schema?.additionalProperties === 'object' ? schema.additionalProperties : undefined);
      out[k] = toCel(v, sub);
    }
    return out;
  }
  return value;
}

export interface RuleOutcome { ok: boolean; message: string; error?: boolean }

export function evaluateRule(rule: JsonObject, self: unknown, oldSelf: unknown, hasOld: boolean): RuleOutcome {
  const ctx: Record<string, unknown> = { self };
  if (hasOld) ctx.oldSelf = oldSelf;
  const ruleText = String(rule.rule);
  const errString = (rule.message ? String(rule.message) : ruleText).trim();
  let result: unknown;
  try {
    result = compile(ruleText)(ctx);
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0]!;
    if (/no such overload/i.test(msg)) {
      return { ok: false, error: true, message: `'${msg}': call arguments did not match a supported operator, function or macro signature for rule: ${errString}` };
    }
    return { ok: false, error: true, message: `${msg.replace(/^No such key/, 'no such key')} evaluating rule: ${errString}` };
  }
  if (result === true) return { ok: true, message: '' };
  if (rule.messageExpression) {
    try {
      const m = compile(String(rule.messageExpression))(ctx);
      if (typeof m === 'string' && m.trim() !== '' && !m.includes('\n')) return { ok: false, message: m };
    } catch { /* fall back to message */ }
  }
  if (rule.message) return { ok: false, message: String(rule.message).trim() };
  return { ok: false, message: `failed rule: ${ruleText.trim()}` };
}
