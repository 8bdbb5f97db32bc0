/** Opening files for `diff` and `stats`: any format torchsave reads, lazily where the format allows; a directory as a run. */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { RunSource } from "../analyze/index.js";
import { readAnySync } from "../convert/index.js";
import type { ReadAnyResult } from "../convert/index.js";
import { ioError, openFileSource } from "../node/file-source.js";
import { UsageError } from "./errors.js";
import { isDcpDirectory, isDcpSafetensorsDirectory, isDeepSpeedDirectory, isRemote, needsInputHelper, openInput as openCheckpointInput } from "./input.js";

/**
 * Any argument the analysis commands take, as a root to analyze: a file (lazily, through
 * {@link openInput}), or a DCP directory, shard index, DeepSpeed folder or URL (through
 * `./input.ts`, the same reader `inspect`, `tensors` and `convert` use).
 */
export async function openAnalysisInput(path: string): Promise<{ readonly root: ReadAnyResult["root"]; close(): void }> {
  if (!needsInputHelper(path)) {
    const opened = openInput(path);
    return { root: opened.root, close: () => opened.close() };
  }
  const opened = await openCheckpointInput(path);
  return { root: opened.input.root, close: () => opened.close() };
}

/** A folder or URL that is one checkpoint (DCP, shards, DeepSpeed), not a run directory of dumps. */
function isOneCheckpoint(path: string): boolean {
  return isRemote(path) || /\.index\.json$/i.test(path) || isDcpDirectory(path) || isDeepSpeedDirectory(path) || indexInFolder(path) || isDcpSafetensorsDirectory(path);
}

function indexInFolder(path: string): boolean {
  try {
    return readdirSync(path).some((n) => /\.index\.json$/i.test(n));
  } catch {
    return false;
  }
}

/** A file opened for analysis; `close()` releases the descriptor (storages already read stay readable). */
export interface OpenedInput extends ReadAnyResult {
  close(): void;
}

/**
 * Opens any input torchsave reads. Torch zip and legacy files stay on disk (tensors are read one
 * storage at a time); pickle, JSON, msgpack and gzip'd inputs are read whole, as their formats require.
 */
export function openInput(path: string): OpenedInput {
  // Parsed with synchronous reads; storages read on libuv's thread pool (`read`), so while the
  // main thread measures one tensor the next is read.
  const source = openFileSource(path, { threadPool: true });
  try {
    const result = readAnySync(source);
    return { ...result, close: () => source.close() };
  } catch (e) {
    source.close();
    throw e;
  }
}

/** File names a run directory's dumps have (other files, such as logs, are skipped). */
const DUMP_NAME = /\.(pt|pth|bin|ckpt|tar|pkl|pickle|p|json|msgpack|mpk|safetensors|npy|npz)(\.gz)?$|\.gz$/i;

/** The dumps of a run: the files given, or the dump files of one directory (not recursive). */
export function runFiles(paths: readonly string[]): string[] {
  const files: string[] = [];
  for (const p of paths) {
    if (isOneCheckpoint(p)) {
      files.push(p);
      continue;
    }
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (e) {
      throw ioError(e, p);
    }
    if (!isDir) {
      files.push(p);
      continue;
    }
    const inside = readdirSync(p, { withFileTypes: true })
      .filter((e) => e.isFile() && !e.name.startsWith(".") && DUMP_NAME.test(e.name))
      .map((e) => join(p, e.name))
      .sort();
    if (inside.length === 0) throw new UsageError(`${p} holds no dump files (.pt, .pth, .bin, .ckpt, .pkl, .json, .msgpack, .safetensors, .npz, or .gz of those)`);
    files.push(...inside);
  }
  return files;
}

/** Run sources over files: each opened when runStats asks, closed when it is done with it. */
export function fileRunSources(files: readonly string[]): RunSource[] {
  return files.map((name) => ({
    name,
    open: () => openAnalysisInput(name),
  }));
}
