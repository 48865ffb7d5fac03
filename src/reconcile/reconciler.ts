// One reconcile of one MemoryDBUser: apply or clean up over the finalizer protocol, with what
// the process knows of the resource; every step may crash and rerun. It answers how the work
// queue comes back, and never throws (errors.ts turns errors into that answer too).
import type { MemoryDBUser } from "../model.ts";
import { FINALIZER } from "../model.ts";
import { apply } from "./apply.ts";
import { cleanup } from "./cleanup.ts";
import { desiredUser } from "./desired.ts";
import { errorPolicy } from "./errors.ts";
import { finalizer } from "./finalizer.ts";
import { Knowledge } from "./knowledge.ts";
import type { Retry } from "./outcome.ts";
import { type ReconcileContext, type ReconcilerDeps, Turn } from "./turn.ts";

export type { ReconcileContext, ReconcilerDeps } from "./turn.ts";

export class Reconciler {
  readonly #deps: ReconcilerDeps;
  readonly #knowledge: Knowledge;

  constructor(deps: ReconcilerDeps) {
    this.#deps = deps;
    this.#knowledge = new Knowledge({
      tagResyncPeriodMs: deps.tagResyncPeriodMs,
      snapshotMaxAgeMs: deps.snapshotMaxAgeMs,
      directory: deps.directory,
      ...(deps.now ? { now: () => deps.now!().getTime() } : {}),
      ...(deps.random ? { random: deps.random } : {}),
    });
  }

  /** The watch delivered `resource` (a copy of the operator's own write lets go once it is in the cache). */
  delivered(resource: MemoryDBUser): void {
    this.#knowledge.known(`${resource.metadata.namespace}/${resource.metadata.name}`)?.delivered(resource);
  }

  /** Forget what is known of a resource that no longer exists. */
  forget(key: string): void {
    this.#knowledge.forget(key);
  }

  async reconcile(resource: MemoryDBUser, context: ReconcileContext = {}, log = this.#deps.logger): Promise<Retry> {
    const key = `${resource.metadata.namespace}/${resource.metadata.name}`;
    const knowledge = this.#knowledge.of(key);
    // The watch may not have delivered the operator's own last write yet: never act on an older copy.
    const user = knowledge.latest(resource);
    const turn = new Turn(this.#deps, user, desiredUser(user, this.#deps.defaults), knowledge, log, context);
    const { namespace, name } = user.metadata;
    knowledge.reconciling(true);
    try {
      const retry = await finalizer(FINALIZER, user, {
        patch: (ops) => this.#deps.kube.patchUserMetadata(namespace, name, ops, turn.call),
        patched: (before, after) => knowledge.wrote(before, after),
        apply: () => apply(turn),
        cleanup: () => cleanup(turn),
      });
      // Deleted and released: nothing more to know about it.
      if (user.metadata.deletionTimestamp && retry === "none") this.forget(key);
      return retry;
    } catch (err) {
      return errorPolicy(err, log, context.signal?.aborted ?? false);
    } finally {
      knowledge.reconciling(false);
    }
  }
}
