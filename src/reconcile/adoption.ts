// Who may adopt an existing MemoryDB user: a cluster administrator's grant, never the tenant's
// own say-so. `spec.adoptExisting` asks; a grant (--allow-adoption) allows. A user retained by
// a resource of the same namespace, or owned by a force-deleted one there, needs no grant: it
// was that namespace's already.

/** A namespace (or `*`: every namespace) that may adopt users whose names match `userNames`. */
export interface AdoptionGrant {
  namespace: string;
  /** A glob over MemoryDB user names (`*` any run of characters); undefined: any name. */
  userNames: string | undefined;
}

const NAMESPACE = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?|\*)$/;
const NAME_GLOB = /^[a-z0-9*-]+$/;

/** `team-a,team-b/legacy-*,*\/shared-*`: namespaces, each optionally limited to user names. */
export function parseAdoptionGrants(text: string): AdoptionGrant[] {
  return text
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "")
    .map((entry) => {
      const [namespace = "", userNames, extra] = entry.split("/");
      if (!NAMESPACE.test(namespace) || extra !== undefined || (userNames !== undefined && !NAME_GLOB.test(userNames))) {
        throw new Error(`"${entry}" is not namespace or namespace/user-name-pattern (e.g. team-a, team-b/legacy-*, */shared-*)`);
      }
      return { namespace, userNames };
    });
}

function globMatches(glob: string, name: string): boolean {
  const pattern = glob.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, "\\$&"));
  return new RegExp(`^${pattern.join(".*")}$`).test(name);
}

export function adoptionGranted(grants: readonly AdoptionGrant[], namespace: string, userName: string): boolean {
  return grants.some(
    (g) => (g.namespace === "*" || g.namespace === namespace) && (g.userNames === undefined || globMatches(g.userNames, userName)),
  );
}
