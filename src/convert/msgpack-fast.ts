/**
 * The two items a checkpoint of many small tensors is made of, written as whole byte runs (issue
 * #16: 40,000 storage-table headers and 40,000 tensor records, each a dozen small items): a
 * storage's header and a plain tensor's ext item are put together in a scratch buffer, the parts
 * that repeat from one to the next (the storage class, dtype, location, device, field names)
 * encoded once, and copied into the writer at once. What these do not take (long or non-ASCII
 * strings, numbers outside 32 bits, a record over 255 bytes) they leave to the item-by-item code
 * in `msgpack-encode.ts`, which gives the same bytes (tests compare them).
 */
import type { Storage, Tensor } from "../torch/index.js";
import { MSGPACK_EXT } from "./msgpack-ext.js";
import type { MsgpackWriter } from "./msgpack-wire.js";

/** Bytes of a fixstr for ASCII `s` (under 32 characters). */
function fixstr(s: string): number[] {
  return [0xa0 | s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
}

const FIELD_DTYPE = fixstr("dtype");
const FIELD_SHAPE = fixstr("shape");
const FIELD_STRIDE = fixstr("stride");
const FIELD_OFFSET = fixstr("offset");
const FIELD_STORAGE = fixstr("storage");
const FIELD_DEVICE = fixstr("device");
const FIELD_REQUIRES_GRAD = fixstr("requires_grad");
const FIELD_PARAMETER = fixstr("parameter");
const HEADER_KEY = [0x86, ...fixstr("key")];
const FIELD_DATA = fixstr("data");

/** A string written as a fixstr by `asciiStr`: ASCII, under 32 characters. */
function shortAscii(s: unknown): s is string {
  if (typeof s !== "string" || s.length >= 32) return false;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}

/** Whole storage headers and plain tensor records; one per document (it caches the repeating parts). */
export class MsgpackRuns {
  private readonly scratch = new Uint8Array(512);
  private at = 0;
  private tensorKey: unknown[] = [];
  private tensorHead: number[] = [];
  private tensorTail: number[] = [];
  private storageKey: unknown[] = [];
  private storageMiddle: number[] = [];

  /**
   * Writes the header map of a storage that is not a view, is little-endian and has data, up to
   * and including the "data" key (the bin item follows), as `writeHeader` does; false, writing
   * nothing, when it is not of that common shape.
   */
  storageHeader(w: MsgpackWriter, s: Storage, key: string): boolean {
    const type = s.storageType;
    const numel = s.declaredNumel;
    if (s.view !== undefined || s.byteOrder !== "little" || !shortAscii(key) || !shortAscii(type.module) || !shortAscii(type.name) ||
      !shortAscii(s.dtype) || !shortAscii(s.location) || !Number.isInteger(numel) || numel < 0 || numel >= 2 ** 32) return false;
    const k = this.storageKey;
    if (k[0] !== type.module || k[1] !== type.name || k[2] !== s.dtype || k[3] !== s.location) {
      this.storageKey = [type.module, type.name, s.dtype, s.location];
      this.storageMiddle = [...fixstr("type"), 0x92, ...fixstr(type.module), ...fixstr(type.name), ...fixstr("dtype"), ...fixstr(s.dtype),
        ...fixstr("location"), ...fixstr(s.location), ...fixstr("numel")];
    }
    this.at = 0;
    this.put(HEADER_KEY);
    this.ascii(key);
    this.put(this.storageMiddle);
    this.int(numel);
    this.put(FIELD_DATA);
    w.rawPrefix(this.scratch, this.at);
    return true;
  }

  /**
   * Writes a plain tensor's ext item (its 8-field record) as `plainTensor` inside `ext` does; false,
   * writing nothing, when a part needs the item-by-item code.
   */
  plainTensor(w: MsgpackWriter, t: Tensor, key: string): boolean {
    const { dtype, device, shape, stride } = t;
    if (shape.length >= 16 || stride.length >= 16 || !shortAscii(key) || !shortAscii(dtype) || !shortAscii(device) ||
      typeof t.requiresGrad !== "boolean" || typeof t.isParameter !== "boolean") return false;
    const k = this.tensorKey;
    if (k[0] !== dtype || k[1] !== device) {
      this.tensorKey = [dtype, device];
      this.tensorHead = [0x88, ...FIELD_DTYPE, ...fixstr(dtype), ...FIELD_SHAPE];
      this.tensorTail = [...FIELD_DEVICE, ...fixstr(device), ...FIELD_REQUIRES_GRAD];
    }
    // ext 8: 0xc7, payload length (patched below), type.
    this.at = 3;
    this.put(this.tensorHead);
    if (!this.ints(shape)) return false;
    this.put(FIELD_STRIDE);
    if (!this.ints(stride)) return false;
    this.put(FIELD_OFFSET);
    if (!this.int(t.storageOffset)) return false;
    this.put(FIELD_STORAGE);
    this.ascii(key);
    this.put(this.tensorTail);
    this.scratch[this.at++] = t.requiresGrad ? 0xc3 : 0xc2;
    this.put(FIELD_PARAMETER);
    this.scratch[this.at++] = t.isParameter ? 0xc3 : 0xc2;
    const payload = this.at - 3;
    if (payload >= 0x100) return false;
    this.scratch[0] = 0xc7;
    this.scratch[1] = payload;
    this.scratch[2] = MSGPACK_EXT.tensor;
    w.rawPrefix(this.scratch, this.at);
    return true;
  }

  private put(bytes: readonly number[]): void {
    const s = this.scratch;
    let at = this.at;
    for (let i = 0; i < bytes.length; i++) s[at++] = bytes[i]!;
    this.at = at;
  }

  /** A short ASCII string (checked by the caller) as a fixstr. */
  private ascii(str: string): void {
    const s = this.scratch;
    let at = this.at;
    s[at++] = 0xa0 | str.length;
    for (let i = 0; i < str.length; i++) s[at++] = str.charCodeAt(i);
    this.at = at;
  }

  private ints(list: readonly number[]): boolean {
    this.scratch[this.at++] = 0x90 | list.length;
    for (let i = 0; i < list.length; i++) if (!this.int(list[i]!)) return false;
    return true;
  }

  /** `MsgpackWriter.int` for an integer within 32 bits (signed or not); false for anything else. */
  private int(v: number): boolean {
    if (!Number.isInteger(v)) return false;
    const s = this.scratch;
    let at = this.at;
    if (v >= 0) {
      if (v < 0x80) s[at++] = v;
      else if (v < 0x100) {
        s[at++] = 0xcc;
        s[at++] = v;
      } else if (v < 0x10000) {
        s[at++] = 0xcd;
        s[at++] = v >>> 8;
        s[at++] = v & 0xff;
      } else if (v < 0x1_0000_0000) {
        s[at++] = 0xce;
        s[at++] = v >>> 24;
        s[at++] = (v >>> 16) & 0xff;
        s[at++] = (v >>> 8) & 0xff;
        s[at++] = v & 0xff;
      } else return false;
    } else if (v >= -32) s[at++] = v & 0xff;
    else if (v >= -0x80) {
      s[at++] = 0xd0;
      s[at++] = v & 0xff;
    } else if (v >= -0x8000) {
      s[at++] = 0xd1;
      s[at++] = (v >> 8) & 0xff;
      s[at++] = v & 0xff;
    } else if (v >= -0x8000_0000) {
      s[at++] = 0xd2;
      s[at++] = (v >>> 24) & 0xff;
      s[at++] = (v >>> 16) & 0xff;
      s[at++] = (v >>> 8) & 0xff;
      s[at++] = v & 0xff;
    } else return false;
    this.at = at;
    return true;
  }
}
