// A storage's bytes as the writer streams them: views of `chunkBytes` (element-aligned when the
// bytes are swapped), whatever the storage's form, joining to exactly its little-endian bytes.
import { deflateSync } from "fflate";
import { describe, expect, it } from "vitest";
import { bytesSource } from "../../../../src/bytes/source.js";
import { concatBytes } from "../../../../src/bytes/concat.js";
import type { Storage } from "../../../../src/torch/index.js";
import { storageChunks, storageChunksAsync } from "../../../../src/torch/write/write-storage-bytes.js";
import { storage } from "../../convert/values.js";

const data = Uint8Array.from({ length: 10 }, (_, i) => i + 1);

async function both(s: Storage, chunkBytes: number): Promise<{ sizes: number[]; bytes: Uint8Array }> {
  const sync = [...storageChunks(s, chunkBytes)];
  const async: Uint8Array[] = [];
  for await (const c of storageChunksAsync(s, chunkBytes)) async.push(c);
  expect(async.map((c) => c.length)).toEqual(sync.map((c) => c.length));
  expect(concatBytes([...async, new Uint8Array(0)])).toEqual(concatBytes([...sync, new Uint8Array(0)]));
  return { sizes: sync.map((c) => c.length), bytes: concatBytes([...sync, new Uint8Array(0)]) };
}

describe("storageChunks", () => {
  it("slices in-memory bytes into views of chunkBytes, without copying", async () => {
    const s = storage("uint8", data);
    const { sizes, bytes } = await both(s, 3);
    expect(sizes).toEqual([3, 3, 3, 1]);
    expect(bytes).toEqual(data);
    const [first] = storageChunks(s, 3);
    expect(first!.buffer).toBe(data.buffer);
  });

  it("keeps big-endian slices on element boundaries while swapping them", async () => {
    const be = storage("int16", Uint8Array.of(0, 1, 0, 2, 0, 3, 0, 4, 0, 5), { byteOrder: "big" });
    const { sizes, bytes } = await both(be, 3);
    expect(sizes).toEqual([2, 2, 2, 2, 2]);
    expect(bytes).toEqual(Uint8Array.of(1, 0, 2, 0, 3, 0, 4, 0, 5, 0));
  });

  it("inflates a deflated record fed in slices", async () => {
    const packed = deflateSync(data);
    const file = concatBytes([new Uint8Array(5), packed]);
    const s: Storage = { ...storage("uint8", data), from: { source: bytesSource(file), offset: 5, length: packed.length, compression: "deflate", record: "r" } };
    delete (s as { data?: Uint8Array }).data;
    const { bytes } = await both(s, 2);
    expect(bytes).toEqual(data);
  });

  it("gives no bytes for an empty storage", async () => {
    expect((await both(storage("uint8", new Uint8Array(0)), 4)).bytes).toHaveLength(0);
  });
});
