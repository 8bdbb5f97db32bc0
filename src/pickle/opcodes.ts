/**
 * THE opcode table: every opcode of pickle protocols 0–5, in pickletools' order and with its names.
 * The decoder dispatches on `code`, reads arguments through `arg`; the encoder picks opcodes by
 * `proto`; the disassembler prints from the table alone. `test/unit/pickle/opcodes.test.ts` checks
 * it field by field against `fixtures/pickle/opcodes.json`, which CPython's pickletools wrote.
 */
import * as A from "./args.js";
import type { ArgDescriptor } from "./args.js";

/** Stack item kinds, named as pickletools' StackObjects. */
export type StackItem =
  | "int" | "bool" | "int_or_bool" | "float" | "str" | "bytes" | "bytes_or_str" | "bytearray" | "buffer"
  | "None" | "tuple" | "list" | "dict" | "set" | "frozenset" | "any" | "mark" | "stackslice";

export interface OpcodeInfo {
  readonly name: string;
  /** The opcode byte. */
  readonly code: number;
  readonly arg: ArgDescriptor<any>;
  readonly stackBefore: readonly StackItem[];
  readonly stackAfter: readonly StackItem[];
  /** The first protocol that has this opcode. */
  readonly proto: number;
  readonly doc: string;
}

const op = (
  name: string, code: string, arg: ArgDescriptor<any>, stackBefore: readonly StackItem[],
  stackAfter: readonly StackItem[], proto: number, doc: string,
): OpcodeInfo => ({ name, code: code.charCodeAt(0), arg, stackBefore, stackAfter, proto, doc });

