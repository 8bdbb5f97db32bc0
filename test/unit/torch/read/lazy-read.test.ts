// Lazy reads: only the directory, the pickle and the local headers are read when a checkpoint
// opens; tensor bytes come on demand, from asynchronous sources too, and equal what an in-memory
// read gives. Local headers closer than 4 KiB are read together: small records may come along.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { blobSource, callbackSource } from "../../../../src/bytes/source.js";
import { openCheckpoint, readCheckpoint, stateDict, tensor, tensorBytes, tensorBytesAsync, walkTensors, writeCheckpoint } from "../../../../src/torch/index.js";
import { REPO } from "../../../helpers/corpus.js";

const fixture = (name: string) => new Uint8Array(readFileSync(join(REPO, "fixtures/torch", name)));

/** An async-only source that records every range read from it. */
function trackedSource(bytes: Uint8Array) {
  const reads: [number, number][] = [];
  const source = callbackSource(bytes.length, async (offset, length) => {
    reads.push([offset, length]);
    return bytes.slice(offset, offset + length);
  });
  return { source, reads, bytesRead: () => reads.reduce((a, [, n]) => a + n, 0) };
}

describe("openCheckpoint over an asynchronous source", () => {
  for (const name of ["full-checkpoint.pt", "full-checkpoint.legacy.pt", "views.legacy.pt", "zip64.pt", "deflated.pt", "big-endian.pt"]) {
    it(`${name}: same tensors as an in-memory read`, async () => {
      const bytes = fixture(name);
      const eager = walkTensors(readCheckpoint(bytes).root).map((e) => tensorBytes(e.tensor));
      const { source } = trackedSource(bytes);
      const lazy = await openCheckpoint(source);
      const got = [];
      for (const e of walkTensors(lazy.root)) got.push(await tensorBytesAsync(e.tensor));
      expect(got).toEqual(eager);
    });
  }

  it("reads no tensor data until asked (zip)", async () => {
    // Large records between small ones: the small records' local headers share reads, the large
    // records' bytes are never read at open, and one tensor costs one read of its bytes.
    const entries: Record<string, ReturnType<typeof tensor>> = {};
    for (let i = 0; i < 40; i++) entries[`small.${i}`] = tensor(new Float32Array(4).fill(i));
    for (let i = 0; i < 4; i++) entries[`large.${i}`] = tensor(new Float32Array(4096).fill(i));
    for (let i = 40; i < 80; i++) entries[`small.${i}`] = tensor(new Float32Array(4).fill(i));
    const bytes = writeCheckpoint(stateDict(entries));
    const t = trackedSource(bytes);
    const lazy = await openCheckpoint(t.source);
    expect(lazy.storages.every((s) => s.data === undefined)).toBe(true);
    const large = lazy.storages.filter((s) => s.byteLength > 4096).map((s) => [s.from!.offset, s.from!.offset + s.from!.length] as const);
    expect(large).toHaveLength(4);
    // Apart from the end-of-file read that finds the zip directory, no read touches a large record.
    const touches = (reads: [number, number][], ranges: (readonly [number, number])[]) =>
      reads.filter(([o, n]) => o + n !== bytes.length && ranges.some(([a, b]) => o < b && a < o + n));
    expect(touches(t.reads, large)).toEqual([]);
    // 84 storages, located in a few shared reads rather than one each (the rest are the directory,
    // the pickle and the text records).
    expect(t.reads.length).toBeLessThan(lazy.storages.length / 3);
    const first = walkTensors(lazy.root).find((e) => e.tensor.storage!.byteLength > 4096)!.tensor;
    const before = t.reads.length;
    expect(Array.from(new Float32Array((await tensorBytesAsync(first)).slice().buffer)).slice(0, 2)).toEqual([0, 0]);
    expect(t.reads.slice(before)).toEqual([[first.storage!.from!.offset, first.storage!.byteLength]]);
  });

  it("locates every storage of a torch file through shared header reads, as an in-memory read does", async () => {
    const bytes = fixture("full-checkpoint.pt");
    const t = trackedSource(bytes);
    const lazy = await openCheckpoint(t.source);
    const eager = readCheckpoint(bytes);
    expect(lazy.storages.map((s) => s.from!.offset)).toEqual(eager.storages.map((s) => s.from!.offset));
    expect(t.reads.length).toBeLessThan(lazy.storages.length);
  });

  it("a sync accessor on an unloaded async storage says what to do", async () => {
    const { source } = trackedSource(fixture("parameters.pt"));
    const lazy = await openCheckpoint(source);
    expect(() => tensorBytes(walkTensors(lazy.root)[0]!.tensor)).toThrow(/await loadStorage/);
  });

  it("reads a Blob", async () => {
    const bytes = fixture("tied-weights.pt");
    const ckpt = await openCheckpoint(blobSource(new Blob([bytes])));
    const eager = readCheckpoint(bytes);
    const a = await Promise.all(walkTensors(ckpt.root).map((e) => tensorBytesAsync(e.tensor)));
    expect(a).toEqual(walkTensors(eager.root).map((e) => tensorBytes(e.tensor)));
  });
});

describe("zero-copy", () => {
  it("a contiguous little-endian tensor's bytes are a view into the input", () => {
    const bytes = fixture("parameters.pt");
    const t = walkTensors(readCheckpoint(bytes).root)[0]!.tensor;
    const view = tensorBytes(t);
    expect(view.buffer).toBe(bytes.buffer);
  });
});

describe("content detection edge", () => {
  it("a protocol 0 pickle whose first string is longer than the detection head still reads", () => {
    const bytes = new Uint8Array(readFileSync(join(REPO, "fixtures/pickle/str_large.p0.pkl")));
    expect(bytes.length).toBeGreaterThan(2048);
    expect(readCheckpoint(bytes).layout).toBe("pickle");
  });
});
