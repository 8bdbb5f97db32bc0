// The lossless msgpack format: the wire items it writes (checked against @msgpack/msgpack as an
// independent reader), every value shape and torch host value round trip, sharing and cycles,
// and the decoder's refusals of malformed, truncated and hostile input.
import { decode as referenceDecode, ExtData } from "@msgpack/msgpack";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromMsgpack, toMsgpack, MSGPACK_EXT } from "../../../src/convert/index.js";
import { MsgpackReader, MsgpackWriter } from "../../../src/convert/msgpack-wire.js";
import { isTorchsaveError } from "../../../src/errors.js";
import {
  ORDERED_DICT, pyByteArray, pyBytes, pyComplex, pyDict, pyFloat, pyFrozenSet, pyGlobal, pyList, pySet, pyTuple,
  type PyObject, type PyValue,
} from "../../../src/pickle/value.js";
import type { Tensor, TorchHost, TorchValue } from "../../../src/torch/index.js";
import { canonicalOrigin } from "../../../src/convert/torch-records.js";
import { torchDiff } from "./torch-equal.js";
import { bytes, f32, storage, tensor, thrown } from "./values.js";

const roundTrip = (v: TorchValue): TorchValue => fromMsgpack(toMsgpack(v));
const expectSame = (v: TorchValue) => expect(torchDiff(v, roundTrip(v))).toBeUndefined();

