import { TorchsaveError, type ErrorCode, type TorchsaveErrorOptions } from "../errors.js";

type ErrorClass = new (code: ErrorCode, reason: string, options?: TorchsaveErrorOptions) => TorchsaveError;

/**
 * A cursor over a byte range. Every read checks the remaining length first, so a declared length
 * never allocates or slices past the input; reads return `subarray` views, not copies.
 */
export class ByteReader {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  pos: number;
  /** Added to `pos` in error offsets, when this range sits inside a larger file. */
  readonly baseOffset: number;
  private readonly errorClass: ErrorClass;
  private readonly entry: string | undefined;

  constructor(bytes: Uint8Array, options: { errorClass?: ErrorClass; baseOffset?: number; entry?: string } = {}) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
    this.baseOffset = options.baseOffset ?? 0;
    this.errorClass = options.errorClass ?? TorchsaveError;
    this.entry = options.entry;
  }

  get length(): number {
    return this.bytes.length;
  }
  get remaining(): number {
    return this.bytes.length - this.pos;
  }
  get atEnd(): boolean {
    return this.pos >= this.bytes.length;
  }

  /** Throws `truncated` unless `n` more bytes exist. `what` names the thing being read. */
  need(n: number, what: string): void {
    if (n > this.bytes.length - this.pos) {
      throw this.error("truncated", `expected ${n} bytes for ${what}, ${this.remaining} remain`);
    }
  }

  error(code: ErrorCode, reason: string, extra: TorchsaveErrorOptions = {}): TorchsaveError {
    const location: TorchsaveErrorOptions = { offset: this.baseOffset + this.pos, ...extra };
    return new this.errorClass(code, reason, this.entry === undefined ? location : { entry: this.entry, ...location });
  }

  u8(what = "a byte"): number {
    this.need(1, what);
    return this.bytes[this.pos++]!;
  }
  u16(what = "a 2-byte integer"): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(what = "a 4-byte integer"): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  i32(what = "a 4-byte integer"): number {
    this.need(4, what);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  /** An unsigned 64-bit little-endian length; refuses values beyond Number.MAX_SAFE_INTEGER. */
  u64(what = "an 8-byte length"): number {
    this.need(8, what);
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getUint32(this.pos + 4, true);
    if (hi > 0x1fffff) throw this.error("invalid-data", `${what} ${(BigInt(hi) << 32n) | BigInt(lo)} is beyond 2^53`);
    this.pos += 8;
    return hi * 0x1_0000_0000 + lo;
  }
  i64(what = "an 8-byte integer"): number {
    this.need(8, what);
    const v = this.view.getBigInt64(this.pos, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw this.error("invalid-data", `${what} ${v} is beyond 2^53`);
    }
    this.pos += 8;
    return Number(v);
  }
  f64be(what = "an 8-byte float"): number {
    this.need(8, what);
    const v = this.view.getFloat64(this.pos, false);
    this.pos += 8;
    return v;
  }

  /** A view of the next `n` bytes (no copy). */
  take(n: number, what = "data"): Uint8Array {
    if (!Number.isSafeInteger(n) || n < 0) throw this.error("invalid-data", `negative or huge length ${n} for ${what}`);
    this.need(n, what);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** The bytes up to (not including) the next `\n`, which is consumed. */
  line(what = "a text line"): Uint8Array {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) throw this.error("truncated", `no newline ends ${what}`);
    const out = this.bytes.subarray(this.pos, end);
    this.pos = end + 1;
    return out;
  }
}
