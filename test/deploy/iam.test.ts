// deploy/iam: the IAM policies grant exactly the MemoryDB actions the operator calls, each on the
// resources the Service Authorization Reference allows for it and narrowed only by condition keys
// it supports; the owned-only variant lets the operator touch only users carrying its ownership
// tag with its cluster id; the trust policies name the operator's ServiceAccount.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { DEPLOY, kustomize, only, REPO } from "./manifests.ts";

type Conditions = Record<string, Record<string, string | string[]>>;
type Statement = {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Conditions;
  Principal?: Record<string, string>;
  [key: string]: unknown;
};
type Policy = { Version: string; Statement: Statement[] };

const IAM = join(DEPLOY, "iam");
const load = (file: string): Policy => JSON.parse(readFileSync(join(IAM, file), "utf8")) as Policy;
const list = (v: string | string[]): string[] => (Array.isArray(v) ? v : [v]);

const OPERATOR_ACTIONS = [
  "memorydb:CreateUser",
  "memorydb:DeleteUser",
  "memorydb:DescribeUsers",
  "memorydb:ListTags",
  "memorydb:TagResource",
  "memorydb:UntagResource",
  "memorydb:UpdateUser",
];
const USER_ARN = "arn:aws:memorydb:<REGION>:<ACCOUNT_ID>:user/*";
const OWNER = "memorydb.operators.dev/owner";

/**
 * "Actions, resources, and condition keys for Amazon MemoryDB" (Service Authorization Reference,
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonmemorydb.html),
 * for the operator's actions: resource types (`*` = required; none = the policy must say
 * "Resource": "*"), condition keys of the action, and dependent actions. The `user` resource type
 * supports `aws:ResourceTag/${TagKey}`.
 */
const SAR: Record<string, { resources: string[]; conditionKeys: string[]; dependent: string[] }> = {
  "memorydb:CreateUser": {
    resources: [],
    conditionKeys: ["aws:RequestTag/${TagKey}", "aws:TagKeys", "memorydb:UserAuthenticationMode"],
    dependent: ["memorydb:TagResource"],
  },
  "memorydb:DescribeUsers": { resources: ["user*"], conditionKeys: ["aws:ResourceTag/${TagKey}"], dependent: [] },
  "memorydb:UpdateUser": {
    resources: ["user*"],
    conditionKeys: ["aws:ResourceTag/${TagKey}", "memorydb:UserAuthenticationMode"],
    dependent: [],
  },
  "memorydb:DeleteUser": { resources: ["user*"], conditionKeys: ["aws:ResourceTag/${TagKey}"], dependent: [] },
  "memorydb:ListTags": { resources: ["user"], conditionKeys: ["aws:ResourceTag/${TagKey}"], dependent: [] },
  "memorydb:TagResource": {
    resources: ["user"],
    conditionKeys: ["aws:TagKeys", "aws:RequestTag/${TagKey}", "aws:ResourceTag/${TagKey}"],
    dependent: [],
  },
  "memorydb:UntagResource": { resources: ["user"], conditionKeys: ["aws:TagKeys", "aws:ResourceTag/${TagKey}"], dependent: [] },
};
/** Global condition keys the policies may use with any action. */
const GLOBAL_KEYS = ["aws:RequestedRegion"];

const supportsKey = (action: string, key: string): boolean => {
  const entry = SAR[action]!;
  const keys = [...entry.conditionKeys, ...(entry.resources.length > 0 ? ["aws:ResourceTag/${TagKey}"] : []), ...GLOBAL_KEYS];
  return keys.some((k) =>
    k.endsWith("/${TagKey}") ? key.startsWith(k.slice(0, -"${TagKey}".length)) && key.length > k.length - "${TagKey}".length : k === key,
  );
};

// ---------------------------------------------------------------------------------------------
// A small evaluator of identity-based Allow statements (the operators the policies use), to check
// what the policies let through, request by request.

