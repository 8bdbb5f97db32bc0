/**
 * The byte cursor both streaming JSON readers stand on (lossless `json-read.ts`, plain
 * `plain-json-read.ts`): a window of the source at a time, the byte at the cursor, whitespace, and
 * errors that name the byte offset.
 */
import type { ByteSource } from "../bytes/source.js";
import { ConvertError } from "../errors.js";

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
}
