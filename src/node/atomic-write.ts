/**
 * Atomic file writes: the bytes go to a temporary file in the same folder, which is flushed to disk
 * (fsync) and then renamed over the target. A crash or kill part-way leaves any earlier file at
 * that path intact, never a half-written checkpoint. Temp files are named
 * `.<name>.<pid>.<host>.<random>.torchsave.tmp`; SIGINT/SIGTERM remove the current one, and each
 * write first sweeps the folder of those a killed process left (see `temp-files.ts`).
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { open, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { CheckpointError, isTorchsaveError } from "../errors.js";
import { ioError } from "./file-source.js";
import { flushBehind } from "./write-flush-behind.js";
import { checkInFlight, writeChunksPipelined } from "./write-pipelined.js";
import { sweepStaleTemps, tempPathFor, trackTemp } from "./temp-files.js";

/** Options of {@link writeFileAtomic} and {@link writeFileAtomicSync}; every field optional. */
export interface AtomicWriteOptions {
  /**
   * Flush the temp file and its folder to disk (fsync) before and after the rename, so the new
   * file survives a power cut. Default true; the async writer then also hands the data to the
   * disk every 64 MiB as it goes (see `write-flush-behind.ts`). With false the write is still
   * atomic for other processes and survives a crash of this one, but not of the machine
   * (torch.save never syncs).
   */
  readonly fsync?: boolean;
  /**
   * Async only: how many writes may be pending while the next chunk is produced, 1 to 64. Default
   * 1: each write finishes before the next chunk is asked for, so the iterable may reuse its
   * buffer. Above 1 producing and writing overlap, and every chunk must stay unchanged until the
   * call settles (at most this many chunks are held).
   */
  readonly inFlight?: number;
}

/** Default of {@link AtomicWriteOptions.inFlight} for {@link writeFileAtomic}: one write at a time. */
export const DEFAULT_ATOMIC_IN_FLIGHT = 1;

/**
 * Writes `chunks` (or one buffer) to `path` atomically, synchronously.
 * @throws CheckpointError `invalid-argument` (bad options), `io` with `file` (file-system
 *   failures); a torchsave error from the chunks keeps its code and gains `file`. The temp file
 *   is removed on any failure.
 */
export function writeFileAtomicSync(path: string, chunks: Uint8Array | Iterable<Uint8Array>, options: AtomicWriteOptions = {}): void {
  const fsync = checkFsync(options.fsync);
  sweepStaleTemps(dirname(path));
  const tmp = tempPathFor(path);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "wx", 0o644);
    for (const chunk of chunks instanceof Uint8Array ? [chunks] : chunks) {
      let done = 0;
      while (done < chunk.length) done += writeSync(fd, chunk, done, chunk.length - done);
    }
    if (fsync) fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
    if (fsync) syncDirectory(dirname(path));
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

/**
 * Writes chunks from a sync or async iterable atomically, with bounded memory (`inFlight` chunks
 * at a time, default one; see {@link AtomicWriteOptions}).
 * @throws as {@link writeFileAtomicSync}, as a rejection.
 */
export async function writeFileAtomic(
  path: string,
  chunks: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const written = await writeTempFile(path, chunks, options);
  await written.commit();
}

/** A temp file fully written (and flushed, with fsync) but not yet renamed over its target. */
export interface WrittenTemp {
  /** The target the temp file is renamed to. */
  readonly path: string;
  /** Renames the temp file over `path` (then flushes the folder, with fsync). Removes the temp file if the rename fails. */
  commit(): Promise<void>;
  /** Removes the temp file (best effort; never throws). */
  discard(): Promise<void>;
}

/**
 * The first half of {@link writeFileAtomic}: writes `chunks` to a temp file beside `path` and
 * flushes it, without renaming it. The temp file stays registered (removed on SIGINT/SIGTERM,
 * exit, and never swept) until `commit` or `discard`. For a set of files that appear together.
 * @throws as {@link writeFileAtomic}; the temp file is removed on any failure.
 */
export async function writeTempFile(
  path: string,
  chunks: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  options: AtomicWriteOptions = {},
): Promise<WrittenTemp> {
  const fsync = checkFsync(options.fsync);
  const inFlight = checkInFlight(options.inFlight ?? DEFAULT_ATOMIC_IN_FLIGHT);
  sweepStaleTemps(dirname(path));
  const tmp = tempPathFor(path);
  const untrack = trackTemp(tmp);
  const handle = await open(tmp, "wx", 0o644).catch((e: unknown) => {
    untrack();
    throw ioError(e, path);
  });
  const behind = fsync ? flushBehind(handle) : undefined;
  const discard = async (): Promise<void> => {
    await unlink(tmp).catch(() => undefined);
    untrack();
  };
  try {
    await writeChunksPipelined(behind?.file ?? handle, chunks instanceof Uint8Array ? [chunks] : chunks, inFlight);
    if (behind !== undefined) {
      await behind.finish();
      await handle.sync();
    }
    await handle.close();
  } catch (e) {
    await behind?.finish().catch(() => undefined);
    await handle.close().catch(() => undefined);
    await discard();
    throw asWriteError(e, path);
  }
  return {
    path,
    discard,
    async commit() {
      try {
        await rename(tmp, path);
      } catch (e) {
        await discard();
        throw asWriteError(e, path);
      }
      untrack();
      if (fsync) syncDirectory(dirname(path));
    },
  };
}

function checkFsync(fsync: boolean | undefined): boolean {
  if (fsync !== undefined && typeof fsync !== "boolean") throw new CheckpointError("invalid-argument", "fsync must be a boolean");
  return fsync ?? true;
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
