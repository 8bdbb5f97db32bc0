import { describe, expect, it } from "vitest";
import { ByteReader } from "../../../src/bytes/reader.js";
import { isTorchsaveError, PickleDecodeError, type TorchsaveError } from "../../../src/errors.js";
import {
  DEFAULT_DECODE_LIMITS, decodePickle, decodePickleAt, type DecodeOptions, type Reducer,
} from "../../../src/pickle/decoder.js";
import { OPCODES, OPCODES_BY_CODE } from "../../../src/pickle/opcodes.js";
import {
  ORDERED_DICT, pyBytes, pyDict, pyFloat, pyFrozenSet, pyGlobal, pyList, pySet, pyTuple,
  type PyDict, type PyList, type PyObject, type PyTuple, type PyValue,
} from "../../../src/pickle/value.js";

// ---------------------------------------------------------------------------------------------
// Helpers: byte builders, and a genops-style walk that records which opcodes the tests exercise.

/** Bytes from a string whose code units are byte values ("\x80\x02K\x01."). */
const b = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
const u32 = (n: number): string => String.fromCharCode(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
const u64 = (n: number): string => u32(n) + u32(Math.floor(n / 2 ** 32));

const exercised = new Set<string>();

/** Records every opcode of the pickle at `start` (stops at STOP or at the first malformed byte). */
function record(bytes: Uint8Array, start = 0): void {
  const r = new ByteReader(bytes);
  r.pos = start;
  try {
    while (r.pos < bytes.length) {
      const op = OPCODES_BY_CODE[bytes[r.pos]!];
      if (op === undefined) return;
      exercised.add(op.name);
      r.pos++;
      op.arg.read(r);
      if (op.name === "STOP") return;
    }
  } catch {
    // a malformed argument ends the walk; the opcode itself was still exercised
  }
}

function dec<X = never>(input: Uint8Array | string, options?: DecodeOptions<X>): PyValue<X> {
  const bytes = typeof input === "string" ? b(input) : input;
  record(bytes);
  return decodePickle(bytes, options);
}

/** The PickleDecodeError (or hook error) decoding throws; fails the test if it does not throw. */
function err<X = never>(input: Uint8Array | string, options?: DecodeOptions<X>): TorchsaveError {
  const bytes = typeof input === "string" ? b(input) : input;
  record(bytes);
  try {
    decodePickle(bytes, options);
  } catch (e) {
    expect(isTorchsaveError(e)).toBe(true);
    return e as TorchsaveError;
  }
  throw new Error("expected decodePickle to throw");
}

/** Asserts code, offset and opcode of a decode error. */
function expectError(e: TorchsaveError, code: string, offset: number, opcode: string | undefined): void {
  expect(e.code).toBe(code);
  expect(e.offset).toBe(offset);
  expect(e.opcode).toBe(opcode);
  expect(e.name).toBe("PickleDecodeError");
}

const obj = <X = never>(o: Omit<PyObject<X>, "kind">): PyObject<X> => ({ kind: "object", ...o }) as PyObject<X>;

// ---------------------------------------------------------------------------------------------

describe("integers", () => {
  it("INT: decimal text, 00/01 as bools, big values as bigint", () => {
    expect(dec("I42\n.")).toBe(42);
    expect(dec("I-7\n.")).toBe(-7);
    expect(dec("I00\n.")).toBe(false);
    expect(dec("I01\n.")).toBe(true);
    expect(dec("I123456789012345678901234567890\n.")).toBe(123456789012345678901234567890n);
  });
  it("BININT, BININT1, BININT2", () => {
    expect(dec("J\xff\xff\xff\xff.")).toBe(-1);
    expect(dec("J\x00\x00\x00\x80.")).toBe(-(2 ** 31));
    expect(dec("K\xff.")).toBe(255);
    expect(dec("M\x00\x01.")).toBe(256);
  });
  it("LONG with and without the trailing L", () => {
    expect(dec("L12345678901234567890L\n.")).toBe(12345678901234567890n);
    expect(dec("L5L\n.")).toBe(5);
    expect(dec("L-3\n.")).toBe(-3);
  });
  it("LONG1: -2**40 (80 02 8a 06 ... ff 2e), 2**63, -2**64, 10**40, 0", () => {
    expect(dec(hex("80028a060000000000ff2e"))).toBe(-(2 ** 40));
    expect(dec(hex("80028a090000000000000080002e"))).toBe(2n ** 63n);
    expect(dec(hex("80028a090000000000000000ff2e"))).toBe(-(2n ** 64n));
    expect(dec(hex("80028a11000000000061f5b9abbfa45cc3f129631d2e"))).toBe(10n ** 40n);
    expect(dec("\x80\x02\x8a\x00.")).toBe(0);
  });
  it("LONG1: the 77-bit legacy torch magic number 0x1950a86a20f9469cfc6c", () => {
    expect(dec(hex("80028a0a6cfc9c46f9206aa850192e"))).toBe(0x1950a86a20f9469cfc6cn);
  });
  it("LONG4", () => {
    expect(dec("\x8b\x02\x00\x00\x00\xff\x00.")).toBe(255);
    expect(dec("\x8b\x00\x00\x00\x00.")).toBe(0);
  });
});

describe("strings", () => {
  it("STRING: quoted, with escapes", () => {
    expect(dec("S'abc'\n.")).toBe("abc");
    expect(dec("S'a\\n\\x41\\'b'\n.")).toBe("a\nA'b");
    expect(dec('S"q"\n.')).toBe("q");
  });
  it("BINSTRING and SHORT_BINSTRING", () => {
    expect(dec("T\x03\x00\x00\x00abc.")).toBe("abc");
    expect(dec("U\x03abc.")).toBe("abc");
    expect(dec("U\x02\xc3\xa9.")).toBe("é");
  });
  it("strings option: auto keeps non-UTF-8 as bytes; bytes, latin1, utf-8 modes", () => {
    expect(dec("U\x01\xff.")).toEqual(pyBytes(Uint8Array.of(0xff)));
    expect(dec("S'\\xff'\n.")).toEqual(pyBytes(Uint8Array.of(0xff)));
    expect(dec("U\x02hi.", { strings: "bytes" })).toEqual(pyBytes(b("hi")));
    expect(dec("U\x01\xff.", { strings: "latin1" })).toBe("ÿ");
    expect(dec("U\x02\xc3\xa9.", { strings: "latin1" })).toBe("Ã©");
    expect(dec("U\x02\xc3\xa9.", { strings: "utf-8" })).toBe("é");
    expectError(err("K\x01U\x01\xff.", { strings: "utf-8" }), "invalid-data", 2, "SHORT_BINSTRING");
  });
  it("UNICODE: raw-unicode-escape, \\u and \\U escapes, latin-1 bytes", () => {
    expect(dec("Va\\u005cb\\u000a\n.")).toBe("a\\b\n");
    expect(dec("V\\u00e9t\\U0001f600\n.")).toBe("ét😀");
    expect(dec("V\xe9\n.")).toBe("é");
  });
  it("SHORT_BINUNICODE, BINUNICODE, BINUNICODE8", () => {
    expect(dec("\x8c\x03abc.")).toBe("abc");
    expect(dec(hex("80025805000000c3a9e282ac71002e"))).toBe("é€");
    expect(dec(`\x8d${u64(2)}hi.`)).toBe("hi");
    expect(dec("X\x00\x00\x00\x00.")).toBe("");
  });
  it("invalid UTF-8 in BINUNICODE is invalid-data at the opcode", () => {
    expectError(err("N\x8c\x01\xff."), "invalid-data", 1, "SHORT_BINUNICODE");
  });
});

describe("bytes, bytearray, buffers", () => {
  it("BINBYTES, SHORT_BINBYTES, BINBYTES8 as views into the input", () => {
    const input = b("B\x02\x00\x00\x00ab.");
    const v = dec(input) as { kind: string; data: Uint8Array };
    expect(v).toEqual(pyBytes(b("ab")));
    expect(v.data.buffer).toBe(input.buffer);
    expect(dec("C\x02ab.")).toEqual(pyBytes(b("ab")));
    expect(dec(`\x8e${u64(3)}xyz.`)).toEqual(pyBytes(b("xyz")));
  });
  it("BYTEARRAY8", () => {
    expect(dec(hex("8005950d000000000000009602000000000000006162942e"))).toEqual({ kind: "bytearray", data: b("ab") });
  });
  it("NEXT_BUFFER and READONLY_BUFFER take buffers in order", () => {
    const one = b("xyz");
    expect(dec(hex("800597982e"), { buffers: [one] })).toEqual({ kind: "buffer", data: one, readonly: true });
    const v = dec(hex("80059508000000000000005d9428979798652e"), { buffers: [b("xy"), b("z")] });
    expect(v).toEqual(pyList([{ kind: "buffer", data: b("xy"), readonly: false }, { kind: "buffer", data: b("z"), readonly: true }]));
  });
  it("READONLY_BUFFER leaves bytes alone and makes a bytearray a read-only buffer", () => {
    expect(dec("C\x01a\x98.")).toEqual(pyBytes(b("a")));
    expect(dec(`\x96${u64(1)}a\x98.`)).toEqual({ kind: "buffer", data: b("a"), readonly: true });
    expectError(err("K\x01\x98."), "type-mismatch", 2, "READONLY_BUFFER");
  });
  it("missing-buffer without buffers and when they run out", () => {
    expectError(err("\x80\x05\x97."), "missing-buffer", 2, "NEXT_BUFFER");
    expectError(err("\x80\x05\x97\x97.", { buffers: [b("a")] }), "missing-buffer", 3, "NEXT_BUFFER");
  });
});

describe("None, bools, floats", () => {
  it("NONE, NEWTRUE, NEWFALSE", () => {
    expect(dec("N.")).toBe(null);
    expect(dec("\x80\x02\x88.")).toBe(true);
    expect(dec("\x80\x02\x89.")).toBe(false);
  });
  it("FLOAT repr text including nan, inf, -inf, -0.0, exponents", () => {
    expect(dec("F1.5\n.")).toEqual(pyFloat(1.5));
    expect(dec("F1.0\n.")).toEqual(pyFloat(1));
    expect(dec("F1e+16\n.")).toEqual(pyFloat(1e16));
    expect(dec("Finf\n.")).toEqual(pyFloat(Infinity));
    expect(dec("F-inf\n.")).toEqual(pyFloat(-Infinity));
    const nan = dec("Fnan\n.") as { value: number };
    expect(Number.isNaN(nan.value)).toBe(true);
    expect(Object.is((dec("F-0.0\n.") as { value: number }).value, -0)).toBe(true);
    expectError(err("F1.2.3\n."), "invalid-data", 0, "FLOAT");
  });
  it("BINFLOAT, keeping a non-canonical NaN's bits", () => {
    expect(dec("G?\xf0\x00\x00\x00\x00\x00\x00.")).toEqual(pyFloat(1));
    const v = dec("G\x7f\xf8\x00\x00\x00\x00\x00\x01.") as { value: number; nanBits?: string };
    expect(Number.isNaN(v.value)).toBe(true);
    expect(v.nanBits).toBe("7ff8000000000001");
  });
});

describe("lists, tuples, dicts, sets", () => {
  it("EMPTY_LIST, APPEND, APPENDS, LIST", () => {
    expect(dec("]K\x01a(K\x02K\x03e.")).toEqual(pyList([1, 2, 3]));
    expect(dec("(lp0\nI1\naI2\na.")).toEqual(pyList([1, 2]));
    expect(dec("(K\x01K\x02l.")).toEqual(pyList([1, 2]));
    expect(dec("](e.")).toEqual(pyList([]));
  });
  it("EMPTY_TUPLE, TUPLE, TUPLE1, TUPLE2, TUPLE3", () => {
    expect(dec(").")).toEqual(pyTuple([]));
    expect(dec("(K\x01K\x02K\x03K\x04t.")).toEqual(pyTuple([1, 2, 3, 4]));
    expect(dec("\x80\x02K\x01\x85.")).toEqual(pyTuple([1]));
    expect(dec("\x80\x02K\x01K\x02\x86.")).toEqual(pyTuple([1, 2]));
    expect(dec("\x80\x02K\x01K\x02K\x03\x87.")).toEqual(pyTuple([1, 2, 3]));
    expectError(err("\x80\x02K\x01(K\x02\x86."), "stack-underflow", 7, "TUPLE2");
  });
  it("EMPTY_DICT, DICT, SETITEM, SETITEMS", () => {
    expect(dec("}X\x01\x00\x00\x00aK\x01s.")).toEqual(pyDict([["a", 1]]));
    expect(dec("(K\x01K\x02K\x03K\x04d.")).toEqual(pyDict([[1, 2], [3, 4]]));
    expect(dec("}(K\x01K\x02K\x03K\x04u.")).toEqual(pyDict([[1, 2], [3, 4]]));
    expect(dec("(dp0\nVa\np1\nI1\ns.")).toEqual(pyDict([["a", 1]]));
  });
  it("equal keys keep the first position and the last value (1 == True == 1.0)", () => {
    expect(dec("}(K\x01K\x0aK\x02K\x14\x88K\x1eG?\xf0\x00\x00\x00\x00\x00\x00K(u.")).toEqual(pyDict([[1, 40], [2, 20]]));
    expect(dec("}(K\x01K\x02\x86K\x0aK\x01K\x02\x86K\x0bu.")).toEqual(pyDict([[pyTuple([1, 2]), 11]]));
  });
  it("large dicts (indexed) keep Python semantics", () => {
    let s = "}(";
    for (let i = 0; i < 50; i++) s += `\x8c\x02k${String.fromCharCode(65 + (i % 20))}K${String.fromCharCode(i)}`;
    for (let i = 0; i < 30; i++) s += `K${String.fromCharCode(i)}\x85K${String.fromCharCode(i)}`;
    s += "K\x00\x85K\xffK\x05K\xfe\x89K\xfdu.";
    const d = dec(s) as PyDict;
    // 20 distinct strings (later values win), 30 tuples ((0,) replaced), then 5 and False are new.
    expect(d.entries.length).toBe(52);
    expect(d.entries[0]).toEqual(["kA", 40]);
    expect(d.entries[19]).toEqual(["kT", 39]);
    expect(d.entries[20]).toEqual([pyTuple([0]), 255]);
    expect(d.entries[49]).toEqual([pyTuple([29]), 29]);
    expect(d.entries[50]).toEqual([5, 254]);
    expect(d.entries[51]).toEqual([false, 253]);
  });
  it("large dicts merge int, bool and float keys", () => {
    let s = "}(";
    for (let i = 0; i < 20; i++) s += `K${String.fromCharCode(i)}K${String.fromCharCode(i)}`;
    s += "\x88K\x64G@\x00\x00\x00\x00\x00\x00\x00K\x65\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x00K\x66";
    s += "L9223372036854775808L\nK\x67G\x43\xe0\x00\x00\x00\x00\x00\x00K\x68u.";
    const d = dec(s) as PyDict;
    expect(d.entries.length).toBe(21);
    expect(d.entries[20]).toEqual([2n ** 63n, 104]);
    expect(d.entries[1]).toEqual([1, 100]);
    expect(d.entries[2]).toEqual([2, 101]);
    expect(d.entries[0]).toEqual([0, 102]);
  });
  it("unhashable keys and members are type-mismatch", () => {
    expectError(err("}]K\x01s."), "type-mismatch", 4, "SETITEM");
    expectError(err("(]K\x01d."), "type-mismatch", 4, "DICT");
    expectError(err("}(]\x85K\x01u."), "type-mismatch", 6, "SETITEMS");
    expectError(err("\x8f(}\x90."), "type-mismatch", 3, "ADDITEMS");
    expectError(err("(\x8f\x91."), "type-mismatch", 2, "FROZENSET");
  });
  it("odd DICT and SETITEMS are invalid-data", () => {
    expectError(err("(K\x01d."), "invalid-data", 3, "DICT");
    expectError(err("}(K\x01K\x02K\x03u."), "invalid-data", 8, "SETITEMS");
  });
  it("EMPTY_SET, ADDITEMS, FROZENSET (duplicates dropped)", () => {
    expect(dec(hex("80049509000000000000008f94284b014b02902e"))).toEqual(pySet([1, 2]));
    expect(dec("\x8f(K\x01\x88K\x02\x90.")).toEqual(pySet([1, 2]));
    expect(dec(hex("8004950600000000000000284b0191942e"))).toEqual(pyFrozenSet([1]));
    expect(dec("(K\x01K\x01K\x02\x91.")).toEqual(pyFrozenSet([1, 2]));
  });
  it("APPEND/SETITEM/ADDITEMS onto the wrong type are type-mismatch", () => {
    expectError(err("}K\x01a."), "type-mismatch", 3, "APPEND");
    expectError(err("}(K\x01e."), "type-mismatch", 4, "APPENDS");
    expectError(err("]K\x01K\x02s."), "type-mismatch", 5, "SETITEM");
    expectError(err("](K\x01K\x02u."), "type-mismatch", 6, "SETITEMS");
    expectError(err("](K\x01\x90."), "type-mismatch", 4, "ADDITEMS");
  });
  it("inert objects record APPEND(S), SETITEM(S) and ADDITEMS", () => {
    const v = dec("cfm\nL\n)\x81K\x01a(K\x02K\x03eK\x04K\x05s(K\x06K\x07u(K\x08\x90.");
    expect(v).toEqual(obj({
      via: "newobj", callable: pyGlobal("fm", "L"), args: pyTuple([]),
      listItems: [1, 2, 3], dictItems: [[4, 5], [6, 7]], setItems: [8],
    }));
  });
});

describe("stack and memo", () => {
  it("POP, DUP, MARK, POP_MARK", () => {
    expect(dec("K\x01K\x020.")).toBe(1);
    expect(dec("K\x01(0.")).toBe(1); // POP of an empty mark frame pops the mark
    expect(dec("K\x012\x86.")).toEqual(pyTuple([1, 1]));
    expect(dec("K\x01(K\x02K\x031.")).toBe(1);
    expectError(err("0."), "stack-underflow", 0, "POP");
    expectError(err("(2."), "stack-underflow", 1, "DUP");
  });
  it("GET, BINGET, LONG_BINGET, PUT, BINPUT, LONG_BINPUT, MEMOIZE", () => {
    expect(dec("(K\x01p0\nK\x02q\x01K\x03r\x02\x00\x00\x00g0\nh\x01j\x02\x00\x00\x00t.")).toEqual(pyTuple([1, 2, 3, 1, 2, 3]));
    expect(dec("\x80\x04K\x07\x94K\x08\x940h\x00h\x01\x86.")).toEqual(pyTuple([7, 8]));
  });
  it("PUT index text 00/01 means 0/1, and sparse indices work", () => {
    expect(dec("K\x05p01\nh\x01.")).toBe(5);
    expect(dec("K\x05r\xff\xff\xff\xffj\xff\xff\xff\xff.")).toBe(5);
    expect(dec("K\x05p99999999999999999999\n0g99999999999999999999\n.")).toBe(5);
  });
  it("MEMOIZE stores at len(memo), not at the highest index + 1", () => {
    expect(dec("\x80\x04K\x01q\x05K\x02\x940h\x01.")).toBe(2);
    // An index stored out of order moves into the dense part later without double counting.
    expect(dec("K\x07q\x01K\x08q\x00K\x09q\x01\x94h\x02.")).toBe(9);
  });
  it("memo-missing and negative PUT", () => {
    expectError(err("h\x05."), "memo-missing", 0, "BINGET");
    expectError(err("K\x01g-1\n."), "memo-missing", 2, "GET");
    expectError(err("K\x01p-1\n."), "invalid-data", 2, "PUT");
  });
  it("the same memo entry fetched twice is the same JS object", () => {
    const v = dec(hex("80025d7100285d71014b01616801652e")) as PyList<never>;
    expect(v.items.length).toBe(2);
    expect(v.items[0]).toBe(v.items[1]);
  });
});

describe("extensions", () => {
  it("EXT1/EXT2/EXT4 with a registry give globals (through findGlobal)", () => {
    const extensions = new Map([[1, pyGlobal("m", "a")], [300, pyGlobal("m", "b")], [70000, pyGlobal("m", "c")]]);
    expect(dec("(\x82\x01\x83\x2c\x01\x84\x70\x11\x01\x00t.", { extensions })).toEqual(pyTuple([pyGlobal("m", "a"), pyGlobal("m", "b"), pyGlobal("m", "c")]));
    const seen: string[] = [];
    dec("\x82\x01.", { extensions, findGlobal: (m, n) => void seen.push(`${m}.${n}`) });
    expect(seen).toEqual(["m.a"]);
  });
  it("an unregistered code gives a PyExtension; code <= 0 is invalid-data", () => {
    expect(dec("\x83\x2c\x01.")).toEqual({ kind: "ext", code: 300 });
    expectError(err("N\x82\x00."), "invalid-data", 1, "EXT1");
    expectError(err("\x84\xff\xff\xff\xff."), "invalid-data", 0, "EXT4");
  });
});

describe("globals and objects", () => {
  it("GLOBAL and STACK_GLOBAL give PyGlobal data", () => {
    expect(dec("cos\nsystem\n.")).toEqual(pyGlobal("os", "system"));
    expect(dec("\x80\x04\x8c\x02os\x8c\x06system\x93.")).toEqual(pyGlobal("os", "system"));
  });
  it("STACK_GLOBAL of non-str is type-mismatch naming what was found", () => {
    const e = err("\x80\x04\x8c\x02osK\x01\x93.");
    expectError(e, "type-mismatch", 8, "STACK_GLOBAL");
    expect(e.message).toContain("str and int");
  });
  it("findGlobal may replace or refuse a global (its error keeps its code, gets a location)", () => {
    expect(dec("cm\nn\n.", { findGlobal: () => "replaced" })).toBe("replaced");
    const offsets: number[] = [];
    dec("N0cm\nn\n.", { findGlobal: (_m, _n, off) => void offsets.push(off), baseOffset: 10 });
    expect(offsets).toEqual([12]);
    const refuse = () => {
      throw new PickleDecodeError("disallowed-global", "not allowed");
    };
    const e = err("N0cos\nsystem\n.", { findGlobal: refuse, entry: "archive/data.pkl" });
    expect(e.code).toBe("disallowed-global");
    expect(e.offset).toBe(2);
    expect(e.opcode).toBe("GLOBAL");
    expect(e.entry).toBe("archive/data.pkl");
  });
  it("a hook's own non-torchsave error propagates unchanged", () => {
    const boom = new Error("boom");
    let caught: unknown;
    try {
      decodePickle(b("cm\nn\n."), { findGlobal: () => { throw boom; } });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBe(boom);
  });
  it("REDUCE leaves an inert object; with a reducer its result stands in", () => {
    expect(dec("cos\nsystem\n(S'ls'\ntR.")).toEqual(obj({ via: "reduce", callable: pyGlobal("os", "system"), args: pyTuple(["ls"]) }));
    const reducers: Record<string, Reducer<never>> = { "m.f": { call: (args, ctx) => (ctx.via === "reduce" ? pyList([args]) : undefined) } };
    expect(dec("cm\nf\nK\x01\x85R.", { reducers })).toEqual(pyList([pyTuple([1])]));
    expect(dec("K\x01)R.")).toEqual(obj({ via: "reduce", callable: 1, args: pyTuple([]) }));
  });
  it("reducers: {} makes every call inert", () => {
    expect(dec("c__builtin__\nset\n]\x85R.", { reducers: {} })).toEqual(obj({ via: "reduce", callable: pyGlobal("__builtin__", "set"), args: pyTuple([pyList([])]) }));
  });
  it("INST and OBJ", () => {
    expect(dec("(K\x01K\x02ifm\nP\n.")).toEqual(obj({ via: "inst", callable: pyGlobal("fm", "P"), args: pyTuple([1, 2]) }));
    expect(dec("(cfm\nP\nK\x01o.")).toEqual(obj({ via: "obj", callable: pyGlobal("fm", "P"), args: pyTuple([1]) }));
    expect(dec("(K\x01K\x02i__builtin__\ncomplex\n.")).toEqual({ kind: "complex", real: 1, imag: 2 });
    expectError(err("(o."), "stack-underflow", 1, "OBJ");
    expectError(err("ifm\nP\n."), "mark-missing", 0, "INST");
  });
  it("NEWOBJ and NEWOBJ_EX", () => {
    expect(dec("\x80\x02cfm\nP\n)\x81.")).toEqual(obj({ via: "newobj", callable: pyGlobal("fm", "P"), args: pyTuple([]) }));
    expect(dec(hex("8004952a000000000000008c02666d948c014b9493944b0585947d948c0162944b077392947d94288c0161944b0568054b0775622e"))).toEqual(obj({
      via: "newobj_ex", callable: pyGlobal("fm", "K"), args: pyTuple([5]), kwargs: pyDict([["b", 7]]),
      state: pyDict([["a", 5], ["b", 7]]),
    }));
    expectError(err("\x80\x02cfm\nP\nK\x01\x81."), "type-mismatch", 10, "NEWOBJ");
    expectError(err("\x80\x04cfm\nP\n)K\x01\x92."), "type-mismatch", 11, "NEWOBJ_EX");
    expectError(err("\x80\x04cfm\nP\nK\x01}\x92."), "type-mismatch", 11, "NEWOBJ_EX");
  });
  it("BUILD sets state; a second BUILD merges dicts into a new dict, else replaces", () => {
    const state = dec("\x80\x02cfm\nP\n)\x81}X\x01\x00\x00\x00aK\x01sb.") as PyObject<never>;
    expect(state.state).toEqual(pyDict([["a", 1]]));
    const merged = dec("\x80\x02cfm\nP\n)\x81}q\x00X\x01\x00\x00\x00aK\x01sb}(X\x01\x00\x00\x00bK\x02X\x01\x00\x00\x00aK\x03ubh\x00\x86.") as PyTuple<never>;
    expect((merged.items[0] as PyObject<never>).state).toEqual(pyDict([["a", 3], ["b", 2]]));
    expect(merged.items[1]).toEqual(pyDict([["a", 1]])); // the memoised first state is untouched
    expect((dec("\x80\x02cfm\nP\n)\x81}bK\x05b.") as PyObject<never>).state).toBe(5);
  });
  it("BUILD on a host value calls the build hook; without one it is type-mismatch", () => {
    const host = { tensor: true };
    const calls: unknown[] = [];
    const v = dec<typeof host>("\x80\x02N\x85QK\x07b.", {
      persistentLoad: () => host,
      build: (target, st, off) => void calls.push(target, st, off),
    });
    expect(v).toBe(host);
    expect(calls).toEqual([host, 7, 7]);
    expectError(err<typeof host>("\x80\x02N\x85QK\x07b.", { persistentLoad: () => host }), "type-mismatch", 7, "BUILD");
    expectError(err("]K\x01b."), "type-mismatch", 3, "BUILD");
  });
  it("PERSID and BINPERSID: data by default, the hook's value when given", () => {
    expect(dec("P0\n.")).toEqual({ kind: "persid", pid: "0", binary: false });
    expect(dec("K\x01Q.")).toEqual({ kind: "persid", pid: 1, binary: true });
    const ctxs: unknown[] = [];
    const v = dec("(Pk\nK\x02Qt.", { persistentLoad: (pid, ctx) => { ctxs.push(ctx); return pyList([pid]); }, baseOffset: 100 });
    expect(v).toEqual(pyTuple([pyList(["k"]), pyList([2])]));
    expect(ctxs).toEqual([{ offset: 101, binary: false }, { offset: 106, binary: true }]);
    expectError(err("P\xc3\xa9\n."), "invalid-data", 0, "PERSID");
  });
});

describe("machine control", () => {
  it("PROTO is recorded; without it the opcodes tell", () => {
    expect(decodePickleAt(b("\x80\x04N."), 0).protocol).toBe(4);
    expect(decodePickleAt(b("N."), 0).protocol).toBe(0);
    expect(decodePickleAt(b("]."), 0).protocol).toBe(1);
    expect(decodePickleAt(b("\x8f."), 0).protocol).toBe(4);
    expectError(err("\x80\x06N."), "unsupported", 0, "PROTO");
  });
  it("FRAME is a hint but must fit in the input", () => {
    expect(dec(`\x80\x04\x95${u64(2)}N.`)).toBe(null);
    expectError(err(`\x80\x04\x95${u64(3)}N.`), "truncated", 2, "FRAME");
  });
  it("STOP: extra items below the result are ignored; an empty stack underflows", () => {
    expect(dec("K\x01K\x02.")).toBe(2);
    expectError(err("\x80\x02."), "stack-underflow", 2, "STOP");
    expectError(err("K\x01(."), "stack-underflow", 3, "STOP");
  });
  it("trailing bytes after STOP are ignored; decodePickleAt walks concatenated pickles", () => {
    const input = b("K\x01.\x80\x02X\x01\x00\x00\x00a.junk");
    expect(decodePickle(input)).toBe(1);
    const first = decodePickleAt(input, 0);
    expect(first).toEqual({ value: 1, end: 3, protocol: 1 });
    const second = decodePickleAt(input, first.end);
    expect(second).toEqual({ value: "a", end: 12, protocol: 2 });
    record(input, 3);
  });
  it("each pickle in a stream has its own memo; offsets are into the whole input", () => {
    const input = b("K\x01q\x00.h\x00.");
    expectError(decodeAtError(input, 5), "memo-missing", 5, "BINGET");
    const e = decodeAtError(input, 5, { baseOffset: 1000, entry: "legacy" });
    expect(e.offset).toBe(1005);
    expect(e.entry).toBe("legacy");
  });
});

function decodeAtError(bytes: Uint8Array, start: number, options?: DecodeOptions): TorchsaveError {
  try {
    decodePickleAt(bytes, start, options);
  } catch (e) {
    expect(isTorchsaveError(e)).toBe(true);
    return e as TorchsaveError;
  }
  throw new Error("expected decodePickleAt to throw");
}

describe("cycles and identity", () => {
  it("a list containing itself", () => {
    const v = dec("\x80\x02]q\x00h\x00a.") as PyList<never>;
    expect(v.items[0]).toBe(v);
  });
  it("a dict containing itself (protocols 0 and 2)", () => {
    for (const h of ["286470300a5673656c660a70310a67300a732e", "80027d7100580400000073656c6671016800732e"]) {
      const v = dec(hex(h)) as PyDict<never>;
      expect(v.entries[0]![0]).toBe("self");
      expect(v.entries[0]![1]).toBe(v);
    }
  });
  it("a tuple-list cycle as Python writes it (POP_MARK / POP + GET)", () => {
    // l = []; t = (l,); l.append(t); pickle.dumps(t, p) for p = 2, 0, 1
    for (const s of ["\x80\x02]q\x00h\x00\x85q\x01a0h\x01.", "((lp0\n(g0\ntp1\na00g1\n.", "(]q\x00(h\x00tq\x01a1h\x01."]) {
      const t = dec(s) as PyTuple<never>;
      expect(t.kind).toBe("tuple");
      const l = t.items[0] as PyList<never>;
      expect(l.kind).toBe("list");
      expect(l.items[0]).toBe(t);
    }
  });
});

describe("reducers in context", () => {
  it("OrderedDict with BUILD state (a state_dict's _metadata), protocols 2 and 0", () => {
    const p2 = "\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01(X\x01\x00\x00\x00aq\x02K\x01X\x01\x00\x00\x00bq\x03K\x02u}q\x04X\t\x00\x00\x00_metadataq\x05}q\x06X\x01\x00\x00\x00xq\x07K\x01ssb.";
    const p0 = "ccollections\nOrderedDict\np0\n(tRp1\nVa\np2\nI1\nsVb\np3\nI2\ns(dp4\nV_metadata\np5\n(dp6\nVx\np7\nI1\nssb.";
    for (const s of [p2, p0]) {
      const v = dec(s) as PyDict<never>;
      const expected = pyDict<never>([["a", 1], ["b", 2]], ORDERED_DICT);
      expected.state = pyDict([["_metadata", pyDict([["x", 1]])]]);
      expect(v).toEqual(expected);
    }
  });
  it("copyreg._reconstructor (protocols 0, 1) decodes like protocol 2's NEWOBJ", () => {
    const want = obj({ via: "newobj", callable: pyGlobal("fm", "P"), args: pyTuple([]), state: pyDict([["x", 1]]) });
    expect(dec(hex("63636f70795f7265670a5f7265636f6e7374727563746f720a70300a2863666d0a500a70310a635f5f6275696c74696e5f5f0a6f626a6563740a70320a4e7470330a5270340a286470350a56780a70360a49310a73622e"))).toEqual(want);
    expect(dec(hex("63636f70795f7265670a5f7265636f6e7374727563746f720a71002863666d0a500a7101635f5f6275696c74696e5f5f0a6f626a6563740a71024e7471035271047d710558010000007871064b0173622e"))).toEqual(want);
    expect(dec(hex("800263666d0a500a7100298171017d710258010000007871034b0173622e"))).toEqual(want);
  });
});

describe("errors: codes, offsets, opcodes", () => {
  it("truncated: inside an argument, at a missing STOP, on empty input", () => {
    const e = err("K");
    expectError(e, "truncated", 0, "BININT1");
    expect(e.incomplete).toBe(true);
    expectError(err("N"), "truncated", 1, undefined);
    expectError(err(""), "truncated", 0, undefined);
    expectError(err("\x80\x02X\x05\x00\x00\x00ab"), "truncated", 2, "BINUNICODE");
    expectError(err("I12"), "truncated", 0, "INT");
  });
  it("unknown-opcode", () => {
    const e = err("\x80\x02\xff.");
    expectError(e, "unknown-opcode", 2, undefined);
    expect(e.message).toContain("0xff");
  });
  it("mark-missing for every opcode that needs a mark", () => {
    for (const [s, name] of [["t", "TUPLE"], ["l", "LIST"], ["d", "DICT"], ["1", "POP_MARK"], ["]e", "APPENDS"], ["}u", "SETITEMS"], ["\x8f\x90", "ADDITEMS"], ["\x91", "FROZENSET"], ["o", "OBJ"]] as const) {
      expectError(err(`${s}.`), "mark-missing", s.length - 1, name);
    }
  });
  it("stack-underflow: values needed above the last MARK", () => {
    expectError(err("K\x01(a."), "stack-underflow", 3, "APPEND");
    expectError(err("]K\x01(e."), "type-mismatch", 4, "APPENDS");
    expectError(err("((K\x01e."), "stack-underflow", 4, "APPENDS");
    expectError(err("R."), "stack-underflow", 0, "REDUCE");
    expectError(err("Q."), "stack-underflow", 0, "BINPERSID");
    expectError(err("N\x93."), "stack-underflow", 1, "STACK_GLOBAL");
    expectError(err("q\x00."), "stack-underflow", 0, "BINPUT");
  });
  it("limit-exceeded for each limit", () => {
    expectError(err("K\x01K\x02K\x03.", { limits: { maxStack: 2 } }), "limit-exceeded", 4, "BININT1");
    expectError(err("K\x01q\x00q\x01.", { limits: { maxMemo: 1 } }), "limit-exceeded", 4, "BINPUT");
    expectError(err("((((.", { limits: { maxMarkDepth: 3 } }), "limit-exceeded", 3, "MARK");
    expectError(err("]K\x01aK\x02a.", { limits: { maxContainerItems: 1 } }), "limit-exceeded", 6, "APPEND");
    expectError(err("(K\x01K\x02t.", { limits: { maxContainerItems: 1 } }), "limit-exceeded", 5, "TUPLE");
    expectError(err("}(K\x01K\x02K\x03K\x04u.", { limits: { maxContainerItems: 1 } }), "limit-exceeded", 10, "SETITEMS");
    expectError(err("(K\x01K\x02\x91.", { limits: { maxContainerItems: 1 } }), "limit-exceeded", 5, "FROZENSET");
    expectError(err("\x8f(K\x01K\x02\x90.", { limits: { maxContainerItems: 1 } }), "limit-exceeded", 6, "ADDITEMS");
    expectError(err("(K\x01K\x02K\x03K\x04d.", { limits: { maxContainerItems: 1 } }), "limit-exceeded", 9, "DICT");
    expectError(err("K\x01.", { limits: { maxBytes: 2 } }), "limit-exceeded", 2, undefined);
    expectError(err("X\x05\x00\x00\x00abcde.", { limits: { maxBytes: 6 } }), "limit-exceeded", 0, "BINUNICODE");
    expect(dec("K\x01.", { limits: { maxBytes: 3 } })).toBe(1);
  });
  it("invalid-data for malformed arguments", () => {
    expectError(err("N\x8b\xff\xff\xff\xff."), "invalid-data", 1, "LONG4");
    expectError(err("Ix\n."), "invalid-data", 0, "INT");
    expectError(err("S'abc\n."), "invalid-data", 0, "STRING");
  });
  it("invalid-argument for bad options and start offsets", () => {
    for (const e of [
      decodeAtError(b("N."), 5),
      decodeAtError(b("N."), -1),
      decodeAtError(b("N."), 0, { strings: "ascii" as never }),
      decodeAtError(b("N."), 0, { limits: { maxStack: -1 } }),
      decodeAtError(b("N."), 0, { limits: { maxMemo: Number.NaN } }),
    ]) {
      expect(e.code).toBe("invalid-argument");
      expect(e.name).toBe("PickleDecodeError");
    }
  });
  it("entry and baseOffset locate every error", () => {
    const e = err("N\xff", { entry: "archive/data.pkl", baseOffset: 64 });
    expectError(e, "unknown-opcode", 65, undefined);
    expect(e.entry).toBe("archive/data.pkl");
    expect(e.message).toContain("archive/data.pkl");
  });
  it("decoding still works after every kind of error", () => {
    expect(dec(hex("80028a0a6cfc9c46f9206aa850192e"))).toBe(0x1950a86a20f9469cfc6cn);
  });
});

describe("defaults", () => {
  it("exports frozen, documented defaults", () => {
    expect(DEFAULT_DECODE_LIMITS).toEqual({
      maxStack: 10_000_000, maxMemo: 10_000_000, maxMarkDepth: 100_000, maxContainerItems: 100_000_000, maxBytes: Number.MAX_SAFE_INTEGER,
    });
    expect(Object.isFrozen(DEFAULT_DECODE_LIMITS)).toBe(true);
  });
});

// Last in the file: tests run in order, so every pickle above has been recorded by now.
describe("coverage", () => {
  it("exercises every opcode in OPCODES", () => {
    expect(OPCODES.length).toBe(68);
    const missing = OPCODES.map((o) => o.name).filter((n) => !exercised.has(n));
    expect(missing).toEqual([]);
  });
});
