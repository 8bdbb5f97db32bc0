/**
 * The msgpack wire format (https://github.com/msgpack/msgpack/blob/master/spec.md) at the level of
 * single items: a writer that always picks the smallest encoding, and a reader that returns one
 * item header at a time. `msgpack.ts` maps the value model onto these items; keeping the wire
 * separate lets it spell Python floats as msgpack floats (1.0 stays a float) and dict keys of any
 * type, which a JS-object-shaped msgpack library cannot.
 */
import { ByteReader } from "../bytes/reader.js";
import { GrowableBuffer } from "../bytes/writer.js";
import { ConvertError } from "../errors.js";

/** A growable big-endian byte buffer with back-patching for ext payload lengths. */
export class MsgpackWriter extends GrowableBuffer {
  /** Ext items begun and not yet ended (their headers are patched at the end). */
  private openExts = 0;

  constructor(initialCapacity = 1024) {
    super(initialCapacity);
  }

  private u8(v: number): void {
    this.reserve(1);
    this.buf[this.length++] = v;
  }

  private head16(tag: number, v: number): void {
    this.reserve(3);
    this.buf[this.length] = tag;
    this.view.setUint16(this.length + 1, v, false);
    this.length += 3;
  }

  private head32(tag: number, v: number): void {
    this.reserve(5);
    this.buf[this.length] = tag;
    this.view.setUint32(this.length + 1, v, false);
    this.length += 5;
  }

  nil(): void {
    this.u8(0xc0);
  }

  bool(v: boolean): void {
    this.u8(v ? 0xc3 : 0xc2);
  }

