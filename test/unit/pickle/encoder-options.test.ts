// Encoder options, hooks, weights-only mode, limits and errors (codes and key paths).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isTorchsaveError, TorchsaveError } from "../../../src/errors.js";
import { decodePickle } from "../../../src/pickle/decoder.js";
import { disassemble } from "../../../src/pickle/disassemble.js";
import { encodePickle, type EncodeOptions } from "../../../src/pickle/encoder.js";
import {
  ORDERED_DICT, pyBytes, pyDict, pyFloat, pyFrozenSet, pyGlobal, pyList, pySet, pyTuple,
  type PyBuffer, type PyList, type PyObject, type PyValue,
} from "../../../src/pickle/value.js";
import { pyDiff } from "../../helpers/py-equal.js";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const opNames = (b: Uint8Array): string[] => disassemble(b).map((o) => o.op.name);

/** The error `fn` throws (failing the test if it does not throw). */
function thrown(fn: () => unknown): TorchsaveError {
  try {
    fn();
  } catch (e) {
    expect(isTorchsaveError(e)).toBe(true);
    expect((e as Error).name).toBe("PickleEncodeError");
    return e as TorchsaveError;
  }
  throw new Error("expected an error");
}

function encodeError<X>(value: PyValue<X>, options?: EncodeOptions<X>): TorchsaveError {
  return thrown(() => encodePickle(value, options));
}

/** A stand-in for a torch tensor: a host value the pickle layer knows nothing about. */
class FakeTensor {
  constructor(readonly storage: FakeStorage, readonly shape: number[]) {}
}
class FakeStorage {
  constructor(readonly key: string) {}
}
type Host = FakeTensor | FakeStorage;

const REBUILD = pyGlobal("torch._utils", "_rebuild_tensor_v2");
const reduceTensor = (t: Host): PyValue<Host> => {
  if (!(t instanceof FakeTensor)) throw new Error("only tensors reduce");
  return {
    kind: "object", via: "reduce", callable: REBUILD,
    args: pyTuple<Host>([t.storage, 0, pyTuple(t.shape), pyTuple([1]), false, pyDict([], ORDERED_DICT)]),
  };
};
const storageId = (v: PyValue<Host>): PyValue<Host> | undefined =>
  v instanceof FakeStorage ? pyTuple(["storage", pyGlobal("torch", "FloatStorage"), v.key, "cpu", 4]) : undefined;

describe("options", () => {
  it("rejects a protocol outside 0-5", () => {
    const e = encodeError(null, { protocol: 6 as 5 });
    expect(e.code).toBe("invalid-argument");
    expect(encodeError(null, { protocol: -1 as 0 }).code).toBe("invalid-argument");
    expect(encodeError(null, { protocol: 1.5 as 1 }).code).toBe("invalid-argument");
  });

  it("weightsOnly writes protocol 2 and refuses any other", () => {
    expect(hex(encodePickle(1, { weightsOnly: true }))).toBe("80024b012e");
    expect(encodeError(1, { weightsOnly: true, protocol: 4 }).code).toBe("invalid-argument");
  });

  it("bufferCallback needs protocol 5, as in CPython", () => {
    expect(encodeError(null, { protocol: 4, bufferCallback: () => true }).code).toBe("invalid-argument");
  });

  it("maxDepth must be positive", () => {
    expect(encodeError(null, { maxDepth: 0 }).code).toBe("invalid-argument");
    expect(encodeError(null, { maxDepth: Number.NaN }).code).toBe("invalid-argument");
  });

  it("returns PROTO first and STOP last", () => {
    const b = encodePickle(pyList([1]), { protocol: 3 });
    expect(b).toBeInstanceOf(Uint8Array);
    expect([b[0], b[1], b[b.length - 1]]).toEqual([0x80, 3, 0x2e]);
  });
});