const PLACEHOLDERS: Record<string, string> = {
  "<REGION>": "us-east-1",
  "<ACCOUNT_ID>": "123456789012",
  "<CLUSTER_ID>": "cluster-a",
  "<CLUSTER_NAME>": "my-cluster",
};
const fill = (s: string): string => s.replace(/<[A-Z_]+>/g, (p) => PLACEHOLDERS[p] ?? p);
const glob = (pattern: string, value: string): boolean =>
  new RegExp(
    `^${pattern
      .split("*")
      .map((part) =>
        part
          .split("?")
          .map((x) => x.replace(/[.+^${}()|[\]\\]/g, "\\$&"))
          .join("."),
      )
      .join(".*")}$`,
  ).test(value);

interface Request {
  action: string;
  /** The resource ARN; "*" for an action without resource types or a listing. */
  resource: string;
  context: Record<string, string | undefined>;
}

function conditionHolds(operator: string, key: string, expected: string | string[], context: Request["context"]): boolean {
  const value = context[key];
  const ifExists = operator.endsWith("IfExists");
  const op = ifExists ? operator.slice(0, -"IfExists".length) : operator;
  const wanted = list(expected).map(fill);
  if (op === "Null") return wanted.every((w) => (w === "true") === (value === undefined));
  if (value === undefined) return ifExists;
  switch (op) {
    case "StringEquals":
    case "ArnEquals":
      return wanted.includes(value);
    case "StringLike":
    case "ArnLike":
      return wanted.some((w) => glob(w, value));
    default:
      throw new Error(`the evaluator does not know the condition operator ${operator}`);
  }
}

function allows(policy: Policy, req: Request): boolean {
  return policy.Statement.some((s) => {
    if (s.Effect !== "Allow" || !list(s.Action).includes(req.action)) return false;
    if (!list(s.Resource).some((r) => (r === "*" ? true : glob(fill(r), req.resource)))) return false;
    return Object.entries(s.Condition ?? {}).every(([operator, keys]) =>
      Object.entries(keys).every(([key, expected]) => conditionHolds(operator, key, expected, req.context)),
    );
  });
}

const arn = (name: string, region = "us-east-1", account = "123456789012") => `arn:aws:memorydb:${region}:${account}:user/${name}`;
const inRegion = (extra: Record<string, string | undefined> = {}, region = "us-east-1") => ({ "aws:RequestedRegion": region, ...extra });
const mine = "cluster-a/team-a/app-user/3f0c0a2e-0000-4000-8000-000000000001";
const theirs = "cluster-b/team-a/app-user/3f0c0a2e-0000-4000-8000-000000000002";

