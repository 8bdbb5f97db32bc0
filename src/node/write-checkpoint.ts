/**
 * Writing checkpoint files from Node: atomically (temp file, fsync, rename; a crash leaves any
 * earlier file intact), streaming storages one chunk at a time, with CRC-32 from `zlib.crc32`
 * where this Node has it (20.15+, 22.2+), and torch's archive name for the file.
 */
import * as zlib from "node:zlib";
import { basename } from "node:path";
import type { Crc32Fn } from "../bytes/crc32.js";
import type { TorchValue } from "../torch/model.js";
import { checkpointChunks, checkpointChunksAsync } from "../torch/index.js";
import type { WriteOptions } from "../torch/write-options.js";
import { writeFileAtomic, writeFileAtomicSync } from "./atomic-write.js";

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

function fileOptions(path: string, options: WriteOptions): WriteOptions {
  return {
    archiveName: archiveNameFor(path),
    ...(nodeCrc32 === undefined ? {} : { crc32: nodeCrc32 }),
    ...options,
  };
}

/**
 * Writes `root` to `path` as a checkpoint, atomically, streaming storages from any source (a
 * checkpoint bigger than memory is fine). Defaults as `writeCheckpoint`, except the archive folder
 * is named after the file, as torch.save names it.
 * @throws as `checkpointChunksAsync` (before anything is written for encoding errors); CheckpointError
 *   `io` with `file` for file-system failures.
 */
export async function writeCheckpointFile(path: string, root: TorchValue, options: WriteOptions = {}): Promise<void> {
  await writeFileAtomic(path, checkpointChunksAsync(root, fileOptions(path, options)));
}

/** {@link writeCheckpointFile}, synchronously (storages must be readable synchronously). */
export function writeCheckpointFileSync(path: string, root: TorchValue, options: WriteOptions = {}): void {
  writeFileAtomicSync(path, checkpointChunks(root, fileOptions(path, options)));
}
