// The byte path of lossless JSON (jsonBytes: the storage table written straight into buffers,
// json-bytes.ts) gives the bytes of the text path (jsonChunks) for every storage-table line: keys
// JSON escapes, repeated and changing classes, dtypes and locations, big-endian storages, views,
// odd values the fast path leaves to headerText, large storages, every indent.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jsonChunks } from "../../../src/convert/index.js";
import { jsonBytes } from "../../../src/convert/json.js";
import { pyDict, pyGlobal, pyList, ORDERED_DICT } from "../../../src/pickle/value.js";
import type { Storage, TorchHost, TorchValue } from "../../../src/torch/index.js";
import { checkpointArb } from "./arbitraries.js";
import { storage, tensor } from "./values.js";

const same = (v: TorchValue, indent?: number): void => {
  const options = indent === undefined ? {} : { indent };
  const text = [...jsonChunks(v, options)].join("");
  expect(Buffer.concat([...jsonBytes(v, options)]).toString("utf8")).toBe(text);
  expect(Buffer.concat([...jsonBytes(v, options)]).equals(Buffer.from(text, "utf8"))).toBe(true);
};

const keyArb = fc.oneof(fc.string(), fc.constantFrom("0", "a\"b", "a\\b", "tab\there", "é", "😀", "\u007f", "\u001f", "x".repeat(5000)));
const storageLine = fc.record({
  key: keyArb,
  cls: fc.constantFrom("FloatStorage", "HalfStorage", "Weird\"Storage", "é"),
  location: fc.constantFrom("cpu", "cuda:0", "\u00e9"),
  byteOrder: fc.constantFrom<"little" | "big">("little", "little", "big"),
  numel: fc.oneof(fc.nat(), fc.maxSafeInteger(), fc.constant(2 ** 32), fc.constant(-0)),
  view: fc.boolean(),
});

describe("lossless JSON as bytes", () => {
  it("writes every storage-table line as the text path does", () => {
    fc.assert(fc.property(fc.array(storageLine, { maxLength: 12 }), fc.constantFrom(0, 1, 2), (lines, indent) => {
      let root: Storage | undefined;
      const tensors = lines.map((l, i) => {
        const data = new Uint8Array(8).map((_, j) => i * 7 + j);
        const s: Storage = { ...storage("float32", data, { key: l.key, location: l.location, byteOrder: l.byteOrder }), storageType: pyGlobal("torch", l.cls), declaredNumel: l.numel };
        // A view of the first storage (as legacy files have them): no data of its own.
        const placed: Storage = l.view && root !== undefined ? { ...s, view: { root, offset: 0 }, data: root.data!.subarray(0, 0) } : s;
        root ??= s;
        return tensor(placed, [0]);
      });
      same(pyDict<TorchHost>(tensors.map((t, i) => [`t${i}`, t]), ORDERED_DICT), indent);
    }), { numRuns: 300 });
  });

  it("agrees with the text path on random checkpoints (sharing, every kind, the general path)", () => {
    fc.assert(fc.property(checkpointArb(), fc.constantFrom(0, 1, 3), (v, indent) => same(v, indent)), { numRuns: 150 });
  });

  it("agrees on many small storages (several output buffers) and on storages past the small size", () => {
    const many = pyList<TorchHost>(Array.from({ length: 10_000 }, (_, i) => tensor(storage("float32", new Uint8Array(16).fill(i & 0xff), { key: String(i) }), [4])));
    same(many);
    const out = [...jsonBytes(many)];
    expect(out.length).toBeGreaterThan(2);
    expect(out.slice(0, -1).every((b) => b.length > 900_000 && b.length <= 1 << 20)).toBe(true);
    for (const n of [48 * 1024 - 1, 48 * 1024, 48 * 1024 + 1, 100_000]) {
      same(pyList<TorchHost>([tensor(storage("uint8", new Uint8Array(n).map((_, i) => i * 13)), [n]), tensor(storage("uint8", new Uint8Array(5), { key: "1" }), [5])]));
    }
  });
});

describe("plain tensors' one-line text as bytes", () => {
  it("is the text path's, on either side of the one-line width, for every boolean, sign and odd string", () => {
    const keyArb2 = fc.oneof(fc.integer({ min: 1, max: 95 }).map((n) => "k".repeat(n)), fc.constantFrom("a\"b", "é", "\\", "x\u0001"));
    const tensorArb = fc.record({
      key: keyArb2,
      dtype: fc.constantFrom("float32", "bool"),
      location: fc.constantFrom("cpu", "", "cuda:1", "dé"),
      shape: fc.oneof(fc.constant<number[]>([]), fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 4 }), fc.constant(new Array<number>(81).fill(1))),
      offset: fc.constantFrom(0, 1, 12345),
      strides: fc.array(fc.constantFrom(-1, -12, 0, 1, 7, 123456), { minLength: 81, maxLength: 81 }),
      transposed: fc.boolean(),
      requiresGrad: fc.boolean(),
      parameter: fc.boolean(),
    }).map((r) => {
      const n = r.shape.reduce((a, b) => a * b, 1);
      const s = storage(r.dtype as "float32" | "bool", new Uint8Array((r.dtype === "bool" ? 1 : 4) * (n + r.offset)), { key: r.key, location: r.location });
      return tensor(s, r.shape, { offset: r.offset, requiresGrad: r.requiresGrad, parameter: r.parameter, ...(r.transposed ? { stride: r.strides.slice(0, r.shape.length) } : {}) });
    });
    const containerArb = fc.array(tensorArb, { minLength: 1, maxLength: 4 }).chain((ts) => fc.constantFrom<TorchValue>(
      pyList<TorchHost>(ts),
      pyDict<TorchHost>(ts.map((t, i) => [`p${i}`, t]), ORDERED_DICT),
      pyDict<TorchHost>([["state", pyDict<TorchHost>(ts.map((t, i) => [i, pyDict<TorchHost>([["exp_avg", t]])]))]]),
      pyList<TorchHost>([1, ...ts]),
    ));
    fc.assert(fc.property(containerArb, fc.constantFrom(0, 1, 2), (v, indent) => same(v, indent)), { numRuns: 400 });
  });

  it("is the text path's for keys of every length across the one-line width", () => {
    for (const [requiresGrad, parameter] of [[true, true], [false, false], [true, false], [false, true]] as const) {
      for (const shape of [[], [4], [2, 3]]) {
        const n = shape.reduce((a, b) => a * b, 1);
        const ts = Array.from({ length: 100 }, (_, i) => tensor(storage("float32", new Uint8Array(4 * n), { key: "k".repeat(i + 1) }), shape, { requiresGrad, parameter }));
        for (const indent of [1, 2]) same(pyDict<TorchHost>(ts.map((t, i) => [`t${i}`, t]), ORDERED_DICT), indent);
      }
    }
  });
});
