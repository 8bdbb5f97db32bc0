// The whole-run writers of msgpack-fast.ts (storage headers and plain tensor records put together
// in one go) give the bytes the item-by-item encoder gives: every int size and sign, short and long,
// ASCII and not, records over 255 bytes, views, big-endian storages, random checkpoints.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { msgpackChunks, msgpackChunksItemByItem } from "../../../src/convert/msgpack-encode.js";
import { ORDERED_DICT, pyDict, pyGlobal, pyList, pySet, pyTuple } from "../../../src/pickle/value.js";
import type { Storage, TorchHost, TorchValue } from "../../../src/torch/index.js";
import { checkpointArb } from "./arbitraries.js";
import { storage, tensor } from "./values.js";

const same = (v: TorchValue): void => {
  expect(Buffer.concat([...msgpackChunks(v)]).equals(Buffer.concat([...msgpackChunksItemByItem(v)]))).toBe(true);
};

const INTS = [0, 1, 31, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 40, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 40)];
const strArb = fc.oneof(fc.constantFrom("cpu", "float32", "0", "", "é", "x".repeat(31), "y".repeat(32), "a\ud800"), fc.string({ maxLength: 40 }));

describe("msgpack whole runs", () => {
  it("write storage headers and plain tensors as the item-by-item encoder does", () => {
    const lineArb = fc.record({
      key: strArb, cls: fc.constantFrom("FloatStorage", "é", "Z".repeat(40)), module: fc.constantFrom("torch", "t"), location: strArb,
      byteOrder: fc.constantFrom<"little" | "big">("little", "little", "big"), numel: fc.oneof(fc.constantFrom(...INTS.filter((x) => x >= 0)), fc.nat()),
      shape: fc.array(fc.constantFrom(...INTS), { maxLength: 17 }), offset: fc.constantFrom(...INTS),
      requiresGrad: fc.boolean(), parameter: fc.boolean(), view: fc.boolean(),
    });
    fc.assert(fc.property(fc.array(lineArb, { minLength: 1, maxLength: 6 }), (lines) => {
      let first: Storage | undefined;
      const ts = lines.map((l, i) => {
        const base = storage("float32", new Uint8Array(8).fill(i), { key: l.key, location: l.location, byteOrder: l.byteOrder });
        const s: Storage = { ...base, storageType: pyGlobal(l.module, l.cls), declaredNumel: l.numel };
        const placed: Storage = l.view && first !== undefined ? { ...s, view: { root: first, offset: 0 }, data: first.data!.subarray(0, 0) } : s;
        first ??= s;
        return tensor(placed, l.shape.map((x) => Math.abs(x) % 3), { stride: l.shape, offset: Math.abs(l.offset), requiresGrad: l.requiresGrad, parameter: l.parameter, origin: "none" });
      });
      same(pyDict<TorchHost>(ts.map((t, i) => [`t${i}`, t]), ORDERED_DICT));
    }), { numRuns: 400 });
  });

  it("agree with the item-by-item encoder on random checkpoints and on many small tensors", () => {
    fc.assert(fc.property(checkpointArb(), (v) => same(v)), { numRuns: 150 });
    // Records either side of 255 bytes (ext 8 or ext 32): 15 dimensions of 5-byte strides, keys of every short length.
    const wide = Array.from({ length: 32 }, (_, i) => tensor(storage("float32", new Uint8Array(4), { key: "k".repeat(i) }), new Array<number>(15).fill(2 ** 32 - 1), { stride: new Array<number>(15).fill(i < 16 ? 2 ** 32 - 1 : 70000), origin: "none" }));
    same(pyList<TorchHost>(wide));
    same(pyList<TorchHost>(Array.from({ length: 3000 }, (_, i) => tensor(storage("float32", new Uint8Array(16).fill(i & 0xff), { key: String(i) }), [4], { origin: "none" }))));
  });

  it("hand the root on a MiB at a time only between whole items (never inside an ext item), the same bytes", () => {
    const many = Array.from({ length: 15_000 }, (_, i) => tensor(storage("float32", new Uint8Array(16).fill(i & 0xff), { key: String(i) }), [4], { origin: "none" }));
    const shared = many[7]!;
    const roots: TorchValue[] = [
      pyDict<TorchHost>([["model", pyDict<TorchHost>(many.map((t, i) => [`p${i}`, t]), ORDERED_DICT)], ["again", pyList<TorchHost>([shared, shared])]]),
      pyTuple<TorchHost>(many),
      pyList<TorchHost>([pyTuple<TorchHost>(many.slice(0, 9000)), ...many.slice(9000), pySet<TorchHost>(many.slice(0, 9000).map((_, i) => i))]),
    ];
    for (const root of roots) same(root);
    // The dict root went out in pieces; the tuple (one ext item) could not.
    const pieces = roots.map((r) => [...msgpackChunks(r)].length);
    expect(pieces[0]).toBeGreaterThan(pieces[1]!);
  });
});
