// The disassembler against transcripts `python3 -m pickletools` (CPython 3.11 `pickletools.dis`)
// printed for the same bytes, captured during development. In the annotated transcripts the opcode
// docs were replaced by `<<NAME>>` placeholders (the layout does not depend on the doc text); the
// test puts our table's docs in their place.
import { describe, expect, it } from "vitest";
import { isTorchsaveError, type TorchsaveError } from "../../../src/errors.js";
import { disassemble, formatDisassembly, type DisassembleOptions } from "../../../src/pickle/disassemble.js";
import { encodePickle } from "../../../src/pickle/encoder.js";
import { OPCODES, OPCODES_BY_NAME } from "../../../src/pickle/opcodes.js";
import { isPyPrintable, pyEscapeDecode, pyReprByteArray, pyReprBytes, pyReprInt, pyReprStr } from "../../../src/pickle/py-repr.js";
import { pyList, pyTuple } from "../../../src/pickle/value.js";

const bytesOf = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, "hex"));
const withDocs = (text: string): string =>
  text.replace(/<<([A-Z0-9_]+)>>/g, (_, name: string) => OPCODES_BY_NAME[name]!.doc.split("\n")[0]!);

const TRANSCRIPTS: { name: string; hex: string; options?: DisassembleOptions; text: string }[] = [
  {
    name: "doc example p0",
    hex: "286c70300a49310a6149320a612849330a49340a7470310a61286470320a635f636f646563730a656e636f64650a70330a28566162630a70340a566c6174696e310a70350a7470360a5270370a566465660a70380a73612e",
    text: `    0: (    MARK
    1: l        LIST       (MARK at 0)
    2: p    PUT        0
    5: I    INT        1
    8: a    APPEND
    9: I    INT        2
   12: a    APPEND
   13: (    MARK
   14: I        INT        3
   17: I        INT        4
   20: t        TUPLE      (MARK at 13)
   21: p    PUT        1
   24: a    APPEND
   25: (    MARK
   26: d        DICT       (MARK at 25)
   27: p    PUT        2
   30: c    GLOBAL     '_codecs encode'
   46: p    PUT        3
   49: (    MARK
   50: V        UNICODE    'abc'
   55: p        PUT        4
   58: V        UNICODE    'latin1'
   66: p        PUT        5
   69: t        TUPLE      (MARK at 49)
   70: p    PUT        6
   73: R    REDUCE
   74: p    PUT        7
   77: V    UNICODE    'def'
   82: p    PUT        8
   85: s    SETITEM
   86: a    APPEND
   87: .    STOP
highest protocol among opcodes = 0
`,
  },
  {
    name: "doc example p2",
    hex: "80025d7100284b014b024b034b048671017d7102635f636f646563730a656e636f64650a71035803000000616263710458060000006c6174696e3171058671065271075803000000646566710873652e",
    text: `    0: \\x80 PROTO      2
    2: ]    EMPTY_LIST
    3: q    BINPUT     0
    5: (    MARK
    6: K        BININT1    1
    8: K        BININT1    2
   10: K        BININT1    3
   12: K        BININT1    4
   14: \\x86     TUPLE2
   15: q        BINPUT     1
   17: }        EMPTY_DICT
   18: q        BINPUT     2
   20: c        GLOBAL     '_codecs encode'
   36: q        BINPUT     3
   38: X        BINUNICODE 'abc'
   46: q        BINPUT     4
   48: X        BINUNICODE 'latin1'
   59: q        BINPUT     5
   61: \\x86     TUPLE2
   62: q        BINPUT     6
   64: R        REDUCE
   65: q        BINPUT     7
   67: X        BINUNICODE 'def'
   75: q        BINPUT     8
   77: s        SETITEM
   78: e        APPENDS    (MARK at 5)
   79: .    STOP
highest protocol among opcodes = 2
`,
  },
  {
    name: "recursive tuple p0 (POP of a MARK)",
    hex: "28286c70300a2867300a49310a49320a49330a7470310a6149310a49320a49330a303030303067310a2e",
    text: `    0: (    MARK
    1: (        MARK
    2: l            LIST       (MARK at 1)
    3: p        PUT        0
    6: (        MARK
    7: g            GET        0
   10: I            INT        1
   13: I            INT        2
   16: I            INT        3
   19: t            TUPLE      (MARK at 6)
   20: p        PUT        1
   23: a        APPEND
   24: I        INT        1
   27: I        INT        2
   30: I        INT        3
   33: 0        POP
   34: 0        POP
   35: 0        POP
   36: 0        POP
   37: 0        POP        (MARK at 0)
   38: g    GET        1
   41: .    STOP
highest protocol among opcodes = 0
`,
  },
  {
    name: "recursive tuple p1 (POP_MARK)",
    hex: "285d71002868004b014b024b03747101614b014b024b033168012e",
    text: `    0: (    MARK
    1: ]        EMPTY_LIST
    2: q        BINPUT     0
    4: (        MARK
    5: h            BINGET     0
    7: K            BININT1    1
    9: K            BININT1    2
   11: K            BININT1    3
   13: t            TUPLE      (MARK at 4)
   14: q        BINPUT     1
   16: a        APPEND
   17: K        BININT1    1
   19: K        BININT1    2
   21: K        BININT1    3
   23: 1        POP_MARK   (MARK at 0)
   24: h    BINGET     1
   26: .    STOP
highest protocol among opcodes = 1
`,
  },
  {
    name: "p5 frame memoize stack_global",
    hex: "80059565000000000000005d94288c0b636f6c6c656374696f6e73948c0b4f726465726564446963749493942952948c017794473ff8000000000000737d948c046d657461947d948c0176948a090000000000000000c0737362960300000000000000616227949798284b019194652e",
    text: `    0: \\x80 PROTO      5
    2: \\x95 FRAME      101
   11: ]    EMPTY_LIST
   12: \\x94 MEMOIZE    (as 0)
   13: (    MARK
   14: \\x8c     SHORT_BINUNICODE 'collections'
   27: \\x94     MEMOIZE    (as 1)
   28: \\x8c     SHORT_BINUNICODE 'OrderedDict'
   41: \\x94     MEMOIZE    (as 2)
   42: \\x93     STACK_GLOBAL
   43: \\x94     MEMOIZE    (as 3)
   44: )        EMPTY_TUPLE
   45: R        REDUCE
   46: \\x94     MEMOIZE    (as 4)
   47: \\x8c     SHORT_BINUNICODE 'w'
   50: \\x94     MEMOIZE    (as 5)
   51: G        BINFLOAT   1.5
   60: s        SETITEM
   61: }        EMPTY_DICT
   62: \\x94     MEMOIZE    (as 6)
   63: \\x8c     SHORT_BINUNICODE 'meta'
   69: \\x94     MEMOIZE    (as 7)
   70: }        EMPTY_DICT
   71: \\x94     MEMOIZE    (as 8)
   72: \\x8c     SHORT_BINUNICODE 'v'
   75: \\x94     MEMOIZE    (as 9)
   76: \\x8a     LONG1      -1180591620717411303424
   87: s        SETITEM
   88: s        SETITEM
   89: b        BUILD
   90: \\x96     BYTEARRAY8 bytearray(b"ab\\'")
  102: \\x94     MEMOIZE    (as 10)
  103: \\x97     NEXT_BUFFER
  104: \\x98     READONLY_BUFFER
  105: (        MARK
  106: K            BININT1    1
  108: \\x91         FROZENSET  (MARK at 105)
  109: \\x94     MEMOIZE    (as 11)
  110: e        APPENDS    (MARK at 13)
  111: .    STOP
highest protocol among opcodes = 5
`,
  },
  {
    name: "reprs",
    hex: "80049555000000000000005d94288c0469742773948c087361792022686922948c08626f746820272022948c1d090a0d007fc280c2a0c2adcdb8e280a8eda080f09f9880f3a08081205c944304697427739443032271229443035c00ff94652e",
    text: `    0: \\x80 PROTO      4
    2: \\x95 FRAME      85
   11: ]    EMPTY_LIST
   12: \\x94 MEMOIZE    (as 0)
   13: (    MARK
   14: \\x8c     SHORT_BINUNICODE "it's"
   20: \\x94     MEMOIZE    (as 1)
   21: \\x8c     SHORT_BINUNICODE 'say "hi"'
   31: \\x94     MEMOIZE    (as 2)
   32: \\x8c     SHORT_BINUNICODE 'both \\' "'
   42: \\x94     MEMOIZE    (as 3)
   43: \\x8c     SHORT_BINUNICODE '\\t\\n\\r\\x00\\x7f\\x80\\xa0\\xad\\u0378\\u2028\\ud800😀\\U000e0001 \\\\'
   74: \\x94     MEMOIZE    (as 4)
   75: C        SHORT_BINBYTES b"it's"
   81: \\x94     MEMOIZE    (as 5)
   82: C        SHORT_BINBYTES b'"q"'
   87: \\x94     MEMOIZE    (as 6)
   88: C        SHORT_BINBYTES b'\\\\\\x00\\xff'
   93: \\x94     MEMOIZE    (as 7)
   94: e        APPENDS    (MARK at 13)
   95: .    STOP
highest protocol among opcodes = 4
`,
  },
  {
    name: "python 2 opcodes",
    hex: "285327707932205c277374725c27270a54030000006162635502e9214930300a4930310a492d350a4c3132333435363738393031323334353637383930313233344c0a463165330a695f5f6d61696e5f5f0a4b6c6173730a70370a67370a322863666f6f0a6261720a4b016f820550666f6f5c6261720a304e8a02ff7f8787872e",
    text: `    0: (    MARK
    1: S        STRING     "py2 'str'"
   16: T        BINSTRING  'abc'
   24: U        SHORT_BINSTRING 'é!'
   28: I        INT        False
   32: I        INT        True
   36: I        INT        -5
   40: L        LONG       123456789012345678901234
   67: F        FLOAT      1000.0
   72: i        INST       '__main__ Klass' (MARK at 0)
   88: p    PUT        7
   91: g    GET        7
   94: 2    DUP
   95: (    MARK
   96: c        GLOBAL     'foo bar'
  105: K        BININT1    1
  107: o        OBJ        (MARK at 95)
  108: \\x82 EXT1       5
  110: P    PERSID     'foo\\x08ar'
  119: 0    POP
  120: N    NONE
  121: \\x8a LONG1      32767
  125: \\x87 TUPLE3
  126: \\x87 TUPLE3
  127: \\x87 TUPLE3
  128: .    STOP
highest protocol among opcodes = 2
`,
  },
  {
    name: "annotated", options: { annotate: true },
    hex: "80027d710058010000006171015d7102284b01580c000000f09f9880f09f9880f09f988071034740040000000000004e8887710465732e",
    text: `    0: \\x80 PROTO      2              <<PROTO>>
    2: }    EMPTY_DICT                <<EMPTY_DICT>>
    3: q    BINPUT     0              <<BINPUT>>
    5: X    BINUNICODE 'a'            <<BINUNICODE>>
   11: q    BINPUT     1              <<BINPUT>>
   13: ]    EMPTY_LIST                <<EMPTY_LIST>>
   14: q    BINPUT     2              <<BINPUT>>
   16: (    MARK                      <<MARK>>
   17: K        BININT1    1          <<BININT1>>
   19: X        BINUNICODE '😀😀😀'      <<BINUNICODE>>
   36: q        BINPUT     3          <<BINPUT>>
   38: G        BINFLOAT   2.5        <<BINFLOAT>>
   47: N        NONE                  <<NONE>>
   48: \\x88     NEWTRUE               <<NEWTRUE>>
   49: \\x87     TUPLE3                <<TUPLE3>>
   50: q        BINPUT     4          <<BINPUT>>
   52: e        APPENDS    (MARK at 16) <<APPENDS>>
   53: s    SETITEM                     <<SETITEM>>
   54: .    STOP                        <<STOP>>
highest protocol among opcodes = 2
`,
  },
  {
    name: "annotated p0", options: { annotate: true },
    hex: "286c70300a286470310a566b65790a70320a56787878787878787878787878787878787878787878787878787878787878787878787878787878780a70330a73612849310a7470340a612e",
    text: `    0: (    MARK                      <<MARK>>
    1: l        LIST       (MARK at 0) <<LIST>>
    2: p    PUT        0               <<PUT>>
    5: (    MARK                       <<MARK>>
    6: d        DICT       (MARK at 5) <<DICT>>
    7: p    PUT        1               <<PUT>>
   10: V    UNICODE    'key'           <<UNICODE>>
   15: p    PUT        2               <<PUT>>
   18: V    UNICODE    'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' <<UNICODE>>
   60: p    PUT        3              <<PUT>>
   63: s    SETITEM                   <<SETITEM>>
   64: a    APPEND                    <<APPEND>>
   65: (    MARK                      <<MARK>>
   66: I        INT        1          <<INT>>
   69: t        TUPLE      (MARK at 65) <<TUPLE>>
   70: p    PUT        4                <<PUT>>
   73: a    APPEND                      <<APPEND>>
   74: .    STOP                        <<STOP>>
highest protocol among opcodes = 0
`,
  },
  {
    name: "indent 2", options: { indentLevel: 2 },
    hex: "5d7100285d71015d71024b016161284b02747103652e",
    text: `    0: ]    EMPTY_LIST
    1: q    BINPUT     0
    3: (    MARK
    4: ]      EMPTY_LIST
    5: q      BINPUT     1
    7: ]      EMPTY_LIST
    8: q      BINPUT     2
   10: K      BININT1    1
   12: a      APPEND
   13: a      APPEND
   14: (      MARK
   15: K        BININT1    2
   17: t        TUPLE      (MARK at 14)
   18: q      BINPUT     3
   20: e      APPENDS    (MARK at 3)
   21: .    STOP
highest protocol among opcodes = 1
`,
  },
];

