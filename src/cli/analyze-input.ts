/** Opening files for `diff` and `stats`: any format torchsave reads, lazily where the format allows; a directory as a run. */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { RunSource } from "../analyze/index.js";
import { readAnySync } from "../convert/index.js";
import type { ReadAnyResult } from "../convert/index.js";
import { ioError, openFileSource } from "../node/file-source.js";
import { UsageError } from "./errors.js";

/** A file opened for analysis; `close()` releases the descriptor (storages already read stay readable). */
export interface OpenedInput extends ReadAnyResult {
  close(): void;
}

/**
 * Opens any input torchsave reads. Torch zip and legacy files stay on disk (tensors are read one
 * storage at a time); pickle, JSON, msgpack and gzip'd inputs are read whole, as their formats require.
 */
export function openInput(path: string): OpenedInput {
  const source = openFileSource(path);
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
    open: async () => {
      const opened = openInput(name);
      return { root: opened.root, close: () => opened.close() };
    },
  }));
}
