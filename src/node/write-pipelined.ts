/**
 * Pipelined file writes: chunk writes run on libuv's thread pool, one after another, while the
 * main thread produces the next chunks (for a checkpoint: reads a source and folds each chunk into
 * its record's CRC-32), so producing and writing overlap instead of taking turns. The writes are
 * chained rather than concurrent: the file grows front to back, as with sequential writes (the
 * kernel would serialize writes to one file anyway, and out-of-order extents slow the later fsync).
 */
import { CheckpointError } from "../errors.js";

/** The part of a Node `FileHandle` the writer uses (tests pass fakes that stall or fail). */
export interface PositionalFile {
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
}

/** Most writes {@link writeChunksPipelined} keeps pending. */
export const MAX_IN_FLIGHT = 64;

/**
 * Checks a pending-write count: an integer from 1 to {@link MAX_IN_FLIGHT}.
 * @throws CheckpointError `invalid-argument`.
 */
export function checkInFlight(inFlight: number): number {
  if (!Number.isSafeInteger(inFlight) || inFlight < 1 || inFlight > MAX_IN_FLIGHT) {
    throw new CheckpointError("invalid-argument", `inFlight must be an integer from 1 to ${MAX_IN_FLIGHT}, not ${String(inFlight)}`);
  }
  return inFlight;
}

/**
 * Writes `chunks` back to back from byte 0 of `file`, keeping up to `inFlight` writes pending
 * (one running, the rest queued behind it) while the next chunk is taken from the iterable.
 * Chunks are written in place, never copied, so memory stays at most `inFlight` chunks.
 *
 * A chunk must stay unchanged until its write finishes. With `inFlight` 1 that is before the next
 * chunk is asked for (an iterable may refill one buffer); with more, later chunks are produced
 * first, so every chunk must be its own bytes.
 *
 * On failure (the iterable throws or a write fails) no further chunk is taken, the iterable is
 * closed, and every pending write settles before the first error is rethrown, so the caller may
 * close and delete the file at once.
 * @returns the number of bytes written.
 * @throws whatever the iterable or `file.write` throws, unchanged (callers map host errors);
 *   CheckpointError `invalid-argument` for a bad `inFlight`.
 */
export async function writeChunksPipelined(
  file: PositionalFile,
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  inFlight: number,
): Promise<number> {
  checkInFlight(inFlight);
  const pending: Promise<void>[] = [];
  let failed: { error: unknown } | undefined;
  let position = 0;
  let tail: Promise<void> = Promise.resolve();
  try {
    for await (const chunk of chunks) {
      if (failed !== undefined) throw failed.error;
      if (chunk.length === 0) continue;
      const at = position;
      // Starts once the previous write succeeded; after a failure nothing more is written.
      const write = tail.then(() => writeAll(file, chunk, at));
      tail = write;
      // Note a failure as soon as it happens: a rejection nobody awaits yet must not go unhandled.
      write.catch((error: unknown) => (failed ??= { error }));
      pending.push(write);
      position += chunk.length;
      if (pending.length >= inFlight) await pending.shift();
    }
    while (pending.length > 0) await pending.shift();
  } finally {
    // Leaving early (an error): let the other writes finish before the caller closes the file.
    await Promise.allSettled(pending);
  }
  return position;
}

/** One chunk at `position`, looping over short writes. */
async function writeAll(file: PositionalFile, chunk: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < chunk.length; ) {
    const { bytesWritten } = await file.write(chunk, done, chunk.length - done, position + done);
    if (!(bytesWritten > 0)) throw new Error(`write at byte ${position + done} made no progress`);
    done += bytesWritten;
  }
}
