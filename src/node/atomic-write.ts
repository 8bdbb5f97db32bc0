/**
 * Atomic file writes: the bytes go to a temporary file in the same folder, which is flushed to disk
 * (fsync) and then renamed over the target. A crash or kill part-way leaves any earlier file at
 * that path intact, never a half-written checkpoint.
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { isTorchsaveError } from "../errors.js";
import { ioError } from "./file-source.js";

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
}

/** Writes `chunks` (or one buffer) to `path` atomically, synchronously. */
export function writeFileAtomicSync(path: string, chunks: Uint8Array | Iterable<Uint8Array>): void {
  const tmp = tempPathFor(path);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "wx", 0o644);
    for (const chunk of chunks instanceof Uint8Array ? [chunks] : chunks) {
      let done = 0;
      while (done < chunk.length) done += writeSync(fd, chunk, done, chunk.length - done);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
    syncDirectory(dirname(path));
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // The temp file may not exist; the original error is what matters.
    }
    throw asWriteError(e, path);
  }
}

/** Writes chunks from a sync or async iterable (bounded memory: one chunk at a time) atomically. */
export async function writeFileAtomic(path: string, chunks: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<void> {
  const tmp = tempPathFor(path);
  const handle = await open(tmp, "wx", 0o644).catch((e: unknown) => {
    throw ioError(e, path);
  });
  try {
    const iterable = chunks instanceof Uint8Array ? [chunks] : chunks;
    for await (const chunk of iterable) {
      let done = 0;
      while (done < chunk.length) done += (await handle.write(chunk, done, chunk.length - done)).bytesWritten;
    }
    await handle.sync();
    await handle.close();
    await rename(tmp, path);
    syncDirectory(dirname(path));
  } catch (e) {
    await handle.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw asWriteError(e, path);
  }
}

/** A torchsave error from the data being written keeps its code; host failures become `io`. */
function asWriteError(e: unknown, path: string): unknown {
  if (isTorchsaveError(e)) return e.file === undefined ? e.withLocation({ file: path }) : e;
  return ioError(e, path);
}

/** fsync the folder so the rename itself survives a power cut (best effort: not every platform allows it). */
function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Directories cannot be opened for fsync on some platforms (Windows); the rename is still atomic.
  }
}
