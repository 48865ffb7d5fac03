// Kubernetes label selectors (the `labelSelector` query syntax), evaluated locally: the
// operator checks a Secret it reads against the same selector its watch asks the server for.

type Requirement = { key: string; op: "exists" | "absent" } | { key: string; op: "in" | "notIn"; values: readonly string[] };

export interface LabelSelector {
  /** The selector as given, for the API server and for messages. */
  readonly text: string;
  matches(labels: Readonly<Record<string, string>> | undefined): boolean;
  /** Labels that satisfy every `=`, `in` and exists requirement: what a Secret the operator makes carries to match. */
  readonly labels: Readonly<Record<string, string>>;
}

const KEY = "[A-Za-z0-9][-A-Za-z0-9_./]*";
const VALUE = "[-A-Za-z0-9_.]*";
const FORMS: Array<[RegExp, (m: RegExpMatchArray) => Requirement]> = [
  [new RegExp(`^(${KEY})\\s*(?:==|=)\\s*(${VALUE})$`), (m) => ({ key: m[1]!, op: "in", values: [m[2]!] })],
  [new RegExp(`^(${KEY})\\s*!=\\s*(${VALUE})$`), (m) => ({ key: m[1]!, op: "notIn", values: [m[2]!] })],
  [
    new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^)]*)\\)$`),
    (m) => ({ key: m[1]!, op: m[2] === "in" ? "in" : "notIn", values: m[3]!.split(",").map((v) => v.trim()) }),
  ],
  [new RegExp(`^!\\s*(${KEY})$`), (m) => ({ key: m[1]!, op: "absent" })],
  [new RegExp(`^(${KEY})$`), (m) => ({ key: m[1]!, op: "exists" })],
];

/** Splits on the commas between requirements (not those inside `in (a,b)`). */
function requirements(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of text) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(current.trim());
      current = "";
    } else current += ch;
  }
  parts.push(current.trim());
  return parts.filter((p) => p !== "");
}

/** Parses `a=b,c!=d,e in (f,g),!h`; throws with the requirement it cannot read. */
export function parseLabelSelector(text: string): LabelSelector {
  const reqs = requirements(text).map((part) => {
    for (const [form, make] of FORMS) {
      const m = form.exec(part);
      if (m) return make(m);
    }
    throw new Error(`cannot read the label selector requirement "${part}" (use key=value, key!=value, key in (a,b), key or !key)`);
  });
  if (reqs.length === 0) throw new Error("the label selector is empty");
  const required: Record<string, string> = {};
  for (const r of reqs) {
    if (r.op === "in") required[r.key] = r.values[0] ?? "";
    else if (r.op === "exists") required[r.key] ??= "true";
  }
  return {
    text,
    labels: required,
    matches: (labels) =>
      reqs.every((r) => {
        const has = labels !== undefined && Object.hasOwn(labels, r.key);
        switch (r.op) {
          case "exists":
            return has;
          case "absent":
            return !has;
          case "in":
            return has && r.values.includes(labels[r.key]!);
          case "notIn":
            return !has || !r.values.includes(labels[r.key]!);
          default:
            return false;
        }
      }),
  };
}
