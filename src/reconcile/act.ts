// Acting on a decided step: the MemoryDB calls a create, sync (adopt, tags, update) or wait
// takes, the Events they are reported by, and the knowledge they leave behind.

import type { MemoryDBApi } from "../aws/api.ts";
import { OWNERSHIP_TAG_KEY, type PasswordSource, type PendingPasswords } from "../model.ts";
import type { Redacted } from "../redacted.ts";
import { type Action, type Observation, updateReason, wasInSync } from "./decide.ts";
import { conflict, type Outcome, outcomeOfState } from "./outcome.ts";
import { ownershipFromTags } from "./ownership.ts";
import type { Turn } from "./turn.ts";

/** What the turn found in MemoryDB, and the step decided on it (ownership from the tags when `tags` is set). */
export interface Assessment extends Observation {
  action: Action;
}

/** The passwords this turn would send, and those recorded as being sent. */
export interface Sending {
  current: PasswordSource[];
  pending: PendingPasswords | undefined;
}

export async function act(turn: Turn, assessment: Assessment, passwords: Redacted[], sending: Sending, api: MemoryDBApi): Promise<Outcome> {
  const { user, desired, knowledge, log, deps } = turn;
  const { action, user: observed } = assessment;
  switch (action.type) {
    case "create": {
      log.info("creating MemoryDB user", { userName: desired.userName, region: desired.region });
      await recordSending(turn, "CreateUser", sending);
      const created = await api.createUser({
        userName: desired.userName,
        accessString: desired.accessString,
        authType: desired.authType,
        passwords,
        tags: desired.tags,
      });
      knowledge.mutated();
      knowledge.accessStringSent(desired.accessString);
      knowledge.tagsMatched(desired);
      if (user.status?.arn)
        turn.event("Normal", "Recreated", "CreateUser", `MemoryDB user "${created.name}" was deleted outside Kubernetes; created it again`);
      else turn.event("Normal", "Created", "CreateUser", `created MemoryDB user "${created.name}"`);
      return outcomeOfState(created, "Creating", true);
    }
    case "sync": {
      let current = observed!;
      if (action.adopt) {
        // Claim the user with the ownership tag alone and read the claim back before changing
        // anything else. MemoryDB has no conditional write, so this narrows a race between two
        // adopters (another cluster, say) without closing it: if one's read-back lands before the
        // other's tag, both go on for this turn; every later write is preceded by a tag read, so
        // the one whose tag was overwritten stops there with UserNameConflict.
        await api.tagResource(current.arn, { [OWNERSHIP_TAG_KEY]: desired.ownerTag });
        const claimed = ownershipFromTags(await api.listTags(current.arn), desired);
        if (claimed.kind !== "ours") return conflict(desired, "UserNameConflict", claimed);
        turn.event("Normal", "Adopted", "TagResource", `adopted the existing MemoryDB user "${current.name}"`);
      }
      if (action.tags) {
        // Removals first: MemoryDB's 50-tag quota counts old and new tags together.
        const { set, remove } = action.tags;
        if (remove.length > 0) await api.untagResource(current.arn, remove);
        if (Object.keys(set).length > 0) await api.tagResource(current.arn, set);
        knowledge.tagsMatched(desired);
        if (!action.adopt) {
          const note = [
            Object.keys(set).length > 0 ? `set ${Object.keys(set).join(", ")}` : "",
            remove.length > 0 ? `removed ${remove.join(", ")}` : "",
          ]
            .filter((s) => s)
            .join("; ");
          turn.event(
            "Normal",
            wasInSync(user) ? "DriftCorrected" : "Updated",
            "TagResource",
            `tags of MemoryDB user "${current.name}": ${note}`,
          );
        }
      }
      const changes = action.changes;
      if (Object.keys(changes).length > 0) {
        const fields = Object.keys(changes).map((k) =>
          k === "authType" ? "authentication type" : k === "accessString" ? "access string" : k,
        );
        log.info("updating MemoryDB user", { userName: desired.userName, changed: fields.join(", ") });
        if (changes.passwords) {
          await recordSending(turn, "UpdateUser", sending);
          const why = assessment.passwords.state;
          deps.onPasswordsSent?.(why === "changed" || why === "uncertain" ? why : "unknown");
        }
        const auth = changes.authType !== undefined || changes.passwords;
        current = await api.updateUser({
          userName: desired.userName,
          ...(changes.accessString === undefined ? {} : { accessString: changes.accessString }),
          ...(auth ? { authentication: { type: desired.authType, passwords: desired.authType === "password" ? passwords : [] } } : {}),
        });
        knowledge.mutated();
        if (changes.passwords) knowledge.passwordsAnswered(sending.current);
        if (changes.accessString !== undefined) knowledge.accessStringSent(changes.accessString);
        if (!action.adopt) {
          const reason = updateReason(user, changes, assessment.passwords);
          const note =
            reason === "PasswordRotated"
              ? `set ${passwords.length} password(s) of MemoryDB user "${current.name}" from the referenced Secrets`
              : `updated ${fields.join(", ")} of MemoryDB user "${current.name}"`;
          turn.event("Normal", reason, "UpdateUser", note);
        }
      }
      return outcomeOfState(current, "Modifying", true);
    }
    case "conflict":
      log.info("leaving an existing user alone", { reason: action.reason, ownership: action.ownership });
      return conflict(desired, action.reason, action.ownership);
    case "forbidden":
      return { kind: "failed", reason: "Forbidden", message: action.message, retry: "untilInputsChange" };
    case "wait":
      return outcomeOfState(observed!, "Modifying", false);
    case "inSync":
      // Found with this resource's ownership tag holding what a CreateUser sent: the user this
      // resource created (the answer was lost, or the operator stopped before the status write).
      if (assessment.passwords.state === "created")
        turn.event("Normal", "Created", "CreateUser", `created MemoryDB user "${observed!.name}"`);
      return { kind: "ready", observed: observed! };
  }
}

/**
 * Before passwords go to MemoryDB, the status records them as pending (verifiers only): if the
 * answer is lost or the operator stops, the next reconcile knows what it may have sent.
 */
export async function recordSending(turn: Turn, operation: PendingPasswords["operation"], sending: Sending): Promise<void> {
  const pending: PendingPasswords = { operation, secrets: sending.current };
  if (JSON.stringify(sending.pending) === JSON.stringify(pending)) return;
  const { namespace, name } = turn.user.metadata;
  const written = await turn.deps.kube.patchUserStatus(namespace, name, { passwordSecretsPending: pending }, turn.call);
  if (written) turn.wrote(written);
  sending.pending = pending;
}
