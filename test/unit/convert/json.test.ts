// The lossless JSON checkpoint document: readable (keys, dtypes and shapes visible), exact
// (storages once, sharing, views, origins), streamable, and strict about what it reads.
import { describe, expect, it } from "vitest";
import { fromJson, jsonChunks, loadStorages, toJson } from "../../../src/convert/index.js";
import { openCheckpoint, readCheckpoint } from "../../../src/torch/index.js";
import { writeCheckpoint } from "../../../src/torch/write/write-checkpoint.js";
import { prettyJson } from "../../../src/convert/json-pretty.js";
import { ORDERED_DICT, pyDict, pyFloat, pyGlobal, pyList, pyTuple, type PyObject } from "../../../src/pickle/value.js";
import type { NdArray, Tensor, TorchHost, TorchValue } from "../../../src/torch/index.js";
import { torchDiff } from "./torch-equal.js";
import { bytes, f32, storage, tensor, thrown } from "./values.js";

const expectSame = (v: TorchValue) => expect(torchDiff(v, fromJson(toJson(v)))).toBeUndefined();

describe("JSON checkpoint documents", () => {
  it("show keys, dtypes and shapes, and each storage once", () => {
    const s = storage("float32", f32(1, 2, 3, 4, 5, 6));
    const sd = pyDict<TorchHost>([["fc.weight", tensor(s, [2, 3])], ["fc.weight.T", tensor(s, [3, 2], { stride: [1, 3] })]], ORDERED_DICT);
    const text = toJson(sd);
    const doc = JSON.parse(text) as { $torchsave: number; storages: { key: string; data: string }[]; root: unknown };
    expect(doc.$torchsave).toBe(1);
    expect(doc.storages).toHaveLength(1);
    expect(doc.storages[0]).toEqual({ key: "0", type: ["torch", "FloatStorage"], dtype: "float32", location: "cpu", numel: 6, data: "AACAPwAAAEAAAEBAAACAQAAAoEAAAMBA" });
    expect(text).toContain('["fc.weight", {"$tensor": {"dtype": "float32", "shape": [2, 3], "stride": [3, 1], "offset": 0, "storage": "0", "device": "cpu", "requires_grad": false, "parameter": false}}]');
    expect(text).not.toContain("_rebuild_tensor_v2"); // the standard rebuild call is implied
    expectSame(sd);
  });

  it("keeps non-standard rebuild calls, and records their absence", () => {
    const s = storage("float32", f32(1, 2));
    const t = tensor(s, [2]);
    const withMetadata: Tensor = { ...t, origin: { ...t.origin!, args: pyTuple([...(t.origin!.args as { items: TorchValue[] }).items, pyDict([["k", 1]])]) } as PyObject<TorchHost> };
    // No origin but a standard call: written like a standard origin (left out), read back without one.
    const bare = tensor(s, [2], { origin: "none" });
    // No origin and no standard call (a quantized tensor built in memory): "origin": null.
    const q = { ...tensor(storage("qint8", bytes(1, 2), { key: "9" }), [2], { origin: "none" }), quantization: { scheme: "per_tensor_affine" as const, scale: 0.5, zeroPoint: 1 } };
    const text = toJson(pyList<TorchHost>([withMetadata, bare, q]));
    expect(text.match(/_rebuild_tensor_v2/g)).toHaveLength(1);
    expect(text.match(/"origin"/g)).toHaveLength(2);
    expect(text).toContain('"origin": null');
    const back = fromJson(text) as { items: Tensor[] };
    expect(back.items[1]!.origin).toBeUndefined();
    expect(back.items[2]!.origin).toBeUndefined();
    expectSame(pyList<TorchHost>([withMetadata, bare, q]));
  });

  it("keeps parameters, untyped storages, big-endian storages, legacy views, quantized and sparse tensors", () => {
    const untyped = storage("uint16", bytes(1, 0, 2, 0), { untyped: true });
    const big = storage("float32", bytes(0x3f, 0x80, 0, 0), { key: "1", byteOrder: "big" });
    const root = storage("int8", bytes(1, 2, 3, 4), { key: "2" });
    const viewStorage = { ...storage("int8", root.data!.subarray(1, 3), { key: "3" }), view: { root, offset: 1 } };
    const q = { ...tensor(storage("qint8", bytes(1, 2), { key: "4" }), [2], { origin: "none" }), quantization: { scheme: "per_tensor_affine" as const, scale: 0.5, zeroPoint: 1 } };
    const values = tensor(storage("float32", f32(7), { key: "5" }), [1]);
    const indices = tensor(storage("int64", new Uint8Array(8), { key: "6" }), [1, 1]);
    const sparse: Tensor = {
      kind: "tensor", dtype: "float32", shape: [3], stride: [], storageOffset: 0, device: "cpu", requiresGrad: false, isParameter: false,
      layout: "sparse_coo", sparse: { size: [3], indices, values, isCoalesced: null },
    };
    const meta: Tensor = { kind: "tensor", dtype: "float16", shape: [2], stride: [1], storageOffset: 0, device: "meta", requiresGrad: true, isParameter: false, layout: "strided" };
    expectSame(pyList<TorchHost>([
      tensor(untyped, [2]), tensor(big, [1], { parameter: true, requiresGrad: true }), tensor(viewStorage, [2]), tensor(root, [4]), q, sparse, meta,
    ]));
  });

  it("keeps numpy arrays built in memory", () => {
    const a: NdArray = { kind: "ndarray", descr: "<f4", dtype: "float32", shape: [2], fortranOrder: false, data: f32(1, 2), scalar: false };
    const o: NdArray = { kind: "ndarray", descr: "|O", shape: [1], fortranOrder: false, items: ["x"], scalar: false };
    expectSame(pyList<TorchHost>([a, o]));
  });

  it("writes big storages in pieces that join to the same document", () => {
    const big = new Uint8Array(7 * 1024 * 1024).map((_, i) => i * 7);
    const s = storage("uint8", big);
    const pieces = [...jsonChunks(tensor(s, [big.length]))];
    expect(pieces.length).toBeGreaterThan(3);
    const back = fromJson(pieces.join("")) as Tensor;
    expect(torchDiff(tensor(s, [big.length]), back)).toBeUndefined();
  });

  it("reads bare values in the JSON value format too", () => {
    expect(torchDiff(fromJson('{"$tuple": [1, {"$float": 2}]}'), pyTuple([1, pyFloat(2)]))).toBeUndefined();
    expect(fromJson('{"a": 1}')).toEqual(pyDict([["a", 1]]));
  });

  it("refuses malformed documents with the path of the problem", () => {
    expect(thrown(() => fromJson("{")).code).toBe("invalid-data");
    expect(thrown(() => fromJson('{"$torchsave": 2, "storages": [], "root": null}')).code).toBe("unsupported");
    expect(thrown(() => fromJson('{"$torchsave": 1, "storages": [], "root": null, "x": 1}')).path).toEqual(["x"]);
    expect(thrown(() => fromJson('{"$torchsave": 1, "storages": {}, "root": null}')).path).toEqual(["storages"]);
    const entry = { key: "0", type: ["torch", "FloatStorage"], dtype: "float32", location: "cpu", numel: 2, data: "AAAAAA==" };
    const doc = (e: object, root: unknown = null) => JSON.stringify({ $torchsave: 1, storages: [e], root });
    expect(thrown(() => fromJson(doc(entry))).message).toMatch(/holds 4 bytes but numel 2 needs 8/);
    expect(thrown(() => fromJson(doc({ ...entry, data: "AAAA A==" }))).path).toEqual(["storages", 0, "data"]);
    expect(thrown(() => fromJson(doc({ ...entry, type: ["torch"] }))).path).toEqual(["storages", 0, "type"]);
    expect(thrown(() => fromJson(doc({ ...entry, dtype: "float99", numel: 1 }))).message).toMatch(/unknown dtype/);
    const ok = { ...entry, numel: 1 };
    expect(thrown(() => fromJson(doc(ok, { $tensor: { dtype: "float32" } }))).message).toMatch(/tensor\.shape/);
    expect(thrown(() => fromJson(doc(ok, { $storage: "9" }))).message).toMatch(/not in the document's storage table/);
    expect(thrown(() => fromJson(doc(ok, { $tensor: { dtype: "float32", shape: [1], stride: [1], offset: 0, storage: "0", device: "cpu", requires_grad: false, parameter: false, layout: "sparse_coo" } }))).message).toMatch(/no standard rebuild call/);
    expect(thrown(() => fromJson(doc(ok, { $tensor: {}, x: 1 }))).message).toMatch(/unexpected key/);
  });

  it("prints deep values without growing the stack", () => {
    let v: unknown = 1;
    for (let i = 0; i < 200_000; i++) v = [v];
    const text = prettyJson(v as never, { indent: 0 });
    expect(text.length).toBe(400_001);
    expect(prettyJson({ a: [1, 2], b: { c: [[1, 2], [3]] } })).toBe('{"a": [1, 2], "b": {"c": [[1, 2], [3]]}}');
    expect(prettyJson({ a: "x".repeat(200), b: 1 })).toBe(`{\n "a": "${"x".repeat(200)}",\n "b": 1\n}`);
  });

  it("converts a checkpoint from an asynchronous source once its storages are loaded", async () => {
    const s = storage("float32", f32(1, 2, 3));
    const file = writeCheckpoint(pyDict<TorchHost>([["w", tensor(s, [3])]]));
    const ckpt = await openCheckpoint(new Blob([file]));
    expect(thrown(() => toJson(ckpt)).message).toMatch(/loadStorage/);
    expect(await loadStorages(ckpt)).toBe(12);
    expect(torchDiff(readCheckpoint(file).root, fromJson(toJson(ckpt)), { storageKeys: false })).toBeUndefined();
  });

  it("keeps the global a value names, whoever pickled it", () => {
    expectSame(pyList<TorchHost>([pyGlobal("torch", "float32"), pyGlobal("__main__", "Net")]));
  });
});