/** pickletools raises after printing these lines; we throw a typed error after `onLine` got them. */
const FAILURES: { name: string; hex: string; lines: string; message: string }[] = [
  { name: "missing mark", hex: "4b01652e", message: "no MARK exists on stack", lines: `    0: K    BININT1    1
    2: e    APPENDS    no MARK exists on stack
` },
  { name: "memo missing", hex: "68052e", message: "memo key 5 has never been stored into", lines: `    0: h    BINGET     5
` },
  { name: "stack underflow", hex: "852e", message: "tries to pop 1 items from stack with only 0 items", lines: `    0: \\x85 TUPLE1
` },
  { name: "leftover stack", hex: "4b014b022e", message: "stack not empty after STOP: [int]", lines: `    0: K    BININT1    1
    2: K    BININT1    2
    4: .    STOP
highest protocol among opcodes = 1
` },
  { name: "redefined memo", hex: "4b01710071002e", message: "memo key 0 already defined", lines: `    0: K    BININT1    1
    2: q    BINPUT     0
    4: q    BINPUT     0
` },
];

const FAILURE_CODES: Record<string, string> = {
  "missing mark": "mark-missing",
  "memo missing": "memo-missing",
  "stack underflow": "stack-underflow",
  "leftover stack": "invalid-data",
  "redefined memo": "invalid-data",
};