describe("msgpack wire", () => {
  const written = (f: (w: MsgpackWriter) => void): number[] => {
    const w = new MsgpackWriter(4);
    f(w);
    return [...w.finish()];
  };

  it("writes ints in the smallest format", () => {
    expect(written((w) => w.int(0))).toEqual([0x00]);
    expect(written((w) => w.int(127))).toEqual([0x7f]);
    expect(written((w) => w.int(128))).toEqual([0xcc, 0x80]);
    expect(written((w) => w.int(65535))).toEqual([0xcd, 0xff, 0xff]);
    expect(written((w) => w.int(65536))).toEqual([0xce, 0, 1, 0, 0]);
    expect(written((w) => w.int(2 ** 32))).toEqual([0xcf, 0, 0, 0, 1, 0, 0, 0, 0]);
    expect(written((w) => w.int(-1))).toEqual([0xff]);
    expect(written((w) => w.int(-32))).toEqual([0xe0]);
    expect(written((w) => w.int(-33))).toEqual([0xd0, 0xdf]);
    expect(written((w) => w.int(-129))).toEqual([0xd1, 0xff, 0x7f]);
    expect(written((w) => w.int(-32769))).toEqual([0xd2, 0xff, 0xff, 0x7f, 0xff]);
    expect(written((w) => w.int(-(2 ** 31) - 1))).toEqual([0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff]);
    expect(written((w) => w.int(2n ** 64n - 1n))).toEqual([0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    expect(written((w) => w.int(-(2n ** 63n)))).toEqual([0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]);
  });

  it("reads every int back, 64-bit ones as bigint only beyond 2^53", () => {
    for (const v of [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53) + 1]) {
      const item = new MsgpackReader(Uint8Array.from(written((w) => w.int(v)))).next();
      expect(item).toEqual({ type: "int", value: v });
    }
    for (const v of [2n ** 53n, 2n ** 64n - 1n, -(2n ** 63n)]) {
      expect(new MsgpackReader(Uint8Array.from(written((w) => w.int(v)))).next()).toEqual({ type: "int", value: v });
    }
  });

  it("shrinks short ext items to ext 8 and keeps long ones ext 32", () => {
    const short = written((w) => {
      const m = w.beginExt(7);
      w.raw(bytes(1, 2, 3));
      w.endExt(m);
    });
    expect(short).toEqual([0xc7, 3, 7, 1, 2, 3]);
    const long = Uint8Array.from(written((w) => {
      const m = w.beginExt(9);
      w.raw(new Uint8Array(300).fill(5));
      w.endExt(m);
    }));
    expect([...long.subarray(0, 6)]).toEqual([0xc9, 0, 0, 1, 0x2c, 9]);
    const item = new MsgpackReader(long).next();
    expect(item.type === "ext" && item.extType === 9 && item.data.length === 300).toBe(true);
  });

  it("is read by an independent msgpack decoder", () => {
    const s = storage("float32", f32(1, 2));
    const t = tensor(s, [2]);
    const doc = referenceDecode(toMsgpack(pyDict<TorchHost>([["w", t], ["n", 3], ["x", pyFloat(1)], ["t", pyTuple([1, 2])], ["b", pyBytes(bytes(9))]]))) as Record<string, unknown>;
    expect(doc.torchsave).toBe(1);
    const [entry] = doc.storages as Record<string, unknown>[];
    expect(entry).toMatchObject({ key: "0", type: ["torch", "FloatStorage"], dtype: "float32", location: "cpu", numel: 2 });
    expect([...(entry!.data as Uint8Array)]).toEqual([...f32(1, 2)]);
    const root = doc.root as Record<string, unknown>;
    expect(root.n).toBe(3);
    expect(root.x).toBe(1); // a float64 item: 1.0 to other readers
    expect(root.t).toBeInstanceOf(ExtData);
    expect((root.t as ExtData).type).toBe(MSGPACK_EXT.tuple);
    expect((root.w as ExtData).type).toBe(MSGPACK_EXT.tensor);
    expect([...(root.b as Uint8Array)]).toEqual([9]);
  });
});

describe("msgpack values", () => {
  it("keeps every scalar shape exactly", () => {
    const nanPayload: PyValue = { kind: "float", value: NaN, nanBits: "7ff0000000000001" };
    for (const v of [
      null, true, false, 0, -1, 2 ** 53 - 1, -(2 ** 53) + 1, 2n ** 63n, -(2n ** 63n), 2n ** 64n, -(2n ** 64n) - 1n, 10n ** 40n,
      0x1950a86a20f9469cfc6cn, "", "abc", "é€😀", "a\ud800b", "\udc00", "\0",
      pyFloat(1), pyFloat(-0), pyFloat(NaN), pyFloat(Infinity), pyFloat(-Infinity), pyFloat(5e-324), nanPayload,
      pyComplex(1, -0), pyComplex(NaN, Infinity), pyBytes(bytes()), pyBytes(bytes(0, 255)), pyByteArray(bytes(1)),
      pyGlobal("torch", "float32"), { kind: "ext", code: 300 }, { kind: "buffer", data: bytes(1, 2), readonly: true },
      { kind: "persid", pid: pyTuple(["storage", 1]), binary: true },
    ] as TorchValue[]) {
      expectSame(v);
    }
  });

  it("keeps containers, key types, dict subclasses and state, and inert objects", () => {
    const od = pyDict<TorchHost>([["b", 1], ["a", 2]], ORDERED_DICT);
    od.state = pyDict<TorchHost>([["_metadata", pyDict([["", pyDict([["version", 1]])]])]]);
    const obj: PyObject<TorchHost> = {
      kind: "object", via: "newobj_ex", callable: pyGlobal("m", "C"), args: pyTuple([1]), kwargs: pyDict([["y", 2]]),
      state: null, listItems: [1, 2], dictItems: [[pyTuple([1]), "v"]], setItems: [3],
    };
    expectSame(pyList<TorchHost>([
      pyTuple([]), pyTuple([1, pyTuple([2])]), pyList([]), pySet([1, "a"]), pyFrozenSet([pyTuple([1, 2])]),
      pyDict([[1, "int"], [pyFloat(1.5), "float"], [null, "none"], [true, "bool"], [pyTuple([1, 2]), "tuple"], [pyFrozenSet([1]), "fs"], ["0", "index-like"]]),
      od, obj, { kind: "object", via: "reduce", callable: pyGlobal("builtins", "print"), args: pyTuple([]) },
    ]));
  });

  it("keeps sharing and cycles", () => {
    const shared = pyList<TorchHost>([1]);
    const cyclic = pyList<TorchHost>([]);
    cyclic.items.push(cyclic);
    const d = pyDict<TorchHost>([]);
    d.entries.push(["self", d]);
    const back = roundTrip(pyList<TorchHost>([shared, shared, cyclic, d])) as { items: TorchValue[] };
    expect(back.items[0]).toBe(back.items[1]);
    const c = back.items[2] as { items: TorchValue[] };
    expect(c.items[0]).toBe(c);
    expect(torchDiff(pyList<TorchHost>([shared, shared, cyclic, d]), back as TorchValue)).toBeUndefined();
  });

  it("keeps tensors, storages, views and shared storages", () => {
    const s = storage("float32", f32(1, 2, 3, 4, 5, 6));
    const base = tensor(s, [2, 3]);
    const view = tensor(s, [3, 2], { stride: [1, 3] });
    const slice = tensor(s, [2], { offset: 4 });
    const param = tensor(storage("float64", new Uint8Array(16), { key: "1" }), [2], { parameter: true, requiresGrad: true });
    const bare = tensor(storage("int8", bytes(1, 2), { key: "2" }), [2], { origin: "none" });
    const back = roundTrip(pyDict<TorchHost>([["base", base], ["view", view], ["slice", slice], ["p", param], ["again", base], ["bare", bare], ["storage", s]]));
    expect(torchDiff(pyDict<TorchHost>([["base", base], ["view", view], ["slice", slice], ["p", param], ["again", base], ["bare", bare], ["storage", s]]), back)).toBeUndefined();
    const e = (back as { entries: [string, { storage?: unknown }][] }).entries;
    expect(e[0]![1].storage).toBe(e[1]![1].storage);
    expect(e[0]![1]).toBe(e[4]![1]);
    expect(e[6]![1]).toBe(e[0]![1].storage);
  });

  it("storage bytes are views into the input, and bytes are not copied", () => {
    const s = storage("uint8", new Uint8Array(1000).fill(7));
    const packed = toMsgpack(tensor(s, [1000]));
    const back = fromMsgpack(packed) as { storage: { data: Uint8Array } };
    expect(back.storage.data.buffer).toBe(packed.buffer);
  });
});

describe("msgpack errors", () => {
  const good = toMsgpack(pyDict<TorchHost>([["w", tensor(storage("float32", f32(1, 2)), [2])], ["t", pyTuple([1, pyFloat(2)])]]));

  it("refuses what is not a document", () => {
    expect(thrown(() => fromMsgpack(bytes(0x90))).code).toBe("invalid-data");
    expect(thrown(() => fromMsgpack(bytes(0x81, 0xa1, 0x78, 0x01))).message).toMatch(/torchsave/);
    expect(thrown(() => fromMsgpack(bytes(0x83, 0xa9, ...[..."torchsave"].map((c) => c.charCodeAt(0)), 0x02))).code).toBe("unsupported");
    expect(thrown(() => fromMsgpack(new Uint8Array([...good, 0xc0]))).message).toMatch(/after the end/);
  });

  it("reports every cut-short prefix as truncated", () => {
    for (let n = 1; n < good.length; n++) {
      const e = thrown(() => fromMsgpack(good.subarray(0, n)));
      expect(e.code).toBe("truncated");
      expect(e.name).toBe("ConvertError");
    }
  });

  it("refuses containers larger than the input before allocating", () => {
    const doc = [0x83, 0xa9, ...[..."torchsave"].map((c) => c.charCodeAt(0)), 0x01, 0xa8, ...[..."storages"].map((c) => c.charCodeAt(0)), 0x90, 0xa4, ...[..."root"].map((c) => c.charCodeAt(0))];
    const e = thrown(() => fromMsgpack(Uint8Array.from([...doc, 0xdd, 0xff, 0xff, 0xff, 0xff])));
    expect(e.code).toBe("truncated");
  });

  it("bounds nesting depth on both sides", () => {
    let deep: TorchValue = 1;
    for (let i = 0; i < 50; i++) deep = pyTuple<TorchHost>([deep]);
    expect(thrown(() => toMsgpack(deep, { maxDepth: 10 })).code).toBe("limit-exceeded");
    const packed = toMsgpack(deep);
    expect(thrown(() => fromMsgpack(packed, { maxDepth: 10 })).code).toBe("limit-exceeded");
    let veryDeep: TorchValue = 1;
    for (let i = 0; i < 5000; i++) veryDeep = pyList<TorchHost>([veryDeep]);
    expect(thrown(() => toMsgpack(veryDeep)).code).toBe("limit-exceeded");
  });

  it("refuses references before their definition and unknown ext types", () => {
    const head = [0x83, 0xa9, ...[..."torchsave"].map((c) => c.charCodeAt(0)), 0x01, 0xa8, ...[..."storages"].map((c) => c.charCodeAt(0)), 0x90, 0xa4, ...[..."root"].map((c) => c.charCodeAt(0))];
    expect(thrown(() => fromMsgpack(Uint8Array.from([...head, 0xc7, 1, MSGPACK_EXT.ref, 0x05]))).message).toMatch(/not defined/);
    expect(thrown(() => fromMsgpack(Uint8Array.from([...head, 0xc7, 1, 99, 0x05]))).message).toMatch(/unknown ext type 99/);
    expect(thrown(() => fromMsgpack(Uint8Array.from([...head, 0xc7, 2, MSGPACK_EXT.storage, 0xa1, 0x30]))).message).toMatch(/storage table/);
    expect(thrown(() => fromMsgpack(Uint8Array.from([...head, 0xc1]))).message).toMatch(/0xc1/);
  });

  it("lets only torchsave errors escape, whatever the bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(good.length - 1), fc.nat(255), (noise, at, flip) => {
        for (const input of [noise, Uint8Array.from(good, (b, i) => (i === at ? b ^ flip : b))]) {
          try {
            fromMsgpack(input);
          } catch (e) {
            if (!isTorchsaveError(e)) throw e;
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("msgpack plain tensors", () => {
  it("are written as the record tensorRecord makes (the same bytes as a tensor keeping its canonical origin)", () => {
    const s = storage("float32", f32(1, 2, 3, 4, 5, 6), { location: "cuda:1" });
    const big = storage("int64", new Uint8Array(8 * 70_000), { key: "1" });
    const tensors: Tensor[] = [
      tensor(s, [2, 3]),
      tensor(s, [], { offset: 5 }),
      tensor(s, [3], { stride: [2], offset: 1, requiresGrad: true }),
      tensor(s, [1, 1, 2, 3], { parameter: true, requiresGrad: true }),
      tensor(big, [100, 700], { offset: 0 }),
      tensor(big, [2], { offset: 69_998 }),
    ].map((t) => ({ ...t, origin: undefined }) as unknown as Tensor);
    const plain = pyDict<TorchHost>(tensors.map((t, i) => [`t${i}`, t]));
    // The same tensors keeping their canonical origin: written through tensorRecord, which leaves it out.
    const kept = pyDict<TorchHost>(tensors.map((t, i) => [`t${i}`, { ...t, origin: canonicalOrigin(t)! }]));
    expect(Buffer.from(toMsgpack(plain)).equals(Buffer.from(toMsgpack(kept)))).toBe(true);
    expect(torchDiff(plain, roundTrip(plain))).toBeUndefined();
    // Depth limits fail the same way on both paths.
    for (const maxDepth of [1, 2, 3, 4, 5]) {
      const a = (() => { try { return Buffer.from(toMsgpack(plain, { maxDepth })).toString("hex"); } catch (e) { return String(e); } })();
      const b = (() => { try { return Buffer.from(toMsgpack(kept, { maxDepth })).toString("hex"); } catch (e) { return String(e); } })();
      expect(a).toBe(b);
    }
  });
});
