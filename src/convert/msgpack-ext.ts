/**
 * The msgpack ext type codes of the torchsave msgpack format (docs/formats.md). One row per Python
 * or torch shape that msgpack has no native item for; codes are stable and never reused.
 */
export const MSGPACK_EXT = {
  /** An int outside [-2^63, 2^64): minimal little-endian two's complement (pickle's LONG encoding). */
  bigint: 1,
  /** A str with unpaired surrogates: its UTF-8 with surrogates encoded (Python's surrogatepass). */
  wtf8: 2,
  /** bytearray: the raw bytes. */
  bytearray: 3,
  /** tuple / set / frozenset: one msgpack array of the items. */
  tuple: 4,
  set: 5,
  frozenset: 6,
  /** A dict subclass or a dict with BUILD state: array [type global | nil, map] or [type | nil, map, state]. */
  dict: 7,
  /** A global `module.name`: array [module, name]. */
  global: 8,
  /** complex: 16 bytes, the real then the imaginary part as big-endian float64. */
  complex: 9,
  /** An inert object: map {via, callable, args, kwargs?, state?, listItems?, dictItems?, setItems?}. */
  object: 10,
  /** A persistent id: array [pid, binary]. */
  persid: 11,
  /** A protocol-5 buffer: array [bin, readonly]. */
  buffer: 12,
  /** An unregistered pickle extension code: an int. */
  pyext: 13,
  /** The first meeting of an object met again later: an int id followed by the value. */
  shared: 14,
  /** A later meeting: the int id. */
  ref: 15,
  /** A tensor: its record (a map; see torch-records.ts). */
  tensor: 16,
  /** A storage as a value: its key (str) in the storage table. */
  storage: 17,
  /** A numpy array or scalar: its record (a map). */
  ndarray: 18,
} as const;

/** The name of a row of {@link MSGPACK_EXT}. */
export type MsgpackExtName = keyof typeof MSGPACK_EXT;

/** Ext code → name, derived from the table. */
export const MSGPACK_EXT_NAMES: ReadonlyMap<number, MsgpackExtName> = new Map(
  (Object.entries(MSGPACK_EXT) as [MsgpackExtName, number][]).map(([name, code]) => [code, name]),
);
