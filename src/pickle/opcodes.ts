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
  op("INT", "I", A.decimalnl_short, [], ["int_or_bool"], 0, "Push an integer or bool."),
  op("BININT", "J", A.int4, [], ["int"], 1, "Push a four-byte signed integer."),
  op("BININT1", "K", A.uint1, [], ["int"], 1, "Push a one-byte unsigned integer."),
  op("BININT2", "M", A.uint2, [], ["int"], 1, "Push a two-byte unsigned integer."),
  op("LONG", "L", A.decimalnl_long, [], ["int"], 0, "Push a long integer."),
  op("LONG1", "\x8a", A.long1, [], ["int"], 2, "Long integer using one-byte length."),
  op("LONG4", "\x8b", A.long4, [], ["int"], 2, "Long integer using found-byte length."),

  // Ways to spell strings (8-bit, not Unicode).
  op("STRING", "S", A.stringnl, [], ["bytes_or_str"], 0, "Push a Python string object."),
  op("BINSTRING", "T", A.string4, [], ["bytes_or_str"], 1, "Push a Python string object."),
  op("SHORT_BINSTRING", "U", A.string1, [], ["bytes_or_str"], 1, "Push a Python string object."),

  // Bytes (protocol 3 and higher).
  op("BINBYTES", "B", A.bytes4, [], ["bytes"], 3, "Push a Python bytes object."),
  op("SHORT_BINBYTES", "C", A.bytes1, [], ["bytes"], 3, "Push a Python bytes object."),
  op("BINBYTES8", "\x8e", A.bytes8, [], ["bytes"], 4, "Push a Python bytes object."),

  // Bytearray (protocol 5 and higher).
  op("BYTEARRAY8", "\x96", A.bytearray8, [], ["bytearray"], 5, "Push a Python bytearray object."),

  // Out-of-band buffer (protocol 5 and higher).
  op("NEXT_BUFFER", "\x97", A.none, [], ["buffer"], 5, "Push an out-of-band buffer object."),
  op("READONLY_BUFFER", "\x98", A.none, ["buffer"], ["buffer"], 5, "Make an out-of-band buffer object read-only."),

  // Ways to spell None.
  op("NONE", "N", A.none, [], ["None"], 0, "Push None on the stack."),

  // Ways to spell bools, starting with proto 2. See INT for how this was done before proto 2.
  op("NEWTRUE", "\x88", A.none, [], ["bool"], 2, "Push True onto the stack."),
  op("NEWFALSE", "\x89", A.none, [], ["bool"], 2, "Push False onto the stack."),

  // Ways to spell Unicode strings.
  op("UNICODE", "V", A.unicodestringnl, [], ["str"], 0, "Push a Python Unicode string object."),
  op("SHORT_BINUNICODE", "\x8c", A.unicodestring1, [], ["str"], 4, "Push a Python Unicode string object."),
  op("BINUNICODE", "X", A.unicodestring4, [], ["str"], 1, "Push a Python Unicode string object."),
  op("BINUNICODE8", "\x8d", A.unicodestring8, [], ["str"], 4, "Push a Python Unicode string object."),

  // Ways to spell floats.
  op("FLOAT", "F", A.floatnl, [], ["float"], 0, "Newline-terminated decimal float literal."),
  op("BINFLOAT", "G", A.float8, [], ["float"], 1, "Float stored in binary form, with 8 bytes of data."),

  // Ways to build lists.
  op("EMPTY_LIST", "]", A.none, [], ["list"], 1, "Push an empty list."),
  op("APPEND", "a", A.none, ["list", "any"], ["list"], 0, "Append an object to a list."),
  op("APPENDS", "e", A.none, ["list", "mark", "stackslice"], ["list"], 1, "Extend a list by a slice of stack objects."),
  op("LIST", "l", A.none, ["mark", "stackslice"], ["list"], 0, "Build a list out of the topmost stack slice, after markobject."),

  // Ways to build tuples.
  op("EMPTY_TUPLE", ")", A.none, [], ["tuple"], 1, "Push an empty tuple."),
  op("TUPLE", "t", A.none, ["mark", "stackslice"], ["tuple"], 0, "Build a tuple out of the topmost stack slice, after markobject."),
  op("TUPLE1", "\x85", A.none, ["any"], ["tuple"], 2, "Build a one-tuple out of the topmost item on the stack."),
  op("TUPLE2", "\x86", A.none, ["any", "any"], ["tuple"], 2, "Build a two-tuple out of the top two items on the stack."),
  op("TUPLE3", "\x87", A.none, ["any", "any", "any"], ["tuple"], 2, "Build a three-tuple out of the top three items on the stack."),

  // Ways to build dicts.
  op("EMPTY_DICT", "}", A.none, [], ["dict"], 1, "Push an empty dict."),
  op("DICT", "d", A.none, ["mark", "stackslice"], ["dict"], 0, "Build a dict out of the topmost stack slice, after markobject."),
  op("SETITEM", "s", A.none, ["dict", "any", "any"], ["dict"], 0, "Add a key+value pair to an existing dict."),
  op("SETITEMS", "u", A.none, ["dict", "mark", "stackslice"], ["dict"], 1, "Add an arbitrary number of key+value pairs to an existing dict."),

  // Ways to build sets.
  op("EMPTY_SET", "\x8f", A.none, [], ["set"], 4, "Push an empty set."),
  op("ADDITEMS", "\x90", A.none, ["set", "mark", "stackslice"], ["set"], 4, "Add an arbitrary number of items to an existing set."),

  // Way to build frozensets.
  op("FROZENSET", "\x91", A.none, ["mark", "stackslice"], ["frozenset"], 4, "Build a frozenset out of the topmost slice, after markobject."),

  // Stack manipulation.
  op("POP", "0", A.none, ["any"], [], 0, "Discard the top stack item, shrinking the stack by one item."),
  op("DUP", "2", A.none, ["any"], ["any", "any"], 0, "Push the top stack item onto the stack again, duplicating it."),
  op("MARK", "(", A.none, [], ["mark"], 0, "Push markobject onto the stack."),
  op("POP_MARK", "1", A.none, ["mark", "stackslice"], [], 1, "Pop all the stack objects at and above the topmost markobject."),

  // Memo manipulation.
  op("GET", "g", A.decimalnl_short, [], ["any"], 0, "Read an object from the memo and push it on the stack."),
  op("BINGET", "h", A.uint1, [], ["any"], 1, "Read an object from the memo and push it on the stack."),
  op("LONG_BINGET", "j", A.uint4, [], ["any"], 1, "Read an object from the memo and push it on the stack."),
  op("PUT", "p", A.decimalnl_short, [], [], 0, "Store the stack top into the memo.  The stack is not popped."),
  op("BINPUT", "q", A.uint1, [], [], 1, "Store the stack top into the memo.  The stack is not popped."),
  op("LONG_BINPUT", "r", A.uint4, [], [], 1, "Store the stack top into the memo.  The stack is not popped."),
  op("MEMOIZE", "\x94", A.none, ["any"], ["any"], 4, "Store the stack top into the memo.  The stack is not popped."),

  // Access the extension registry (predefined objects). Akin to the GET family.
  op("EXT1", "\x82", A.uint1, [], ["any"], 2, "Extension code."),
  op("EXT2", "\x83", A.uint2, [], ["any"], 2, "Extension code."),
  op("EXT4", "\x84", A.int4, [], ["any"], 2, "Extension code."),

  // Push a class object, or module function, on the stack, via its module and name.
  op("GLOBAL", "c", A.stringnl_noescape_pair, [], ["any"], 0, "Push a global object (module.attr) on the stack."),
  op("STACK_GLOBAL", "\x93", A.none, ["str", "str"], ["any"], 4, "Push a global object (module.attr) on the stack."),

  // Ways to build objects of classes pickle doesn't know about directly.
  op("REDUCE", "R", A.none, ["any", "any"], ["any"], 0, "Push an object built from a callable and an argument tuple."),
  op("BUILD", "b", A.none, ["any", "any"], ["any"], 0, "Finish building an object, via __setstate__ or dict update."),
  op("INST", "i", A.stringnl_noescape_pair, ["mark", "stackslice"], ["any"], 0, "Build a class instance."),
  op("OBJ", "o", A.none, ["mark", "any", "stackslice"], ["any"], 1, "Build a class instance."),
  op("NEWOBJ", "\x81", A.none, ["any", "any"], ["any"], 2, "Build an object instance."),
  op("NEWOBJ_EX", "\x92", A.none, ["any", "any", "any"], ["any"], 4, "Build an object instance."),

  // Machine control.
  op("PROTO", "\x80", A.uint1, [], [], 2, "Protocol version indicator."),
  op("STOP", ".", A.none, ["any"], [], 0, "Stop the unpickling machine."),

  // Framing support.
  op("FRAME", "\x95", A.uint8, [], [], 4, "Indicate the beginning of a new frame."),

  // Ways to deal with persistent IDs.
  op("PERSID", "P", A.stringnl_noescape, [], ["any"], 0, "Push an object identified by a persistent ID."),
  op("BINPERSID", "Q", A.none, ["any"], ["any"], 1, "Push an object identified by a persistent ID."),
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
