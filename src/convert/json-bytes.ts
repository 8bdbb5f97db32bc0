/**
 * Lossless JSON written straight into output bytes (issue #16), and the storage data the JSON
 * writers share (a large storage read and encoded a slice at a time). The storage table: a
 * checkpoint of 40,000 small storages is 40,000 table lines, and each used to be a few strings
 * (its header, its base64) joined into larger strings and encoded afterwards. Here a line goes into
 * a {@link TextSink} as it is made: the part of the header that repeats from line to line (storage
 * class, dtype, location) is encoded once, the key and numel are copied in, and a small storage's
 * base64 is written into the buffer itself. Lines this fast path does not take (views, big-endian
 * storages, keys with characters JSON escapes, odd values) are made by `headerText`, as the text
 * path makes them, so the bytes are the same whichever path writes them (tests compare them).
 * The root's plain tensors: their one-line text written the same way ({@link TensorLineWriter}).
 */
import { TextSink } from "../bytes/text-sink.js";
import type { Storage } from "../torch/index.js";
import { pendingRecordCrc, recordCrcStream } from "../torch/record-crc.js";
import { encodeBase64Bytes, encodeBase64Into } from "./base64-bulk.js";
import { headerText, storageHeader } from "./storage-table.js";

const utf8 = new TextEncoder();

/** Storage bytes per base64 piece `jsonChunks` yields (a multiple of 3, so pieces concatenate). */
const BASE64_PIECE = 3 * 1024 * 1024;
/** Storages up to this size are written as text with the tokens around them (one encode for many). */
export const SMALL_STORAGE = 48 * 1024;

/** `{"key":"` as bytes. */
const KEY_OPEN = utf8.encode('{"key":"');
/** `,"data":"` as bytes. */
const DATA_OPEN = utf8.encode(',"data":"');

/** Storage-table lines into a sink; see the file comment. One writer per document (it caches the repeating part). */
export class StorageLineWriter {
  private type0: unknown;
  private type1: unknown;
  private dtype: unknown;
  private location: unknown;
  /** `,"type":[...],"dtype":...,"location":...,"numel":` for the four values above. */
  private middle: Uint8Array | undefined;

  constructor(readonly sink: TextSink, private readonly keyOf: ReadonlyMap<Storage, string>) {}

  /**
   * Writes the header of `s` (named `key`) without its closing brace, as `headerText(storageHeader(s, key, keyOf))`.
   * @returns whether `s` is a view (a view's line has no data).
   */
  header(s: Storage, key: string): boolean {
    const sink = this.sink;
    const type = s.storageType;
    const numel = s.declaredNumel;
    if (s.view !== undefined || s.byteOrder !== "little" || key.length > 4096 || !plainString(key) || !Number.isSafeInteger(numel) ||
      typeof type.module !== "string" || typeof type.name !== "string" || typeof s.dtype !== "string" || typeof s.location !== "string") {
      const h = storageHeader(s, key, this.keyOf);
      sink.text(headerText(h));
      return h.view !== undefined;
    }
    if (this.middle === undefined || type.module !== this.type0 || type.name !== this.type1 || s.dtype !== this.dtype || s.location !== this.location) {
      const q = JSON.stringify;
      this.middle = utf8.encode(`","type":[${q(type.module)},${q(type.name)}],"dtype":${q(s.dtype)},"location":${q(s.location)},"numel":`);
      this.type0 = type.module;
      this.type1 = type.name;
      this.dtype = s.dtype;
      this.location = s.location;
    }
    const middle = this.middle;
    sink.room(KEY_OPEN.length + key.length + middle.length);
    const buf = sink.buf;
    // Runs of bytes by `set` (one native copy), not a loop: this runs once per storage, mostly before the loop is optimized.
    buf.set(KEY_OPEN, sink.at);
    let at = sink.at + KEY_OPEN.length;
    for (let i = 0; i < key.length; i++) buf[at++] = key.charCodeAt(i);
    buf.set(middle, at);
    sink.at = at + middle.length;
    sink.int(numel);
    return false;
  }

  /** `,"data":"<base64>"` for bytes small enough to sit in one buffer with room to spare. */
  data(bytes: Uint8Array): void {
    const sink = this.sink;
    const n = DATA_OPEN.length + Math.ceil(bytes.length / 3) * 4 + 1;
    if (n > sink.size) throw new RangeError(`${bytes.length} bytes of data do not fit one output buffer`);
    sink.room(n);
    const buf = sink.buf;
    buf.set(DATA_OPEN, sink.at);
    let at = encodeBase64Into(bytes, buf, sink.at + DATA_OPEN.length);
    buf[at++] = 0x22;
    sink.at = at;
  }
}

/** A large storage read from a file: a slice at a time, so memory does not grow with its size. */
export function* slicedData(s: Storage, slices: (at: number, n: number) => Uint8Array): Generator<string | Uint8Array> {
  yield ',"data":"';
  for (let i = 0; i < s.byteLength; i += BASE64_PIECE) yield encodeBase64Bytes(slices(i, Math.min(BASE64_PIECE, s.byteLength - i)));
  yield '"';
}

export function* largeData(data: Uint8Array): Generator<string | Uint8Array> {
  yield ',"data":"';
  for (let i = 0; i < data.length; i += BASE64_PIECE) yield encodeBase64Bytes(data.subarray(i, i + BASE64_PIECE));
  yield '"';
}

/**
 * Reads slices of a large storage straight from its source when it is stored as is (no deflate,
 * not in memory, as long as its record) and the source reads synchronously; otherwise undefined
 * (the whole storage is read, with the reader's checks).
 */