  /** Any integer in [-2^63, 2^64), in the smallest int format. */
  int(v: number | bigint): void {
    if (typeof v === "number" && v >= 0) {
      if (v < 0x80) this.u8(v);
      else if (v < 0x100) { this.u8(0xcc); this.u8(v); }
      else if (v < 0x10000) this.head16(0xcd, v);
      else if (v < 0x1_0000_0000) this.head32(0xce, v);
      else this.big(0xcf, BigInt(v));
    } else if (typeof v === "number") {
      if (v >= -32) this.u8(v & 0xff);
      else if (v >= -0x80) { this.u8(0xd0); this.u8(v & 0xff); }
      else if (v >= -0x8000) this.head16(0xd1, v & 0xffff);
      else if (v >= -0x8000_0000) this.head32(0xd2, v >>> 0);
      else this.big(0xd3, BigInt(v));
    } else if (v >= -(2n ** 63n) && v < 2n ** 64n) {
      const safe = v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER);
      if (safe) this.int(Number(v));
      else this.big(v >= 0n ? 0xcf : 0xd3, v);
    } else {
      throw new ConvertError("unencodable", `integer ${v} does not fit msgpack's 64-bit ints`);
    }
  }

  private big(tag: number, v: bigint): void {
    this.reserve(9);
    this.buf[this.length] = tag;
    if (tag === 0xcf) this.view.setBigUint64(this.length + 1, v, false);
    else this.view.setBigInt64(this.length + 1, v, false);
    this.length += 9;
  }

  /** A float64 (0xcb). `bits`, 8 big-endian bytes, wins over `v` when given (NaN payloads). */
  float64(v: number, bits?: Uint8Array): void {
    this.reserve(9);
    this.buf[this.length] = 0xcb;
    if (bits !== undefined) this.buf.set(bits, this.length + 1);
    else this.view.setFloat64(this.length + 1, v, false);
    this.length += 9;
  }

  /** A str item from UTF-8 bytes. */
  str(utf8: Uint8Array): void {
    const n = utf8.length;
    if (n < 32) this.u8(0xa0 | n);
    else if (n < 0x100) { this.u8(0xd9); this.u8(n); }
    else if (n < 0x10000) this.head16(0xda, n);
    else this.head32(0xdb, checkU32(n, "str"));
    this.raw(utf8);
  }

  /**
   * A str item for a short ASCII string (under 32 characters: a fixstr), written in place with no
   * byte array made for it: most strings of a checkpoint (keys, dtypes, devices). Returns false,
   * writing nothing, for any other string (the caller encodes it and calls {@link str}).
   */
  asciiStr(s: string): boolean {
    const n = s.length;
    if (n >= 32) return false;
    this.reserve(1 + n);
    const buf = this.buf;
    const at = this.length + 1;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return false;
      buf[at + i] = c;
    }
    buf[at - 1] = 0xa0 | n;
    this.length = at + n;
    return true;
  }

  bin(data: Uint8Array): void {
    this.binHeader(data.length);
    this.raw(data);
  }

  /** A bin header alone; the caller writes exactly `n` bytes next (streamed storages). */
  binHeader(n: number): void {
    if (n < 0x100) { this.u8(0xc4); this.u8(n); }
    else if (n < 0x10000) this.head16(0xc5, n);
    else this.head32(0xc6, checkU32(n, "bin"));
  }

  arrayHeader(n: number): void {
    if (n < 16) this.u8(0x90 | n);
    else if (n < 0x10000) this.head16(0xdc, n);
    else this.head32(0xdd, checkU32(n, "array"));
  }

  mapHeader(n: number): void {
    if (n < 16) this.u8(0x80 | n);
    else if (n < 0x10000) this.head16(0xde, n);
    else this.head32(0xdf, checkU32(n, "map"));
  }

  /** Writes raw bytes (a payload whose header was already written). */
  raw(data: Uint8Array): void {
    this.reserve(data.length);
    this.buf.set(data, this.length);
    this.length += data.length;
  }

  /** The first `n` bytes of `data`, copied a byte at a time (a short run: no view made for it). */
  rawPrefix(data: Uint8Array, n: number): void {
    this.reserve(n);
    const buf = this.buf;
    const at = this.length;
    for (let i = 0; i < n; i++) buf[at + i] = data[i]!;
    this.length = at + n;
  }

  /**
   * Starts an ext item whose payload is written next; returns a mark for {@link endExt}. The
   * header is reserved at its largest (ext 32) and shrunk to ext 8 when the payload turns out to
   * be short, which moves at most 255 bytes: nested ext items stay linear in total size.
   */
  beginExt(type: number): number {
    this.openExts++;
    const mark = this.length;
    this.reserve(6);
    this.buf[mark] = 0xc9;
    this.buf[mark + 5] = type & 0xff;
    this.length += 6;
    return mark;
  }

  endExt(mark: number): void {
    this.openExts--;
    const payload = this.length - mark - 6;
    if (payload < 0x100) {
      const type = this.buf[mark + 5]!;
      this.buf.copyWithin(mark + 3, mark + 6, this.length);
      this.buf[mark] = 0xc7;
      this.buf[mark + 1] = payload;
      this.buf[mark + 2] = type;
      this.length -= 3;
    } else {
      this.view.setUint32(mark + 1, checkU32(payload, "ext"), false);
    }
  }

  /**
   * When no ext item is open (nothing left to patch) and at least `min` bytes are buffered: hands
   * them to `out` as they are (no copy) and starts a new buffer of the same size, so a long item
   * sequence neither grows the buffer nor is copied out at the end.
   */
  spill(out: Uint8Array[], min: number): void {
    if (this.openExts > 0 || this.length < min) return;
    out.push(this.buf.subarray(0, this.length));
    this.buf = new Uint8Array(this.buf.length);
    this.view = new DataView(this.buf.buffer);
    this.length = 0;
  }

  /** The bytes written so far, copied out, and the buffer emptied (chunked output). */
  drain(): Uint8Array {
    const out = this.buf.slice(0, this.length);
    this.length = 0;
    return out;
  }
}

function checkU32(n: number, what: string): number {
  if (n > 0xffff_ffff) throw new ConvertError("unencodable", `a msgpack ${what} holds at most 2^32-1 bytes or items, got ${n}`);
  return n;
}

/** One decoded item header: scalars carry their value, containers their count, byte items their bytes. */
export type MsgpackItem =
  | { readonly type: "nil" }
  | { readonly type: "bool"; readonly value: boolean }
  | { readonly type: "int"; readonly value: number | bigint }
  | { readonly type: "float"; readonly value: number; readonly bits: Uint8Array }
  | { readonly type: "str"; readonly data: Uint8Array }
  | { readonly type: "bin"; readonly data: Uint8Array }
  | { readonly type: "array"; readonly count: number }
  | { readonly type: "map"; readonly count: number }
  | { readonly type: "ext"; readonly extType: number; readonly data: Uint8Array; readonly offset: number };

/** Reads msgpack item headers; byte items and ext payloads are `subarray` views of the input. */
export class MsgpackReader {
  readonly r: ByteReader;

  constructor(bytes: Uint8Array, baseOffset = 0) {
    this.r = new ByteReader(bytes, { errorClass: ConvertError, baseOffset });
  }

