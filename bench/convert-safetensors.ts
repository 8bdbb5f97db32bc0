/**
 * Benchmark: `.pt → .safetensors` of a 1 GiB state_dict, against copying the same file.
 *
 * Run (no TS runner needed):
 *   node_modules/.bin/esbuild bench/convert-safetensors.ts --bundle --platform=node --format=esm \
 *     --outfile=/tmp/convert-safetensors.mjs && node /tmp/convert-safetensors.mjs [GiB=1]
 *
 * Writes a state_dict of 16 MiB float32 tensors as a .pt, then times (median of 3):
 * - copy: read the .pt and write it to a new file with fsync (what "copying the file" costs with
 *   the same durability as our atomic write), and `fs.copyFileSync` (the kernel's copy, for scale);
 * - convert: what `torchsave convert model.pt model.safetensors` does — open the .pt lazily, plan
 *   the header, stream each storage to a temp file, fsync, rename.
 * Prints seconds, MB/s and the ratio convert / copy (the goal is at most 2×), then checks the
 * output: the header parses and every tensor's bytes equal the .pt's.
 */
import { closeSync, copyFileSync, fsyncSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { planConversion } from "../src/convert/convert-bytes.js";
import { readSafetensorsSync } from "../src/convert/safetensors.js";
import { openFileSource, writeFileAtomic } from "../src/node/index.js";
import { nodeCrc32, writeCheckpointFileSync } from "../src/node/write-checkpoint.js";
import { stateDict, tensor } from "../src/torch/builder.js";
import type { Tensor } from "../src/torch/model.js";
import { tensorBytes } from "../src/torch/tensor-data.js";
import { readCheckpoint } from "../src/torch/read/read-checkpoint.js";

const GIB = 1024 ** 3;
const gib = Number(process.argv[2] ?? "1");
const TENSOR_BYTES = 16 * 1024 * 1024;
const count = Math.max(1, Math.round((gib * GIB) / TENSOR_BYTES));
const dir = mkdtempSync(join(tmpdir(), "torchsave-bench-convert-"));
const pt = join(dir, "model.pt");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timed(label: string, bytes: number, run: () => Promise<void> | void, runs = 3): Promise<number> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await run();
    out.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  const s = median(out);
  console.log(`${label.padEnd(46)} ${s.toFixed(2).padStart(7)} s  ${(bytes / 1e6 / s).toFixed(0).padStart(6)} MB/s`);
  return s;
}

function copyWithFsync(from: string, to: string): void {
  const data = readFileSync(from);
  const fd = openSync(to, "w");
  try {
    for (let done = 0; done < data.length; ) done += writeSync(fd, data, done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function convert(from: string, to: string): Promise<void> {
  const source = openFileSource(from);
  try {
    const plan = planConversion(source, { to: "safetensors" });
    await writeFileAtomic(to, plan.chunks);
  } finally {
    source.close();
  }
}

async function main(): Promise<void> {
  {
    const entries: Record<string, Tensor> = {};
    for (let i = 0; i < count; i++) {
      const data = new Float32Array(TENSOR_BYTES / 4);
      for (let j = 0; j < data.length; j += 1024) data[j] = i + j;
      entries[`layers.${i}.weight`] = tensor(data, { shape: [TENSOR_BYTES / 4 / 1024, 1024] });
    }
    writeCheckpointFileSync(pt, stateDict(entries), nodeCrc32 === undefined ? {} : { crc32: nodeCrc32 });
  }
  const size = statSync(pt).size;
  console.log(`state_dict: ${count} float32 tensors, ${(size / GIB).toFixed(2)} GiB .pt (Node ${process.version})`);

  const copy = await timed("copy (read + write + fsync)", size, () => copyWithFsync(pt, join(dir, "copy.pt")));
  await timed("copy (fs.copyFileSync, kernel)", size, () => copyFileSync(pt, join(dir, "copy2.pt")));
  const out = join(dir, "model.safetensors");
  const conv = await timed(".pt → .safetensors (convert, atomic)", size, () => convert(pt, out));
  console.log(`ratio convert / copy: ${(conv / copy).toFixed(2)}× (goal: ≤ 2×)`);

  // Check: every tensor of the .pt, byte for byte, under its name.
  const original = readCheckpoint(new Uint8Array(readFileSync(pt)));
  const source = openFileSource(out);
  try {
    const st = readSafetensorsSync(source);
    const byName = new Map(st.header.entries.map((e) => [e.name, e] as const));
    const ptEntries = (original.root as { entries: [string, Tensor][] }).entries;
    for (const [name, t] of ptEntries) {
      const e = byName.get(name);
      if (e === undefined) throw new Error(`missing ${name}`);
      const a = tensorBytes(t);
      const b = source.readSync!(e.begin, e.end - e.begin);
      if (Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) !== 0) throw new Error(`${name} differs`);
    }
    console.log(`checked: ${ptEntries.length} tensors equal`);
  } finally {
    source.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
