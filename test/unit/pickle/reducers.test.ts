import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodePickle, type ReduceContext, type Reducer } from "../../../src/pickle/decoder.js";
import { BUILTIN_REDUCERS, builtinReducers } from "../../../src/pickle/reducers.js";
import {
  ORDERED_DICT, pyByteArray, pyBytes, pyComplex, pyDict, pyFloat, pyFrozenSet, pyGlobal, pyList, pySet, pyTuple,
  type PyObjectVia, type PyValue,
} from "../../../src/pickle/value.js";

const b = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
const dec = (input: Uint8Array | string) => decodePickle(typeof input === "string" ? b(input) : input);
const ctx = (module: string, name: string, via: PyObjectVia = "reduce"): ReduceContext<never> => ({ callable: pyGlobal(module, name), via, offset: 0 });

// Pickles written by CPython 3.11 (`pickle.dumps(value, protocol)`), as hex.
const PY = {
  set: [
    "635f5f6275696c74696e5f5f0a7365740a70300a28286c70310a49310a6149320a617470320a5270330a2e",
    "8002635f5f6275696c74696e5f5f0a7365740a71005d7101284b014b02658571025271032e",
    "80049509000000000000008f94284b014b02902e",
  ],
  frozenset: [
    "635f5f6275696c74696e5f5f0a66726f7a656e7365740a70300a28286c70310a49310a617470320a5270330a2e",
    "8002635f5f6275696c74696e5f5f0a66726f7a656e7365740a71005d71014b01618571025271032e",
    "8004950600000000000000284b0191942e",
  ],
  bytearray: [
    "635f5f6275696c74696e5f5f0a6279746561727261790a70300a28635f636f646563730a656e636f64650a70310a285661620a70320a566c6174696e310a70330a7470340a5270350a7470360a5270370a2e",
    "8002635f5f6275696c74696e5f5f0a6279746561727261790a7100635f636f646563730a656e636f64650a710158020000006162710258060000006c6174696e3171038671045271058571065271072e",
    "8003636275696c74696e730a6279746561727261790a71004302616271018571025271032e",
    "8005950d000000000000009602000000000000006162942e",
  ],
  emptyBytes: [
    "635f5f6275696c74696e5f5f0a62797465730a70300a28745270310a2e",
    "8002635f5f6275696c74696e5f5f0a62797465730a7100295271012e",
    "8003430071002e",
  ],
  bytesAFF: [
    "635f636f646563730a656e636f64650a70300a285661ff0a70310a566c6174696e310a70320a7470330a5270340a2e",
    "8002635f636f646563730a656e636f64650a7100580300000061c3bf710158060000006c6174696e3171028671035271042e",
  ],
  complex: [
    "635f5f6275696c74696e5f5f0a636f6d706c65780a70300a2846312e350a462d322e300a7470310a5270320a2e",
    "8002635f5f6275696c74696e5f5f0a636f6d706c65780a7100473ff800000000000047c0000000000000008671015271022e",
  ],
  orderedDict: [
    "63636f6c6c656374696f6e730a4f726465726564446963740a70300a28745270310a56610a70320a49310a732e",
    "800263636f6c6c656374696f6e730a4f726465726564446963740a71002952710158010000006171024b01732e",
  ],
};

