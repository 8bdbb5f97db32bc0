// Plain pickles: tensors as Python pickles them (`_rebuild_tensor_v2` over
// `torch.storage._load_from_bytes(<legacy torch file>)`), read back by the torch reader.
import { describe, expect, it } from "vitest";
import { toPickle } from "../../../src/convert/index.js";
import { disassemble } from "../../../src/pickle/disassemble.js";
import { ORDERED_DICT, pyDict, pyFloat, pyTuple } from "../../../src/pickle/value.js";
import type { Tensor, TorchHost } from "../../../src/torch/index.js";
import { readCheckpoint } from "../../../src/torch/index.js";
import { torchDiff } from "./torch-equal.js";
import { bytes, f32, storage, tensor, thrown } from "./values.js";

describe("plain pickle", () => {
  const s = storage("float32", f32(1, 2, 3, 4));
  const sd = pyDict<TorchHost>([
    ["w", tensor(s, [2, 2])],
    ["tied", tensor(s, [2, 2])],
    ["row", tensor(s, [2], { offset: 2 })],
    ["p", tensor(storage("int64", new Uint8Array(8), { key: "1" }), [1], { parameter: true, requiresGrad: true })],
    ["meta", pyTuple([1, pyFloat(2)])],
  ], ORDERED_DICT);

  it("reads back as the same tensors, with storages shared as they were", () => {
    for (const protocol of [2, 3, 4, 5] as const) {
      const ckpt = readCheckpoint(toPickle(sd, { protocol }));
      expect(ckpt.layout).toBe("pickle");
      expect(ckpt.protocol).toBe(protocol);
      expect(torchDiff(sd, ckpt.root, { storageKeys: false })).toBeUndefined();
      const e = (ckpt.root as { entries: [string, Tensor][] }).entries;
      expect(e[0]![1].storage).toBe(e[1]![1].storage);
      expect(e[0]![1].storage).toBe(e[2]![1].storage);
    }
  });

  it("writes each storage once, as a _load_from_bytes call", () => {
    const ops = disassemble(toPickle(sd, { protocol: 2 }));
    const globals = ops.filter((o) => o.op.name === "GLOBAL").map((o) => String(o.arg));
    expect(globals.filter((g) => g.includes("_load_from_bytes"))).toHaveLength(1);
    expect(ops.filter((o) => o.op.name === "REDUCE").length).toBeGreaterThan(2);
    expect(globals.some((g) => g.includes("_rebuild_tensor_v2"))).toBe(true);
    expect(globals.some((g) => g.includes("_rebuild_parameter"))).toBe(true);
  });

  it("refuses what a legacy storage file cannot hold", () => {
    const u = pyDict<TorchHost>([["u", tensor(storage("uint16", bytes(1, 0), { untyped: true }), [1])]]);
    const e = thrown(() => toPickle(u));
    expect(e.code).toBe("unencodable");
    expect(e.message).toMatch(/untyped/);
  });
});
