// Thousands of small storages (optimizer state) must go out in a few MiB-sized writes, not one
// write per zip header, payload and descriptor, and every write path must give the same bytes:
// the sync and async file writers, the in-memory writer, and a zip built record by record with
// the plain (allocating) header code.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import fc from "fast-check";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync, unzipSync } from "fflate";
import { afterAll, describe, expect, it } from "vitest";
import { bytesSource, callbackSource } from "../../../src/bytes/source.js";
import type { ByteSource } from "../../../src/bytes/source.js";
import { zipRecordsSync } from "../../../src/containers/zip/zip-writer.js";
import { writeChunksPipelined } from "../../../src/node/write-pipelined.js";
import { openFileSource } from "../../../src/node/file-source.js";
import { writeCheckpointFile, writeCheckpointFileSync } from "../../../src/node/write-checkpoint.js";
import { readCheckpoint } from "../../../src/torch/read/read-checkpoint.js";
import { stateDict, tensor } from "../../../src/torch/builder.js";
import type { Storage, Tensor, TorchValue } from "../../../src/torch/model.js";
import { tensorBytes } from "../../../src/torch/tensor-data.js";
import { checkpointChunks, checkpointChunksAsync, writeCheckpoint } from "../../../src/torch/write/write-checkpoint.js";

