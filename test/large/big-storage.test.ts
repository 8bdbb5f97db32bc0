// The large-file tier (`npx vitest run --project large`): real files past the sizes where Node's
// own limits bite, generated on the fly as sparse files (only the non-zero parts take disk space),
// never committed. One checkpoint holds:
//   a  2 GiB + 64 bytes  (a single fs.read of that length fails: Node takes 32-bit lengths)
//   b  4 GiB + 8 bytes   (more than one Uint8Array holds on Node 20: a typed error, not a crash)
//   c  16 bytes           (its record starts past 6 GiB: zip64 offsets)
// Its bytes are written by torchsave's own writer (CRCs over every byte); all-zero slices are
// skipped with a seek instead of written.
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, statfsSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ByteSource } from "../../src/bytes/source.js";
import { openFileSourceAsync } from "../../src/node/file-source.js";
import { openCheckpointFile } from "../../src/node/read-file.js";
import { nodeCrc32 } from "../../src/node/write-checkpoint.js";
import { maxArrayBytes } from "../../src/node/read-builtins.js";
import { stateDict, tensor } from "../../src/torch/builder.js";
import type { Storage, Tensor } from "../../src/torch/model.js";
import { loadStorage, storageBytesSync } from "../../src/torch/storage-bytes.js";
import { openCheckpoint } from "../../src/torch/read/read-checkpoint.js";
import { checkpointChunks } from "../../src/torch/write/write-checkpoint.js";

const GIB = 2 ** 30;
const SIZE_A = 2 * GIB + 64;
const SIZE_B = 4 * GIB + 8;
/** Free space asked for: enough for the whole file even where sparse files are not supported. */
const NEEDED_BYTES = 7 * GIB;

const CHUNK = 8 * 1024 * 1024;
const zeros = new Uint8Array(CHUNK);

/** Non-zero bytes of each storage: offset → value. */
const markersA = new Map<number, number>([[0, 1], [1, 2], [2 ** 31 - 1, 3], [2 ** 31, 4], [SIZE_A - 1, 5]]);
const markersB = new Map<number, number>([[0, 7], [SIZE_B - 1, 8]]);
const valuesC = new Float32Array([1.5, -2, 3.25, 1e-3]);

/** A source of `size` bytes, zero but for `markers`; all-zero reads return views of the shared `zeros`. */
function markedSource(size: number, markers: Map<number, number>): ByteSource {
  const readSync = (offset: number, length: number): Uint8Array => {
    const hits = [...markers].filter(([at]) => at >= offset && at < offset + length);
    if (hits.length === 0 && length <= zeros.length) return zeros.subarray(0, length);
    const out = new Uint8Array(length);
    for (const [at, v] of hits) out[at - offset] = v;
    return out;
  };
  return { size, readSync, read: async (o, n) => readSync(o, n) };
}

function bigTensor(size: number, markers: Map<number, number>): Tensor {
  const base = tensor(new Uint8Array(0));
  const storage: Storage = {
    ...base.storage!, declaredNumel: size, byteLength: size,
    from: { source: markedSource(size, markers), offset: 0, length: size, compression: "none", record: "generated" },
  };
  delete (storage as { data?: Uint8Array }).data;
  return { ...base, shape: [size], stride: [1], storage };
}

let dir: string;
let path: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "torchsave-large-"));
  const fs = statfsSync(dir);
  const free = fs.bavail * fs.bsize;
  if (free < NEEDED_BYTES) {
    throw new Error(`the large-file tier needs ${(NEEDED_BYTES / GIB).toFixed(1)} GiB free in ${dir}; only ${(free / GIB).toFixed(1)} GiB are (set TMPDIR to a roomier disk)`);
  }
  path = join(dir, "big.pt");
  const root = stateDict({ a: bigTensor(SIZE_A, markersA), b: bigTensor(SIZE_B, markersB), c: tensor(valuesC) });
  const fd = openSync(path, "w");
  let position = 0;
  try {
    for (const c of checkpointChunks(root, { archiveName: "big", chunkBytes: CHUNK, crc32: nodeCrc32! })) {
      if (c.buffer !== zeros.buffer) writeSync(fd, c, 0, c.length, position);
      position += c.length;
    }
    ftruncateSync(fd, position);
  } finally {
    closeSync(fd);
  }
  const st = statSync(path);
  expect(st.size).toBe(position);
  expect(position).toBeGreaterThan(6 * GIB);
  console.log(`large tier: ${path} is ${(st.size / GIB).toFixed(2)} GiB, ${(st.blocks * 512 / 2 ** 20).toFixed(1)} MiB on disk`);
}, 600_000);

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const storageOf = (root: unknown, key: string): Storage =>
  ((root as { entries: [string, Tensor][] }).entries.find(([k]) => k === key)![1]).storage!;

function expectMarkers(bytes: Uint8Array, size: number, markers: Map<number, number>): void {
  expect(bytes.length).toBe(size);
  for (const [at, v] of markers) expect(bytes[at], `byte ${at}`).toBe(v);
  // Spot checks between the markers: still zero.
  for (const at of [2, 4096, 2 ** 30, 2 ** 31 + 1, size - 2]) if (!markers.has(at)) expect(bytes[at], `byte ${at}`).toBe(0);
}

describe("a checkpoint file past 4 GiB with a storage past 2 GiB", () => {
  it("reads the > 2 GiB storage and the zip64 one synchronously; the > 4 GiB one fails with a typed error", () => {
    const opened = openCheckpointFile(path);
    try {
      const root = opened.checkpoint.root;
      expectMarkers(storageBytesSync(storageOf(root, "a")), SIZE_A, markersA);
      expect(new Float32Array(storageBytesSync(storageOf(root, "c")).slice().buffer)).toEqual(valuesC);
      const b = storageOf(root, "b");
      expect(b.byteLength).toBe(SIZE_B);
      if (SIZE_B > maxArrayBytes()) {
        expect(() => storageBytesSync(b)).toThrow(expect.objectContaining({ name: "CheckpointError", code: "limit-exceeded", file: path }));
      } else {
        expectMarkers(storageBytesSync(b), SIZE_B, markersB);
      }
    } finally {
      opened.close();
    }
  });

  it("reads them asynchronously in bounded steps (no process abort)", async () => {
    const source = await openFileSourceAsync(path);
    try {
      const ck = await openCheckpoint(source, { name: path });
      expectMarkers(await loadStorage(storageOf(ck.root, "a")), SIZE_A, markersA);
      expect(new Float32Array((await loadStorage(storageOf(ck.root, "c"))).slice().buffer)).toEqual(valuesC);
      const b = storageOf(ck.root, "b");
      if (SIZE_B > maxArrayBytes()) {
        await expect(loadStorage(b)).rejects.toMatchObject({ name: "CheckpointError", code: "limit-exceeded", file: path });
      } else {
        expectMarkers(await loadStorage(b), SIZE_B, markersB);
      }
    } finally {
      await source.closeAsync();
    }
  });
});
