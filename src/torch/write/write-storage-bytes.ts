/**
 * A storage's bytes as a stream of chunks for the writer, with bounded memory: in-memory bytes
 * pass through as `chunkBytes`-sized views (no copy); random-access sources are read `chunkBytes` at a time;
 * deflated zip records are inflated as they stream; big-endian storages are byte-swapped to the
 * little-endian order the writer records. Nothing is cached on the storage. A storage armed with
 * its record's CRC-32 (record-crc.ts) is checked on the bytes as they are read, unless the caller
 * says it checksums exactly those bytes itself and the record is written as is.
 */
import { Inflate } from "fflate";
import type { ByteSource } from "../../bytes/source.js";
import { CheckpointError, isTorchsaveError } from "../../errors.js";
import { dtypeByName } from "../dtypes.js";
import type { Storage } from "../model.js";
import { checkRecordInMemory, pendingRecordCrc, recordCrcStream, writesRecordAsIs } from "../record-crc.js";

/** Default size of each read from a random-access source: 8 MiB. */
export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;

/** Largest storage {@link readsWithoutWaiting} reads synchronously from a source that can: 1 MiB. */
export const SYNC_READ_MAX_BYTES = 1 << 20;

/**
 * True when the storage's bytes can be had without waiting: they are in memory, or the source
 * reads synchronously and the storage is small (a blocking read of at most
 * {@link SYNC_READ_MAX_BYTES}). The async writer takes such storages synchronously.
 */
export function readsWithoutWaiting(storage: Storage): boolean {
  if (storage.data !== undefined) return true;
  const from = storage.from;
  if (from === undefined) return true; // storageChunks throws the same error either way
  return from.source.bytes !== undefined || (from.source.readSync !== undefined && from.length <= SYNC_READ_MAX_BYTES);
}

/**
 * The bytes of a small storage (at most `max` bytes) in one piece when that needs no transform
 * (little-endian or byte-sized, not deflated) and no waiting: a view of in-memory bytes or one
 * synchronous read. Undefined when the storage must go through {@link storageChunks}.
 * @throws as {@link storageChunks} for a failing read.
 */
export function smallStorageBytes(storage: Storage, max: number): Uint8Array | undefined {
  const n = storage.byteLength;
  if (n > max || swapUnit(storage) !== 1) return undefined;
  // A CRC check owed on a record longer than the storage needs the whole record: storageChunks does it.
  const check = pendingRecordCrc(storage);
  if (check !== undefined && !writesRecordAsIs(storage, check, false)) return undefined;
  const data = storage.data;
  if (data !== undefined) return data.length === n ? data : undefined;
  const from = storage.from;
  if (from === undefined || from.compression !== "none" || from.length < n) return undefined;
  const whole = from.source.bytes;
  if (whole !== undefined) return whole.subarray(from.offset, from.offset + n);
  const readSync = from.source.readSync;
  if (readSync === undefined || n === 0) return undefined;
  const raw = located(storage, () => readSync.call(from.source, from.offset, n));
  return raw.length === n ? raw : undefined;
}

/** Turns raw source chunks into the storage's little-endian bytes. */
interface ChunkTransform {
  push(raw: Uint8Array, final: boolean): Uint8Array[];
}

/** Where the raw bytes come from: the whole range is `[offset, offset + length)` of `source`, or `bytes`. */
interface RawPlan {
  readonly bytes?: Uint8Array;
  readonly source?: ByteSource;
  readonly offset: number;
  readonly length: number;
}

function rawPlan(storage: Storage): RawPlan {
  if (storage.data !== undefined) return { bytes: storage.data, offset: 0, length: storage.data.length };
  const from = storage.from;
  if (from === undefined) {
    throw new CheckpointError("missing-record", `storage ${storage.key} has no bytes to write (neither data nor a source)`);
  }
  // A stored record may be longer than the storage; only the storage's bytes are copied.
  const length = from.compression === "none" ? storage.byteLength : from.length;
  if (from.compression === "none" && from.length < length) {
    throw new CheckpointError("truncated", `storage ${storage.key}: its record holds ${from.length} bytes, ${length} are declared`, { entry: from.record });
  }
  const whole = from.source.bytes;
  if (whole !== undefined) return { bytes: whole.subarray(from.offset, from.offset + length), offset: 0, length };
  return { source: from.source, offset: from.offset, length };
}

