// writeCheckpointFile keeps several chunk writes pending while it reads and checksums the next
// chunks. The file must hold exactly the bytes the sequential path writes, and a failure part-way
// (a source, a vanished folder, a write the OS refuses) must still reject with our typed error,
// leave no temp file, and leave any earlier file as it was.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync } from "fflate";
import { afterAll, describe, expect, it } from "vitest";
import { bundleChildScript } from "../../helpers/child-script.js";
import { concatBytes } from "../../../src/bytes/concat.js";
import { callbackSource } from "../../../src/bytes/source.js";
import { isTorchsaveError } from "../../../src/errors.js";
import { writeFileAtomic } from "../../../src/node/atomic-write.js";
import { writeCheckpointFile, writeCheckpointFileSync } from "../../../src/node/write-checkpoint.js";
import type { WriteFileOptions } from "../../../src/node/write-checkpoint.js";
import { stateDict, tensor, tensorView } from "../../../src/torch/builder.js";
import type { DTypeName } from "../../../src/torch/dtypes.js";
import type { Storage, Tensor, TorchValue } from "../../../src/torch/model.js";
import { checkpointChunksAsync } from "../../../src/torch/write/write-checkpoint.js";
import type { WriteOptions } from "../../../src/torch/write/write-options.js";

const dir = mkdtempSync(join(tmpdir(), "torchsave-pipelined-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const tempFiles = (folder = dir): string[] => readdirSync(folder).filter((n) => n.endsWith(".tmp"));
const pattern = (length: number, seed: number): Uint8Array => Uint8Array.from({ length }, (_, i) => (seed + i * 13 + (i >> 8)) & 0xff);

/** A tensor whose stored bytes come from an async callback: `raw` as stored (maybe deflated, maybe big-endian). */
function sourceTensor(
  raw: Uint8Array,
  options: { dtype?: DTypeName; byteOrder?: "little" | "big"; deflate?: boolean; delayMs?: number; onRead?: (reads: number) => void } = {},
): Tensor {
  const dtype = options.dtype ?? "uint8";
  const stored = options.deflate === true ? deflateSync(raw) : raw;
  let reads = 0;
  const source = callbackSource(stored.length, async (offset, length) => {
    options.onRead?.(++reads);
    if (options.delayMs !== undefined) await tick(options.delayMs);
    return stored.slice(offset, offset + length); // its own bytes, as the read contract asks
  });
  const base = dtype === "float32" ? tensor(new Float32Array(0)) : tensor(new Uint8Array(0));
  const itemSize = dtype === "float32" ? 4 : 1;
  const storage: Storage = {
    kind: "storage", key: "", storageType: base.storage!.storageType, dtype, location: "cpu",
    declaredNumel: raw.length / itemSize, byteLength: raw.length, byteOrder: options.byteOrder ?? "little",
    from: { source, offset: 0, length: stored.length, compression: options.deflate === true ? "deflate" : "none", record: "src" },
  };
  return { ...base, shape: [raw.length / itemSize], stride: [1], storage };
}

/** The bytes the sequential core produces for `root` written to a file named `<name>.pt`. */
async function expectedBytes(root: TorchValue, name: string, options: WriteOptions = {}): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of checkpointChunksAsync(root, { archiveName: name, ...options })) parts.push(c.slice());
  return concatBytes(parts);
}

function mixedStateDict(): TorchValue {
  const big = new Float32Array(300_000).map((_, i) => Math.sin(i));
  const shared = tensor(new Int16Array(4096).map((_, i) => i - 2048), { shape: [64, 64] });
  const be = new Uint8Array(new Float32Array(70_001).map((_, i) => i / 7).buffer);
  for (let i = 0; i < be.length; i += 4) be.subarray(i, i + 4).reverse();
  return stateDict({
    "a.weight": tensor(big, { shape: [600, 500] }),
    "a.bias": tensor(new Float32Array([1, 2, 3])),
    empty: tensor(new Float32Array(0)),
    "shared.full": shared,
    "shared.row": tensorView(shared, [64], { offset: 64 }),
    streamed: sourceTensor(pattern(3 * 1024 * 1024 + 5, 1), { delayMs: 1 }),
    "big.endian": sourceTensor(be, { dtype: "float32", byteOrder: "big" }),
    deflated: sourceTensor(pattern(1_000_003, 9), { deflate: true }),
    tail: tensor(new Uint8Array(pattern(777, 3))),
  });
}