function failure(fn: () => unknown): TorchsaveError {
  try {
    fn();
  } catch (e) {
    expect(isTorchsaveError(e)).toBe(true);
    expect((e as Error).name).toBe("PickleDecodeError");
    return e as TorchsaveError;
  }
  throw new Error("expected an error");
}

describe("formatDisassembly prints what pickletools prints", () => {
  for (const t of TRANSCRIPTS) {
    it(t.name, () => {
      expect(formatDisassembly(bytesOf(t.hex), t.options)).toBe(withDocs(t.text));
    });
  }

  for (const f of FAILURES) {
    it(`${f.name}: the lines, then the error`, () => {
      const lines: string[] = [];
      const e = failure(() => formatDisassembly(bytesOf(f.hex), { onLine: (l) => lines.push(l) }));
      expect(lines.map((l) => l + "\n").join("")).toBe(f.lines);
      expect(e.code).toBe(FAILURE_CODES[f.name]);
      expect(e.reason).toBe(f.message);
      expect(e.offset).toBeTypeOf("number");
    });
  }

  it("starts at an offset (concatenated pickles, as in legacy torch files)", () => {
    const first = encodePickle(1, { protocol: 2 });
    const second = encodePickle(pyList(["x"]), { protocol: 2 });
    const both = new Uint8Array([...first, ...second]);
    const text = formatDisassembly(both, { start: first.length });
    expect(text.split("\n")[0]).toBe("    5: \\x80 PROTO      2");
    expect(text).toContain("    7: ]    EMPTY_LIST");
    expect(failure(() => formatDisassembly(both, { start: both.length + 1 })).code).toBe("invalid-argument");
  });

  it("rejects a bad indent level", () => {
    expect(failure(() => formatDisassembly(bytesOf("4e2e"), { indentLevel: -1 })).code).toBe("invalid-argument");
  });
});

