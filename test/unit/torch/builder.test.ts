import { describe, expect, it } from "vitest";
import { expectCode } from "../../helpers/errors.js";
import { ORDERED_DICT, pyBytes, pyDict, pyFloat, pyGlobal, pyList, pyTuple } from "../../../src/pickle/value.js";
import type { PyDict, PyList } from "../../../src/pickle/value.js";
import {
  asBytes, asFloat, asOrderedDict, asSet, asTuple, parameter, stateDict, tensor, tensorView, toTorchValue,
} from "../../../src/torch/builder.js";
import { float16ToFloat32 } from "../../../src/torch/float-convert.js";
import type { Tensor, TorchHost } from "../../../src/torch/model.js";
import { tensorBytes, tensorTypedArray } from "../../../src/torch/tensor-data.js";


describe("toTorchValue", () => {
  it("maps JavaScript values to Python ones", () => {
    expect(toTorchValue(null)).toBe(null);
    expect(toTorchValue(undefined)).toBe(null);
    expect(toTorchValue(true)).toBe(true);
    expect(toTorchValue("x")).toBe("x");
    expect(toTorchValue(3)).toBe(3);
    expect(toTorchValue(1.5)).toEqual(pyFloat(1.5));
    expect(toTorchValue(NaN)).toEqual(pyFloat(NaN));
    expect(toTorchValue(-0)).toEqual(pyFloat(-0));
    expect(toTorchValue(5n)).toBe(5);
    expect(toTorchValue(2n ** 70n)).toBe(2n ** 70n);
    expect(toTorchValue([1, "a"])).toEqual(pyList([1, "a"]));
    expect(toTorchValue({ a: 1, b: [2] })).toEqual(pyDict([["a", 1], ["b", pyList([2])]]));
    expect(toTorchValue(new Map<unknown, unknown>([[1, "one"], [asTuple(1, 2), "pair"]]) as never)).toEqual(
      pyDict([[1, "one"], [pyTuple([1, 2]), "pair"]]),
    );
  });

  it("has wrappers for what JavaScript cannot say", () => {
    expect(toTorchValue(asFloat(1))).toEqual(pyFloat(1));
    expect(toTorchValue(asTuple(1, [2]))).toEqual(pyTuple([1, pyList([2])]));
    expect(toTorchValue(asSet([1, 2]))).toEqual({ kind: "set", items: [1, 2] });
    expect(toTorchValue(asSet([1], true))).toEqual({ kind: "frozenset", items: [1] });
    expect(toTorchValue(asBytes("ab"))).toEqual(pyBytes(new Uint8Array([97, 98])));
    expect(toTorchValue(asOrderedDict({ x: 1 }))).toEqual(pyDict([["x", 1]], ORDERED_DICT));
    expect(toTorchValue({ x: {} }, { dicts: "ordered" })).toEqual(pyDict([["x", pyDict([], ORDERED_DICT)]], ORDERED_DICT));
    expectCode(() => asBytes("\u0100"), "invalid-argument");
  });

  it("passes value-model shapes and tensors through", () => {
    const g = pyGlobal("torch", "float32");
    const t = tensor(new Float32Array(1));
    const out = toTorchValue({ g, t }) as PyDict<TorchHost>;
    expect(out.entries[0]![1]).toBe(g);
    expect(out.entries[1]![1]).toBe(t);
  });

  it("keeps sharing and cycles", () => {
    const shared = [1];
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    const out = toTorchValue({ a: shared, b: shared, c: cyclic as never }) as PyDict<TorchHost>;
    expect(out.entries[0]![1]).toBe(out.entries[1]![1]);
    const c = out.entries[2]![1] as PyList<TorchHost>;
    expect(c.items[0]).toBe(c);
  });

  it("converts deep nesting without recursion", () => {
    let v: unknown = 0;
    for (let i = 0; i < 200_000; i++) v = [v];
    let out = toTorchValue(v as never);
    let depth = 0;
    while (typeof out === "object" && out !== null && (out as PyList<TorchHost>).kind === "list") {
      out = (out as PyList<TorchHost>).items[0]!;
      depth++;
    }
    expect(depth).toBe(200_000);
  });

  it("refuses what Python has no value for, naming the path", () => {
    expectCode(() => toTorchValue({ f: (() => 1) as never }), "invalid-argument", ["f"]);
    expectCode(() => toTorchValue({ d: [new Date()] as never }), "invalid-argument", ["d", 0]);
    expectCode(() => toTorchValue(new Map([[[1] as never, 1]]) as never), "invalid-argument");
  });
});

