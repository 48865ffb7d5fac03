// Regular expressions with Go RE2 semantics (re2js, a port of RE2/J), as the real apiserver runs OpenAPI
// `pattern` (go-openapi/kube-openapi: regexp.MatchString) and CEL `matches()` (cel-go: regexp.MatchString).
// JavaScript regexes differ: `\s`, `\d`, `\w`, `\b` are ASCII in RE2 and Unicode-aware (or not) in JS,
// RE2 has no lookarounds or backreferences, and JS lacks `(?i)`, `\z`, `\pL`, `[[:alpha:]]`.
import { RE2JS } from "re2js";

const cache = new Map<string, RE2JS | Error>();

/** Compiles `pattern` like Go's regexp.Compile; the error message is Go's (`error parsing regexp: ...`). */
export function compileRe2(pattern: string): RE2JS {
  let c = cache.get(pattern);
  if (!c) {
    try {
      c = RE2JS.compile(pattern);
    } catch (e) {
      c = new Error((e as Error).message);
    }
    if (cache.size > 1000) cache.clear();
    cache.set(pattern, c);
  }
  if (c instanceof Error) throw c;
  return c;
}

/** regexp.MatchString(pattern, s): an unanchored search. Throws on an invalid pattern. */
export function re2Test(pattern: string, s: string): boolean {
  return compileRe2(pattern).matcher(s).find();
}
