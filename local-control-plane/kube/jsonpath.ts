// The subset of k8s.io/client-go/util/jsonpath that printer columns use: fields, ['quoted'],
// [n], [a:b], [*], .*, ..recursive, and filters [?(@.path op literal)] / [?(@.path)].
type Step =
  | { k: "field"; name: string }
  | { k: "index"; i: number }
  | { k: "slice"; start?: number; end?: number }
  | { k: "wild" }
  | { k: "recursive"; name: string }
  | { k: "filter"; path: Step[]; op?: string; value?: unknown };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function parse(expr: string): Step[] {
  let s = expr.trim();
  if (s.startsWith("{") && s.endsWith("}")) s = s.slice(1, -1).trim();
  if (s.startsWith("$")) s = s.slice(1);
  const steps: Step[] = [];
  let i = 0;
  const ident = () => {
    const m = /^[A-Za-z0-9_\-/]+/.exec(s.slice(i));
    if (!m) throw new Error(`invalid jsonpath ${expr}`);
    i += m[0].length;
    return m[0];
  };
  while (i < s.length) {
    if (s.startsWith("..", i)) {
      i += 2;
      steps.push({ k: "recursive", name: ident() });
      continue;
    }
    if (s[i] === ".") {
      i++;
      if (s[i] === "*") {
        i++;
        steps.push({ k: "wild" });
        continue;
      }
      if (i >= s.length) break;
      steps.push({ k: "field", name: ident() });
      continue;
    }
    if (s[i] === "[") {
      const close = findClose(s, i);
      const inner = s.slice(i + 1, close).trim();
      i = close + 1;
      if (inner === "*") steps.push({ k: "wild" });
      else if (/^-?\d+$/.test(inner)) steps.push({ k: "index", i: Number(inner) });
      else if (/^-?\d*:-?\d*$/.test(inner)) {
        const [a, b] = inner.split(":");
        steps.push({ k: "slice", ...(a ? { start: Number(a) } : {}), ...(b ? { end: Number(b) } : {}) });
      } else if (/^'.*'$|^".*"$/.test(inner)) steps.push({ k: "field", name: inner.slice(1, -1) });
      else if (inner.startsWith("?(") && inner.endsWith(")")) steps.push(parseFilter(inner.slice(2, -1).trim(), expr));
      else throw new Error(`invalid jsonpath ${expr}`);
      continue;
    }
    if (i === 0) {
      steps.push({ k: "field", name: ident() });
      continue;
    }
    throw new Error(`invalid jsonpath ${expr}`);
  }
  return steps;
}

function findClose(s: string, open: number): number {
  let depth = 0,
    quote = "";
  for (let j = open; j < s.length; j++) {
    const c = s[j]!;
    if (quote) {
      if (c === quote) quote = "";
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === "[") depth++;
    else if (c === "]" && --depth === 0) return j;
  }
  throw new Error(`unclosed [ in jsonpath ${s}`);
}

function parseFilter(f: string, expr: string): Step {
  const m = /^@((?:\.[A-Za-z0-9_\-/]+|\[[^\]]+\])*)\s*(==|!=|<=|>=|<|>)?\s*(.*)$/.exec(f);
  if (!m) throw new Error(`invalid filter in jsonpath ${expr}`);
  const path = parse(m[1] ?? "");
  if (!m[2]) return { k: "filter", path };
  const lit = m[3]!.trim();
  let value: unknown;
  if (/^".*"$|^'.*'$/.test(lit)) value = lit.slice(1, -1);
  else if (lit === "true" || lit === "false") value = lit === "true";
  else if (!Number.isNaN(Number(lit))) value = Number(lit);
  else throw new Error(`invalid filter literal in jsonpath ${expr}`);
  return { k: "filter", path, op: m[2], value };
}

function compare(a: unknown, op: string, b: unknown): boolean {
  switch (op) {
    case "==":
      return a === b;
    case "!=":
      return a !== b;
    case "<":
      return typeof a === typeof b && (a as number) < (b as number);
    case ">":
      return typeof a === typeof b && (a as number) > (b as number);
    case "<=":
      return typeof a === typeof b && (a as number) <= (b as number);
    case ">=":
      return typeof a === typeof b && (a as number) >= (b as number);
    default:
      return false;
  }
}

function walk(values: unknown[], steps: Step[]): unknown[] {
  let cur = values;
  for (const st of steps) {
    const next: unknown[] = [];
    for (const v of cur) {
      switch (st.k) {
        case "field":
          if (isObj(v) && st.name in v && v[st.name] !== undefined) next.push(v[st.name]);
          break;
        case "index":
          if (Array.isArray(v)) {
            const i = st.i < 0 ? v.length + st.i : st.i;
            if (i >= 0 && i < v.length) next.push(v[i]);
          }
          break;
        case "slice":
          if (Array.isArray(v)) next.push(...v.slice(st.start ?? 0, st.end ?? v.length));
          break;
        case "wild":
          if (Array.isArray(v)) next.push(...v);
          else if (isObj(v))
            next.push(
              ...Object.keys(v)
                .sort()
                .map((k) => v[k]),
            );
          break;
        case "recursive": {
          const visit = (x: unknown) => {
            if (isObj(x)) {
              if (st.name in x) next.push(x[st.name]);
              for (const k of Object.keys(x).sort()) visit(x[k]);
            } else if (Array.isArray(x)) x.forEach(visit);
          };
          visit(v);
          break;
        }
        case "filter": {
          const items = Array.isArray(v) ? v : [v];
          for (const item of items) {
            const r = walk([item], st.path);
            if (st.op === undefined ? r.length > 0 : r.length > 0 && compare(r[0], st.op, st.value)) next.push(item);
          }
          break;
        }
      }
    }
    cur = next;
  }
  return cur;
}

/** All values `path` selects in `obj` (throws on a path it cannot parse). */
export function evalJsonPath(obj: unknown, path: string): unknown[] {
  return walk([obj], parse(path));
}

/** jsonpath.PrintResults for one value: strings raw, maps and lists as compact JSON. */
export function formatJsonPathValue(v: unknown): string {
  if (typeof v === "string") return v;
  if (v === null || v === undefined) return "<nil>";
  if (typeof v === "object") return JSON.stringify(sortKeys(v));
  return String(v);
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObj(v))
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys(v[k])]),
    );
  return v;
}
