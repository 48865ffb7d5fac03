import { Sha256 as SdkSha256 } from "@smithy/core/checksum";
import { expect } from "chai";
import { Sha256 } from "../../src/aws/sha256.ts";

type Ctor = new (secret?: string | Uint8Array) => { update(data: Uint8Array): void; digest(): Promise<Uint8Array>; reset(): void };

const bytes = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

async function hmac(ctor: Ctor, key: string | Uint8Array, data: string): Promise<Uint8Array> {
  const h = new ctor(key);
  h.update(bytes(data));
  return h.digest();
}

/** SigV4's use of its hash: derive the signing key, then sign a string with it, twice. */
async function sign(ctor: Ctor): Promise<string[]> {
  let key: string | Uint8Array = "AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  for (const part of ["20261202", "eu-west-1", "memorydb", "aws4_request"]) key = await hmac(ctor, key, part);
  const payload = new ctor();
  payload.update(bytes('{"UserName":"app"}'));
  const canonical = new ctor();
  canonical.update(bytes(`POST\n/\n\nhost:memory-db.eu-west-1.amazonaws.com\n\nhost\n${hex(await payload.digest())}`));
  const toSign = `AWS4-HMAC-SHA256\n20261202T000000Z\n20261202/eu-west-1/memorydb/aws4_request\n${hex(await canonical.digest())}`;
  // The same key object twice: the second signature uses the prepared key.
  return [hex(key as Uint8Array), hex(await hmac(ctor, key, toSign)), hex(await hmac(ctor, key, `${toSign}x`))];
}

describe("the SHA-256 the AWS SDK signs with", () => {
  it("signs as the SDK's own: the derived key and the signatures, the prepared key used again", async () => {
    expect(await sign(Sha256)).to.deep.equal(await sign(SdkSha256));
  });

  it("takes a key given as a view into a larger buffer as the view's bytes alone", async () => {
    const backing = new Uint8Array(64).map((_, i) => i);
    const view = backing.subarray(16, 48);
    expect(hex(await hmac(Sha256, view, "data"))).to.equal(hex(await hmac(SdkSha256, view.slice(), "data")));
  });

  it("hashes on after a digest, as the SDK's does, and starts over on reset", async () => {
    const [ours, sdk] = [new Sha256(), new SdkSha256()];
    for (const h of [ours, sdk]) h.update(bytes("a"));
    expect(hex(await ours.digest())).to.equal(hex(await sdk.digest()));
    for (const h of [ours, sdk]) h.update(bytes("b"));
    expect(hex(await ours.digest())).to.equal(hex(await sdk.digest()));
    ours.reset();
    ours.update(bytes("ab"));
    expect(hex(await ours.digest())).to.equal(hex(await sdk.digest()));
  });
});
