/**
 * Writing checkpoints `torch.load` accepts. The zip layout mirrors a current `torch.save` file
 * record for record: `data.pkl` (protocol 2), `.format_version`, `.storage_alignment`,
 * `byteorder`, `data/0`, `data/1`, ... (keys in the order the pickle meets the storages), `version`
 * and `.data/serialization_id`, every payload 64-byte aligned (see `zip-writer.ts`). The legacy
 * layout is in `write-legacy.ts`.
 *
 * Output is deterministic: the same value and options give the same bytes. Storage bytes stream
 * from wherever they live (in memory, a file, a Blob, a callback source), one chunk at a time, so
 * `checkpointChunksAsync` writes a checkpoint larger than memory with bounded memory.
 */
import { encodeLatin1 } from "../../bytes/text.js";
import type { TorchValue } from "../model.js";
import { encodeDataPickle } from "./write-data-pickle.js";
import type { DataPickle } from "./write-data-pickle.js";
import { legacyChunks, legacyChunksAsync } from "./write-legacy.js";
import type { ResolvedWriteOptions, WriteOptions } from "./write-options.js";
import { resolveWriteOptions } from "./write-options.js";
import { serializationId } from "./write-serialization-id.js";
import { confirmRecordCrc } from "../record-crc.js";
import { isSwapped, readsWithoutWaiting, smallStorageBytes, storageChunks, storageChunksAsync } from "./write-storage-bytes.js";
import { ChunkCoalescer, coalesceChunks, coalesceChunksAsync } from "../../bytes/coalesce.js";
import type { ZipReserve, ZipWriteState } from "../../containers/zip/zip-writer.js";
import {
  beginZipEntry, concatChunks, endZipEntry, finishZip, newZipWriteState, zipEntryChunks, zipEntryChunksAsync,
} from "../../containers/zip/zip-writer.js";

/** torch.save's `version` record (`kMinProducedFileFormatVersion`). */
const FILE_FORMAT_VERSION = "3\n";
/** `.format_version`: storages keyed by number, not text. */
const FORMAT_VERSION = "1";

/**
 * The whole checkpoint in memory. Storages must be readable synchronously (in memory, or a source
 * with `readSync`); use {@link checkpointChunksAsync} for others.
 * @throws CheckpointError `invalid-argument` (bad options), `missing-record`/`truncated`/`io`
 *   (storage bytes), `unsupported` (a storage on an async-only source); PickleEncodeError
 *   `unencodable` with the key path of a value that cannot be written (under `weightsOnly`,
 *   anything torch's weights-only unpickler would refuse).
 */
export function writeCheckpoint(root: TorchValue, options: WriteOptions = {}): Uint8Array {
  const chunks = [...checkpointChunks(root, options)];
  return concatChunks(chunks);
}

/**
 * The checkpoint as a sequence of chunks (headers, pickles, storage bytes as views where they are
 * in memory), for writing to a file or stream without building it whole. The value is pickled
 * before this returns, so encoding errors are thrown here, not while iterating.
 * @throws as {@link writeCheckpoint}; storage errors surface while iterating.
 */
export function checkpointChunks(root: TorchValue, options: WriteOptions = {}): Iterable<Uint8Array> {
  const opts = resolveWriteOptions(options);
  const data = encodeDataPickle(root, opts);
  return opts.layout === "legacy" ? coalesceChunks(legacyChunks(data, opts)) : zipChunks(data, opts);
}

/** {@link checkpointChunks} for storages on any source (Blob, callback, async file): chunks arrive as they are read. */
export function checkpointChunksAsync(root: TorchValue, options: WriteOptions = {}): AsyncIterable<Uint8Array> {
  const opts = resolveWriteOptions(options);
  const data = encodeDataPickle(root, opts);
  return opts.layout === "legacy" ? coalesceChunksAsync(legacyChunksAsync(data, opts)) : zipChunksAsync(data, opts);
}

/** One zip record: its name below the archive folder, size, and bytes as sync or async chunks. */
interface RecordSource {
  readonly name: string;
  readonly size: number;
  chunks(): Iterable<Uint8Array>;
  chunksAsync(): AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  /** `chunks()` needs no waiting (bytes in memory, or a small synchronous read): the async writer takes them synchronously. */
  readonly ready: boolean;
  /** The whole payload in one piece when it is small and needs no transform (written in place), else undefined. */
  small(): Uint8Array | undefined;
  /** Told the CRC-32 of what was written: a storage read from a zip record checks that record with it (record-crc.ts). */
  written?(crc: number): void;
}

/** Records up to this size are copied into the output buffer whole, header and descriptor around them. */
const SMALL_RECORD_BYTES = 64 * 1024;

const textRecord = (name: string, text: string): RecordSource => bytesRecord(name, encodeLatin1(text)!);
const bytesRecord = (name: string, bytes: Uint8Array): RecordSource => ({
  name, size: bytes.length, chunks: () => [bytes], chunksAsync: () => [bytes], ready: true,
  small: () => (bytes.length <= SMALL_RECORD_BYTES ? bytes : undefined),
});