export function sliceReader(s: Storage): ((at: number, n: number) => Uint8Array) | undefined {
  const from = s.from;
  if (s.data !== undefined || from === undefined || s.byteLength <= BASE64_PIECE || from.compression !== "none" || from.length < s.byteLength) return undefined;
  const source = from.source;
  if (source.bytes !== undefined || source.readSync === undefined) return undefined;
  // A CRC-32 check owed (record-crc.ts) runs over the slices, read in order; a record longer than the storage is read whole.
  const check = pendingRecordCrc(s);
  if (check !== undefined && check.size !== s.byteLength) return undefined;
  const crc = recordCrcStream(s);
  return (at, n) => {
    const bytes = source.readSync!(from.offset + at, n);
    crc?.push(bytes);
    if (at + n >= s.byteLength) crc?.end();
    return bytes;
  };
}

/** A string JSON.stringify writes as itself between quotes: printable ASCII other than `"` and `\`. */
function plainString(s: unknown): s is string {
  if (typeof s !== "string") return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

/** What {@link TensorLineWriter} reads of a tensor. */
interface TensorLike {
  readonly dtype: unknown;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
  readonly storageOffset: number;
  readonly device: unknown;
  readonly requiresGrad: unknown;
  readonly isParameter: unknown;
}

/** Characters of a plain tensor's one-line text that do not depend on the tensor (json-direct-print.ts `tensorText`). */
const TENSOR_FIXED = '{"$tensor": {"dtype": , "shape": [], "stride": [], "offset": , "storage": , "device": , "requires_grad": , "parameter": }}'.length;

/**
 * A plain tensor's one-line text (json-direct-print.ts `tensorText`) written into a sink, for
 * tensors whose dtype, storage key and device JSON writes as they are: its parts around the dtype
 * and the device are encoded once per dtype and device, the numbers and the key copied in.
 */
export class TensorLineWriter {
  private dtype: unknown;
  private device: unknown;
  /** `{"$tensor": {"dtype": "<dtype>", "shape": [` */
  private head: Uint8Array = new Uint8Array(0);
  /** `", "device": "<device>", "requires_grad": ` */
  private tail: Uint8Array = new Uint8Array(0);

  constructor(readonly sink: TextSink) {}

  /**
   * Writes the line when the tensor's strings are plain and `fits(length)` says the line of that
   * length goes on one line; else writes nothing and returns false (the caller makes the text).
   */
  line(t: TensorLike, key: string, fits: (length: number) => boolean): boolean {
    const { dtype, device, shape, stride } = t;
    if (typeof t.requiresGrad !== "boolean" || typeof t.isParameter !== "boolean" || !plainString(dtype) || !plainString(device) || key.length > 4096 || !plainString(key)) return false;
    const length = TENSOR_FIXED + dtype.length + 2 + listLength(shape) + listLength(stride) + intLength(t.storageOffset) + key.length + 2 + device.length + 2 +
      (t.requiresGrad ? 4 : 5) + (t.isParameter ? 4 : 5);
    if (!fits(length)) return false;
    if (dtype !== this.dtype || device !== this.device) {
      this.head = utf8.encode(`{"$tensor": {"dtype": "${dtype}", "shape": [`);
      this.tail = utf8.encode(`", "device": "${device}", "requires_grad": `);
      this.dtype = dtype;
      this.device = device;
    }
    const sink = this.sink;
    if (length > sink.size) return false;
    sink.room(length);
    let at = copy(this.head, sink.buf, sink.at);
    at = putList(shape, sink.buf, at);
    at = copy(STRIDE, sink.buf, at);
    at = putList(stride, sink.buf, at);
    at = copy(OFFSET, sink.buf, at);
    at = putInt(t.storageOffset, sink.buf, at);
    at = copy(STORAGE, sink.buf, at);
    for (let i = 0; i < key.length; i++) sink.buf[at++] = key.charCodeAt(i);
    at = copy(this.tail, sink.buf, at);
    at = copy(t.requiresGrad ? TRUE : FALSE, sink.buf, at);
    at = copy(PARAMETER, sink.buf, at);
    at = copy(t.isParameter ? TRUE : FALSE, sink.buf, at);
    sink.buf[at++] = 0x7d;
    sink.buf[at++] = 0x7d;
    sink.at = at;
    return true;
  }
}

const STRIDE = utf8.encode('], "stride": [');
const OFFSET = utf8.encode('], "offset": ');
const STORAGE = utf8.encode(', "storage": "');
const PARAMETER = utf8.encode(', "parameter": ');
const TRUE = utf8.encode("true");
const FALSE = utf8.encode("false");

function copy(b: Uint8Array, out: Uint8Array, at: number): number {
  out.set(b, at);
  return at + b.length;
}

/** Characters of `String(v)` for a safe integer. */
function intLength(v: number): number {
  let n = v < 0 ? 2 : 1;
  for (let x = Math.abs(v); x >= 10; x = Math.floor(x / 10)) n++;
  return n;
}

/** Characters of `list.join(", ")` for safe integers. */
function listLength(list: readonly number[]): number {
  let n = list.length === 0 ? 0 : 2 * (list.length - 1);
  for (const v of list) n += intLength(v);
  return n;
}

/** `String(v)` of a safe integer written at `at`; returns the new end. */
function putInt(v: number, out: Uint8Array, at: number): number {
  if (v < 0) out[at++] = 0x2d;
  let x = Math.abs(v);
  const end = at + intLength(x);
  for (let i = end - 1; i >= at; i--) {
    out[i] = 0x30 + (x % 10);
    x = Math.floor(x / 10);
  }
  return end;
}

function putList(list: readonly number[], out: Uint8Array, at: number): number {
  for (let i = 0; i < list.length; i++) {
    if (i > 0) {
      out[at++] = 0x2c;
      out[at++] = 0x20;
    }
    at = putInt(list[i]!, out, at);
  }
  return at;
}