describe("the registry", () => {
  it("has exactly the documented keys, frozen, without a prototype", () => {
    expect(Object.keys(BUILTIN_REDUCERS).sort()).toEqual([
      "__builtin__.bytearray", "__builtin__.bytes", "__builtin__.complex", "__builtin__.frozenset", "__builtin__.set",
      "_codecs.encode",
      "builtins.bytearray", "builtins.bytes", "builtins.complex", "builtins.frozenset", "builtins.set",
      "collections.OrderedDict", "copy_reg._reconstructor", "copyreg._reconstructor",
    ]);
    expect(Object.isFrozen(BUILTIN_REDUCERS)).toBe(true);
    expect(Object.getPrototypeOf(BUILTIN_REDUCERS)).toBe(null);
  });
  it("builtinReducers() gives a fresh copy that can be extended for a host type", () => {
    const a = builtinReducers<{ host: true }>();
    expect(a).not.toBe(BUILTIN_REDUCERS);
    const host = { host: true } as const;
    const mine: Reducer<{ host: true }> = { call: () => host };
    const registry = { ...a, "m.f": mine };
    expect(decodePickle<{ host: true }>(b("cm\nf\n)R."), { reducers: registry })).toBe(host);
    expect(decodePickle<{ host: true }>(b("c__builtin__\nset\n)R."), { reducers: registry })).toEqual(pySet([]));
  });
  it("a global named like an Object.prototype member is not a reducer", () => {
    expect(dec("c__proto__\nx\n)R.")).toMatchObject({ kind: "object", via: "reduce" });
    expect(dec("cconstructor\n\n)R.")).toMatchObject({ kind: "object", via: "reduce" });
  });
});

describe("each protocol's spelling decodes to the same value", () => {
  it("set", () => {
    for (const h of PY.set) expect(dec(hex(h))).toEqual(pySet([1, 2]));
  });
  it("frozenset", () => {
    for (const h of PY.frozenset) expect(dec(hex(h))).toEqual(pyFrozenSet([1]));
  });
  it("bytearray", () => {
    for (const h of PY.bytearray) expect(dec(hex(h))).toEqual(pyByteArray(b("ab")));
  });
  it("bytes: empty (builtins.bytes) and non-empty (_codecs.encode latin1)", () => {
    for (const h of PY.emptyBytes) expect(dec(hex(h))).toEqual(pyBytes(new Uint8Array(0)));
    for (const h of PY.bytesAFF) expect(dec(hex(h))).toEqual(pyBytes(Uint8Array.of(0x61, 0xff)));
  });
  it("complex", () => {
    for (const h of PY.complex) expect(dec(hex(h))).toEqual(pyComplex(1.5, -2));
  });
  it("OrderedDict", () => {
    for (const h of PY.orderedDict) expect(dec(hex(h))).toEqual(pyDict([["a", 1]], ORDERED_DICT));
  });
});

describe("collections.OrderedDict", () => {
  it("Python 2's OrderedDict([[k, v], ...]) form, with Python dict semantics", () => {
    const v = dec("ccollections\nOrderedDict\n(((S'a'\nI1\nl(S'b'\nI2\nl(S'a'\nI3\nlltR.");
    expect(v).toEqual(pyDict([["a", 3], ["b", 2]], ORDERED_DICT));
  });
  it("OrderedDict(mapping) copies the pairs; NEWOBJ gives an empty one", () => {
    expect(dec("ccollections\nOrderedDict\n}K\x01K\x02s\x85R.")).toEqual(pyDict([[1, 2]], ORDERED_DICT));
    expect(dec("\x80\x02ccollections\nOrderedDict\n)\x81.")).toEqual(pyDict([], ORDERED_DICT));
  });
  it("the dict's type is the very global object of the pickle", () => {
    const v = dec("\x80\x02ccollections\nOrderedDict\nq\x00)Rh\x00\x86.") as unknown as { items: [{ type: unknown }, unknown] };
    expect(v.items[0].type).toBe(v.items[1]);
  });
  it("odd arguments stay inert", () => {
    for (const s of [
      "ccollections\nOrderedDict\nK\x01\x85R.", // OrderedDict(1)
      "ccollections\nOrderedDict\n(K\x01K\x02tR.", // two arguments
      "ccollections\nOrderedDict\n((K\x01\x85ltR.", // a 1-item pair
      "ccollections\nOrderedDict\n(((]K\x01tltR.", // unhashable key
      "ccollections\nOrderedDict\nK\x01R.", // args not a tuple
    ]) {
      expect(dec(s)).toMatchObject({ kind: "object", via: "reduce", callable: ORDERED_DICT });
    }
  });
});

