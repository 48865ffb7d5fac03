// The MemoryDB clients of the (AWS identity, region) pairs in use.

import { type Identity, OPERATOR_IDENTITY } from "./accounts.ts";
import type { MemoryDBApi } from "./api.ts";
import type { MemoryDB } from "./memorydb.ts";

/**
 * One MemoryDB client per identity (the operator's own, or an assumed role) and region, created
 * on first use. At most `max` are kept (the least recently used goes): resources name regions
 * and the account mapping names roles, and a client per pair ever seen would grow without bound.
 */
export class MemoryDBClients {
  readonly #clients = new Map<string, MemoryDB>();
  readonly #make: (region: string, identity: Identity) => MemoryDB;
  readonly #max: number;

  constructor(make: (region: string, identity: Identity) => MemoryDB, max = 32) {
    this.#make = make;
    this.#max = max;
  }

  get size(): number {
    return this.#clients.size;
  }

  /** The client of this region and identity; its calls are cancelled by `signal`, if given. */
  for(region: string, signal?: AbortSignal, identity: Identity = OPERATOR_IDENTITY): MemoryDBApi {
    const key = `${identity.key}\n${region}`;
    let client = this.#clients.get(key);
    if (client) {
      this.#clients.delete(key);
    } else {
      client = this.#make(region, identity);
      if (this.#clients.size >= this.#max) {
        const [oldest, evicted] = this.#clients.entries().next().value as [string, MemoryDB];
        this.#clients.delete(oldest);
        evicted.destroy();
      }
    }
    this.#clients.set(key, client);
    return client.withSignal(signal);
  }

  destroy(): void {
    for (const client of this.#clients.values()) client.destroy();
    this.#clients.clear();
  }
}