const dir = mkdtempSync(join(tmpdir(), "torchsave-many-small-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A float32 tensor whose bytes live in `source` at `offset` (stored raw or deflated). */
function fromSource(values: Float32Array, make: (stored: Uint8Array) => ByteSource, deflate = false): Tensor {
  const raw = new Uint8Array(values.buffer.slice(0));
  const stored = deflate ? deflateSync(raw) : raw;
  const base = tensor(new Float32Array(0));
  const storage: Storage = {
    ...base.storage!, data: undefined as never, declaredNumel: values.length, byteLength: raw.length,
    from: { source: make(stored), offset: 0, length: stored.length, compression: deflate ? "deflate" : "none", record: "src" },
  };
  delete (storage as { data?: Uint8Array }).data;
  return { ...base, shape: [values.length], stride: [1], storage };
}

const readSyncOnly = (b: Uint8Array): ByteSource => ({ size: b.length, readSync: (o, n) => b.slice(o, o + n), read: async (o, n) => b.slice(o, o + n) });
const asyncOnly = (b: Uint8Array): ByteSource => callbackSource(b.length, async (o, n) => b.slice(o, o + n));

const N = 2500;
const valuesOf = (i: number): Float32Array => new Float32Array([i, -i, i / 3, 1e-3 * i]);
const BIG = new Float32Array(3 << 18).map((_, j) => j % 1009);

/**
 * 2,500 tiny tensors, a few empty ones and one 3 MiB tensor in the middle; with `mixed`, the tiny
 * ones come from every kind of source (in memory, a byte source, readSync-only, async-only,
 * deflated), else all from memory.
 */
function manySmall(mixed: boolean): TorchValue {
  const entries: Record<string, Tensor> = {};
  for (let i = 0; i < N; i++) {
    const v = valuesOf(i);
    const kind = mixed ? i % 5 : 0;
    entries[`p${i}`] =
      kind === 0 ? tensor(v)
      : kind === 1 ? fromSource(v, (b) => bytesSource(b))
      : kind === 2 ? fromSource(v, readSyncOnly)
      : kind === 3 ? fromSource(v, asyncOnly)
      : fromSource(v, readSyncOnly, true);
    if (i % 997 === 0) entries[`empty${i}`] = tensor(new Float32Array(0));
    if (i === 2000) entries.big = tensor(BIG);
  }
  return stateDict(entries);
}

describe("many small storages", () => {
  it("are written by every path with the same bytes, which read back and match a record-by-record zip", async () => {
    const root = manySmall(true);
    const asyncParts: Uint8Array[] = [];
    for await (const c of checkpointChunksAsync(root, { archiveName: "m" })) asyncParts.push(c);
    const expected = new Uint8Array(Buffer.concat(asyncParts));

    await writeCheckpointFile(join(dir, "m.pt"), root, { fsync: false });
    expect(Buffer.compare(readFileSync(join(dir, "m.pt")), expected)).toBe(0);
    const one = mkdtempSync(join(dir, "one-"));
    await writeCheckpointFile(join(one, "m.pt"), root, { fsync: false, inFlight: 1 });
    expect(Buffer.compare(readFileSync(join(one, "m.pt")), expected)).toBe(0);

    // The sync writer and the in-memory writer need sync-readable storages: the same values, in memory.
    const inMemory = manySmall(false);
    const sub = mkdtempSync(join(dir, "sync-"));
    writeCheckpointFileSync(join(sub, "m.pt"), inMemory, { fsync: false });
    expect(Buffer.compare(readFileSync(join(sub, "m.pt")), expected)).toBe(0);
    expect(Buffer.compare(Buffer.from(writeCheckpoint(inMemory, { archiveName: "m" })), expected)).toBe(0);

    // Every record rebuilt with the allocating header/descriptor code gives the same archive.
    const ck = readCheckpoint(expected);
    const records = Object.entries(unzipSync(expected)).map(([name, data]) => ({ name, data }));
    expect(records.length).toBe(N + Math.ceil(N / 997) + 1 + 6); // storages, empties, big; data.pkl and 5 text records
    expect(Buffer.compare(Buffer.from(zipRecordsSync(records)), expected)).toBe(0);
    const back = ck.root as { entries: [string, Tensor][] };
    const want = (inMemory as { entries: [string, Tensor][] }).entries;
    expect(back.entries.length).toBe(want.length);
    back.entries.forEach(([k, t], i) => {
      expect(k).toBe(want[i]![0]);
      expect(Buffer.compare(tensorBytes(t), tensorBytes(want[i]![1])), k).toBe(0);
    });
  });

  it("go out in about one write per MiB, not one per record", async () => {
    const root = manySmall(false);
    const sizes: number[] = [];
    const file = { write: async (b: Uint8Array, o: number, n: number) => (sizes.push(n), { bytesWritten: n }) };
    const total = await writeChunksPipelined(file, checkpointChunksAsync(root), 4);
    const syncChunks = [...checkpointChunks(root)].length;
    // 2,500 records are 7,500+ pieces; coalesced, a ~1.6 MB archive is a handful of writes.
    expect(total).toBeGreaterThan(1_000_000);
    expect(sizes.length).toBeLessThanOrEqual(Math.ceil(total / (1 << 20)) + 4);
    expect(syncChunks).toBe(sizes.length);
  });
});


describe("openFileSource read-ahead", () => {
  it("returns exactly the file's bytes for any mix of small, large and repeated reads", () => {
    const bytes = Uint8Array.from({ length: 3 * 1024 * 1024 + 77 }, (_, i) => (i * 31 + (i >> 9)) & 0xff);
    const file = join(dir, "ahead.bin");
    writeFileSync(file, bytes);
    const source = openFileSource(file);
    try {
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.nat(bytes.length), fc.oneof(fc.nat(100), fc.nat(70_000), fc.nat(2_000_000))), { maxLength: 40 }), (reads) => {
          for (const [offset, n] of reads) {
            const length = Math.min(n, bytes.length - offset);
            const got = source.readSync!(offset, length);
            expect(got.length).toBe(length);
            expect(Buffer.compare(got, bytes.subarray(offset, offset + length))).toBe(0);
            got.fill(0); // a returned array is the caller's own: changing it changes no later read
          }
        }),
        { numRuns: 60 },
      );
    } finally {
      source.close();
    }
  });

  it("reads a file of at most wholeUpTo bytes whole: views of one buffer, the same bytes, the file closed", () => {
    const bytes = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7) & 0xff);
    const file = join(dir, "whole.bin");
    writeFileSync(file, bytes);
    const whole = openFileSource(file, { wholeUpTo: bytes.length });
    expect(whole.bytes).toEqual(bytes);
    const a = whole.readSync!(10, 100);
    expect(a.buffer).toBe(whole.bytes!.buffer);
    expect([...a]).toEqual([...bytes.subarray(10, 110)]);
    whole.close();
    const ranged = openFileSource(file, { wholeUpTo: bytes.length - 1 });
    expect(ranged.bytes).toBeUndefined();
    expect([...ranged.readSync!(10, 100)]).toEqual([...bytes.subarray(10, 110)]);
    ranged.close();
    expect(() => ranged.readSync!(0, 1)).toThrow();
  });
});