  get pos(): number {
    return this.r.pos;
  }

  get atEnd(): boolean {
    return this.r.atEnd;
  }

  /** Absolute offset of the next item, for error messages. */
  get offset(): number {
    return this.r.baseOffset + this.r.pos;
  }

  next(): MsgpackItem {
    const r = this.r;
    const b = r.u8("a msgpack item");
    if (b < 0x80) return { type: "int", value: b };
    if (b >= 0xe0) return { type: "int", value: b - 0x100 };
    if (b < 0x90) return { type: "map", count: b & 0x0f };
    if (b < 0xa0) return { type: "array", count: b & 0x0f };
    if (b < 0xc0) return { type: "str", data: r.take(b & 0x1f, "a str") };
    const v = r.view;
    switch (b) {
      case 0xc0: return { type: "nil" };
      case 0xc2: return { type: "bool", value: false };
      case 0xc3: return { type: "bool", value: true };
      case 0xc4: return { type: "bin", data: r.take(this.len(1), "bin data") };
      case 0xc5: return { type: "bin", data: r.take(this.len(2), "bin data") };
      case 0xc6: return { type: "bin", data: r.take(this.len(4), "bin data") };
      case 0xc7: return this.ext(this.len(1));
      case 0xc8: return this.ext(this.len(2));
      case 0xc9: return this.ext(this.len(4));
      case 0xca: {
        r.need(4, "a float32");
        const bits = r.take(4);
        const f = new DataView(bits.buffer, bits.byteOffset, 4).getFloat32(0, false);
        const wide = new Uint8Array(8);
        new DataView(wide.buffer).setFloat64(0, f, false);
        return { type: "float", value: f, bits: wide };
      }
      case 0xcb: {
        r.need(8, "a float64");
        const value = v.getFloat64(r.pos, false);
        return { type: "float", value, bits: r.take(8) };
      }
      case 0xcc: return { type: "int", value: this.len(1) };
      case 0xcd: return { type: "int", value: this.len(2) };
      case 0xce: return { type: "int", value: this.len(4) };
      case 0xcf: {
        r.need(8, "a uint64");
        const x = v.getBigUint64(r.pos, false);
        r.pos += 8;
        return { type: "int", value: x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x };
      }
      case 0xd0: {
        r.need(1, "an int8");
        return { type: "int", value: v.getInt8(r.pos++) };
      }
      case 0xd1: {
        r.need(2, "an int16");
        const x = v.getInt16(r.pos, false);
        r.pos += 2;
        return { type: "int", value: x };
      }
      case 0xd2: {
        r.need(4, "an int32");
        const x = v.getInt32(r.pos, false);
        r.pos += 4;
        return { type: "int", value: x };
      }
      case 0xd3: {
        r.need(8, "an int64");
        const x = v.getBigInt64(r.pos, false);
        r.pos += 8;
        const safe = x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER);
        return { type: "int", value: safe ? Number(x) : x };
      }
      case 0xd4: return this.ext(1);
      case 0xd5: return this.ext(2);
      case 0xd6: return this.ext(4);
      case 0xd7: return this.ext(8);
      case 0xd8: return this.ext(16);
      case 0xd9: return { type: "str", data: r.take(this.len(1), "a str") };
      case 0xda: return { type: "str", data: r.take(this.len(2), "a str") };
      case 0xdb: return { type: "str", data: r.take(this.len(4), "a str") };
      case 0xdc: return { type: "array", count: this.len(2) };
      case 0xdd: return { type: "array", count: this.len(4) };
      case 0xde: return { type: "map", count: this.len(2) };
      case 0xdf: return { type: "map", count: this.len(4) };
      default:
        r.pos--;
        throw r.error("invalid-data", `0x${b.toString(16)} is not a msgpack type byte`);
    }
  }

  /** An unsigned big-endian length of 1, 2 or 4 bytes. */
  private len(width: 1 | 2 | 4): number {
    const r = this.r;
    r.need(width, "a msgpack length");
    const v = width === 1 ? r.bytes[r.pos]! : width === 2 ? r.view.getUint16(r.pos, false) : r.view.getUint32(r.pos, false);
    r.pos += width;
    return v;
  }

  private ext(size: number): MsgpackItem {
    const r = this.r;
    r.need(1, "an ext type");
    const extType = r.view.getInt8(r.pos++);
    const offset = r.baseOffset + r.pos;
    return { type: "ext", extType, data: r.take(size, "ext data"), offset };
  }
}