export const OPCODES: readonly OpcodeInfo[] = [
  // Ways to spell integers.
  op("INT", "I", A.decimalnl_short, [], ["int_or_bool"], 0, "Push an integer or bool written as decimal text; 00 and 01 are False and True."),
  op("BININT", "J", A.int4, [], ["int"], 1, "Push a four-byte signed integer."),
  op("BININT1", "K", A.uint1, [], ["int"], 1, "Push a one-byte unsigned integer."),
  op("BININT2", "M", A.uint2, [], ["int"], 1, "Push a two-byte unsigned integer."),
  op("LONG", "L", A.decimalnl_long, [], ["int"], 0, "Push a long integer written as decimal text with a trailing L."),
  op("LONG1", "\x8a", A.long1, [], ["int"], 2, "Push a long integer: one-byte length, two's complement bytes."),
  op("LONG4", "\x8b", A.long4, [], ["int"], 2, "Push a long integer: four-byte length, two's complement bytes."),

  // Ways to spell strings (8-bit, not Unicode).
  op("STRING", "S", A.stringnl, [], ["bytes_or_str"], 0, "Push a Python 2 string written as a quoted, escaped literal."),
  op("BINSTRING", "T", A.string4, [], ["bytes_or_str"], 1, "Push a Python 2 string with a four-byte length."),
  op("SHORT_BINSTRING", "U", A.string1, [], ["bytes_or_str"], 1, "Push a Python 2 string with a one-byte length."),

  // Bytes (protocol 3 and higher).
  op("BINBYTES", "B", A.bytes4, [], ["bytes"], 3, "Push bytes with a four-byte length."),
  op("SHORT_BINBYTES", "C", A.bytes1, [], ["bytes"], 3, "Push bytes with a one-byte length."),
  op("BINBYTES8", "\x8e", A.bytes8, [], ["bytes"], 4, "Push bytes with an eight-byte length."),

  // Bytearray (protocol 5 and higher).
  op("BYTEARRAY8", "\x96", A.bytearray8, [], ["bytearray"], 5, "Push a bytearray with an eight-byte length."),

  // Out-of-band buffer (protocol 5 and higher).
  op("NEXT_BUFFER", "\x97", A.none, [], ["buffer"], 5, "Push the next out-of-band buffer the caller supplied."),
  op("READONLY_BUFFER", "\x98", A.none, ["buffer"], ["buffer"], 5, "Make the buffer on top of the stack read-only."),

  // Ways to spell None.
  op("NONE", "N", A.none, [], ["None"], 0, "Push None."),

  // Ways to spell bools, starting with proto 2. See INT for how this was done before proto 2.
  op("NEWTRUE", "\x88", A.none, [], ["bool"], 2, "Push True."),
  op("NEWFALSE", "\x89", A.none, [], ["bool"], 2, "Push False."),

  // Ways to spell Unicode strings.
  op("UNICODE", "V", A.unicodestringnl, [], ["str"], 0, "Push a str written in raw-unicode-escape text."),
  op("SHORT_BINUNICODE", "\x8c", A.unicodestring1, [], ["str"], 4, "Push a str: one-byte length, UTF-8."),
  op("BINUNICODE", "X", A.unicodestring4, [], ["str"], 1, "Push a str: four-byte length, UTF-8."),
  op("BINUNICODE8", "\x8d", A.unicodestring8, [], ["str"], 4, "Push a str: eight-byte length, UTF-8."),

  // Ways to spell floats.
  op("FLOAT", "F", A.floatnl, [], ["float"], 0, "Push a float written as repr text."),
  op("BINFLOAT", "G", A.float8, [], ["float"], 1, "Push a float: eight bytes, big-endian IEEE 754."),

  // Ways to build lists.
  op("EMPTY_LIST", "]", A.none, [], ["list"], 1, "Push an empty list."),
  op("APPEND", "a", A.none, ["list", "any"], ["list"], 0, "Append the top item to the list below it."),
  op("APPENDS", "e", A.none, ["list", "mark", "stackslice"], ["list"], 1, "Extend the list below the mark with the items above it."),
  op("LIST", "l", A.none, ["mark", "stackslice"], ["list"], 0, "Build a list from the items above the mark."),

  // Ways to build tuples.
  op("EMPTY_TUPLE", ")", A.none, [], ["tuple"], 1, "Push an empty tuple."),
  op("TUPLE", "t", A.none, ["mark", "stackslice"], ["tuple"], 0, "Build a tuple from the items above the mark."),
  op("TUPLE1", "\x85", A.none, ["any"], ["tuple"], 2, "Build a 1-tuple from the top item."),
  op("TUPLE2", "\x86", A.none, ["any", "any"], ["tuple"], 2, "Build a 2-tuple from the top two items."),
  op("TUPLE3", "\x87", A.none, ["any", "any", "any"], ["tuple"], 2, "Build a 3-tuple from the top three items."),

  // Ways to build dicts.
  op("EMPTY_DICT", "}", A.none, [], ["dict"], 1, "Push an empty dict."),
  op("DICT", "d", A.none, ["mark", "stackslice"], ["dict"], 0, "Build a dict from key/value pairs above the mark."),
  op("SETITEM", "s", A.none, ["dict", "any", "any"], ["dict"], 0, "Set dict[key] = value from the top two items."),
  op("SETITEMS", "u", A.none, ["dict", "mark", "stackslice"], ["dict"], 1, "Set many key/value pairs above the mark into the dict below it."),

  // Ways to build sets.
  op("EMPTY_SET", "\x8f", A.none, [], ["set"], 4, "Push an empty set."),
  op("ADDITEMS", "\x90", A.none, ["set", "mark", "stackslice"], ["set"], 4, "Add the items above the mark to the set below it."),

  // Way to build frozensets.
  op("FROZENSET", "\x91", A.none, ["mark", "stackslice"], ["frozenset"], 4, "Build a frozenset from the items above the mark."),

  // Stack manipulation.
  op("POP", "0", A.none, ["any"], [], 0, "Discard the top item (or the topmost mark)."),
  op("DUP", "2", A.none, ["any"], ["any", "any"], 0, "Push a copy of the top item."),
  op("MARK", "(", A.none, [], ["mark"], 0, "Push a mark: the start of a variable-length run of items."),
  op("POP_MARK", "1", A.none, ["mark", "stackslice"], [], 1, "Discard everything down to and including the topmost mark."),

  // Memo manipulation.
  op("GET", "g", A.decimalnl_short, [], ["any"], 0, "Push memo[n], n written as decimal text."),
  op("BINGET", "h", A.uint1, [], ["any"], 1, "Push memo[n], n a one-byte index."),
  op("LONG_BINGET", "j", A.uint4, [], ["any"], 1, "Push memo[n], n a four-byte index."),
  op("PUT", "p", A.decimalnl_short, [], [], 0, "Store the top item as memo[n], n written as decimal text."),
  op("BINPUT", "q", A.uint1, [], [], 1, "Store the top item as memo[n], n a one-byte index."),
  op("LONG_BINPUT", "r", A.uint4, [], [], 1, "Store the top item as memo[n], n a four-byte index."),
  op("MEMOIZE", "\x94", A.none, ["any"], ["any"], 4, "Store the top item as memo[len(memo)]."),

  // Access the extension registry (predefined objects). Akin to the GET family.
  op("EXT1", "\x82", A.uint1, [], ["any"], 2, "Push the object registered under a one-byte extension code."),
  op("EXT2", "\x83", A.uint2, [], ["any"], 2, "Push the object registered under a two-byte extension code."),
  op("EXT4", "\x84", A.int4, [], ["any"], 2, "Push the object registered under a four-byte extension code."),

  // Push a class object, or module function, on the stack, via its module and name.
  op("GLOBAL", "c", A.stringnl_noescape_pair, [], ["any"], 0, "Push module.name (two text lines); never imported here."),
  op("STACK_GLOBAL", "\x93", A.none, ["str", "str"], ["any"], 4, "Push module.name from the two strings on top of the stack."),

  // Ways to build objects of classes pickle doesn't know about directly.
  op("REDUCE", "R", A.none, ["any", "any"], ["any"], 0, "Call callable(*args) — kept inert as an object record."),
  op("BUILD", "b", A.none, ["any", "any"], ["any"], 0, "Set the state of the object below the top item."),
  op("INST", "i", A.stringnl_noescape_pair, ["mark", "stackslice"], ["any"], 0, "Instantiate module.name with the items above the mark as arguments."),
  op("OBJ", "o", A.none, ["mark", "any", "stackslice"], ["any"], 1, "Instantiate the class just above the mark with the items above it."),
  op("NEWOBJ", "\x81", A.none, ["any", "any"], ["any"], 2, "cls.__new__(cls, *args)."),
  op("NEWOBJ_EX", "\x92", A.none, ["any", "any", "any"], ["any"], 4, "cls.__new__(cls, *args, **kwargs)."),

  // Machine control.
  op("PROTO", "\x80", A.uint1, [], [], 2, "Declare the protocol number."),
  op("STOP", ".", A.none, ["any"], [], 0, "Stop; the top item is the result."),

  // Framing support.
  op("FRAME", "\x95", A.uint8, [], [], 4, "Start a frame of the given byte length (a read-ahead hint)."),

  // Ways to deal with persistent IDs.
  op("PERSID", "P", A.stringnl_noescape, [], ["any"], 0, "Push the object for a persistent id written as text."),
  op("BINPERSID", "Q", A.none, ["any"], ["any"], 1, "Push the object for the persistent id on top of the stack."),
];

/** Lookup by opcode byte: `OPCODES_BY_CODE[byte]` is undefined for bytes that are not opcodes. */
export const OPCODES_BY_CODE: readonly (OpcodeInfo | undefined)[] = (() => {
  const table: (OpcodeInfo | undefined)[] = new Array(256).fill(undefined);
  for (const info of OPCODES) table[info.code] = info;
  return table;
})();

/** Lookup by name, e.g. `OPCODES_BY_NAME.BINPUT`. */
export const OPCODES_BY_NAME: Readonly<Record<string, OpcodeInfo>> = Object.fromEntries(OPCODES.map((o) => [o.name, o]));

/** The highest protocol this table knows. */
export const HIGHEST_PROTOCOL = 5;
