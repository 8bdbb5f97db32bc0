/**
 * Reading a synchronous source through a window: a walk that reads small headers in file order
 * (and jumps over the large parts between them) costs one read per window, not one per header.
 */
import { CheckpointError } from "../errors.js";
import { checkReadRange, type ByteSource } from "./source.js";

/** Bytes read at a time. */
export const SOURCE_WINDOW_BYTES = 2 ** 20;

export class SourceWindow {
  private buf: Uint8Array = new Uint8Array(0);
  private base = 0;
  private readonly read: (offset: number, length: number) => Uint8Array;

  constructor(readonly source: ByteSource, private readonly window = SOURCE_WINDOW_BYTES) {
    const { bytes, readSync } = source;
    if (bytes !== undefined) this.read = (o, n) => bytes.subarray(o, o + n);
    else if (readSync !== undefined) this.read = (o, n) => readSync.call(source, o, n);
    else throw new CheckpointError("invalid-argument", "this source reads asynchronously; a windowed read needs readSync");
  }

  get size(): number {
    return this.source.size;
  }

  /**
   * `[offset, offset + length)`: a view into the window when it is there, else a fresh read of at
   * least a window's worth. The bytes stay valid after later calls (sources never reuse them).
   * @throws CheckpointError `truncated` past the end of the source.
   */
  at(offset: number, length: number): Uint8Array {
    if (offset >= this.base && offset + length <= this.base + this.buf.length) return this.buf.subarray(offset - this.base, offset - this.base + length);
    checkReadRange(this.source.size, offset, length, this.source.name);
    this.buf = this.read(offset, Math.max(length, Math.min(this.window, this.source.size - offset)));
    this.base = offset;
    return this.buf.subarray(0, length);
  }

  /** The bytes from `offset` to the end of the window (read anew when `offset` is outside it); empty at the end of the source. */
  from(offset: number): Uint8Array {
    if (offset >= this.base && offset < this.base + this.buf.length) return this.buf.subarray(offset - this.base);
    return this.upTo(offset, this.window);
  }

  /** Up to `length` bytes at `offset`: fewer where the source ends. */
  upTo(offset: number, length: number): Uint8Array {
    return this.at(offset, Math.max(0, Math.min(length, this.source.size - offset)));
  }
}
