// deploy/iam: the IAM policy grants exactly the MemoryDB actions the operator calls, on MemoryDB
// user ARNs only; the trust policies name the operator's ServiceAccount.
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DEPLOY, kustomize, only, REPO } from "./manifests.ts";

type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource: string | string[]; Condition?: Record<string, any> };
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

describe("deploy/iam", () => {
  for (const file of ["policy.json", "policy-owned-only.json"]) {
    describe(file, () => {
      const policy = load(file);

      it("grants exactly the MemoryDB actions the operator calls, and only Allows", () => {
        expect(policy.Version).to.equal("2012-10-17");
        const actions = new Set(policy.Statement.flatMap((s) => list(s.Action)));
        expect([...actions].sort()).to.deep.equal(OPERATOR_ACTIONS);
        expect(policy.Statement.every((s) => s.Effect === "Allow")).to.equal(true);
      });

      it("scopes every statement to MemoryDB user ARNs (no *)", () => {
        for (const s of policy.Statement) expect(list(s.Resource), s.Sid).to.deep.equal([USER_ARN]);
      });
    });
  }

  it("the operator's code calls no MemoryDB action the policy lacks", () => {
    const file = join(REPO, "src", "aws", "memorydb.ts");
    const called = new Set([...readFileSync(file, "utf8").matchAll(/new (\w+)Command\(/g)].map((m) => `memorydb:${m[1]}`));
    expect(called.size).to.be.greaterThan(0);
    expect([...called].sort()).to.deep.equal(OPERATOR_ACTIONS);
  });

  it("policy-owned-only.json limits changes to users carrying the operator's ownership tag", () => {
    const policy = load("policy-owned-only.json");
    const key = "memorydb.operators.dev/owner";
    for (const s of policy.Statement) {
      const actions = list(s.Action);
      const writes = actions.filter((a) => !["memorydb:DescribeUsers", "memorydb:ListTags"].includes(a));
      if (writes.length === 0) continue;
      const nulls = s.Condition?.Null ?? {};
      expect(nulls[`aws:RequestTag/${key}`] === "false" || nulls[`aws:ResourceTag/${key}`] === "false", s.Sid).to.equal(true);
    }
  });

  it("the trust policies let the operator's ServiceAccount (IRSA) or EKS Pod Identity assume the role", () => {
    const base = kustomize(join(DEPLOY, "base"));
    const sa = only(base, "ServiceAccount");
    const irsa = load("trust-policy-irsa.json").Statement[0]!;
    expect(irsa.Action).to.equal("sts:AssumeRoleWithWebIdentity");
    expect(irsa.Condition!.StringEquals["<OIDC_PROVIDER>:sub"]).to.equal(`system:serviceaccount:${sa.metadata.namespace}:${sa.metadata.name}`);
    expect(irsa.Condition!.StringEquals["<OIDC_PROVIDER>:aud"]).to.equal("sts.amazonaws.com");
    const podIdentity = load("trust-policy-pod-identity.json").Statement[0] as Statement & { Principal: { Service: string } };
    expect(podIdentity.Principal.Service).to.equal("pods.eks.amazonaws.com");
    expect(list(podIdentity.Action).sort()).to.deep.equal(["sts:AssumeRole", "sts:TagSession"]);
  });
});
