/**
 * Benchmark: writing a 1 GiB state_dict, against torch.save on the same machine, and streaming a
 * checkpoint larger than the heap with bounded memory.
 *
 * Run (no TS runner needed):
 *   node_modules/.bin/esbuild bench/write-state-dict.ts --bundle --platform=node --format=esm \
 *     --outfile=/tmp/write-state-dict.mjs && node /tmp/write-state-dict.mjs [GiB=1] [rounds=5] [names]
 * (`names`: a comma-separated subset of the contenders, e.g. `nofsync,atomic,torch`; default all).
 * BENCH_BUSY=N spins N extra processes for the whole run (lib.mjs `startBusy`), so every contender
 * meets the same load (`BENCH_BUSY=2`: both cores busy).
 *
 * Contenders: writeCheckpointFile pipelined (4 writes in flight, the default) and one write at a
 * time, each with and without fsync; the sync writer (zlib.crc32 and the portable CRC);
 * checkpointChunks into writeSync; and /usr/bin/python3's torch.save of a state_dict of the same
 * tensor sizes (when torch imports). Each round times every contender once, in a rotating order,
 * each writing a new file after the earlier outputs are deleted and flushed (`sync`), so no
 * contender pays for another's dirty pages. It prints the median and best of each, the ratios by
 * median, and the peak RSS while streaming a checkpoint from a callback source. Each written file
 * is read back and checked.
 */
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { callbackSource } from "../src/bytes/source.js";
import { crc32 as portableCrc32 } from "../src/bytes/crc32.js";
import { nodeCrc32, writeCheckpointFile, writeCheckpointFileSync } from "../src/node/write-checkpoint.js";
import { openCheckpointFile } from "../src/node/index.js";
import { stateDict, tensor } from "../src/torch/builder.js";
import type { Storage, Tensor, TorchValue } from "../src/torch/model.js";
import { checkpointChunks } from "../src/torch/write/write-checkpoint.js";
import { walkTensors } from "../src/torch/walk.js";
// @ts-expect-error lib.mjs is plain JavaScript without declarations
import { startBusy } from "./lib.mjs";

const GIB = 1024 ** 3;
const gib = Number(process.argv[2] ?? "1");
const TENSOR_BYTES = 16 * 1024 * 1024;
const ROUNDS = Number(process.argv[3] ?? "5");
const ONLY = process.argv[4]?.split(",");
const count = Math.round((gib * GIB) / TENSOR_BYTES);
const dir = mkdtempSync(join(tmpdir(), "torchsave-bench-"));

function inMemoryStateDict() {
  const entries: Record<string, Tensor> = {};
  for (let i = 0; i < count; i++) {
    const data = new Float32Array(TENSOR_BYTES / 4);
    for (let j = 0; j < data.length; j += 1024) data[j] = i + j; // touch every page
    entries[`layer${i}.weight`] = tensor(data, { shape: [TENSOR_BYTES / 4 / 1024, 1024] });
  }
  return stateDict(entries);
}

function line(label: string, bytes: number, seconds: number): void {
  console.log(`${label.padEnd(52)} ${seconds.toFixed(2).padStart(7)} s  ${(bytes / 1e6 / seconds).toFixed(0).padStart(6)} MB/s`);
}

async function time(label: string, bytes: number, run: () => Promise<void> | void): Promise<number> {
  const start = process.hrtime.bigint();
  await run();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  line(label, bytes, seconds);
  return seconds;
}

/**
 * Untimed, before each contender: delete the earlier outputs and flush dirty pages, so every
 * contender writes a new file from the same page-cache state (on this VM, writing while an old
 * 1 GiB file still holds its pages costs far more than reusing freed ones; an atomic write over an
 * existing file pays that, since the old file must stay whole until the rename).
 */
