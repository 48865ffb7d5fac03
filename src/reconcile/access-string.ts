// MemoryDB normalises access strings (`on +get` comes back as `on resetchannels -@all +get`),
// so desired and observed strings are compared by meaning, never byte for byte.

/** The parts of a Redis ACL rule list that decide what a user may do. */
export interface AccessRules {
  enabled: boolean;
  keys: string[];
  channels: string[];
  /** Command rules in order (order matters: `+@all -flushall` is not `-flushall +@all`). */
  commands: string[];
}

/** Parse an access string into its meaning, making Redis' implicit defaults explicit. */
export function parseAccessString(accessString: string): AccessRules {
  let enabled = false;
  let keys: string[] = [];
  let channels: string[] = [];
  let commands: string[] = [];
  for (const raw of accessString.trim().split(/\s+/)) {
    if (raw === "") continue;
    const token = raw.toLowerCase();
    if (token === "on") enabled = true;
    else if (token === "off") enabled = false;
    else if (token === "allkeys") keys = ["~*"];
    else if (token === "resetkeys") keys = [];
    else if (raw.startsWith("~") || raw.startsWith("%")) keys.push(raw);
    else if (token === "allchannels") channels = ["&*"];
    else if (token === "resetchannels") channels = [];
    else if (raw.startsWith("&")) channels.push(raw);
    else if (token === "allcommands" || token === "+@all") commands = ["+@all"];
    else if (token === "nocommands" || token === "-@all") commands = ["-@all"];
    else commands.push(token);
  }
  return { enabled, keys: dedupe(keys), channels: dedupe(channels), commands };
}

function dedupe(values: string[]): string[] {
  return [...new Set(values)].sort();
}

/** True when two access strings grant the same permissions. */
export function accessStringsEquivalent(a: string, b: string): boolean {
  const x = parseAccessString(a);
  const y = parseAccessString(b);
  return (
    x.enabled === y.enabled &&
    sameList(x.keys, y.keys) &&
    sameList(x.channels, y.channels) &&
    sameList(withoutLeadingNone(x.commands), withoutLeadingNone(y.commands))
  );
}

/** A new user has no commands, so a leading `-@all` adds nothing. */
function withoutLeadingNone(commands: string[]): string[] {
  return commands[0] === "-@all" ? commands.slice(1) : commands;
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