describe("disassemble (genops)", () => {
  it("gives each opcode with its raw argument, mark position and memo index", () => {
    const ops = disassemble(encodePickle(pyList([pyTuple([1, 2, 3, 4]), "s"]), { protocol: 4 }));
    expect(ops.map((o) => o.op.name)).toEqual([
      "PROTO", "FRAME", "EMPTY_LIST", "MEMOIZE", "MARK", "MARK", "BININT1", "BININT1", "BININT1", "BININT1", "TUPLE",
      "MEMOIZE", "SHORT_BINUNICODE", "MEMOIZE", "APPENDS", "STOP",
    ]);
    expect(ops[0]).toMatchObject({ offset: 0, arg: 4 });
    expect(ops[10]).toMatchObject({ offset: 23, markAt: 14 });
    expect(ops[11]).toMatchObject({ memoIndex: 1 });
    expect(ops[12]).toMatchObject({ arg: "s" });
    expect(ops[14]).toMatchObject({ markAt: 13 });
    expect(ops[15]!.arg).toBeUndefined();
  });

  it("returns GLOBAL's argument as a module/name pair and the memo index of GETs", () => {
    // GLOBAL 'mod name', BINPUT 0, BINGET 0, STOP
    const ops = disassemble(bytesOf("636d6f640a6e616d650a710068002e"));
    expect(ops[0]!.arg).toEqual(["mod", "name"]);
    expect(ops[1]).toMatchObject({ memoIndex: 0 });
    expect(ops[2]).toMatchObject({ memoIndex: 0 });
  });

  it("stops after STOP and reports stream errors with their offset", () => {
    expect(disassemble(bytesOf("4e2eff")).length).toBe(2);
    expect(failure(() => disassemble(bytesOf("4eff"))).code).toBe("unknown-opcode");
    expect(failure(() => disassemble(bytesOf("4eff"))).offset).toBe(1);
    const truncated = failure(() => disassemble(bytesOf("4e")));
    expect(truncated.code).toBe("truncated");
    expect(truncated.incomplete).toBe(true);
    const badArg = failure(() => disassemble(bytesOf("58ff000000")));
    expect(badArg.code).toBe("truncated");
    expect(badArg.opcode).toBe("BINUNICODE");
  });

  it("does not throw on stack-emulation problems (genops does not emulate)", () => {
    const ops = disassemble(bytesOf("4b01652e"));
    expect(ops.map((o) => o.op.name)).toEqual(["BININT1", "APPENDS", "STOP"]);
    expect(ops[1]!.markAt).toBeUndefined();
  });

  it("reads every opcode of the table", () => {
    // One byte sequence per opcode with a valid argument; STOP ends each.
    const args: Record<string, string> = {
      uint1: "01", uint2: "0100", uint4: "01000000", uint8: "0100000000000000", int4: "01000000",
      long1: "0101", long4: "0100000001", stringnl: "2761270a", stringnl_noescape: "610a",
      stringnl_noescape_pair: "610a620a", string1: "0161", string4: "0100000061", bytes1: "0161", bytes4: "0100000061",
      bytes8: "010000000000000061", bytearray8: "010000000000000061", unicodestringnl: "610a", unicodestring1: "0161",
      unicodestring4: "0100000061", unicodestring8: "010000000000000061", decimalnl_short: "310a", decimalnl_long: "314c0a",
      floatnl: "312e350a", float8: "3ff8000000000000", none: "",
    };
    for (const op of OPCODES) {
      const code = op.code.toString(16).padStart(2, "0");
      const ops = disassemble(bytesOf(code + args[op.arg.name]! + (op.name === "STOP" ? "" : "2e")));
      expect(ops[0]!.op).toBe(op);
    }
  });
});

