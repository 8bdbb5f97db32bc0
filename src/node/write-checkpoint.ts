/**
 * Writing checkpoint files from Node: atomically (temp file, fsync, rename; a crash leaves any
 * earlier file intact), streaming storages chunk by chunk, with CRC-32 from `zlib.crc32` where
 * this Node has it (20.15+, 22.2+), and torch's archive name for the file. The async writer keeps
 * a few writes pending on libuv's thread pool while the main thread reads and checksums the next
 * chunks, so where a second core is free the CRC-32 is hidden behind the writes.
 */
import * as zlib from "node:zlib";
import { basename } from "node:path";
import type { Crc32Fn } from "../bytes/crc32.js";
import type { TorchValue } from "../torch/model.js";
import { checkpointChunks, checkpointChunksAsync } from "../torch/index.js";
import type { WriteOptions } from "../torch/write/write-options.js";
import type { AtomicWriteOptions } from "./atomic-write.js";
import { writeFileAtomic, writeFileAtomicSync } from "./atomic-write.js";

/**
 * Options of {@link writeCheckpointFile} and {@link writeCheckpointFileSync}: the core's
 * `WriteOptions` plus how the file is written. Every field optional.
 */
export interface WriteFileOptions extends WriteOptions, AtomicWriteOptions {}

/**
 * Default of `inFlight` for {@link writeCheckpointFile}: four chunk writes pending while the next
 * chunk is read and checksummed (memory: four chunks, which are views where storages are in memory).
 */
export const DEFAULT_CHECKPOINT_IN_FLIGHT = 4;

/** Node's native CRC-32 when present (same results as the portable one, several times faster). */
export const nodeCrc32: Crc32Fn | undefined = (() => {
  const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
  return native === undefined ? undefined : (bytes: Uint8Array, previous?: number) => native(bytes, previous ?? 0);
})();

/**
 * The archive folder torch.save picks for a file path: the base name without its extension
 * (`PyTorchStreamWriter`'s `basename`), "archive" when that is empty.
 */
export function archiveNameFor(path: string): string {
  let name = basename(path.replace(/\\/g, "/"));
  const dot = name.lastIndexOf(".");
  if (dot >= 0) name = name.slice(0, dot);
  return name.length === 0 || name.includes("/") ? "archive" : name;
}

/** The core's options for `path`: torch's archive name and Node's CRC unless given; the file options stripped. */
function coreOptions(path: string, options: WriteFileOptions): WriteOptions {
  const { fsync: _fsync, inFlight: _inFlight, ...core } = options;
  return {
    archiveName: archiveNameFor(path),
    ...(nodeCrc32 === undefined ? {} : { crc32: nodeCrc32 }),
    ...core,
  };
}

function fileOptions(options: WriteFileOptions, inFlight: number): AtomicWriteOptions {
  return { ...(options.fsync === undefined ? {} : { fsync: options.fsync }), inFlight: options.inFlight ?? inFlight };
}

/**
 * Writes `root` to `path` as a checkpoint, atomically, streaming storages from any source (a
 * checkpoint bigger than memory is fine). Defaults as `writeCheckpoint`, except the archive folder
 * is named after the file, as torch.save names it; the file is synced to disk unless `fsync` is
 * false.
 *
 * Up to `inFlight` (default {@link DEFAULT_CHECKPOINT_IN_FLIGHT}) chunk writes stay pending while
 * later chunks are read and checksummed, so tensors and the bytes a source's `read` returned must
 * not change until the promise settles (`inFlight: 1` writes each chunk before asking for the next).
 * @throws as `checkpointChunksAsync` (before anything is written for encoding errors); CheckpointError
 *   `invalid-argument` for bad `fsync`/`inFlight`, `io` with `file` for file-system failures. On
 *   any failure the temp file is removed and an earlier file at `path` is left as it was.
 */
export async function writeCheckpointFile(path: string, root: TorchValue, options: WriteFileOptions = {}): Promise<void> {
  await writeFileAtomic(path, checkpointChunksAsync(root, coreOptions(path, options)), fileOptions(options, DEFAULT_CHECKPOINT_IN_FLIGHT));
}

/**
 * {@link writeCheckpointFile}, synchronously (storages must be readable synchronously). One write
 * at a time: the CRC of each chunk is computed before it is written (`inFlight` is ignored).
 */
export function writeCheckpointFileSync(path: string, root: TorchValue, options: WriteFileOptions = {}): void {
  writeFileAtomicSync(path, checkpointChunks(root, coreOptions(path, options)), fileOptions(options, 1));
}