/**
 * The storage's `byteLength` bytes in little-endian element order, as chunks, read synchronously.
 * @throws CheckpointError `missing-record` (no bytes), `unsupported` (the source reads only
 *   asynchronously: use {@link storageChunksAsync}), `truncated` (fewer bytes than declared),
 *   `bad-archive` (damaged deflate stream), `io` (source failures).
 */
export function* storageChunks(storage: Storage, chunkBytes = DEFAULT_CHUNK_BYTES, callerCrc = false): Generator<Uint8Array> {
  const plan = rawPlan(storage);
  const guard = crcGuard(storage, callerCrc);
  const transform = storageTransform(storage, guard);
  if (plan.bytes !== undefined) {
    yield* inMemoryChunks(plan.bytes, transform, alignedStep(storage, chunkBytes));
    guard?.end(tailSync(storage));
    return;
  }
  const source = plan.source!;
  const readSync = source.readSync;
  if (readSync === undefined) {
    throw new CheckpointError("unsupported", `storage ${storage.key} comes from an asynchronous source: write it with checkpointChunksAsync`, recordOf(storage));
  }
  const step = alignedStep(storage, chunkBytes);
  for (let done = 0; done < plan.length || done === 0; ) {
    const n = Math.min(step, plan.length - done);
    const raw = n === 0 ? new Uint8Array(0) : located(storage, () => readSync.call(source, plan.offset + done, n));
    done += n;
    yield* transform.push(raw, done >= plan.length);
    if (n === 0) break;
  }
  guard?.end(tailSync(storage));
}

/**
 * {@link storageChunks} for any source, reading asynchronously where the source must.
 * `callerCrc`: as for {@link storageChunks}.
 */
export async function* storageChunksAsync(storage: Storage, chunkBytes = DEFAULT_CHUNK_BYTES, callerCrc = false): AsyncGenerator<Uint8Array> {
  const plan = rawPlan(storage);
  const guard = crcGuard(storage, callerCrc);
  const transform = storageTransform(storage, guard);
  if (plan.bytes !== undefined) {
    yield* inMemoryChunks(plan.bytes, transform, alignedStep(storage, chunkBytes));
    guard?.end(tailSync(storage));
    return;
  }
  const source = plan.source!;
  const step = alignedStep(storage, chunkBytes);
  for (let done = 0; done < plan.length || done === 0; ) {
    const n = Math.min(step, plan.length - done);
    let raw: Uint8Array = new Uint8Array(0);
    if (n > 0) {
      try {
        raw = await source.read(plan.offset + done, n);
      } catch (e) {
        throw locate(storage, e);
      }
    }
    done += n;
    yield* transform.push(raw, done >= plan.length);
    if (n === 0) break;
  }
  if (guard !== undefined) {
    const tail = tailRange(storage);
    if (tail !== undefined && source.readSync === undefined) {
      try {
        guard.push(await source.read(tail.offset, tail.length));
      } catch (e) {
        throw locate(storage, e);
      }
      guard.end(undefined);
    } else guard.end(tailSync(storage));
  }
}

/** A running check of the record's CRC-32 (record-crc.ts), unless none is owed or the caller's CRC of the output is the record's. */
type CrcGuard = { push(bytes: Uint8Array): void; end(tail: Uint8Array | undefined): void };

function crcGuard(storage: Storage, callerCrc: boolean): CrcGuard | undefined {
  const check = pendingRecordCrc(storage);
  if (check === undefined || (callerCrc && writesRecordAsIs(storage, check, swapUnit(storage) !== 1))) return undefined;
  if (storage.data !== undefined) {
    checkRecordInMemory(storage); // bytes in memory: checked now, in one call
    return undefined;
  }
  const stream = recordCrcStream(storage)!;
  return {
    push: (b) => stream.push(b),
    end(tail) {
      if (tail !== undefined) stream.push(tail);
      stream.end();
    },
  };
}

/** The part of a stored record past the storage's bytes (the CRC covers the whole record); undefined when none. */
function tailRange(storage: Storage): { offset: number; length: number } | undefined {
  const from = storage.from;
  if (from === undefined || from.compression !== "none" || from.length <= storage.byteLength) return undefined;
  return { offset: from.offset + storage.byteLength, length: from.length - storage.byteLength };
}