function freshStart(): void {
  for (const name of readdirSync(dir)) rmSync(join(dir, name), { force: true });
  spawnSync("sync");
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** The same bytes written the way torch.save writes: straight to the file, no temp file, no fsync. */
function plainWrite(path: string, sd: TorchValue): void {
  const fd = openSync(path, "w");
  try {
    for (const chunk of checkpointChunks(sd, { crc32: nodeCrc32!, archiveName: "ours" })) {
      for (let done = 0; done < chunk.length; ) done += writeSync(fd, chunk, done);
    }
  } finally {
    closeSync(fd);
  }
}

function check(path: string, tensors: number): void {
  const { checkpoint, close } = openCheckpointFile(path);
  const found = walkTensors(checkpoint.root).length;
  close();
  if (found !== tensors) throw new Error(`${path}: read back ${found} tensors, expected ${tensors}`);
}

/** torch.save's time; like ours, it starts once its tensors exist and the earlier outputs are deleted and flushed. */
function torchSaveSeconds(): number | undefined {
  const script = `
import time, torch, collections, sys, os
n, size = ${count}, ${TENSOR_BYTES / 4}
sd = collections.OrderedDict((f"layer{i}.weight", torch.ones(size // 1024, 1024)) for i in range(n))
out = sys.argv[1]
for name in os.listdir(os.path.dirname(out)):
    os.remove(os.path.join(os.path.dirname(out), name))
os.sync()
start = time.perf_counter()
torch.save(sd, out)
print(time.perf_counter() - start)
`;
  const r = spawnSync("/usr/bin/python3", ["-c", script, join(dir, "torch.pt")], { encoding: "utf8" });
  if (r.status !== 0) {
    console.log(`torch.save not measured: ${r.stderr.trim().split("\n").pop() ?? ""}`);
    return undefined;
  }
  return Number(r.stdout.trim());
}

async function main(): Promise<void> {
  const total = count * TENSOR_BYTES;
  const busy = (startBusy as () => { label: string })();
  console.log(`state_dict: ${count} float32 tensors of 16 MiB = ${(total / GIB).toFixed(2)} GiB; node ${process.version}; ${busy.label}; load average before: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  const sd = inMemoryStateDict();
  const path = join(dir, "ours.pt");
  const contenders: { name: string; label: string; run: () => Promise<void> | void; readBack: boolean }[] = [
    { name: "atomic", label: "writeCheckpointFile (fsync, 4 in flight)", run: () => writeCheckpointFile(path, sd), readBack: true },
    { name: "atomic-1", label: "writeCheckpointFile (fsync, 1 in flight)", run: () => writeCheckpointFile(path, sd, { inFlight: 1 }), readBack: false },
    { name: "nofsync", label: "writeCheckpointFile (no fsync, 4 in flight)", run: () => writeCheckpointFile(path, sd, { fsync: false }), readBack: true },
    { name: "nofsync-1", label: "writeCheckpointFile (no fsync, 1 in flight)", run: () => writeCheckpointFile(path, sd, { fsync: false, inFlight: 1 }), readBack: false },
    { name: "sync", label: "writeCheckpointFileSync (fsync)", run: () => writeCheckpointFileSync(path, sd), readBack: false },
    { name: "portable", label: "...Sync with the portable CRC (fsync)", run: () => writeCheckpointFileSync(path, sd, { crc32: portableCrc32 }), readBack: false },
    { name: "plain", label: "checkpointChunks → writeSync (no fsync)", run: () => plainWrite(path, sd), readBack: true },
  ];
  const selected = ONLY === undefined ? contenders : contenders.filter((c) => ONLY.includes(c.name));
  const withTorch = ONLY === undefined || ONLY.includes("torch");
  const times = new Map<string, number[]>([...selected.map((c) => [c.name, []] as [string, number[]]), ["torch", []]]);
  const slots = selected.length + (withTorch ? 1 : 0);
  for (let round = 1; round <= ROUNDS; round++) {
    console.log(`round ${round}`);
    // Rotate the order so no contender always runs right after the same neighbour.
    for (let k = 0; k < slots; k++) {
      const slot = (k + round - 1) % slots;
      const c = selected[slot];
      if (c === undefined) {
        // Python deletes and flushes the earlier outputs itself, after building its tensors: the
        // pages they free then serve its writes, as ours serve our writes.
        const torch = torchSaveSeconds();
        if (torch === undefined) continue;
        line("  torch.save (no fsync)", total, torch);
        times.get("torch")!.push(torch);
        continue;
      }
      freshStart();
      times.get(c.name)!.push(await time(`  ${c.label}`, total, c.run));
      if (c.readBack) check(path, count);
    }
  }
  console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  console.log(`median (best) of ${ROUNDS} rounds, seconds:`);
  for (const [name, xs] of times) if (xs.length > 0) console.log(`  ${name.padEnd(10)} ${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)})`);
  const torchMedian = times.get("torch")!.length > 0 ? median(times.get("torch")!) : undefined;
  if (torchMedian !== undefined) {
    const ratio = (name: string): string => {
      const xs = times.get(name) ?? [];
      return xs.length === 0 ? "-" : (torchMedian / median(xs)).toFixed(2);
    };
    console.log(`ratio torch.save / writeCheckpointFile no fsync (like torch.save): ${ratio("nofsync")} (1 in flight: ${ratio("nofsync-1")})`);
    console.log(`ratio torch.save / writeCheckpointFile with fsync: ${ratio("atomic")} (1 in flight: ${ratio("atomic-1")})`);
    console.log(`ratio torch.save / checkpointChunks → writeSync (no fsync): ${ratio("plain")}`);
  }

  // Streaming: a checkpoint twice the requested size whose bytes come from a callback, never held whole.
  const streamBytes = 2 * gib * GIB;
  const chunk = 64 * 1024 * 1024;
  const base = tensor(new Uint8Array(0));
  const pieces: Record<string, Tensor> = {};
  const n = Math.ceil(streamBytes / chunk);
  for (let i = 0; i < n; i++) {
    const source = callbackSource(chunk, (offset, length) => new Uint8Array(length).fill((i + offset) & 0xff));
    const storage: Storage = {
      kind: "storage", key: "", storageType: base.storage!.storageType, dtype: "uint8", location: "cpu",
      declaredNumel: chunk, byteLength: chunk, byteOrder: "little", from: { source, offset: 0, length: chunk, compression: "none", record: `cb${i}` },
    };
    pieces[`chunk${i}`] = { ...base, shape: [chunk], stride: [1], storage };
  }
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  freshStart();
  const rssBefore = process.memoryUsage().rss;
  const streamed = join(dir, "streamed.pt");
  await time(`streaming ${(streamBytes / GIB).toFixed(1)} GiB from callbacks (8 MiB reads)`, streamBytes, () => writeCheckpointFile(streamed, stateDict(pieces)));
  clearInterval(sampler);
  console.log(`file ${(statSync(streamed).size / GIB).toFixed(2)} GiB; RSS before ${(rssBefore / 1e6).toFixed(0)} MB, peak while streaming ${(peak / 1e6).toFixed(0)} MB`);
  check(streamed, n);
}

main()
  .finally(() => rmSync(dir, { recursive: true, force: true }))
  .catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
