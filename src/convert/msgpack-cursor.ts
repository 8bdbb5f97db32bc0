/**
 * Where a msgpack document's items come from, for `decodeDocument` (msgpack-decode.ts): bytes in
 * memory here; a source read as it is reached in msgpack-source.ts.
 */
import type { StorageLocation, TorchValue } from "../torch/index.js";
import { MsgpackReader } from "./msgpack-wire.js";

/** Decodes one whole value from a reader positioned at it. */
export type ValueReader = (r: MsgpackReader, depth: number) => TorchValue;

/**
 * Where the document's items come from: all in memory ({@link memoryCursor}), or read from a
 * source as they are reached, storage bytes left in place (msgpack-source.ts).
 */
export interface DocumentCursor {
  /** Absolute offset of the next item. */
  readonly offset: number;
  readonly atEnd: boolean;
  /** The next item when it is a map or an array (its header is consumed); otherwise its type, nothing consumed. */
  container(): { readonly type: "map" | "array"; readonly count: number } | { readonly type: "other" };
  /** The next whole value. */
  value(depth: number): TorchValue;
  /** The next item, which must be a `bin`: its bytes, or where they lie; undefined (nothing consumed) for any other item. */
  data(): Uint8Array | StorageLocation | undefined;
}

/** A cursor over a document in memory. */
export function memoryCursor(bytes: Uint8Array, value: ValueReader): DocumentCursor {
  const r = new MsgpackReader(bytes);
  return {
    get offset() {
      return r.offset;
    },
    get atEnd() {
      return r.atEnd;
    },
    container() {
      const at = r.pos;
      const item = r.next();
      if (item.type === "map" || item.type === "array") return item;
      r.r.pos = at;
      return { type: "other" };
    },
    value: (depth) => value(r, depth),
    data() {
      const at = r.pos;
      const item = r.next();
      if (item.type === "bin") return item.data;
      r.r.pos = at;
      return undefined;
    },
  };
}