describe("deploy/iam", () => {
  for (const file of ["policy.json", "policy-owned-only.json"]) {
    describe(file, () => {
      const policy = load(file);

      it("grants exactly the MemoryDB actions the operator calls, with Allow, Action and Resource only", () => {
        expect(policy.Version).to.equal("2012-10-17");
        const actions = new Set(policy.Statement.flatMap((s) => list(s.Action)));
        expect([...actions].sort()).to.deep.equal(OPERATOR_ACTIONS);
        for (const s of policy.Statement) {
          expect(s.Effect, s.Sid).to.equal("Allow");
          expect(
            Object.keys(s).filter((k) => k.startsWith("Not") || k === "Principal"),
            s.Sid,
          ).to.deep.equal([]);
        }
      });

      it("uses each action with the resources the Service Authorization Reference allows for it", () => {
        for (const s of policy.Statement) {
          for (const action of list(s.Action)) {
            const entry = SAR[action]!;
            if (entry.resources.length === 0) {
              // no resource types: a scoped Resource would never match, so the statement must say "*"
              expect(list(s.Resource), `${s.Sid} ${action}`).to.deep.equal(["*"]);
            } else if (action === "memorydb:DescribeUsers") {
              // listed without a UserName once per resync: no user ARN to match, so "*" (read-only, never returns passwords)
              expect(list(s.Resource), `${s.Sid} ${action}`).to.deep.equal(["*"]);
            } else {
              expect(
                entry.resources.map((r) => r.replace("*", "")),
                action,
              ).to.include("user");
              expect(list(s.Resource), `${s.Sid} ${action}`).to.deep.equal([USER_ARN]);
            }
          }
          // a statement on "*" keeps the region scoping the ARNs give the others
          if (list(s.Resource).includes("*")) expect(s.Condition?.StringEquals?.["aws:RequestedRegion"], s.Sid).to.equal("<REGION>");
        }
      });

      it("narrows statements only with condition keys every action of the statement supports", () => {
        for (const s of policy.Statement) {
          for (const keys of Object.values(s.Condition ?? {})) {
            for (const key of Object.keys(keys)) {
              for (const action of list(s.Action)) expect(supportsKey(action, key), `${s.Sid}: ${action} with ${key}`).to.equal(true);
            }
          }
        }
      });

      it("allows the dependent actions of what it allows (CreateUser with tags needs TagResource on the new user)", () => {
        const tags = { [`aws:RequestTag/${OWNER}`]: mine, "aws:RequestTag/team": "payments" };
        expect(allows(policy, { action: "memorydb:CreateUser", resource: "*", context: inRegion(tags) })).to.equal(true);
        for (const dependent of SAR["memorydb:CreateUser"]!.dependent) {
          // the user does not exist yet: no aws:ResourceTag
          expect(allows(policy, { action: dependent, resource: arn("app-user"), context: inRegion(tags) }), dependent).to.equal(true);
        }
      });

      it("lets the operator list and read every user of the region, and nothing of another region or account", () => {
        expect(allows(policy, { action: "memorydb:DescribeUsers", resource: "*", context: inRegion() })).to.equal(true);
        expect(allows(policy, { action: "memorydb:DescribeUsers", resource: arn("app-user"), context: inRegion() })).to.equal(true);
        expect(allows(policy, { action: "memorydb:ListTags", resource: arn("foreign"), context: inRegion() })).to.equal(true);
        expect(allows(policy, { action: "memorydb:DescribeUsers", resource: "*", context: inRegion({}, "eu-west-1") })).to.equal(false);
        expect(
          allows(policy, { action: "memorydb:ListTags", resource: arn("app-user", "eu-west-1"), context: inRegion({}, "eu-west-1") }),
        ).to.equal(false);
        expect(
          allows(policy, { action: "memorydb:ListTags", resource: arn("app-user", "us-east-1", "999999999999"), context: inRegion() }),
        ).to.equal(false);
        expect(
          allows(policy, {
            action: "memorydb:ListTags",
            resource: "arn:aws:memorydb:us-east-1:123456789012:acl/open-access",
            context: inRegion(),
          }),
        ).to.equal(false);
        expect(
          allows(policy, {
            action: "memorydb:CreateUser",
            resource: "*",
            context: inRegion({ [`aws:RequestTag/${OWNER}`]: mine }, "eu-west-1"),
          }),
        ).to.equal(false);
      });

      it("refuses CreateUser without the ownership tag (the operator always sends it)", () => {
        expect(
          allows(policy, { action: "memorydb:CreateUser", resource: "*", context: inRegion({ "aws:RequestTag/team": "payments" }) }),
        ).to.equal(false);
        expect(allows(policy, { action: "memorydb:CreateUser", resource: "*", context: inRegion() })).to.equal(false);
      });
    });
  }

  it("the operator's code calls no MemoryDB action the policy lacks", () => {
    const file = join(REPO, "src", "aws", "memorydb.ts");
    const called = new Set([...readFileSync(file, "utf8").matchAll(/new (\w+)Command\(/g)].map((m) => `memorydb:${m[1]}`));
    expect(called.size).to.be.greaterThan(0);
    expect([...called].sort()).to.deep.equal(OPERATOR_ACTIONS);
  });

  it("policy.json lets the operator change any user of the account and region", () => {
    const policy = load("policy.json");
    for (const action of ["memorydb:UpdateUser", "memorydb:DeleteUser", "memorydb:TagResource", "memorydb:UntagResource"]) {
      expect(allows(policy, { action, resource: arn("foreign"), context: inRegion() }), action).to.equal(true);
      expect(allows(policy, { action, resource: arn("foreign", "eu-west-1"), context: inRegion({}, "eu-west-1") }), action).to.equal(false);
    }
  });

  describe("policy-owned-only.json", () => {
    const policy = load("policy-owned-only.json");
    const owned = (owner: string | undefined) => (owner === undefined ? {} : { [`aws:ResourceTag/${OWNER}`]: owner });

    it("checks the ownership tag's value (<CLUSTER_ID>/*) in every write statement, not only its presence", () => {
      for (const s of policy.Statement) {
        const writes = list(s.Action).filter((a) => !["memorydb:DescribeUsers", "memorydb:ListTags"].includes(a));
        if (writes.length === 0) continue;
        const like = { ...s.Condition?.StringLike, ...s.Condition?.StringLikeIfExists };
        const values = [like[`aws:RequestTag/${OWNER}`], like[`aws:ResourceTag/${OWNER}`]].filter((v) => v !== undefined);
        expect(values.length, s.Sid).to.be.greaterThan(0);
        for (const v of values) expect(v, s.Sid).to.equal("<CLUSTER_ID>/*");
      }
    });

    it("CreateUser only with the request tag owner = <CLUSTER_ID>/...", () => {
      const create = (owner: string | undefined) =>
        allows(policy, {
          action: "memorydb:CreateUser",
          resource: "*",
          context: inRegion(owner === undefined ? {} : { [`aws:RequestTag/${OWNER}`]: owner }),
        });
      expect(create(mine)).to.equal(true);
      expect(create(theirs)).to.equal(false);
      expect(create("cluster-ab/team-a/app-user")).to.equal(false);
      expect(create(undefined)).to.equal(false);
    });

    it("UpdateUser, DeleteUser and UntagResource only on users whose owner tag is <CLUSTER_ID>/...", () => {
      for (const action of ["memorydb:UpdateUser", "memorydb:DeleteUser", "memorydb:UntagResource"]) {
        expect(allows(policy, { action, resource: arn("app-user"), context: inRegion(owned(mine)) }), action).to.equal(true);
        expect(allows(policy, { action, resource: arn("app-user"), context: inRegion(owned(theirs)) }), action).to.equal(false);
        expect(allows(policy, { action, resource: arn("app-user"), context: inRegion(owned(undefined)) }), action).to.equal(false);
      }
      // Retain: removing the ownership tag from an owned user
      expect(
        allows(policy, {
          action: "memorydb:UntagResource",
          resource: arn("app-user"),
          context: inRegion({ ...owned(mine), "aws:TagKeys": OWNER }),
        }),
      ).to.equal(true);
    });

    it("TagResource: tag-on-create and adoption of an unowned user only with our owner tag; owned users freely, but never handed to another owner", () => {
      const tag = (resourceOwner: string | undefined, requestTags: Record<string, string>) =>
        allows(policy, {
          action: "memorydb:TagResource",
          resource: arn("app-user"),
          context: inRegion({
            ...owned(resourceOwner),
            ...Object.fromEntries(Object.entries(requestTags).map(([k, v]) => [`aws:RequestTag/${k}`, v])),
          }),
        });
      expect(tag(undefined, { [OWNER]: mine }), "adopt an unowned user").to.equal(true);
      expect(tag(undefined, { team: "payments" }), "tag an unowned user without taking it").to.equal(false);
      expect(tag(theirs, { [OWNER]: mine }), "take another cluster's user").to.equal(false);
      expect(tag(theirs, { team: "payments" }), "tag another cluster's user").to.equal(false);
      expect(tag(mine, { team: "payments" }), "tag drift on an owned user").to.equal(true);
      expect(tag(mine, { [OWNER]: mine, team: "payments" }), "rewrite our own owner tag").to.equal(true);
      expect(tag(mine, { [OWNER]: theirs }), "hand an owned user to another cluster").to.equal(false);
    });
  });

  it("the trust policies let only the operator's ServiceAccount assume the role (IRSA, EKS Pod Identity)", () => {
    const base = kustomize(join(DEPLOY, "base"));
    const sa = only(base, "ServiceAccount");
    const irsaPolicy = load("trust-policy-irsa.json");
    expect(irsaPolicy.Statement).to.have.length(1);
    const irsa = irsaPolicy.Statement[0]!;
    expect(irsa.Effect).to.equal("Allow");
    expect(irsa.Principal).to.deep.equal({ Federated: "arn:aws:iam::<ACCOUNT_ID>:oidc-provider/<OIDC_PROVIDER>" });
    expect(irsa.Action).to.equal("sts:AssumeRoleWithWebIdentity");
    expect(irsa.Condition).to.deep.equal({
      StringEquals: {
        "<OIDC_PROVIDER>:sub": `system:serviceaccount:${sa.metadata.namespace}:${sa.metadata.name}`,
        "<OIDC_PROVIDER>:aud": "sts.amazonaws.com",
      },
    });

    const podPolicy = load("trust-policy-pod-identity.json");
    expect(podPolicy.Statement).to.have.length(1);
    const pod = podPolicy.Statement[0]!;
    expect(pod.Effect).to.equal("Allow");
    expect(pod.Principal).to.deep.equal({ Service: "pods.eks.amazonaws.com" });
    expect(list(pod.Action).sort()).to.deep.equal(["sts:AssumeRole", "sts:TagSession"]);
    // confused-deputy guards (aws:SourceAccount, aws:SourceArn = the cluster's Pod Identity associations)
    // and the session tags EKS Pod Identity sets, naming the ServiceAccount
    expect(pod.Condition).to.deep.equal({
      StringEquals: {
        "aws:SourceAccount": "<ACCOUNT_ID>",
        "aws:RequestTag/kubernetes-namespace": sa.metadata.namespace,
        "aws:RequestTag/kubernetes-service-account": sa.metadata.name,
      },
      ArnLike: { "aws:SourceArn": "arn:aws:eks:<REGION>:<ACCOUNT_ID>:podidentityassociation/<CLUSTER_NAME>/*" },
    });
    const assume = (context: Record<string, string>) =>
      allows({ Version: "2012-10-17", Statement: [{ ...pod, Resource: "*" }] }, { action: "sts:AssumeRole", resource: "*", context });
    const ok = {
      "aws:SourceAccount": "123456789012",
      "aws:SourceArn": "arn:aws:eks:us-east-1:123456789012:podidentityassociation/my-cluster/a-0123456789abcdef0",
      "aws:RequestTag/kubernetes-namespace": sa.metadata.namespace!,
      "aws:RequestTag/kubernetes-service-account": sa.metadata.name,
    };
    expect(assume(ok)).to.equal(true);
    expect(assume({ ...ok, "aws:SourceAccount": "999999999999" })).to.equal(false);
    expect(assume({ ...ok, "aws:SourceArn": "arn:aws:eks:us-east-1:123456789012:podidentityassociation/other-cluster/a-1" })).to.equal(
      false,
    );
    expect(assume({ ...ok, "aws:RequestTag/kubernetes-service-account": "default" })).to.equal(false);
  });

  describe("many AWS accounts: the mapped roles", () => {
    it("the target role's trust policy lets only the operator's role assume it, and only with the external ID", () => {
      const policy = load("trust-policy-account-role.json");
      expect(policy.Version).to.equal("2012-10-17");
      expect(policy.Statement).to.have.length(1);
      const st = policy.Statement[0]!;
      expect([st.Effect, st.Action]).to.deep.equal(["Allow", "sts:AssumeRole"]);
      expect(st.Principal).to.deep.equal({ AWS: "arn:aws:iam::<OPERATOR_ACCOUNT_ID>:role/memorydb-user-operator" });
      expect(st.Condition).to.deep.equal({ StringEquals: { "sts:ExternalId": "<EXTERNAL_ID>" } });
      const assume = (externalId: string | undefined) =>
        allows(
          { Version: "2012-10-17", Statement: [{ ...st, Resource: "*" }] },
          { action: "sts:AssumeRole", resource: "*", context: externalId === undefined ? {} : { "sts:ExternalId": externalId } },
        );
      expect(assume("<EXTERNAL_ID>")).to.equal(true);
      expect(assume("another")).to.equal(false);
      expect(assume(undefined)).to.equal(false);
    });

    it("the operator's own role may assume exactly the mapped roles (named ARNs, no wildcard), nothing else", () => {
      const policy = load("policy-assume-account-roles.json");
      expect(policy.Statement).to.have.length(1);
      const st = policy.Statement[0]!;
      expect([st.Effect, st.Action]).to.deep.equal(["Allow", "sts:AssumeRole"]);
      for (const arn of list(st.Resource)) expect(arn).to.match(/^arn:aws:iam::<TARGET_ACCOUNT_ID>:role\/[\w+=,.@-]+$/);
      expect(Object.keys(st).filter((k) => k.startsWith("Not"))).to.deep.equal([]);
    });
  });
});
