/**
 * The extent of a msgpack item from its header alone: how long the header is, how many payload
 * bytes follow it (str, bin, ext) and how many child items (array elements, map keys and values).
 * It lets a reader step over an item, or note where a `bin` lies, without reading its payload.
 */
import { ConvertError } from "../errors.js";

/** The longest header: a type byte and 8 bytes (uint64, int64, float64). */
export const MAX_ITEM_HEADER = 9;

export interface ItemExtent {
  /** The type byte. */
  readonly type: number;
  /** Header bytes, type byte included (an ext's type code included). */
  readonly headLength: number;
  /** Bytes after the header that belong to the item itself. */
  readonly payload: number;
  /** Items that follow as its children (0 for scalars, str, bin and ext). */
  readonly children: number;
}

/**
 * The extent of the item whose header starts at `bytes[pos]`. `bytes` must hold the header, or
 * everything that remains of the input; `offset` is `pos`'s place in the file, for errors.
 * @throws ConvertError `truncated` when the header is cut short, `invalid-data` for 0xc1.
 */
export function itemExtent(bytes: Uint8Array, pos: number, offset: number): ItemExtent {
  const b = bytes[pos];
  if (b === undefined) throw new ConvertError("truncated", "expected a msgpack item, the input ended", { offset });
  if (b < 0x80 || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) return { type: b, headLength: 1, payload: 0, children: 0 };
  if (b < 0x90) return { type: b, headLength: 1, payload: 0, children: 2 * (b & 0x0f) };
  if (b < 0xa0) return { type: b, headLength: 1, payload: 0, children: b & 0x0f };
  if (b < 0xc0) return { type: b, headLength: 1, payload: b & 0x1f, children: 0 };
  const length = (width: 1 | 2 | 4): number => {
    if (pos + 1 + width > bytes.length) throw new ConvertError("truncated", `expected ${width} bytes for a msgpack length`, { offset: offset + 1 });
    let v = 0;
    for (let i = 1; i <= width; i++) v = v * 256 + bytes[pos + i]!;
    return v;
  };
  const fixed = (size: number): ItemExtent => ({ type: b, headLength: 1 + size, payload: 0, children: 0 });
  switch (b) {
    case 0xc4: return { type: b, headLength: 2, payload: length(1), children: 0 };
    case 0xc5: return { type: b, headLength: 3, payload: length(2), children: 0 };
    case 0xc6: return { type: b, headLength: 5, payload: length(4), children: 0 };
    case 0xc7: return { type: b, headLength: 3, payload: length(1), children: 0 };
    case 0xc8: return { type: b, headLength: 4, payload: length(2), children: 0 };
    case 0xc9: return { type: b, headLength: 6, payload: length(4), children: 0 };
    case 0xca: return fixed(4);
    case 0xcb: return fixed(8);
    case 0xcc: case 0xd0: return fixed(1);
    case 0xcd: case 0xd1: return fixed(2);
    case 0xce: case 0xd2: return fixed(4);
    case 0xcf: case 0xd3: return fixed(8);
    case 0xd4: return { type: b, headLength: 2, payload: 1, children: 0 };
    case 0xd5: return { type: b, headLength: 2, payload: 2, children: 0 };
    case 0xd6: return { type: b, headLength: 2, payload: 4, children: 0 };
    case 0xd7: return { type: b, headLength: 2, payload: 8, children: 0 };
    case 0xd8: return { type: b, headLength: 2, payload: 16, children: 0 };
    case 0xd9: return { type: b, headLength: 2, payload: length(1), children: 0 };
    case 0xda: return { type: b, headLength: 3, payload: length(2), children: 0 };
    case 0xdb: return { type: b, headLength: 5, payload: length(4), children: 0 };
    case 0xdc: return { type: b, headLength: 3, payload: 0, children: length(2) };
    case 0xdd: return { type: b, headLength: 5, payload: 0, children: length(4) };
    case 0xde: return { type: b, headLength: 3, payload: 0, children: 2 * length(2) };
    case 0xdf: return { type: b, headLength: 5, payload: 0, children: 2 * length(4) };
    default:
      throw new ConvertError("invalid-data", `0x${b.toString(16)} is not a msgpack type byte`, { offset });
  }
}

/** True for a `bin` type byte. */
export const isBinType = (type: number): boolean => type === 0xc4 || type === 0xc5 || type === 0xc6;
