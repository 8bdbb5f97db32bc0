/**
 * Flush-behind for a file that will be fsynced once complete: every so many bytes written, the
 * data so far is handed to the disk (`fdatasync`) in the background, so the disk works while the
 * rest is still being produced and the final fsync finds little left to write. Without it the
 * kernel starts writing only past its dirty-page threshold (10% of memory by default), so a
 * checkpoint of a few GiB would wait for all its bytes at the end.
 */
import type { PositionalFile } from "./write-pipelined.js";

/** Bytes written between two background flushes: 64 MiB. */
export const FLUSH_BEHIND_BYTES = 64 * 1024 * 1024;

/** The parts of a Node `FileHandle` flush-behind uses. */
export interface FlushableFile extends PositionalFile {
  datasync(): Promise<void>;
}

/** A file wrapped by {@link flushBehind}. */
export interface FlushBehind {
  /** Write through this; it starts the background flushes. */
  readonly file: PositionalFile;
  /**
   * Waits for the running flush, if any. Call before the final fsync and before closing the file
   * (on failure paths too).
   * @throws the error of a background flush that failed (writes also fail once one has).
   */
  finish(): Promise<void>;
}

/**
 * Wraps `file` so that every `every` bytes (default {@link FLUSH_BEHIND_BYTES}) it starts a
 * `datasync` without waiting for it. At most one runs at a time (a slow disk gets no queue of
 * flushes, which would also tie up the thread pool); its failure fails the next write and
 * `finish()`. Writes must come one after another, as `writeChunksPipelined` issues them.
 */
export function flushBehind(file: FlushableFile, every = FLUSH_BEHIND_BYTES): FlushBehind {
  let written = 0;
  let flushedAt = 0;
  let running: Promise<void> | undefined;
  let failed: { error: unknown } | undefined;
  const startFlush = (): void => {
    flushedAt = written;
    // Never rejects: a failure is kept for the next write and finish(), so nothing goes unhandled.
    running = file.datasync().then(
      () => {
        running = undefined;
      },
      (error: unknown) => {
        failed ??= { error };
        running = undefined;
      },
    );
  };
  return {
    file: {
      async write(buffer, offset, length, position) {
        if (failed !== undefined) throw failed.error;
        const result = await file.write(buffer, offset, length, position);
        written += result.bytesWritten;
        if (running === undefined && written - flushedAt >= every) startFlush();
        return result;
      },
    },
    async finish() {
      await running;
      if (failed !== undefined) throw failed.error;
    },
  };
}
