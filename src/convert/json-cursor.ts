/**
 * The byte cursor both streaming JSON readers stand on (lossless `json-read.ts`, plain
 * `plain-json-read.ts`): a window of the source at a time, the byte at the cursor, whitespace, and
 * errors that name the byte offset.
 */
import type { ByteSource } from "../bytes/source.js";
import { concatBytes } from "../bytes/concat.js";
import { ConvertError } from "../errors.js";

const QUOTE = 0x22, BACKSLASH = 0x5c;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

export class JsonByteCursor {
  protected buf: Uint8Array = new Uint8Array(0);
  /** Source offset of `buf[0]`. */
  protected base = 0;
  protected pos = 0;
  protected readonly read: (offset: number, length: number) => Uint8Array;

  /** `noun` names the input in truncation errors ("document", "text"). */
  constructor(protected readonly source: ByteSource, protected readonly window: number, private readonly noun: string) {
    const bytes = source.bytes;
    const readSync = source.readSync;
    if (bytes !== undefined) this.read = (o, n) => bytes.subarray(o, o + n);
    else if (readSync !== undefined) this.read = (o, n) => readSync.call(source, o, n);
    else throw new ConvertError("invalid-argument", "the JSON reader needs a source that reads synchronously (load a Blob into memory first)");
  }

  protected get offset(): number {
    return this.base + this.pos;
  }

  /** Moves to the next window; false at the end of the source. */
  protected refill(): boolean {
    const next = this.base + this.buf.length;
    if (next >= this.source.size) return false;
    this.buf = this.read(next, Math.min(this.window, this.source.size - next));
    this.base = next;
    this.pos = 0;
    return true;
  }

  /** The byte at the cursor, or -1 at the end. */
  protected peek(): number {
    if (this.pos < this.buf.length) return this.buf[this.pos]!;
    return this.refill() ? this.buf[0]! : -1;
  }

  protected fail(reason: string, at = this.offset): ConvertError {
    return new ConvertError("invalid-data", `not JSON: ${reason} at byte ${at}`, { offset: at });
  }

  protected end(what: string): ConvertError {
    return new ConvertError("truncated", `the JSON ${this.noun} ends at byte ${this.offset} inside ${what}`, { offset: this.offset });
  }

  protected unexpected(c: number, what: string): ConvertError {
    if (c < 0) return this.end(what);
    return this.fail(`unexpected ${c < 0x80 ? JSON.stringify(String.fromCharCode(c)) : `byte 0x${c.toString(16)}`}`);
  }

  /** Skips whitespace; returns the next byte (-1 at the end). */
  protected space(): number {
    for (;;) {
      const c = this.peek();
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.pos++;
      else return c;
    }
  }

  /** A string at the cursor (on its opening quote); `prefix` holds bytes already read of it. */
  protected string(prefix?: Uint8Array): string {
    const start = this.offset;
    if (prefix === undefined) this.pos++;
    const parts: Uint8Array[] = prefix === undefined ? [] : [prefix];
    let escaped = false;
    for (;;) {
      const b = this.buf;
      let p = this.pos;
      let c = 0;
      while (p < b.length) {
        c = b[p]!;
        if (c === QUOTE || c < 0x20) break;
        if (c === BACKSLASH) {
          escaped = true;
          if (p + 1 === b.length) break;
          p += 2;
        } else p++;
      }
      if (p < b.length && c !== BACKSLASH) {
        if (c !== QUOTE) throw this.fail("control character in a string", this.base + p);
        parts.push(b.subarray(this.pos, p));
        this.pos = p + 1;
        break;
      }
      // The window ends inside the string (or right after a backslash: its escaped byte comes next).
      const last = p < b.length ? p + 1 : b.length;
      parts.push(b.subarray(this.pos, last));
      this.pos = last;
      if (!this.refill()) throw this.end("a string");
      if (last > p) {
        parts.push(this.buf.subarray(0, 1));
        this.pos = 1;
      }
    }
    const bytes = concatBytes(parts);
    let text: string;
    try {
      text = strictUtf8.decode(bytes);
    } catch {
      throw this.notUtf8(start);
    }
    if (!escaped) return text;
    try {
      return JSON.parse(`"${text}"`) as string;
    } catch {
      throw this.fail("bad escape in a string", start);
    }
  }

  /**
   * After a value inside an array (`array`) or an object: consumes the `,` that follows (true) or
   * the closing bracket (false).
   * @throws ConvertError for anything else, `truncated` at the end of the source.
   */
  protected separator(array: boolean): boolean {
    const c = this.space();
    if (c === 0x2c) {
      this.pos++;
      return true;
    }
    if (c === (array ? 0x5d : 0x7d)) {
      this.pos++;
      return false;
    }
    throw this.unexpected(c, array ? "an array" : "an object");
  }

  /** The error for a string at `start` whose bytes are not UTF-8. */
  protected notUtf8(start: number): ConvertError {
    return this.fail("a string that is not UTF-8", start);
  }
}
