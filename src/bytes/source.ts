/**
 * Random-access inputs. Readers ask a {@link ByteSource} for byte ranges instead of holding the whole
 * file, so a 20 GB checkpoint can be inspected through a Blob or a file handle by reading only its
 * directory. Parsers that must run both sync and async are written once as a {@link ReadPlan} (a
 * generator that yields read requests) and driven by {@link runPlanSync} or {@link runPlan}.
 */
import { CheckpointError, isTorchsaveError } from "../errors.js";

/** Anything we can read ranges from: a Uint8Array, a Blob/File, a Node file handle (src/node adds that). */
export interface ByteSource {
  /** Total length in bytes; any safe integer (files over 4 GiB are fine). */
  readonly size: number;
  /**
   * Exactly `length` bytes at `offset` (a view when the source is in memory). The returned bytes
   * belong to the caller: a source must not change or reuse them afterwards (readers cache them,
   * and `writeCheckpointFile` keeps a few pending while it writes). Rejects with CheckpointError `truncated` past the end, `invalid-argument` for a negative or
   * unsafe range, `io` on host failures.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Present when the source can read synchronously (in-memory, Node fd). Throws as `read` rejects. */
  readSync?(offset: number, length: number): Uint8Array;
  /** Present for in-memory sources: the whole input, for zero-copy views. */
  readonly bytes?: Uint8Array;
  /** For error messages (a file name). */
  readonly name?: string;
}

/**
 * Checks that `[offset, offset + length)` is a valid range of a source of `size` bytes.
 * @throws CheckpointError `invalid-argument` when offset or length is not a non-negative safe
 *   integer; `truncated` when the range runs past the end.
 */
export function checkReadRange(size: number, offset: number, length: number, name?: string): void {
  const file = name === undefined ? {} : { file: name };
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new CheckpointError("invalid-argument", `bad read range: offset ${offset}, length ${length}`, file);
  }
  if (length > size - offset) {
    const remain = Math.max(0, size - offset);
    throw new CheckpointError("truncated", `expected ${length} bytes, ${remain} remain of ${size}`, { offset, ...file });
  }
}

/**
 * A source over bytes already in memory. `read`/`readSync` return `subarray` views that alias
 * `bytes` (no copy): writes through them change the input.
 */
export function bytesSource(bytes: Uint8Array, name?: string): ByteSource {
  const readSync = (offset: number, length: number): Uint8Array => {
    checkReadRange(bytes.length, offset, length, name);
    return bytes.subarray(offset, offset + length);
  };
  return {
    size: bytes.length,
    bytes,
    readSync,
    read: async (offset, length) => readSync(offset, length),
    ...(name === undefined ? {} : { name }),
  };
}

/** The part of a DOM `Blob` that {@link blobSource} needs (declared here so the core needs no DOM types). */
export interface BlobLike {
  readonly size: number;
  slice(start: number, end: number): { arrayBuffer(): Promise<ArrayBuffer> };
}

/**
 * A browser Blob/File, or anything with `size` and `slice().arrayBuffer()`. Each read copies only
 * the requested range. There is no `readSync`: Blobs read asynchronously.
 */
export function blobSource(blob: BlobLike, name?: string): ByteSource {
  const size = checkedSize(blob.size, name);
  return callbackSource(size, async (offset, length) => new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer()), name);
}

/**
 * A source backed by a read callback (HTTP range requests, a custom store). The callback may
 * return more bytes than asked (the extra is ignored) but not fewer. It has no `readSync`,
 * because the callback may be asynchronous.
 * @throws CheckpointError `invalid-argument` when `size` is not a non-negative safe integer.
 */
export function callbackSource(
  size: number,
  read: (offset: number, length: number) => Promise<Uint8Array> | Uint8Array,
  name?: string,
): ByteSource {
  const checked = checkedSize(size, name);
  const file = name === undefined ? {} : { file: name };
  return {
    size: checked,
    read: async (offset, length) => {
      checkReadRange(checked, offset, length, name);
      let got: unknown;
      try {
        got = await read(offset, length);
      } catch (e) {
        if (isTorchsaveError(e)) throw e;
        throw new CheckpointError("io", `read of ${length} bytes failed: ${String(e)}`, { offset, cause: e, ...file });
      }
      if (!(got instanceof Uint8Array)) {
        throw new CheckpointError("io", "read callback did not return a Uint8Array", { offset, ...file });
      }
      if (got.length < length) {
        throw new CheckpointError("io", `read callback returned ${got.length} bytes, expected ${length}`, { offset, ...file });
      }
      return got.length === length ? got : got.subarray(0, length);
    },
    ...(name === undefined ? {} : { name }),
  };
}

function checkedSize(size: number, name: string | undefined): number {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new CheckpointError("invalid-argument", `bad source size ${size}`, name === undefined ? {} : { file: name });
  }
  return size;
}

/** One step of a {@link ReadPlan}: "give me `length` bytes at `offset`". */
export interface ReadRequest {
  readonly offset: number;
  readonly length: number;
}

/**
 * A parser written once for both sync and async input: it yields read requests, receives the
 * bytes, and returns its result. Drive it with {@link runPlanSync} or {@link runPlan}.
 */
export type ReadPlan<T> = Generator<ReadRequest, T, Uint8Array>;

/**
 * Runs a plan over `source.readSync`.
 * @throws CheckpointError `invalid-argument` when the source cannot read synchronously, plus whatever
 *   the source or the plan throws.
 */
export function runPlanSync<T>(plan: ReadPlan<T>, source: ByteSource): T {
  const readSync = source.readSync;
  if (readSync === undefined) {
    throw new CheckpointError("invalid-argument", "this source cannot be read synchronously; use the async function", fileOf(source));
  }
  let step = plan.next();
  while (!step.done) step = plan.next(readSync.call(source, step.value.offset, step.value.length));
  return step.value;
}

/** Runs a plan over `source.read`. Rejects with whatever the source or the plan throws. */
export async function runPlan<T>(plan: ReadPlan<T>, source: ByteSource): Promise<T> {
  let step = plan.next();
  while (!step.done) step = plan.next(await source.read(step.value.offset, step.value.length));
  return step.value;
}

function fileOf(source: ByteSource): { file?: string } {
  return source.name === undefined ? {} : { file: source.name };
}
