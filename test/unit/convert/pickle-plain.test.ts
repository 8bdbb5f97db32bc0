// Plain pickles: tensors as Python pickles them (`_rebuild_tensor_v2` over
// `torch.storage._load_from_bytes(<legacy torch file>)`), read back by the torch reader.
import { describe, expect, it } from "vitest";
import { convertBytes, pickleChunks, toPickle } from "../../../src/convert/index.js";
import { disassemble } from "../../../src/pickle/disassemble.js";
import { ORDERED_DICT, pyDict, pyFloat, pyTuple } from "../../../src/pickle/value.js";
import type { Storage, Tensor, TorchHost } from "../../../src/torch/index.js";
import { readCheckpoint, writeCheckpoint } from "../../../src/torch/index.js";
import { torchDiff } from "./torch-equal.js";
import { bytes, f32, sameBytes, storage, tensor, thrown } from "./values.js";

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

  it("streams the same bytes (pickleChunks, convert) as toPickle, at every protocol", () => {
    const big = storage("float32", new Uint8Array(Float32Array.from({ length: 100_000 }, (_, i) => i * 0.5).buffer), { key: "2" });
    const v = pyDict<TorchHost>([...sd.entries, ["big", tensor(big, [100_000])], ["big2", tensor(big, [10], { offset: 5 })]], ORDERED_DICT);
    for (const protocol of [2, 3, 4, 5] as const) {
      const whole = toPickle(v, { protocol });
      expect(sameBytes(Buffer.concat([...pickleChunks(v, { protocol })]), whole), `protocol ${protocol}`).toBe(true);
      expect(torchDiff(v, readCheckpoint(whole).root, { storageKeys: false })).toBeUndefined();
    }
    const file = writeCheckpoint(v);
    expect(sameBytes(convertBytes(file, { to: "pickle" }), toPickle(readCheckpoint(file).root))).toBe(true);
  });

  it("reads each storage when the stream reaches it, not before", () => {
    const reads: number[] = [];
    /** A storage of `n` float32 read through a callback source that logs each read. */
    const lazyStorage = (i: number, n: number): Storage => {
      const data = new Uint8Array(Float32Array.from({ length: n }, (_, j) => i + j).buffer);
      const base = storage("float32", new Uint8Array(0), { key: String(i) });
      const readSync = (offset: number, length: number) => {
        reads.push(i);
        return data.slice(offset, offset + length);
      };
      const s = { ...base, declaredNumel: n, byteLength: data.length, from: { source: { size: data.length, readSync, read: async (o: number, l: number) => readSync(o, l) }, offset: 0, length: data.length, compression: "none" as const, record: `data/${i}` } };
      delete (s as { data?: Uint8Array }).data;
      return s;
    };
    const n = 128 * 1024; // 512 KiB each
    const v = pyDict<TorchHost>(Array.from({ length: 6 }, (_, i) => [`t${i}`, tensor(lazyStorage(i, n), [n])]), ORDERED_DICT);
    const it = pickleChunks(v);
    let out = 0;
    for (let r = it.next(); r.done !== true; r = it.next()) {
      // Read ahead of the bytes handed out before this piece: at most one piece (1 MiB) and one storage.
      expect(new Set(reads).size * 4 * n).toBeLessThanOrEqual(out + (1 << 20) + 4 * n);
      out += r.value.length;
    }
    expect([...new Set(reads)]).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("refuses what a legacy storage file cannot hold", () => {
    const u = pyDict<TorchHost>([["u", tensor(storage("uint16", bytes(1, 0), { untyped: true }), [1])]]);
    for (const write of [() => toPickle(u), () => [...pickleChunks(u)]]) {
      const e = thrown(write);
      expect(e.code).toBe("unencodable");
      expect(e.message).toMatch(/untyped/);
      expect(e.path?.[0]).toBe("u");
    }
  });
});