describe("pipelined writeCheckpointFile", () => {
  const cases: { name: string; options: WriteFileOptions }[] = [
    { name: "default", options: {} },
    { name: "one-in-flight", options: { inFlight: 1 } },
    { name: "two", options: { inFlight: 2, chunkBytes: 64 * 1024 } },
    { name: "many", options: { inFlight: 64, chunkBytes: 4096 } },
    { name: "nofsync", options: { fsync: false, chunkBytes: 100_000 } },
    { name: "zip64", options: { zip64Threshold: 1000, storageAlignment: 4096 } },
    { name: "legacy", options: { layout: "legacy", chunkBytes: 65_536 } },
  ];
  for (const { name, options } of cases) {
    it(`writes the bytes the sequential writer makes (${name})`, async () => {
      const root = mixedStateDict();
      const { fsync: _f, inFlight: _i, ...core } = options;
      const expected = await expectedBytes(root, name, core);
      const target = join(dir, `${name}.pt`);
      await writeCheckpointFile(target, root, options);
      const written = new Uint8Array(readFileSync(target));
      expect(written.length).toBe(expected.length);
      expect(Buffer.compare(written, expected)).toBe(0);
      expect(tempFiles()).toEqual([]);
    });
  }

  it("matches writeCheckpointFileSync byte for byte on in-memory tensors", async () => {
    const root = stateDict({
      w: tensor(new Float32Array(1 << 20).map((_, i) => i % 251), { shape: [1024, 1024] }),
      b: tensor(new Float64Array([0.5, -0])),
    });
    const a = join(dir, "same.pt");
    const b = join(dir, "sub-same");
    mkdirSync(b);
    await writeCheckpointFile(a, root, { inFlight: 8 });
    writeCheckpointFileSync(join(b, "same.pt"), root);
    expect(Buffer.compare(readFileSync(a), readFileSync(join(b, "same.pt")))).toBe(0);
  });

  it("rejects with the source's typed error, removes the temp file and keeps the earlier file when a source fails part-way", async () => {
    const target = join(dir, "source-fails.pt");
    writeFileSync(target, "old");
    const root = stateDict({
      first: tensor(new Float32Array(1 << 18)),
      failing: sourceTensor(pattern(2 * 1024 * 1024, 4), {
        delayMs: 1,
        onRead: (reads) => {
          if (reads > 3) throw new Error("the network went away");
        },
      }),
    });
    const error = await writeCheckpointFile(target, root, { inFlight: 4, chunkBytes: 256 * 1024 }).catch((e: unknown) => e);
    expect(isTorchsaveError(error), String(error)).toBe(true);
    expect(error).toMatchObject({ name: "CheckpointError", code: "io", file: target });
    expect(String((error as Error).message)).toContain("the network went away");
    expect(readFileSync(target, "utf8")).toBe("old");
    expect(tempFiles()).toEqual([]);
  });

  it("rejects with an io error naming the file when its folder disappears mid-write, leaving no temp file", async () => {
    const folder = join(dir, "vanishing");
    mkdirSync(folder);
    const target = join(folder, "model.pt");
    const root = stateDict({
      a: tensor(new Float32Array(1 << 18)),
      b: sourceTensor(pattern(1024 * 1024, 5), {
        onRead: (reads) => {
          if (reads === 3) rmSync(folder, { recursive: true, force: true });
        },
      }),
    });
    const error = await writeCheckpointFile(target, root, { inFlight: 4, chunkBytes: 128 * 1024 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "CheckpointError", code: "io", file: target });
    expect(existsSync(folder)).toBe(false);
    expect(tempFiles()).toEqual([]);
  });

  it.skipIf(process.platform === "win32")("rejects with an io error when the OS refuses a write (file size limit), leaving no temp file", () => {
    const target = join(dir, "too-big.pt");
    writeFileSync(target, "old");
    const child = join(dir, "efbig-child.mjs");
    bundleChildScript(`
          import { readdirSync, readFileSync } from "node:fs";
          import { dirname } from "node:path";
          import { writeCheckpointFile } from "./src/node/write-checkpoint.ts";
          import { stateDict, tensor } from "./src/torch/builder.ts";
          // Caught, SIGXFSZ turns a write past the size limit into an EFBIG error instead of a kill.
          process.on("SIGXFSZ", () => {});
          const target = process.argv[2];
          const root = stateDict(Object.fromEntries([0, 1, 2, 3].map((i) => ["t" + i, tensor(new Float32Array(1 << 20).fill(i))])));
          let result;
          try {
            await writeCheckpointFile(target, root, { inFlight: 4 });
            result = { ok: true };
          } catch (e) {
            result = { name: e.name, code: e.code, file: e.file, message: e.message };
          }
          result.temps = readdirSync(dirname(target)).filter((n) => n.endsWith(".tmp"));
          result.old = readFileSync(target, "utf8");
          console.log(JSON.stringify(result));
        `, child);
    // 20,000 blocks of 512 bytes (10.24 MB): the 16 MiB checkpoint fails in its third tensor.
    const run = spawnSync("/bin/sh", ["-c", 'ulimit -f 20000 && exec "$0" "$1" "$2"', process.execPath, child, target], { encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({ name: "CheckpointError", code: "io", file: target, temps: [], old: "old" });
    expect(String(result.message)).toMatch(/too large|EFBIG/i);
  });

  it("refuses bad file options before touching the file system", async () => {
    const target = join(dir, "bad-options.pt");
    const root = stateDict({ w: tensor(new Float32Array([1])) });
    for (const options of [{ inFlight: 0 }, { inFlight: 65 }, { inFlight: 2.5 }, { fsync: "yes" as unknown as boolean }]) {
      const error = await writeCheckpointFile(target, root, options).catch((e: unknown) => e);
      expect(error, JSON.stringify(options)).toMatchObject({ name: "CheckpointError", code: "invalid-argument" });
    }
    expect(() => writeCheckpointFileSync(target, root, { fsync: 1 as unknown as boolean })).toThrow(expect.objectContaining({ code: "invalid-argument" }));
    expect(existsSync(target)).toBe(false);
    expect(tempFiles()).toEqual([]);
  });
});

describe("writeFileAtomic", () => {
  it("writes one chunk at a time by default, so a producer may refill one buffer", async () => {
    const target = join(dir, "reused.bin");
    const buffer = new Uint8Array(1 << 16);
    async function* refill(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 16; i++) {
        buffer.fill(i);
        yield buffer;
      }
    }
    await writeFileAtomic(target, refill(), { fsync: false });
    const written = readFileSync(target);
    expect(written.length).toBe(16 << 16);
    for (let i = 0; i < 16; i++) expect(written.subarray(i << 16, (i + 1) << 16).every((b) => b === i), `chunk ${i}`).toBe(true);
  });

  it("with inFlight > 1 writes chunks that are their own bytes in order", async () => {
    const target = join(dir, "pipelined.bin");
    const chunks = Array.from({ length: 40 }, (_, i) => pattern(1000 + i * 37, i));
    await writeFileAtomic(target, chunks, { inFlight: 8 });
    expect(Buffer.compare(readFileSync(target), Buffer.concat(chunks))).toBe(0);
  });
});
