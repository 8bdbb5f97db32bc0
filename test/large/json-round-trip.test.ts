// The large-file tier: `convert big.pt big.json && convert big.json back.pt` through the CLI on a
// 1.5 GiB checkpoint. The JSON document (about 2 GiB) is far past the longest JS string (~512
// MiB), so it must be read from bytes; both conversions must run in bounded memory (the child's
// peak RSS, from /usr/bin/time, stays under 1 GiB); back.pt holds the same tensors (SHA-256 of
// each storage). Made on the fly in $TMPDIR from a seeded generator, deleted after.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, statfsSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ByteSource } from "../../src/bytes/source.js";
import { openCheckpointFile } from "../../src/node/read-file.js";
import { nodeCrc32 } from "../../src/node/write-checkpoint.js";
import { stateDict, tensor } from "../../src/torch/builder.js";
import type { Storage, Tensor } from "../../src/torch/model.js";
import { readStorageBytesSync } from "../../src/torch/storage-bytes.js";
import { checkpointChunks } from "../../src/torch/write/write-checkpoint.js";
import { CLI } from "../helpers/cli.js";

const MIB = 2 ** 20;
const GIB = 2 ** 30;
/** 24 storages of 64 MiB and 256 small ones: 1.5 GiB of tensor bytes, the small ones as an optimizer's. */
const BIG = 24;
const BIG_BYTES = 64 * MIB;
const SMALL = 256;
/** .pt + .json + back.pt, with room to spare. */
const NEEDED_BYTES = 6 * GIB;
const MAX_RSS_BYTES = GIB;

/** The last storage generated (the writer reads a storage in several pieces). */
let last: { seed: number; bytes: Uint8Array } | undefined;

/** Deterministic bytes for storage `seed` (xorshift32 words), made when the writer reads them. */
function generated(seed: number, size: number): Uint8Array {
  if (last?.seed === seed) return last.bytes;
  const words = new Uint32Array(Math.ceil(size / 4));
  let x = (seed * 2654435761 + 1) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  last = { seed, bytes: new Uint8Array(words.buffer, 0, size) };
  return last.bytes;
}

function generatedTensor(seed: number, size: number): Tensor {
  const base = tensor(new Float32Array(0));
  const source: ByteSource = {
    size,
    readSync: (o, n) => generated(seed, size).subarray(o, o + n),
    read: async (o, n) => generated(seed, size).subarray(o, o + n),
  };
  const storage: Storage = { ...base.storage!, declaredNumel: size / 4, byteLength: size, from: { source, offset: 0, length: size, compression: "none", record: "generated" } };
  delete (storage as { data?: Uint8Array }).data;
  return { ...base, shape: [size / 4], stride: [1], storage };
}

const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/** Runs the built CLI under /usr/bin/time; returns its status, stderr and peak RSS in bytes. */
function timedCli(args: string[]): { status: number | null; stderr: string; maxRss: number; seconds: number } {
  const started = performance.now();
  const r = spawnSync("/usr/bin/time", ["-f", "maxrss-kb %M", process.execPath, CLI, ...args], { encoding: "utf8", env: { ...process.env, TORCHSAVE_DEBUG: "" } });
  const m = /maxrss-kb (\d+)/.exec(r.stderr);
  return { status: r.status, stderr: r.stderr, maxRss: m === null ? NaN : Number(m[1]) * 1024, seconds: (performance.now() - started) / 1000 };
}

let dir: string;
const expected = new Map<string, string>();

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  dir = mkdtempSync(join(tmpdir(), "torchsave-large-json-"));
  const fs = statfsSync(dir);
  if (fs.bavail * fs.bsize < NEEDED_BYTES) {
    throw new Error(`the JSON round trip needs ${NEEDED_BYTES / GIB} GiB free in ${dir} (set TMPDIR to a roomier disk)`);
  }
  const entries: Record<string, Tensor> = {};
  for (let i = 0; i < BIG; i++) entries[`layer${i}.weight`] = generatedTensor(i, BIG_BYTES);
  for (let i = 0; i < SMALL; i++) entries[`state.${i}.exp_avg`] = generatedTensor(1000 + i, 4 * (i + 1));
  for (const [k, t] of Object.entries(entries)) expected.set(k, sha256(readStorageBytesSync(t.storage!)));
  const fd = openSync(join(dir, "big.pt"), "w");
  try {
    let position = 0;
    for (const c of checkpointChunks(stateDict(entries), { archiveName: "big", crc32: nodeCrc32! })) position += writeSync(fd, c, 0, c.length, position);
  } finally {
    closeSync(fd);
  }
}, 600_000);

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe("a 1.5 GiB checkpoint through lossless JSON and back", () => {
  it("converts .pt → .json → .pt through the CLI in bounded memory, with the same tensors", () => {
    const pt = join(dir, "big.pt"), json = join(dir, "big.json"), back = join(dir, "back.pt");
    expect(statSync(pt).size).toBeGreaterThan(1.5 * GIB);
    const toJson = timedCli(["convert", pt, json, "--quiet"]);
    expect(toJson.status, toJson.stderr).toBe(0);
    // Past the longest JS string: the reader cannot be building one.
    expect(statSync(json).size).toBeGreaterThan(2 * GIB);
    rmSync(pt);
    const fromJson = timedCli(["convert", json, back, "--quiet"]);
    expect(fromJson.status, fromJson.stderr).toBe(0);
    console.log(`large tier: .pt → .json ${toJson.seconds.toFixed(1)} s, ${(toJson.maxRss / MIB).toFixed(0)} MiB peak RSS; ` +
      `.json (${(statSync(json).size / GIB).toFixed(2)} GiB) → .pt ${fromJson.seconds.toFixed(1)} s, ${(fromJson.maxRss / MIB).toFixed(0)} MiB peak RSS`);
    expect(toJson.maxRss).toBeLessThan(MAX_RSS_BYTES);
    expect(fromJson.maxRss).toBeLessThan(MAX_RSS_BYTES);
    rmSync(json);
    const opened = openCheckpointFile(back);
    try {
      const got = new Map<string, string>();
      for (const [k, t] of (opened.checkpoint.root as { entries: [string, Tensor][] }).entries) got.set(k, sha256(readStorageBytesSync(t.storage!)));
      expect(got).toEqual(expected);
    } finally {
      opened.close();
    }
  });
});