describe("tensor", () => {
  it("views a typed array of the dtype's form, and copies on request", () => {
    const data = new Float32Array([1, 2, 3, 4, 5, 6]);
    const t = tensor(data, { shape: [2, 3] });
    expect(t).toMatchObject({ dtype: "float32", shape: [2, 3], stride: [3, 1], storageOffset: 0, device: "cpu", requiresGrad: false });
    expect(t.storage!.data!.buffer).toBe(data.buffer);
    expect(t.storage).toMatchObject({ storageType: pyGlobal("torch", "FloatStorage"), declaredNumel: 6, byteLength: 24, location: "cpu" });
    const copy = tensor(data, { copy: true });
    expect(copy.storage!.data!.buffer).not.toBe(data.buffer);
    expect(tensorTypedArray(copy)).toEqual(data);
  });

  it("picks the dtype from the typed array", () => {
    const cases: [ArrayBufferView, string][] = [
      [new Float64Array(1), "float64"], [new Int8Array(1), "int8"], [new Int16Array(1), "int16"], [new Int32Array(1), "int32"],
      [new BigInt64Array(1), "int64"], [new Uint8Array(1), "uint8"], [new Uint16Array(1), "uint16"], [new Uint32Array(1), "uint32"],
      [new BigUint64Array(1), "uint64"],
    ];
    for (const [a, dtype] of cases) expect(tensor(a as never).dtype).toBe(dtype);
    const u = tensor(new Uint16Array([1]));
    expect(u.storage!.storageType).toEqual(pyGlobal("torch.storage", "UntypedStorage"));
    expect(u.storage!.declaredNumel).toBe(2);
  });

  it("converts values to other dtypes", () => {
    const h = tensor(new Float32Array([1.5, -2]), { dtype: "float16" });
    const hb = tensorBytes(h);
    const bits = [0, 2].map((i) => hb[i]! | (hb[i + 1]! << 8));
    expect(bits.map(float16ToFloat32)).toEqual([1.5, -2]);
    // 16-bit floats come back from tensorTypedArray as their bit patterns.
    expect(tensorTypedArray(h)).toEqual(new Uint16Array(bits));
    const bf = tensor(new Uint16Array([0x3fc0, 0xc000]), { dtype: "bfloat16" });
    expect(tensorTypedArray(bf)).toEqual(new Uint16Array([0x3fc0, 0xc000]));
    expect(tensorTypedArray(tensor(new Uint8Array([0x38]), { dtype: "float8_e4m3fn" }))).toEqual(new Uint8Array([0x38]));
    const l = tensor(new Int32Array([-1, 7]), { dtype: "int64" });
    expect(tensorTypedArray(l)).toEqual(new BigInt64Array([-1n, 7n]));
    const b = tensor([[true, false], [false, true]]);
    expect(b).toMatchObject({ dtype: "bool", shape: [2, 2] });
    expect(tensorBytes(b)).toEqual(new Uint8Array([1, 0, 0, 1]));
    expect(tensor([[1, 2, 3]])).toMatchObject({ dtype: "int64", shape: [1, 3] });
    expect(tensor([1.5, 2])).toMatchObject({ dtype: "float32", shape: [2] });
    const c = tensor(new Float32Array([1, 2, 3, 4]), { dtype: "complex64" });
    expect(c.shape).toEqual([2]);
    expect(tensor(new Uint16Array([0x3c00]), { dtype: "float16" }).storage!.data).toEqual(new Uint8Array([0, 0x3c]));
    expect(tensor(new Uint8Array(8), { dtype: "float64" }).shape).toEqual([1]);
  });

  it("makes 0-d and empty tensors", () => {
    expect(tensor(new Float32Array([3]), { shape: [] })).toMatchObject({ shape: [], stride: [] });
    expect(tensor(new Float32Array(0), { shape: [2, 0] })).toMatchObject({ shape: [2, 0], stride: [1, 1] });
  });

  it("refuses shapes, values and data it cannot use", () => {
    expectCode(() => tensor(new Float32Array(6), { shape: [4] }), "invalid-argument");
    expectCode(() => tensor(new Float32Array(1), { dtype: "nope" as never }), "invalid-argument");
    expectCode(() => tensor([300], { dtype: "uint8" }), "invalid-argument");
    expectCode(() => tensor([1.5], { dtype: "int32" }), "invalid-argument");
    expectCode(() => tensor([[1], [1, 2]]), "invalid-argument");
    expectCode(() => tensor([1], { dtype: "float8_e4m3fn" }), "invalid-argument");
    expectCode(() => tensor(new Uint8Array(3), { dtype: "float32" }), "invalid-argument");
  });

  it("makes Parameters and views", () => {
    const p = parameter(new Float32Array([1, 2, 3, 4]));
    expect(p).toMatchObject({ isParameter: true, requiresGrad: true });
    const v = tensorView(p, [2], { stride: [2], offset: 1 });
    expect(v.storage).toBe(p.storage);
    expect(tensorBytes(v)).toEqual(new Uint8Array(new Float32Array([2, 4]).buffer));
    expectCode(() => tensorView(p, [5]), "invalid-data");
    const noStorage: Tensor = { ...p, storage: undefined as never };
    delete (noStorage as { storage?: unknown }).storage;
    expectCode(() => tensorView(noStorage, [1]), "invalid-argument");
  });

  it("builds state_dicts", () => {
    const sd = stateDict({ w: new Float32Array([1]), b: tensor(new Float64Array([2])) });
    expect(sd.type).toEqual(ORDERED_DICT);
    expect(sd.entries.map(([k]) => k)).toEqual(["w", "b"]);
    expect((sd.entries[0]![1] as Tensor).dtype).toBe("float32");
  });
});
