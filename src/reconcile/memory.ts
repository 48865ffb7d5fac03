// What the operator remembers about each resource between reconciles, in this process only.
// Losing it (a restart) costs at most a few extra reads, never a wrong action.
import { createHash } from "node:crypto";
import type { MemoryDBUser } from "../model.ts";

export interface KeyMemory {
  /** Inputs a terminal failure was decided on (see inputsFingerprint). */
  terminalInputs?: string;
  /** When the operator last changed the user in MemoryDB (ms since epoch). */
  lastMutation?: number;
  /** When the user's tags were last read or written, and for which desired tags. */
  tagsCheckedAt?: number;
  tagsHash?: string;
  /** An access string sent whose form MemoryDB has not yet reported with the user active. */
  pendingAccessString?: string;
  /** The object our last write produced, and the resourceVersions it (and the writes before it) replaced. */
  lastWrite?: { over: string[]; object: MemoryDBUser };
}

export function tagsHash(tags: Record<string, string>): string {
  return createHash("sha256")
    .update(JSON.stringify(Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : 1))))
    .digest("hex");
}

export class Memory {
  readonly #keys = new Map<string, KeyMemory>();

  get(key: string): KeyMemory {
    let m = this.#keys.get(key);
    if (!m) {
      m = {};
      this.#keys.set(key, m);
    }
    return m;
  }

  forget(key: string): void {
    this.#keys.delete(key);
  }
}