describe("py-repr", () => {
  it("str repr as CPython 3.11", () => {
    expect(pyReprStr("")).toBe("''");
    expect(pyReprStr("it's")).toBe(`"it's"`);
    expect(pyReprStr(`both ' "`)).toBe(`'both \\' "'`);
    expect(pyReprStr("\t\n\r\x00\x7f\x80\xa0\xad\u0378\u2028\ud800\u{1f600}\u{e0001} \\")).toBe(
      "'\\t\\n\\r\\x00\\x7f\\x80\\xa0\\xad\\u0378\\u2028\\ud800\u{1f600}\\U000e0001 \\\\'",
    );
    expect(pyReprStr("\udc00\ud800")).toBe("'\\udc00\\ud800'");
    expect(pyReprStr("h\u00e9 \u65e5")).toBe("'h\u00e9 \u65e5'");
  });

  it("bytes and bytearray repr (bytearray escapes ' even in double quotes)", () => {
    expect(pyReprBytes(new TextEncoder().encode("it's"))).toBe(`b"it's"`);
    expect(pyReprByteArray(new TextEncoder().encode("it's"))).toBe(`bytearray(b"it\\'s")`);
    expect(pyReprBytes(Uint8Array.of(0x5c, 0, 0xff, 0x27, 0x22))).toBe(`b'\\\\\\x00\\xff\\'"'`);
  });

  it("int repr", () => {
    expect(pyReprInt(true)).toBe("True");
    expect(pyReprInt(-0)).toBe("0");
    expect(pyReprInt(2n ** 70n)).toBe("1180591620717411303424");
    expect(pyReprInt(1e21)).toBe("1000000000000000000000");
  });

  it("printability follows Python 3.11 (Unicode 14), not the host", () => {
    expect(isPyPrintable(0x00e9)).toBe(true);
    expect(isPyPrintable(0x00a0)).toBe(false);
    expect(isPyPrintable(0x0378)).toBe(false);
    expect(isPyPrintable(0x1f600)).toBe(true);
    // U+1F6DD (PLAYGROUND SLIDE) was assigned in Unicode 14; U+1FAE8 (SHAKING FACE) only in 15.
    expect(isPyPrintable(0x1f6dd)).toBe(true);
    expect(isPyPrintable(0x1fae8)).toBe(false);
    expect(isPyPrintable(0x10ffff)).toBe(false);
  });

  it("escape decoding as codecs.escape_decode", () => {
    const dec = (s: string): string | undefined => {
      const out = pyEscapeDecode(new TextEncoder().encode(s));
      return out === undefined ? undefined : Buffer.from(out).toString("latin1");
    };
    expect(dec("a\\nb\\x41\\101\\q\\\\")).toBe("a\nbAA\\q\\");
    expect(dec("x\\")).toBeUndefined();
    expect(dec("\\x4")).toBeUndefined();
  });
});