describe("set and frozenset", () => {
  it("drop duplicates with Python equality and accept any iterable", () => {
    expect(dec("c__builtin__\nset\n(K\x01K\x01\x88K\x02l\x85R.")).toEqual(pySet([1, 2]));
    expect(dec("cbuiltins\nfrozenset\n(K\x01K\x02t\x85R.")).toEqual(pyFrozenSet([1, 2]));
    expect(dec("cbuiltins\nset\n}K\x01K\x02s\x85R.")).toEqual(pySet([1]));
    expect(dec("cbuiltins\nset\n)R.")).toEqual(pySet([]));
  });
  it("unhashable members, non-iterables and NEWOBJ stay inert", () => {
    expect(dec("cbuiltins\nset\n]]a\x85R.")).toMatchObject({ kind: "object", via: "reduce" });
    expect(dec("cbuiltins\nset\nK\x01\x85R.")).toMatchObject({ kind: "object", via: "reduce" });
    expect(dec("\x80\x02cbuiltins\nset\n)\x81.")).toMatchObject({ kind: "object", via: "newobj" });
  });
});

describe("bytes, bytearray, _codecs.encode", () => {
  it("encodings: latin-1 family, ascii, utf-8 (the default)", () => {
    expect(dec("c_codecs\nencode\n(V\\u00e9\nVLatin-1\ntR.")).toEqual(pyBytes(Uint8Array.of(0xe9)));
    expect(dec("c_codecs\nencode\n(V\\u20ac\nVutf-8\ntR.")).toEqual(pyBytes(Uint8Array.of(0xe2, 0x82, 0xac)));
    expect(dec("c_codecs\nencode\n(Vx\ntR.")).toEqual(pyBytes(b("x")));
    expect(dec("c_codecs\nencode\n(Vx\nVascii\ntR.")).toEqual(pyBytes(b("x")));
  });
  it("unencodable text, unknown codecs and odd shapes stay inert", () => {
    for (const s of [
      "c_codecs\nencode\n(V\\u20ac\nVlatin1\ntR.", // not latin-1
      "c_codecs\nencode\n(V\\u00e9\nVascii\ntR.", // not ASCII
      "c_codecs\nencode\n(V\\ud800\nVutf-8\ntR.", // lone surrogate: strict UTF-8 refuses
      "c_codecs\nencode\n(Vx\nVrot13\ntR.",
      "c_codecs\nencode\n(K\x01tR.",
      "c_codecs\nencode\n)R.",
    ]) {
      expect(dec(s)).toMatchObject({ kind: "object", via: "reduce" });
    }
    expect(dec("(Vx\nVlatin1\ni_codecs\nencode\n.")).toMatchObject({ kind: "object", via: "inst" });
  });
  it("bytearray(str, encoding) (Python 2's form) and bytearray(bytes) sharing the view", () => {
    expect(dec("c__builtin__\nbytearray\n(Vab\nVlatin-1\ntR.")).toEqual(pyByteArray(b("ab")));
    const input = b("\x80\x03cbuiltins\nbytearray\nC\x02ab\x85R.");
    const v = decodePickle(input) as { data: Uint8Array };
    expect(v.data.buffer).toBe(input.buffer);
  });
  it("bytearray(n) and bytes(n) never allocate: they stay inert", () => {
    expect(dec("cbuiltins\nbytearray\nJ\xff\xff\xff\x7f\x85R.")).toMatchObject({ kind: "object", via: "reduce" });
    expect(dec("cbuiltins\nbytes\nJ\xff\xff\xff\x7f\x85R.")).toMatchObject({ kind: "object", via: "reduce" });
  });
  it("bytes(b) is b itself", () => {
    const v = dec("\x80\x03cbuiltins\nbytes\nC\x01aq\x00\x85Rh\x00\x86.") as unknown as { items: [unknown, unknown] };
    expect(v.items[0]).toBe(v.items[1]);
  });
});

