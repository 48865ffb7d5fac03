// A snapshot of every MemoryDB user per (AWS identity, region), taken with one paginated
// DescribeUsers listing per resync, so that resyncing N in-sync users costs ceil(N/100) calls
// instead of N. Each account mapped by --accounts-configmap has its own listing and snapshot.
import type { ObservedUser } from "../model.ts";
import type { Logger } from "../observability/log.ts";
import { describeIdentity, type Identity, OPERATOR_IDENTITY } from "./accounts.ts";
import type { MemoryDBApi } from "./api.ts";

interface Snapshot {
  takenAt: number;
  users: Map<string, ObservedUser>;
}

/** Where users are listed: a region, through an identity (the operator's own by default). */
export interface Place {
  region: string;
  identity?: Identity | undefined;
}

const keyOf = (place: Place) => `${(place.identity ?? OPERATOR_IDENTITY).key}\n${place.region}`;

export class UserDirectory {
  readonly #snapshots = new Map<string, Snapshot>();
  /** The last listing asked for by `ensure`, per region: one at a time, and not again for a while. */
  readonly #ensured = new Map<string, { at: number; listing: Promise<void> }>();
  readonly #api: (region: string, signal?: AbortSignal, identity?: Identity) => MemoryDBApi;

  constructor(api: (region: string, signal?: AbortSignal, identity?: Identity) => MemoryDBApi) {
    this.#api = api;
  }

  /** List the place's users now; the snapshot replaces the previous one. */
  async refresh(place: Place, signal?: AbortSignal, now = Date.now()): Promise<void> {
    const users = await this.#api(place.region, signal, place.identity).listUsers();
    this.#snapshots.set(keyOf(place), { takenAt: now, users: new Map(users.map((u) => [u.name.toLowerCase(), u])) });
  }

  /**
   * Lists every place in `places` (in allowed regions, once each); a listing that fails is
   * logged: its resources are then reconciled one DescribeUsers each.
   */
  async refreshRegions(places: readonly Place[], allowed: readonly string[], signal: AbortSignal, logger: Logger): Promise<void> {
    const wanted = new Map(places.filter((p) => allowed.length === 0 || allowed.includes(p.region)).map((p) => [keyOf(p), p]));
    await Promise.all(
      [...wanted.values()].map((place) =>
        this.refresh(place, signal).catch((err: Error) => {
          if (!signal.aborted) {
            logger.warn("could not list MemoryDB users; reconciling one by one", {
              region: place.region,
              account: describeIdentity(place.identity ?? OPERATOR_IDENTITY),
              error: err.message,
            });
          }
        }),
      ),
    );
  }

  /**
   * Lists the place unless its snapshot is younger than `maxAgeMs`, or a listing was asked for
   * here within `maxAgeMs` (failed or not: the periodic resync lists again anyway). Concurrent
   * callers share one listing. A failure is not thrown: the caller just finds no snapshot.
   */
  async ensure(place: Place, maxAgeMs: number, signal?: AbortSignal, now = Date.now()): Promise<void> {
    const key = keyOf(place);
    const snapshot = this.#snapshots.get(key);
    if (snapshot && now - snapshot.takenAt <= maxAgeMs) return;
    const last = this.#ensured.get(key);
    if (last && now - last.at <= maxAgeMs) return last.listing;
    const listing = this.refresh(place, signal, now).catch(() => undefined);
    this.#ensured.set(key, { at: now, listing });
    return listing;
  }

  /**
   * The user as the latest snapshot of the place saw it, if that snapshot was taken after
   * `notBefore` (e.g. the last change the operator made to the user) and is younger than
   * `maxAgeMs`. `undefined` means "ask MemoryDB"; `null` means the snapshot saw no such user.
   */
  lookup(place: Place, userName: string, notBefore: number, maxAgeMs: number, now = Date.now()): ObservedUser | null | undefined {
    const snapshot = this.#snapshots.get(keyOf(place));
    if (!snapshot || snapshot.takenAt <= notBefore || now - snapshot.takenAt > maxAgeMs) return undefined;
    return snapshot.users.get(userName.toLowerCase()) ?? null;
  }
}
