// SHA-256 and HMAC-SHA256 for the AWS SDK's request signing (its `sha256` setting): what the
// SDK's own node:crypto class does, except that an HMAC key given as bytes becomes a KeyObject
// once. Node prepares a key of raw bytes anew for every createHmac (about 25 µs, against 5 µs
// with a KeyObject), and SigV4 signs every call with the same bytes: the signing key it derives
// once a day and caches.
import { createHash, createHmac, createSecretKey, type Hash, type Hmac, type KeyObject } from "node:crypto";

/** What the SDK hands a hash as key (its SourceData). */
type SourceData = string | ArrayBuffer | ArrayBufferView;

/** Per key object, as long as the SDK holds it (its signing-key cache keeps a handful). */
const keyObjects = new WeakMap<ArrayBuffer | ArrayBufferView, KeyObject>();

function hmacKey(secret: SourceData): string | KeyObject {
  // A string key is as fast as a KeyObject, and the SDK passes the secret access key as one.
  if (typeof secret === "string") return secret;
  let key = keyObjects.get(secret);
  if (!key) {
    const bytes = ArrayBuffer.isView(secret) ? new Uint8Array(secret.buffer, secret.byteOffset, secret.byteLength) : new Uint8Array(secret);
    key = createSecretKey(bytes);
    keyObjects.set(secret, key);
  }
  return key;
}

/** The SDK's Checksum interface (@smithy/types), as its signer uses it. */
export class Sha256 {
  readonly digestLength = 32;
  readonly #key: string | KeyObject | undefined;
  #hash: Hash | Hmac;

  constructor(secret?: SourceData) {
    this.#key = secret === undefined ? undefined : hmacKey(secret);
    this.#hash = this.#start();
  }

  #start(): Hash | Hmac {
    return this.#key === undefined ? createHash("sha256") : createHmac("sha256", this.#key);
  }

  update(data: Uint8Array): void {
    this.#hash.update(data);
  }

  /** As the SDK's: a hash may go on after its digest (a copy is digested), an HMAC may not. */
  async digest(): Promise<Uint8Array> {
    const out = this.#key === undefined ? (this.#hash as Hash).copy().digest() : this.#hash.digest();
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }

  reset(): void {
    this.#hash = this.#start();
  }
}