describe("complex", () => {
  it("from ints, bools and floats; one or no argument", () => {
    expect(dec("cbuiltins\ncomplex\n(K\x01\x88tR.")).toEqual(pyComplex(1, 1));
    expect(dec("cbuiltins\ncomplex\nF2.5\n\x85R.")).toEqual(pyComplex(2.5, 0));
    expect(dec("cbuiltins\ncomplex\n)R.")).toEqual(pyComplex(0, 0));
  });
  it("strings, too-large ints and three arguments stay inert", () => {
    expect(dec("cbuiltins\ncomplex\nV1+2j\n\x85R.")).toMatchObject({ kind: "object" });
    expect(dec(`cbuiltins\ncomplex\nL1${"0".repeat(400)}\n\x85R.`)).toMatchObject({ kind: "object" });
    expect(dec("cbuiltins\ncomplex\n(K\x01K\x02K\x03tR.")).toMatchObject({ kind: "object" });
  });
});

describe("copyreg._reconstructor", () => {
  it("(cls, object, None) becomes cls.__new__(cls) as protocol 2 writes it", () => {
    expect(dec("ccopyreg\n_reconstructor\n(cfm\nP\ncbuiltins\nobject\nNtR.")).toEqual({
      kind: "object", via: "newobj", callable: pyGlobal("fm", "P"), args: pyTuple([]),
    });
  });
  it("another base or a state stays an inert REDUCE", () => {
    const dictBase = dec("ccopy_reg\n_reconstructor\n(cfm\nD\nc__builtin__\ndict\n}tR.");
    expect(dictBase).toMatchObject({ kind: "object", via: "reduce", callable: pyGlobal("copy_reg", "_reconstructor") });
    const withState = dec("ccopy_reg\n_reconstructor\n(cfm\nP\nc__builtin__\nobject\nK\x01tR.");
    expect(withState).toMatchObject({ kind: "object", via: "reduce" });
  });
});

describe("direct calls", () => {
  it("call() works outside the decoder", () => {
    expect(BUILTIN_REDUCERS["builtins.set"]!.call(pyTuple([pyList([1, 2, 1])]), ctx("builtins", "set"))).toEqual(pySet([1, 2]));
    expect(BUILTIN_REDUCERS["builtins.complex"]!.call(pyTuple([pyFloat(1), 2n]), ctx("builtins", "complex"))).toEqual(pyComplex(1, 2));
  });
  it("no reducer throws, whatever the arguments and via", () => {
    const leaf: fc.Arbitrary<PyValue> = fc.oneof(
      fc.constant(null), fc.boolean(), fc.integer(), fc.bigInt(), fc.string(), fc.double().map(pyFloat),
      fc.uint8Array({ maxLength: 4 }).map(pyBytes), fc.uint8Array({ maxLength: 4 }).map(pyByteArray),
      fc.constantFrom(pyGlobal("builtins", "object"), pyGlobal("__builtin__", "object"), pyGlobal("m", "C")),
    );
    const value = fc.letrec<{ v: PyValue }>((tie) => ({
      v: fc.oneof(
        { depthSize: "small" },
        leaf,
        fc.array(tie("v"), { maxLength: 4 }).map((xs) => pyTuple(xs)),
        fc.array(tie("v"), { maxLength: 4 }).map((xs) => pyList(xs)),
        fc.array(fc.tuple(tie("v"), tie("v")), { maxLength: 3 }).map((xs) => pyDict(xs)),
        fc.array(tie("v"), { maxLength: 3 }).map((xs) => pySet(xs)),
      ),
    })).v;
    const vias = fc.constantFrom<PyObjectVia>("reduce", "newobj", "newobj_ex", "inst", "obj");
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(BUILTIN_REDUCERS)), value, vias, fc.option(value, { nil: undefined }), (key, args, via, kwargs) => {
        const [module, name] = [key.slice(0, key.lastIndexOf(".")), key.slice(key.lastIndexOf(".") + 1)];
        const c: ReduceContext<never> = kwargs === undefined ? ctx(module, name, via) : { ...ctx(module, name, via), kwargs };
        BUILTIN_REDUCERS[key]!.call(args, c);
        BUILTIN_REDUCERS[key]!.call(pyTuple([args]), c);
        BUILTIN_REDUCERS[key]!.call(pyTuple([args, args]), c);
      }),
      { numRuns: 500 },
    );
  });
});