function tailSync(storage: Storage): Uint8Array | undefined {
  const tail = tailRange(storage);
  if (tail === undefined) return undefined;
  const source = storage.from!.source;
  if (source.bytes !== undefined) return source.bytes.subarray(tail.offset, tail.offset + tail.length);
  return located(storage, () => source.readSync!(tail.offset, tail.length));
}

/**
 * In-memory bytes as `step`-sized views (no copy): a writer can then checksum one slice while the
 * previous one is being written, instead of waiting on a whole large storage.
 */
function* inMemoryChunks(bytes: Uint8Array, transform: ChunkTransform, step: number): Generator<Uint8Array> {
  if (bytes.length === 0) {
    yield* transform.push(bytes, true);
    return;
  }
  for (let at = 0; at < bytes.length; at += step) {
    const end = Math.min(bytes.length, at + step);
    yield* transform.push(bytes.subarray(at, end), end === bytes.length);
  }
}

/** A read size that keeps byte swapping on element boundaries. */
function alignedStep(storage: Storage, chunkBytes: number): number {
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1) throw new CheckpointError("invalid-argument", `chunkBytes must be a positive integer, not ${String(chunkBytes)}`);
  const unit = swapUnit(storage);
  return Math.max(unit, chunkBytes - (chunkBytes % unit));
}

/** True when the writer byte-swaps the storage (big-endian elements wider than a byte). */
export function isSwapped(storage: Storage): boolean {
  return swapUnit(storage) !== 1;
}

/** Bytes per byte-order unit of the storage's elements (complex halves swap alone); 1 when no swap is needed. */
function swapUnit(storage: Storage): number {
  if (storage.byteOrder !== "big") return 1;
  return dtypeByName(storage.dtype)?.scalarSize ?? 1;
}

function storageTransform(storage: Storage, guard: CrcGuard | undefined): ChunkTransform {
  const expected = storage.byteLength;
  const unit = swapUnit(storage);
  const where = recordOf(storage);
  let produced = 0;
  let carry = new Uint8Array(0);

  // Cut to the declared length, then swap whole elements, carrying a partial one to the next chunk.
  const emit = (data: Uint8Array, out: Uint8Array[]): void => {
    guard?.push(data);
    const room = expected - produced;
    const part = data.length > room ? data.subarray(0, room) : data;
    produced += part.length;
    if (unit === 1) {
      if (part.length > 0) out.push(part);
      return;
    }
    const joined = carry.length === 0 ? part : concat(carry, part);
    const whole = joined.length - (joined.length % unit);
    if (whole > 0) out.push(swap(joined.subarray(0, whole), unit));
    carry = joined.slice(whole);
  };
  const finish = (out: Uint8Array[]): void => {
    if (produced < expected) {
      throw new CheckpointError("truncated", `storage ${storage.key} holds ${produced} bytes but ${expected} are declared`, where);
    }
    if (carry.length > 0) throw new CheckpointError("invalid-data", `storage ${storage.key} ends inside an element`, where);
  };

  if (storage.data === undefined && storage.from?.compression === "deflate") {
    const pending: Uint8Array[] = [];
    const inflater = new Inflate((chunk) => pending.push(chunk));
    return {
      push(raw, final) {
        const out: Uint8Array[] = [];
        try {
          inflater.push(raw, final);
        } catch (e) {
          throw new CheckpointError("bad-archive", `storage ${storage.key}: deflate stream is damaged`, { ...where, cause: e });
        }
        for (const chunk of pending.splice(0)) emit(chunk, out);
        if (final) finish(out);
        return out;
      },
    };
  }
  return {
    push(raw, final) {
      const out: Uint8Array[] = [];
      emit(raw, out);
      if (final) finish(out);
      return out;
    },
  };
}

function swap(bytes: Uint8Array, unit: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += unit) {
    for (let k = 0; k < unit; k++) out[i + k] = bytes[i + unit - 1 - k]!;
  }
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function recordOf(storage: Storage): { entry?: string } {
  return storage.from === undefined ? {} : { entry: storage.from.record };
}

function located<T>(storage: Storage, read: () => T): T {
  try {
    return read();
  } catch (e) {
    throw locate(storage, e);
  }
}

function locate(storage: Storage, e: unknown): unknown {
  if (isTorchsaveError(e)) return e.entry === undefined && storage.from !== undefined ? e.withLocation({ entry: storage.from.record }) : e;
  return new CheckpointError("io", `reading storage ${storage.key} failed: ${String(e)}`, { ...recordOf(storage), cause: e });
}
