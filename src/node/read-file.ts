/**
 * Reading checkpoint files from Node: whole (one read, tensors are views into it) or lazily (the
 * directory and the pickle now, each storage on first access). Reader-only on purpose: nothing here
 * pulls in the writer, so `torchsave/node/read` stays cheap to load.
 */
import type { Checkpoint, ReadOptions } from "../torch/index.js";
import { openCheckpointSync, readCheckpoint } from "../torch/index.js";
import { ioError, openFileSource } from "./file-source.js";
import { nodeFs, nodeFsPromises } from "./read-builtins.js";

/** A checkpoint opened lazily from a file, with the file descriptor that its storages read from. */
export interface OpenedCheckpointFile {
  checkpoint: Checkpoint;
  /** Closes the file. Storages already read keep their bytes; reading another one then fails with `io`. */
  close(): void;
}

/**
 * Reads a whole checkpoint file into memory (one read; tensors are views into it).
 * @throws CheckpointError `io` (with `file`) when the file cannot be read; otherwise as `readCheckpoint`.
 */
export function readCheckpointFileSync(path: string, options: ReadOptions = {}): Checkpoint {
  let bytes: Uint8Array;
  try {
    bytes = nodeFs().readFileSync(path);
  } catch (e) {
    throw ioError(e, path);
  }
  return readCheckpoint(asPlainBytes(bytes), { name: path, ...options });
}

/** {@link readCheckpointFileSync} without blocking the event loop while the file is read. */
export async function readCheckpointFile(path: string, options: ReadOptions = {}): Promise<Checkpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await nodeFsPromises().readFile(path);
  } catch (e) {
    throw ioError(e, path);
  }
  return readCheckpoint(asPlainBytes(bytes), { name: path, ...options });
}

/**
 * Opens a checkpoint file lazily: only the directory and the pickle are read now, tensor bytes on
 * first access (`tensorBytes` reads just that storage). Call `close()` when done with the tensors.
 * @throws CheckpointError `io` (with `file`) when the file cannot be opened; otherwise as
 *   `openCheckpointSync`. The file is closed before any error is thrown.
 */
export function openCheckpointFile(path: string, options: ReadOptions = {}): OpenedCheckpointFile {
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
