/**
 * Reading a torchsave msgpack document from a source without reading it whole: items are read
 * through a window as the decoder reaches them, and each storage's `bin` is left where it lies
 * (the storage gets its location, read when a writer asks for it). Converting a msgpack file of
 * any size so holds one storage at a time, as converting a `.pt` does.
 */
import { SOURCE_WINDOW_BYTES, SourceWindow } from "../bytes/source-window.js";
import type { ByteSource } from "../bytes/source.js";
import { ConvertError } from "../errors.js";
import type { StorageLocation, TorchValue } from "../torch/index.js";
import { guarded } from "./input.js";
import type { DocumentCursor, ValueReader } from "./msgpack-cursor.js";
import { decodeDocument, fromMsgpack } from "./msgpack-decode.js";
import { isBinType, itemExtent, MAX_ITEM_HEADER, type ItemExtent } from "./msgpack-extent.js";
import { DEFAULT_MSGPACK_MAX_DEPTH, type MsgpackOptions } from "./msgpack-format.js";
import { MsgpackReader } from "./msgpack-wire.js";

/**
 * {@link fromMsgpack} over a source: in-memory sources are decoded as bytes; others (a file read
 * with `readSync`) item by item, storage bytes left in the source. Values equal `fromMsgpack`'s.
 * `window` is the bytes read at a time (tests make it tiny).
 * @throws ConvertError as `fromMsgpack` does.
 */
export function fromMsgpackSource(source: ByteSource, options: MsgpackOptions = {}, window = SOURCE_WINDOW_BYTES): TorchValue {
  if (source.bytes !== undefined) return fromMsgpack(source.bytes, options);
  const reader = new SourceWindow(source, window);
  return guarded("msgpack", () => decodeDocument((value) => sourceCursor(reader, value), options.maxDepth ?? DEFAULT_MSGPACK_MAX_DEPTH));
}

const isMap = (t: number): boolean => (t & 0xf0) === 0x80 || t === 0xde || t === 0xdf;
const isArray = (t: number): boolean => (t & 0xf0) === 0x90 || t === 0xdc || t === 0xdd;

/** A cursor that reads items through `window` as they are reached. */
export function sourceCursor(window: SourceWindow, value: ValueReader): DocumentCursor {
  let pos = 0;
  const size = window.size;
  const truncated = (at: number): ConvertError => new ConvertError("truncated", "the document ends inside an item", { offset: at });
  const extent = (at: number): ItemExtent => {
    const head = window.upTo(at, MAX_ITEM_HEADER);
    const e = itemExtent(head, 0, at);
    if (e.headLength > head.length) throw truncated(at);
    return e;
  };
  /** Where the item at `at` ends, from headers alone (payloads are stepped over, not read). */
  const end = (at: number): number => {
    let p = at;
    let pending = 1;
    while (pending > 0) {
      const e = extent(p);
      p += e.headLength + e.payload;
      if (p > size) throw truncated(at);
      pending += e.children - 1;
    }
    return p;
  };
  return {
    get offset() {
      return pos;
    },
    get atEnd() {
      return pos >= size;
    },
    container() {
      const e = extent(pos);
      if (!isMap(e.type) && !isArray(e.type)) return { type: "other" };
      pos += e.headLength;
      return isMap(e.type) ? { type: "map", count: e.children / 2 } : { type: "array", count: e.children };
    },
    value(depth) {
      const stop = end(pos);
      const v = value(new MsgpackReader(window.at(pos, stop - pos), pos), depth);
      pos = stop;
      return v;
    },
    data() {
      const e = extent(pos);
      if (!isBinType(e.type)) return undefined;
      const offset = pos + e.headLength;
      if (offset + e.payload > size) throw truncated(pos);
      pos = offset + e.payload;
      const location: StorageLocation = { source: window.source, offset, length: e.payload, compression: "none", record: `bin at byte ${offset}` };
      return location;
    },
  };
}