describe("errors carry a code and the key path", () => {
  it("a host value without reduceHost", () => {
    const e = encodeError(pyDict([["a", pyList([1, new Date(0) as never])]]));
    expect(e.code).toBe("unencodable");
    expect(e.path).toEqual(["a", 1]);
    expect(e.message).toContain('["a"][1]');
  });

  it("explains common JS shapes that are not pickle values", () => {
    expect(encodeError([1, 2] as never).reason).toContain("pyList");
    expect(encodeError(new Uint8Array(2) as never).reason).toContain("pyBytes");
    expect(encodeError({ a: 1 } as never).reason).toContain("pyDict");
    expect(encodeError(new Map() as never).reason).toContain("pyDictFrom");
    expect(encodeError(undefined as never).reason).toContain("undefined");
    expect(encodeError({ kind: "nope" } as never).reason).toContain('"nope"');
  });

  it("a non-integer number is not an int", () => {
    const e = encodeError(pyTuple([1, 1.5]));
    expect(e.code).toBe("invalid-argument");
    expect(e.reason).toContain("pyFloat");
    expect(e.path).toEqual([1]);
  });

  it("malformed value-model objects", () => {
    expect(encodeError({ kind: "list", items: 5 } as never).code).toBe("invalid-argument");
    expect(encodeError({ kind: "bytes", data: [1, 2] } as never).code).toBe("invalid-argument");
    expect(encodeError({ kind: "dict", entries: [["k"]] } as never).code).toBe("invalid-argument");
    expect(encodeError({ kind: "global", module: 1, name: "x" } as never).code).toBe("invalid-argument");
    expect(encodeError({ kind: "float", value: "1" } as never).code).toBe("invalid-argument");
    expect(encodeError({ kind: "object", via: "magic", callable: null, args: null } as never).code).toBe("invalid-argument");
  });

  it("values a protocol cannot express", () => {
    const buffer: PyBuffer = { kind: "buffer", data: new Uint8Array(1), readonly: true };
    expect(encodeError(buffer, { protocol: 4 }).code).toBe("unencodable");
    expect(encodeError({ kind: "ext", code: 5 }, { protocol: 1 }).code).toBe("unencodable");
    expect(encodeError({ kind: "ext", code: 0 }, { protocol: 2 }).code).toBe("invalid-argument");
    const withSetItems: PyObject = { kind: "object", via: "reduce", callable: pyGlobal("m", "f"), args: pyTuple([]), setItems: [1] };
    expect(encodeError(withSetItems, { protocol: 3 }).code).toBe("unencodable");
    expect(encodePickle(withSetItems, { protocol: 4 })).toBeInstanceOf(Uint8Array);
  });

  it("global names must fit a text line and the protocol's text encoding", () => {
    expect(encodeError(pyGlobal("a\nb", "c"), { protocol: 2 }).code).toBe("unencodable");
    expect(encodeError(pyGlobal("m\u00e9", "c"), { protocol: 2 }).code).toBe("unencodable");
    expect(opNames(encodePickle(pyGlobal("m\u00e9", "c"), { protocol: 3 }))).toContain("GLOBAL");
    expect(opNames(encodePickle(pyGlobal("a\nb", "c"), { protocol: 4 }))).toContain("STACK_GLOBAL");
  });

  it("a text persistent id must be ASCII without newlines", () => {
    const pid = (p: PyValue): PyValue => ({ kind: "persid", pid: p, binary: true });
    expect(encodeError(pid("caf\u00e9"), { protocol: 0 }).code).toBe("unencodable");
    expect(encodeError(pid("a\nb"), { protocol: 0 }).code).toBe("unencodable");
    expect(encodeError(pid(pyTuple([1])), { protocol: 0 }).code).toBe("unencodable");
    expect(opNames(encodePickle(pid("ok"), { protocol: 0 }))).toEqual(["PERSID", "STOP"]);
  });

  it("a cycle through tuples, frozensets or constructor arguments alone cannot be pickled", () => {
    const t = pyTuple([1]);
    t.items.push(t);
    expect(encodeError(pyList([t])).path).toEqual([0, 1]);
    const f = pyFrozenSet([]);
    f.items.push(pyTuple([f]));
    expect(encodeError(f).code).toBe("unencodable");
    const o: PyObject = { kind: "object", via: "reduce", callable: pyGlobal("m", "f"), args: pyTuple([]) };
    (o.args as ReturnType<typeof pyTuple>).items.push(o);
    expect(encodeError(o).code).toBe("unencodable");
    // Through a list (memoized before its items) the same shapes are fine.
    const u = pyTuple([pyList([])]);
    (u.items[0] as PyList).items.push(u);
    expect(pyDiff(decodePickle(encodePickle(u)), u)).toBeUndefined();
  });

  it("limit-exceeded past maxDepth, with the path", () => {
    const v = pyList([pyList([pyList([pyList([])])])]);
    expect(encodePickle(v, { maxDepth: 4 })).toBeInstanceOf(Uint8Array);
    const e = encodeError(pyList([pyList([pyList([pyList([pyList([1])])])])]), { maxDepth: 4 });
    expect(e.code).toBe("limit-exceeded");
    expect(e.path).toEqual([0, 0, 0, 0]);
  });

  it("hook failures become torchsave errors located at the value", () => {
    const boom = new Error("boom");
    const e = encodeError<Host>(pyList<Host>([1, new FakeStorage("0")]), { reduceHost: () => { throw boom; } });
    expect(e.code).toBe("unencodable");
    expect(e.reason).toContain("reduceHost threw: boom");
    expect(e.cause).toBe(boom);
    expect(e.path).toEqual([1]);
    // A torchsave error from a hook keeps its class and code and gains the path.
    const inner = new TorchsaveError("invalid-argument", "no such storage");
    let e2: unknown;
    try {
      encodePickle(pyDict([["k", 1]]), { persistentId: (v) => { if (v === 1) throw inner; return undefined; } });
    } catch (e) {
      e2 = e;
    }
    expect(e2).toBeInstanceOf(TorchsaveError);
    expect((e2 as TorchsaveError).code).toBe("invalid-argument");
    expect((e2 as TorchsaveError).path).toEqual(["k"]);
  });

  it("undefined is an error even with reduceHost", () => {
    let called = 0;
    const e = encodeError<Host>(pyList<Host>([undefined as never]), { reduceHost: () => { called++; return null; } });
    expect(e.reason).toContain("undefined");
    expect(called).toBe(0);
  });

  it("reduceHost must return a pickle value", () => {
    expect(encodeError<Host>(new FakeStorage("0"), { reduceHost: () => undefined as never }).reason).toContain("undefined");
    const loop = encodeError<Host>(new FakeStorage("0"), { reduceHost: () => new FakeStorage("1") });
    expect(loop.code).toBe("unencodable");
  });

  it("only torchsave errors escape, whatever junk is passed", () => {
    const junk = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        fc.anything(),
        fc.record({ kind: fc.constantFrom("list", "tuple", "set", "frozenset", "dict", "bytes", "object", "persid", "global", "float", "complex", "buffer", "ext", "bytearray"), items: tie("value"), entries: tie("value"), data: tie("value"), value: tie("value"), via: fc.string(), callable: tie("value"), args: tie("value"), module: tie("value"), name: tie("value"), code: tie("value"), pid: tie("value"), real: tie("value"), imag: tie("value") }, { requiredKeys: ["kind"] }),
        fc.array(tie("value"), { maxLength: 3 }),
      ),
    })).value;
    fc.assert(
      fc.property(junk, fc.constantFrom(0, 1, 2, 3, 4, 5), (v, protocol) => {
        try {
          encodePickle(v as PyValue, { protocol: protocol as 0 });
        } catch (e) {
          if (!isTorchsaveError(e)) throw e;
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("host values and persistent ids (the torch layer's hooks)", () => {
  it("reduces each host value once; a shared one becomes a memo GET", () => {
    const storage = new FakeStorage("0");
    const weight = new FakeTensor(storage, [2, 2]);
    let reduced = 0;
    const bytes = encodePickle<Host>(pyDict<Host>([["a", weight], ["b", weight]], ORDERED_DICT), {
      protocol: 2,
      reduceHost: (t) => {
        reduced++;
        return reduceTensor(t);
      },
      persistentId: storageId,
    });
    expect(reduced).toBe(1);
    const ops = opNames(bytes);
    expect(ops.filter((n) => n === "BINPERSID")).toHaveLength(1);
    expect(ops).toContain("BINGET");
    const pids: PyValue[] = [];
    const back = decodePickle(bytes, { persistentLoad: (pid) => { pids.push(pid); return "storage"; } });
    const [first, second] = (back as ReturnType<typeof pyDict>).entries;
    const a = first![1];
    const b = second![1];
    expect(a).toBe(b);
    expect(pids).toHaveLength(1);
    expect(pyDiff(pids[0], storageId(storage))).toBeUndefined();
  });

  it("persistentId sees every value first; null and undefined mean no id", () => {
    const seen: PyValue[] = [];
    const bytes = encodePickle(pyList([1, "x", null]), { protocol: 2, persistentId: (v) => { seen.push(v); return v === "x" ? "PID" : null; } });
    expect(seen).toHaveLength(4);
    expect(opNames(bytes)).toEqual(["PROTO", "EMPTY_LIST", "BINPUT", "MARK", "BININT1", "BINUNICODE", "BINPUT", "BINPERSID", "NONE", "APPENDS", "STOP"]);
  });

  it("persistent ids are text PERSID at protocol 0", () => {
    const bytes = encodePickle(pyList([7]), { protocol: 0, persistentId: (v) => (v === 7 ? "seven" : undefined) });
    expect(Buffer.from(bytes).toString("latin1")).toBe("(lp0\nPseven\na.");
    expect(encodeError(pyList([7]), { protocol: 0, persistentId: (v) => (v === 7 ? 7 : undefined) }).code).toBe("unencodable");
  });

  it("keeps a PyPersistentId read from PERSID as PERSID", () => {
    const v: PyValue = { kind: "persid", pid: "abc", binary: false };
    expect(opNames(encodePickle(v, { protocol: 2 }))).toEqual(["PROTO", "PERSID", "STOP"]);
    expect(pyDiff(decodePickle(encodePickle(v, { protocol: 4 })), v)).toBeUndefined();
  });

  it("sends buffers out-of-band when bufferCallback says so", () => {
    const ro: PyBuffer = { kind: "buffer", data: Uint8Array.of(1, 2), readonly: true };
    const rw: PyBuffer = { kind: "buffer", data: Uint8Array.of(3), readonly: false };
    const sent: Uint8Array[] = [];
    const bytes = encodePickle(pyList([ro, rw, ro]), { protocol: 5, bufferCallback: (b) => { sent.push(b.data); return b !== rw; } });
    expect(opNames(bytes)).toEqual([
      "PROTO", "FRAME", "EMPTY_LIST", "MEMOIZE", "MARK", "NEXT_BUFFER", "READONLY_BUFFER", "BYTEARRAY8", "MEMOIZE",
      "NEXT_BUFFER", "READONLY_BUFFER", "APPENDS", "STOP",
    ]);
    expect(sent).toHaveLength(3);
    const back = decodePickle(bytes, { buffers: [ro.data, ro.data] }) as PyList;
    expect(back.items[0]).toMatchObject({ kind: "buffer", readonly: true });
    expect(back.items[1]).toMatchObject({ kind: "bytearray" });
  });
});

describe("weightsOnly", () => {
  const ALLOWED = new Set([
    "PROTO", "STOP", "MARK", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "EMPTY_TUPLE", "EMPTY_LIST", "EMPTY_DICT", "EMPTY_SET",
    "APPEND", "APPENDS", "SETITEM", "SETITEMS", "BUILD", "GLOBAL", "NEWOBJ", "REDUCE", "BINPERSID", "BINGET", "LONG_BINGET",
    "BINPUT", "LONG_BINPUT", "NONE", "NEWTRUE", "NEWFALSE", "BININT", "BININT1", "BININT2", "LONG1", "BINFLOAT",
    "BINUNICODE", "SHORT_BINSTRING",
  ]);

  it("writes a state dict with torch's opcodes only, like protocol 2 otherwise", () => {
    const metadata = pyDict([["", pyDict([["version", 1]])]]);
    const sd = pyDict<Host>([
      ["fc.weight", new FakeTensor(new FakeStorage("0"), [2, 3])],
      ["fc.bias", new FakeTensor(new FakeStorage("1"), [2])],
      ["step", 2 ** 40],
      ["lr", pyFloat(0.001)],
      ["names", pyList(["a", "b"])],
      ["flags", pySet([true, false])],
      ["blob", pyBytes(new Uint8Array(0))],
      ["big", 2n ** 100n],
    ], ORDERED_DICT);
    sd.state = pyDict([["_metadata", metadata]]);
    const options = { reduceHost: reduceTensor, persistentId: storageId };
    const bytes = encodePickle<Host>(sd, { ...options, weightsOnly: true });
    for (const name of opNames(bytes)) expect(ALLOWED.has(name), name).toBe(true);
    expect(opNames(bytes)).not.toContain("EMPTY_SET");
    // b"" is the one value CPython writes differently (builtins.bytes(), which weights_only refuses).
    const ops = disassemble(bytes);
    expect(ops.some((o) => o.op.name === "GLOBAL" && (o.arg as string[]).join(".") === "_codecs.encode")).toBe(true);
    expect(ops.some((o) => o.op.name === "GLOBAL" && (o.arg as string[]).join(".") === "__builtin__.bytes")).toBe(false);
    const plain = pyDict(sd.entries.filter(([k]) => k !== "blob"), ORDERED_DICT);
    expect(hex(encodePickle<Host>(plain, { ...options, weightsOnly: true }))).toBe(hex(encodePickle<Host>(plain, { ...options, protocol: 2 })));
  });

  it("refuses what weights_only cannot load, with the path", () => {
    const wo = { weightsOnly: true } as const;
    const at = (v: PyValue): TorchsaveError => encodeError(pyDict([["x", v]]), wo);
    expect(at(pyFrozenSet([1])).path).toEqual(["x"]);
    expect(at(pyFrozenSet([1])).code).toBe("unencodable");
    expect(at(2n ** 2100n).reason).toContain("LONG4");
    expect(at({ kind: "ext", code: 1 }).reason).toContain("EXT1");
    expect(at(pyGlobal("m", "A.B")).code).toBe("unencodable");
    expect(at({ kind: "object", via: "newobj_ex", callable: pyGlobal("m", "C"), args: pyTuple([]) }).code).toBe("unencodable");
    expect(at({ kind: "object", via: "inst", callable: pyGlobal("m", "C"), args: pyTuple([]) }).reason).toContain("INST");
    const t = pyTuple([pyList([])]);
    (t.items[0] as PyList).items.push(t);
    expect(at(t).reason).toContain("POP");
  });

  it("writes a PERSID-read persistent id as BINPERSID", () => {
    expect(opNames(encodePickle({ kind: "persid", pid: "k", binary: false }, { weightsOnly: true }))).toEqual(["PROTO", "BINUNICODE", "BINPUT", "BINPERSID", "STOP"]);
  });
});

describe("deep and large values", () => {
  it("encodes 1,000,000 nested lists without recursion", () => {
    const root = pyList([]);
    let cur = root;
    for (let i = 0; i < 1_000_000; i++) {
      const next = pyList([]);
      cur.items.push(next);
      cur = next;
    }
    const bytes = encodePickle(root, { protocol: 2 });
    // Per level: EMPTY_LIST, BINPUT/LONG_BINPUT, APPEND.
    expect(bytes.length).toBe(2 + 256 * 3 + (1_000_001 - 256) * 6 + 1_000_000 + 1);
    let depth = 0;
    let node = decodePickle(bytes) as PyList;
    while (node.items.length > 0) {
      node = node.items[0] as PyList;
      depth++;
    }
    expect(depth).toBe(1_000_000);
  });

  it("encodes 100,000 nested tuples", () => {
    let t = pyTuple([0]);
    for (let i = 0; i < 100_000; i++) t = pyTuple([t]);
    const bytes = encodePickle(t, { protocol: 4 });
    expect(bytes[bytes.length - 1]).toBe(0x2e);
  });
});
