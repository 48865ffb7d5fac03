// What the suite prints. Every line goes through the Redactor, which knows every password the
// suite generated (and their base64 forms, as they appear in Secret data): a password cannot
// reach the output even inside a kubectl error or a server message quoted in a failure reason.
import { randomInt } from "node:crypto";

const REDACTED = "[REDACTED]";
const PASSWORD_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

export class Redactor {
  readonly #secrets = new Set<string>();

  /** A fresh random password of `length` characters, registered before anyone can see it. */
  password(length = 28): string {
    let value = "";
    for (let i = 0; i < length; i++) value += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)];
    this.add(value);
    return value;
  }

  add(secret: string): void {
    this.#secrets.add(secret);
    this.#secrets.add(Buffer.from(secret, "utf8").toString("base64"));
  }

  /** Every registered secret, longest first (so a base64 form is replaced whole). */
  get secrets(): string[] {
    return [...this.#secrets].sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
    return out;
  }

  /** Whether `text` holds any registered secret. */
  leaks(text: string): boolean {
    return this.secrets.some((s) => text.includes(s));
  }
}

/** One line per step, then the summary. */
export class Reporter {
  readonly #write: (text: string) => void;
  readonly #redactor: Redactor;
  passed = 0;
  failed = 0;

  constructor(redactor: Redactor, write: (text: string) => void = (t) => process.stdout.write(t)) {
    this.#redactor = redactor;
    this.#write = write;
  }

  line(text: string): void {
    this.#write(`${this.#redactor.redact(text)}\n`);
  }

  pass(step: string, ms: number): void {
    this.passed++;
    this.line(`PASS ${step} (${(ms / 1000).toFixed(1)}s)`);
  }

  fail(step: string, reason: string): void {
    this.failed++;
    // One line per step: a multi-line kubectl error is folded, and a huge one cut.
    const folded = reason
      .replace(/\s*\n\s*/g, " | ")
      .replace(/\s+/g, " ")
      .trim();
    this.line(`FAIL ${step}: ${folded.length > 3000 ? `${folded.slice(0, 3000)}…` : folded}`);
  }

  summary(): void {
    this.line(`e2e: ${this.passed} passed, ${this.failed} failed`);
  }
}
