// The CRD itself: valid against the apiextensions.k8s.io/v1 schema, documented, and its
// openAPIV3Schema + CEL rules accept good resources and reject bad ones.

import { readFileSync } from "node:fs";
import { expect } from "chai";
import * as yaml from "js-yaml";
import { CustomResourceDefinition } from "kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition";
import { fieldErrorString } from "../../local-control-plane/kube/errors.ts";
import { applyDefaults, validateCustomResource } from "../../local-control-plane/kube/validation.ts";
import { CRD_FILE } from "../integration/harness.ts";

type Json = Record<string, any>;
const crd = yaml.load(readFileSync(CRD_FILE, "utf8")) as Json;
const version = crd.spec.versions[0];
const schema = version.schema.openAPIV3Schema as Json;

function resource(spec: Json, name = "app-user"): Json {
  return { apiVersion: "memorydb.operators.dev/v1alpha1", kind: "MemoryDBUser", metadata: { name, namespace: "ns" }, spec };
}

function errors(obj: Json, old?: Json): string[] {
  const copy = structuredClone(obj);
  applyDefaults(copy, schema);
  return validateCustomResource(copy, schema, old).map(fieldErrorString);
}

const pw = (name = "s", key = "password") => ({ secretKeyRef: { name, key } });
const good = { accessString: "on ~* &* +@all", authenticationMode: { type: "password", passwords: [pw()] } };
const gen = (over: Json = {}) => ({ secretName: "app-redis", ...over });

