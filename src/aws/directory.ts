// A per-region snapshot of every MemoryDB user, taken with one paginated DescribeUsers listing
// per resync, so that resyncing N in-sync users costs ceil(N/100) calls instead of N.
import type { ObservedUser } from "../model.ts";
import type { Logger } from "../observability/log.ts";
import type { MemoryDBApi } from "./api.ts";

interface Snapshot {
  takenAt: number;
  users: Map<string, ObservedUser>;
}

export class UserDirectory {
  readonly #snapshots = new Map<string, Snapshot>();
  /** The last listing asked for by `ensure`, per region: one at a time, and not again for a while. */
  readonly #ensured = new Map<string, { at: number; listing: Promise<void> }>();
  readonly #api: (region: string, signal?: AbortSignal) => MemoryDBApi;

  constructor(api: (region: string, signal?: AbortSignal) => MemoryDBApi) {
    this.#api = api;
  }

  /** List the region's users now; the snapshot replaces the previous one. */
  async refresh(region: string, signal?: AbortSignal, now = Date.now()): Promise<void> {
    const users = await this.#api(region, signal).listUsers();
    this.#snapshots.set(region, { takenAt: now, users: new Map(users.map((u) => [u.name.toLowerCase(), u])) });
  }

  /**
   * Lists every region in `regions` (allowed ones, once each); a listing that fails is logged:
   * its resources are then reconciled one DescribeUsers each.
   */
  async refreshRegions(regions: readonly string[], allowed: readonly string[], signal: AbortSignal, logger: Logger): Promise<void> {
    const wanted = [...new Set(regions)].filter((r) => allowed.length === 0 || allowed.includes(r));
    await Promise.all(
      wanted.map((region) =>
        this.refresh(region, signal).catch((err: Error) => {
          if (!signal.aborted) logger.warn("could not list MemoryDB users; reconciling one by one", { region, error: err.message });
        }),
      ),
    );
  }

  /**
   * Lists the region unless its snapshot is younger than `maxAgeMs`, or a listing was asked for
   * here within `maxAgeMs` (failed or not: the periodic resync lists again anyway). Concurrent
   * callers share one listing. A failure is not thrown: the caller just finds no snapshot.
   */
  async ensure(region: string, maxAgeMs: number, signal?: AbortSignal, now = Date.now()): Promise<void> {
    const snapshot = this.#snapshots.get(region);
    if (snapshot && now - snapshot.takenAt <= maxAgeMs) return;
    const last = this.#ensured.get(region);
    if (last && now - last.at <= maxAgeMs) return last.listing;
    const listing = this.refresh(region, signal, now).catch(() => undefined);
    this.#ensured.set(region, { at: now, listing });
    return listing;
  }

  /**
   * The user as the latest snapshot saw it, if that snapshot was taken after `notBefore`
   * (e.g. the last change the operator made to the user) and is younger than `maxAgeMs`.
   * `undefined` means "ask MemoryDB"; `null` means the snapshot saw no such user.
   */
  lookup(region: string, userName: string, notBefore: number, maxAgeMs: number, now = Date.now()): ObservedUser | null | undefined {
    const snapshot = this.#snapshots.get(region);
    if (!snapshot || snapshot.takenAt <= notBefore || now - snapshot.takenAt > maxAgeMs) return undefined;
    return snapshot.users.get(userName.toLowerCase()) ?? null;
  }
}
