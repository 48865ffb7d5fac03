// The cleanup half of a reconcile: the resource is being deleted. Delete, retain or leave alone
// its MemoryDB user; the finalizer helper drops the finalizer once this says nothing is left.
import { AwsFault } from "../aws/faults.ts";
import { OWNERSHIP_TAG_KEY, RETAINED_TAG_KEY } from "../model.ts";
import { regionRefused } from "./apply.ts";
import { decideDeletion } from "./decide.ts";
import { describeIdentityChange } from "./desired.ts";
import type { Cleanup } from "./finalizer.ts";
import { keepGeneratedSecret } from "./generated.ts";
import { failedFromFault, type Outcome, outcomeOfState, retryFor } from "./outcome.ts";
import { type Ownership, ownershipFromTags } from "./ownership.ts";
import type { Turn } from "./turn.ts";

export async function cleanup(turn: Turn): Promise<Cleanup> {
  const { user, desired, log, knowledge } = turn;
  // Only the user the spec names is deleted: the status can be written by others than the
  // operator, so a status naming another user is reported, never acted on.
  const mismatch = describeIdentityChange(user, desired);
  if (mismatch) {
    const note = `${mismatch}; deletion acts only on MemoryDB user "${desired.userName}" in ${desired.region}`;
    log.warn("status and spec name different users", { note });
    turn.event("Warning", "ImmutableFieldChanged", "Delete", note);
  }
  const refused = regionRefused(turn) ?? turn.accountRefused();
  if (refused) {
    // Deleting there is not allowed (or not possible) either: keep the finalizer and say why.
    await turn.report(refused, "slow");
    return { kind: "wait", retry: "slow" };
  }
  // A retained user keeps its generated password: the Secret must not go with the resource.
  if (desired.generated && desired.deletionPolicy === "Retain") await keepGeneratedSecret(turn);
  const done = (reason: string | undefined, note: string): Cleanup => {
    if (reason) turn.event("Normal", reason, "Delete", note);
    log.info(note);
    return { kind: "done" };
  };
  // "Deleted" only for a user this resource had: one that never existed was not deleted.
  const gone = () =>
    user.status?.arn === undefined
      ? done(undefined, `no MemoryDB user "${desired.userName}" to delete`)
      : done("Deleted", `MemoryDB user "${desired.userName}" is deleted`);
  const api = turn.api();
  let outcome: Outcome;
  try {
    const observed = await api.describeUser(desired.userName);
    // Deleting or releasing changes the user: ownership comes from its tags, never presumed.
    const ownership: Ownership = observed === undefined ? { kind: "ours" } : ownershipFromTags(await api.listTags(observed.arn), desired);
    const action = decideDeletion(desired, observed, ownership);
    switch (action.type) {
      case "release":
        return action.why === "gone"
          ? gone()
          : done("Released", `MemoryDB user "${desired.userName}" is not managed by this resource; left untouched`);
      case "retain":
        // Mark where it was retained from before dropping the ownership tag: this namespace may
        // adopt it back without a grant (a crash in between leaves it still owned).
        await api.tagResource(observed!.arn, { [RETAINED_TAG_KEY]: desired.retainedTag });
        await api.untagResource(observed!.arn, [OWNERSHIP_TAG_KEY]);
        return done("Retained", `kept MemoryDB user "${desired.userName}" (deletionPolicy Retain) and removed its ownership tag`);
      case "delete": {
        log.info("deleting MemoryDB user", { userName: desired.userName });
        if (!(await api.deleteUser(desired.userName))) return gone();
        knowledge.mutated();
        outcome = {
          kind: "progressing",
          observed: { ...observed!, status: "deleting" },
          reason: "Deleting",
          message: "MemoryDB is deleting the user",
          applied: true,
        };
        break;
      }
      case "wait":
        outcome = outcomeOfState(observed!, "Deleting", true);
        break;
    }
  } catch (err) {
    // Gone is only what DescribeUsers or DeleteUser say; a tag call's UserNotFoundFault is a busy
    // user (transient), looked at again after the backoff.
    if (!(err instanceof AwsFault)) throw err;
    outcome = failedFromFault(err);
  }
  const retry = retryFor(outcome);
  await turn.report(outcome, retry);
  // A deletion is never given up: a terminal fault is retried slowly.
  return { kind: "wait", retry: retry === "untilInputsChange" ? "slow" : retry };
}