describe("MemoryDBUser CRD", () => {
  it("is a valid apiextensions.k8s.io/v1 CustomResourceDefinition", () => {
    expect(() => new CustomResourceDefinition(crd as any).validate()).to.not.throw();
    expect(crd.spec.group).to.equal("memorydb.operators.dev");
    expect(crd.spec.names).to.deep.include({
      kind: "MemoryDBUser",
      plural: "memorydbusers",
      shortNames: ["mdbu"],
      categories: ["memorydb", "aws"],
    });
    expect(crd.spec.scope).to.equal("Namespaced");
    expect(version).to.deep.include({ name: "v1alpha1", served: true, storage: true, subresources: { status: {} } });
  });

  it("has the printer columns User, Status, Ready, Age and wide ARN, Auth, Next-Rotation", () => {
    const cols = version.additionalPrinterColumns as Json[];
    expect(cols.filter((c) => !c.priority).map((c) => c.name)).to.deep.equal(["User", "Status", "Ready", "Age"]);
    expect(cols.filter((c) => c.priority === 1).map((c) => c.name)).to.deep.equal(["ARN", "Auth", "Next-Rotation"]);
    // A date column would print a time in the future as "<invalid>".
    expect(cols.find((c) => c.name === "Next-Rotation")).to.deep.include({
      type: "string",
      jsonPath: ".status.passwordRotation.nextRotationTime",
    });
  });

  it("describes every field", () => {
    const missing: string[] = [];
    const walk = (s: Json, path: string) => {
      for (const [name, child] of Object.entries((s.properties ?? {}) as Record<string, Json>)) {
        const p = `${path}.${name}`;
        if (!child.description && name !== "metadata") missing.push(p);
        walk(child, p);
        if (child.items) walk(child.items, `${p}[]`);
      }
    };
    walk(schema, "");
    expect(missing).to.deep.equal([]);
  });

  it("accepts good resources and defaults the authentication type", () => {
    expect(errors(resource(good))).to.deep.equal([]);
    expect(
      errors(resource({ ...good, userName: "my-user-2", tags: { team: "a" }, deletionPolicy: "Retain", region: "eu-west-1" }, "Any.Name")),
    ).to.deep.equal([]);
    expect(errors(resource({ accessString: "on ~* +@all", authenticationMode: { type: "iam" } }))).to.deep.equal([]);
    expect(errors(resource({ ...good, authenticationMode: { passwords: [pw("a"), pw("b")] } }))).to.deep.equal([]);
    const defaulted = structuredClone(resource({ accessString: "on", authenticationMode: { passwords: [pw()] } }));
    applyDefaults(defaulted, schema);
    expect(defaulted.spec.authenticationMode.type).to.equal("password");
    expect(defaulted.spec.adoptExisting).to.equal(false);
  });

  it("accepts a generated password, with or without a schedule, and defaults its overlap to 1h", () => {
    expect(errors(resource({ ...good, authenticationMode: { generatePassword: { secretName: "app-redis" } } }))).to.deep.equal([]);
    const scheduled = { secretName: "app-redis", rotateEvery: "720h", overlap: "1h30m" };
    expect(errors(resource({ ...good, authenticationMode: { type: "password", generatePassword: scheduled } }))).to.deep.equal([]);
    expect(
      errors(resource({ ...good, authenticationMode: { generatePassword: { ...scheduled, rotateEvery: "10s", overlap: "1s" } } })),
    ).to.deep.equal([]);
    const defaulted = structuredClone(
      resource({ ...good, authenticationMode: { generatePassword: { secretName: "s", rotateEvery: "2h" } } }),
    );
    applyDefaults(defaulted, schema);
    expect(defaulted.spec.authenticationMode.generatePassword.overlap).to.equal("1h");
  });

  const bad: Array<[string, Json, RegExp, string?]> = [
    ["upper-case user name", { ...good, userName: "Bad" }, /spec\.userName/],
    ["trailing hyphen", { ...good, userName: "bad-" }, /spec\.userName/],
    ["double hyphen", { ...good, userName: "a--b" }, /spec\.userName/],
    ["41 characters", { ...good, userName: `a${"b".repeat(40)}` }, /spec\.userName/],
    ["the default user", { ...good, userName: "default" }, /'default' user is built into MemoryDB/],
    ["no access string", { authenticationMode: good.authenticationMode }, /spec\.accessString: Required value/],
    ["blank access string", { ...good, accessString: "   " }, /accessString must not be blank/],
    ["password in access string", { ...good, accessString: "on >hunter2hunter2hunter2 ~* +@all" }, /must not set passwords/],
    ["nopass", { ...good, accessString: "on nopass ~* +@all" }, /must not set passwords/],
    ["reset", { ...good, accessString: "reset on ~* +@all" }, /must not set passwords or reset/],
    // Redis ACL keywords are case-insensitive, and ! removes a hashed password.
    ["NOPASS", { ...good, accessString: "on NOPASS ~* +@all" }, /must not set passwords/],
    ["Reset", { ...good, accessString: "Reset on ~* +@all" }, /must not set passwords or reset/],
    ["ResetPass", { ...good, accessString: "on ResetPass ~* +@all" }, /must not set passwords/],
    ["a hashed-password removal", { ...good, accessString: `on !${"a".repeat(64)} ~* +@all` }, /must not set passwords/],
    ["unknown auth type", { ...good, authenticationMode: { type: "ldap" } }, /Unsupported value: "ldap"/],
    ["password type without passwords", { ...good, authenticationMode: { type: "password" } }, /needs 1 or 2 entries/],
    ["iam with passwords", { ...good, authenticationMode: { type: "iam", passwords: [pw()] } }, /must not be set when type is 'iam'/],
    [
      "the same Secret key twice",
      { ...good, authenticationMode: { passwords: [pw("a"), pw("a")] } },
      /must come from different Secret keys/,
    ],
    ["three passwords", { ...good, authenticationMode: { passwords: [pw("a"), pw("b"), pw("c")] } }, /at most 2 items/],
    ["secret name", { ...good, authenticationMode: { passwords: [pw("Bad_Name")] } }, /secretKeyRef\.name/],
    ["50 tags", { ...good, tags: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, "v"])) }, /spec\.tags: Too many/],
    ["aws: tag", { ...good, tags: { "aws:x": "v" } }, /must not start with 'aws:'/],
    ["AWS: tag", { ...good, tags: { "AWS:team": "v" } }, /must not start with 'aws:'/],
    ["reserved tag in upper case", { ...good, tags: { "MemoryDB.Operators.Dev/owner": "v" } }, /reserved/],
    ["reserved tag", { ...good, tags: { "memorydb.operators.dev/owner": "v" } }, /reserved/],
    ["long tag value", { ...good, tags: { k: "v".repeat(257) } }, /spec\.tags\[k\]: Too long/],
    ["unknown deletion policy", { ...good, deletionPolicy: "Orphan" }, /Unsupported value: "Orphan"/],
    [
      "passwords and generatePassword together",
      { ...good, authenticationMode: { passwords: [pw()], generatePassword: gen() } },
      /passwords and authenticationMode\.generatePassword are mutually exclusive/,
    ],
    [
      "iam with generatePassword",
      { ...good, authenticationMode: { type: "iam", generatePassword: gen() } },
      /must not be set when type is 'iam'/,
    ],
    ["generatePassword without secretName", { ...good, authenticationMode: { generatePassword: {} } }, /secretName: Required value/],
    ["a bad generated Secret name", { ...good, authenticationMode: { generatePassword: gen({ secretName: "Bad_Name" }) } }, /secretName/],
    [
      "a malformed rotateEvery",
      { ...good, authenticationMode: { generatePassword: gen({ rotateEvery: "30 days" }) } },
      /rotateEvery must be a duration such as 720h/,
    ],
    [
      "a fractional rotateEvery",
      { ...good, authenticationMode: { generatePassword: gen({ rotateEvery: "1.5h" }) } },
      /rotateEvery must be a duration/,
    ],
    [
      "a malformed overlap",
      { ...good, authenticationMode: { generatePassword: gen({ overlap: "-1h" }) } },
      /overlap must be a duration such as 1h/,
    ],
    [
      "rotateEvery under 10s",
      { ...good, authenticationMode: { generatePassword: gen({ rotateEvery: "9s", overlap: "1s" }) } },
      /rotateEvery must be at least 10s/,
    ],
    ["overlap under 1s", { ...good, authenticationMode: { generatePassword: gen({ overlap: "999ms" }) } }, /overlap must be at least 1s/],
    [
      "rotateEvery not longer than overlap",
      { ...good, authenticationMode: { generatePassword: gen({ rotateEvery: "30m" }) } },
      /rotateEvery must be longer than generatePassword\.overlap \(default 1h\)/,
    ],
    ["bad region", { ...good, region: "Mars" }, /spec\.region/],
  ];
  for (const [what, spec, message] of bad) {
    it(`rejects ${what}`, () => {
      expect(errors(resource(spec)).join("\n")).to.match(message);
    });
  }

  it("rejects a metadata.name that is no user name when spec.userName is absent", () => {
    expect(errors(resource(good, "my.user")).join("\n")).to.match(/metadata\.name is not a valid MemoryDB user name/);
    expect(errors(resource({ ...good, userName: "ok" }, "my.user"))).to.deep.equal([]);
  });

  it("makes the user name and region immutable", () => {
    const old = resource({ ...good, userName: "one" });
    applyDefaults(old, schema);
    expect(errors(resource({ ...good, userName: "two" }), old).join("\n")).to.match(/user name is immutable/);
    expect(errors(resource({ ...good, userName: "one", accessString: "on ~a +get" }), old)).to.deep.equal([]);
    const implicit = resource(good);
    applyDefaults(implicit, schema);
    expect(errors(resource({ ...good, userName: "app-user" }), implicit)).to.deep.equal([]);
    expect(errors(resource({ ...good, userName: "other" }), implicit).join("\n")).to.match(/immutable/);
    expect(errors(resource({ ...good, region: "eu-west-1" }), implicit).join("\n")).to.match(/spec\.region is immutable/);
  });
});
