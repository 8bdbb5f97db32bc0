/**
 * The lossless JSON document's storage table written straight into output bytes (issue #16): a
 * checkpoint of 40,000 small storages is 40,000 table lines, and each used to be a few strings
 * (its header, its base64) joined into larger strings and encoded afterwards. Here a line goes into
 * a {@link TextSink} as it is made: the part of the header that repeats from line to line (storage
 * class, dtype, location) is encoded once, the key and numel are copied in, and a small storage's
 * base64 is written into the buffer itself. Lines this fast path does not take (views, big-endian
 * storages, keys with characters JSON escapes, odd values) are made by `headerText`, as the text
 * path makes them, so the bytes are the same whichever path writes them (tests compare them).
 */
import { TextSink } from "../bytes/text-sink.js";
import type { Storage } from "../torch/index.js";
import { encodeBase64Into } from "./base64-bulk.js";
import { headerText, storageHeader } from "./storage-table.js";

const utf8 = new TextEncoder();

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
    let at = sink.at;
    for (let i = 0; i < KEY_OPEN.length; i++) buf[at++] = KEY_OPEN[i]!;
    for (let i = 0; i < key.length; i++) buf[at++] = key.charCodeAt(i);
    for (let i = 0; i < middle.length; i++) buf[at++] = middle[i]!;
    sink.at = at;
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
    let at = sink.at;
    for (let i = 0; i < DATA_OPEN.length; i++) buf[at++] = DATA_OPEN[i]!;
    at = encodeBase64Into(bytes, buf, at);
    buf[at++] = 0x22;
    sink.at = at;
  }
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
