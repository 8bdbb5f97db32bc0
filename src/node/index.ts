// Node-only helpers: files as random-access sources, checkpoint files in and out, atomic writes.
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Checkpoint, ReadOptions } from "../torch/index.js";
import { openCheckpointSync, readCheckpoint } from "../torch/index.js";
import { ioError, openFileSource } from "./file-source.js";

export { openFileSource, openFileSourceAsync } from "./file-source.js";
export type { FileSource } from "./file-source.js";
export { writeFileAtomic, writeFileAtomicSync } from "./atomic-write.js";

/** Reads a whole checkpoint file into memory (one read; tensors are views into it). */
export function readCheckpointFileSync(path: string, options: ReadOptions = {}): Checkpoint {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw ioError(e, path);
  }
  return readCheckpoint(asPlainBytes(bytes), { name: path, ...options });
}

/** {@link readCheckpointFileSync} without blocking the event loop while the file is read. */
export async function readCheckpointFile(path: string, options: ReadOptions = {}): Promise<Checkpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw ioError(e, path);
  }
  return readCheckpoint(asPlainBytes(bytes), { name: path, ...options });
}

/**
 * Opens a checkpoint file lazily: only the directory and the pickle are read now, tensor bytes on
 * first access. Call `close()` when done with the tensors.
 */
export function openCheckpointFile(path: string, options: ReadOptions = {}): { checkpoint: Checkpoint; close(): void } {
  const source = openFileSource(path);
  try {
    return { checkpoint: openCheckpointSync(source, { name: path, ...options }), close: () => source.close() };
  } catch (e) {
    source.close();
    throw e;
  }
}

/** Node Buffers are Uint8Arrays; view one as a plain Uint8Array so the core never sees Buffer methods. */
function asPlainBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
export { writeCheckpointFile, writeCheckpointFileSync, archiveNameFor, nodeCrc32 } from "./write-checkpoint.js";
