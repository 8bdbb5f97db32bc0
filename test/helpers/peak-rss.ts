// The CLI run in a child process that reports its own peak RSS: what the bounded-memory tests
// measure. The hook is an `--import` module that prints `max-rss <MiB>` on stderr as the process exits.
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { closeSync, ftruncateSync, mkdtempSync, openSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stateDict, tensor } from "../../src/torch/builder.js";
import { checkpointChunks } from "../../src/torch/write/write-checkpoint.js";
import { CLI } from "./cli.js";

/** Writes the hook into `dir`; returns its path. */
export function writePeakRssHook(dir: string): string {
  const hook = join(dir, "max-rss.mjs");
  writeFileSync(hook, 'process.on("exit", () => process.stderr.write(`\\nmax-rss ${process.resourceUsage().maxRSS / 1024}\\n`));\n');
  return hook;
}

/** Runs `torchsave ARGS` under `hook`: its result and its peak RSS in MiB (NaN when it printed none). */
export function cliWithPeakRss(hook: string, args: readonly string[], maxBuffer = 2 ** 20): { run: SpawnSyncReturns<string>; rssMiB: number } {
  const run = spawnSync(process.execPath, ["--import", hook, CLI, ...args], { encoding: "utf8", timeout: 300_000, maxBuffer });
  return { run, rssMiB: Number(/max-rss ([\d.]+)/.exec(run.stderr)?.[1]) };
}

const MIB = 2 ** 20;
/** The bounded-memory tests' checkpoint: 72 storages of 4 MiB (288 MiB) plus a small tensor. */
export const MEMORY_CASE = { tensors: 72, tensorBytes: 4 * MIB, fileMiB: (72 * 4 * MIB) / MIB } as const;
/**
 * The peak allowed: two thirds of the input's size. Measured (Node 20, 2 cores): pickle 147 MiB,
 * msgpack 118, `inspect` of the same file 97; a writer that holds the whole output needs 400+, and
 * the DCP writer took 372 while each tensor's bytes stayed cached on its storage.
 */
export const MAX_RSS_MIB = (MEMORY_CASE.fileMiB * 2) / 3;

/**
 * Writes {@link MEMORY_CASE} to `path` chunk by chunk (this process stays small: a child's max RSS
 * starts at its parent's RSS): `layers.N.weight`, each its own storage holding `values` (4 MiB of
 * float32), and `small`. With `sparse`, chunks that are `values` itself are seeks, not writes, so
 * an all-zero `values` costs no disk.
 */
export function writeMemoryCaseCheckpoint(path: string, values: Float32Array, sparse: boolean): void {
  const entries: Record<string, ReturnType<typeof tensor>> = {};
  for (let i = 0; i < MEMORY_CASE.tensors; i++) entries[`layers.${i}.weight`] = tensor(new Float32Array(values.buffer), { shape: [1024, 1024] });
  entries.small = tensor(Float32Array.from([1.5, -2, 3]));
  const fd = openSync(path, "w");
  let position = 0;
  try {
    for (const c of checkpointChunks(stateDict(entries), { chunkBytes: MEMORY_CASE.tensorBytes })) {
      if (!(sparse && c.buffer === values.buffer)) writeSync(fd, c, 0, c.length, position);
      position += c.length;
    }
    ftruncateSync(fd, position);
  } finally {
    closeSync(fd);
  }
}

/** A temp folder holding the hook and {@link MEMORY_CASE}'s checkpoint (`in.pt`; see {@link writeMemoryCaseCheckpoint}). */
export function setUpMemoryCase(prefix: string, values: Float32Array, sparse: boolean): { dir: string; input: string; hook: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const input = join(dir, "in.pt");
  writeMemoryCaseCheckpoint(input, values, sparse);
  return { dir, input, hook: writePeakRssHook(dir) };
}