/** The records in torch 2.x order. Lazy: the serialization id is made once the records before it are written. */
function* zipRecords(data: DataPickle, opts: ResolvedWriteOptions, state: ZipWriteState): Generator<RecordSource> {
  yield bytesRecord("data.pkl", data.bytes);
  yield textRecord(".format_version", FORMAT_VERSION);
  yield textRecord(".storage_alignment", String(opts.storageAlignment));
  yield textRecord("byteorder", "little");
  for (const r of data.records) {
    yield {
      name: `data/${r.key}`,
      size: r.byteLength,
      // The output's CRC of a record copied as is is the input record's: checked with it, for free.
      chunks: () => storageChunks(r.storage, opts.chunkBytes, true),
      chunksAsync: () => storageChunksAsync(r.storage, opts.chunkBytes, true),
      ready: readsWithoutWaiting(r.storage),
      small: () => smallStorageBytes(r.storage, SMALL_RECORD_BYTES),
      written: (crc) => confirmRecordCrc(r.storage, crc, isSwapped(r.storage)),
    };
  }
  yield textRecord("version", FILE_FORMAT_VERSION);
  const prefix = `${opts.archiveName}/`.length;
  const id = opts.serializationId ?? serializationId(
    state.entries.map((e) => e.name.slice(prefix)),
    state.entries.filter((e) => e.size > 0).map((e) => e.crc),
  );
  yield textRecord(".data/serialization_id", id);
}

/**
 * The zip archive's chunks, coalesced: small records (headers, descriptors, small storages) go out
 * in buffers of about 1 MiB, large storage chunks pass through as views, each as soon as it is
 * checksummed (so a pipelined writer overlaps the CRC of one slice with the write of the last).
 */
function* zipChunks(data: DataPickle, opts: ResolvedWriteOptions): Generator<Uint8Array> {
  const state = newZipWriteState({ alignment: opts.storageAlignment, crc32: opts.crc32, zip64Threshold: opts.zip64Threshold });
  const co = new ChunkCoalescer();
  const out: Uint8Array[] = [];
  const reserve: ZipReserve = (n) => co.reserve(n, out);
  for (const r of zipRecords(data, opts, state)) {
    const name = `${opts.archiveName}/${r.name}`;
    const small = r.small();
    if (small !== undefined) smallEntry(state, name, small, co, out, reserve);
    else {
      for (const c of zipEntryChunks(state, name, r.size, r.chunks())) {
        co.push(c, out);
        if (out.length > 0) yield* drain(out);
      }
    }
    r.written?.(state.entries[state.entries.length - 1]!.crc);
    if (out.length > 0) yield* drain(out);
  }
  co.push(finishZip(state), out);
  co.flush(out);
  yield* drain(out);
}

/**
 * {@link zipChunks} for storages on any source. Records whose bytes need no waiting are taken
 * synchronously, so thousands of small tensors cost no await each; the others are read
 * asynchronously, chunk by chunk.
 */
async function* zipChunksAsync(data: DataPickle, opts: ResolvedWriteOptions): AsyncGenerator<Uint8Array> {
  const state = newZipWriteState({ alignment: opts.storageAlignment, crc32: opts.crc32, zip64Threshold: opts.zip64Threshold });
  const co = new ChunkCoalescer();
  const out: Uint8Array[] = [];
  const reserve: ZipReserve = (n) => co.reserve(n, out);
  for (const r of zipRecords(data, opts, state)) {
    const name = `${opts.archiveName}/${r.name}`;
    const small = r.ready ? r.small() : undefined;
    if (small !== undefined) {
      smallEntry(state, name, small, co, out, reserve);
      if (out.length > 0) yield* drain(out);
    } else if (r.ready) {
      for (const c of zipEntryChunks(state, name, r.size, r.chunks())) {
        co.push(c, out);
        if (out.length > 0) yield* drain(out);
      }
    } else {
      for await (const c of zipEntryChunksAsync(state, name, r.size, r.chunksAsync())) {
        co.push(c, out);
        if (out.length > 0) yield* drain(out);
      }
    }
    r.written?.(state.entries[state.entries.length - 1]!.crc);
  }
  co.push(finishZip(state), out);
  co.flush(out);
  yield* drain(out);
}

/** A small record written whole into the coalescing buffer: header, payload, descriptor. */
function smallEntry(state: ZipWriteState, name: string, bytes: Uint8Array, co: ChunkCoalescer, out: Uint8Array[], reserve: ZipReserve): void {
  const { entry } = beginZipEntry(state, name, bytes.length, reserve);
  co.push(bytes, out);
  endZipEntry(state, entry, bytes.length === 0 ? 0 : state.crc32(bytes, 0), reserve);
}

/** Hands out and empties `out`. */
function* drain(out: Uint8Array[]): Generator<Uint8Array> {
  const ready = out.splice(0);
  yield* ready;
}
