// The MemoryDB clients of the regions in use.

import type { MemoryDBApi } from "./api.ts";
import type { MemoryDB } from "./memorydb.ts";

/**
 * One MemoryDB client per region, created on first use. At most `max` are kept (the least
 * recently used goes): resources name regions, and a client per name ever seen would grow
 * without bound.
 */
export class MemoryDBClients {
  readonly #clients = new Map<string, MemoryDB>();
  readonly #make: (region: string) => MemoryDB;
  readonly #max: number;

  constructor(make: (region: string) => MemoryDB, max = 32) {
    this.#make = make;
    this.#max = max;
  }

  get size(): number {
    return this.#clients.size;
  }

  /** The region's client; its calls are cancelled by `signal`, if given. */
  for(region: string, signal?: AbortSignal): MemoryDBApi {
    let client = this.#clients.get(region);
    if (client) {
      this.#clients.delete(region);
    } else {
      client = this.#make(region);
      if (this.#clients.size >= this.#max) {
        const [oldest, evicted] = this.#clients.entries().next().value as [string, MemoryDB];
        this.#clients.delete(oldest);
        evicted.destroy();
      }
    }
    this.#clients.set(region, client);
    return client.withSignal(signal);
  }

  destroy(): void {
    for (const client of this.#clients.values()) client.destroy();
    this.#clients.clear();
  }
}
