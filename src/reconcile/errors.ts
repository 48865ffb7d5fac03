// One error channel, like controller-runtime's TerminalError and kube-rs' error_policy: whatever
// a reconcile throws (a Kubernetes API error, a bug) becomes a retry decision here. MemoryDB's
// faults do not get this far: they are outcomes, written to the status.
import { KubeError } from "../kube/request.ts";
import type { Logger } from "../observability/log.ts";
import type { Retry } from "./outcome.ts";

/** How the work queue comes back after `err`, logged as what it is. */
export function errorPolicy(err: unknown, log: Logger, shuttingDown: boolean): Retry {
  if (shuttingDown) {
    log.info("reconcile cancelled: shutting down");
    return "none";
  }
  if (err instanceof KubeError) {
    // Someone changed the resource in between (409), or a JSON Patch test saw another list (422):
    // read it again at once; the backoff is for faults, and this is none.
    if (err.conflict) {
      log.debug("the resource changed during the reconcile, again at once", { error: err.message });
      return "now";
    }
    if (err.status === 404) return "none";
    log.warn("reconcile error, retrying", { error: err.message });
    return "backoff";
  }
  // Neither a Kubernetes API error nor a MemoryDB fault: a bug. Loud, with its stack.
  log.error("reconcile failed unexpectedly, retrying", { error: (err as Error)?.message ?? String(err), stack: (err as Error)?.stack });
  return "backoff";
}
