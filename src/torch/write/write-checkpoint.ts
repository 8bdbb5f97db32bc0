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
import { encodeLatin1, encodeUtf8 } from "../../bytes/text.js";
import type { TorchValue } from "../model.js";
import { encodeDataPickle } from "./write-data-pickle.js";
import type { DataPickle } from "./write-data-pickle.js";
import type { StorageRecord } from "./write-pickle-tensor.js";
import { legacyChunks, legacyChunksAsync } from "./write-legacy.js";
import type { ResolvedWriteOptions, WriteOptions } from "./write-options.js";
import { resolveWriteOptions } from "./write-options.js";
import { serializationIdOfTable } from "./write-serialization-id.js";
import { confirmRecordCrc } from "../record-crc.js";
import { isSwapped, readsWithoutWaiting, smallStorageBytes, storageChunks, storageChunksAsync } from "./write-storage-bytes.js";
import { ChunkCoalescer, coalesceChunks, coalesceChunksAsync } from "../../bytes/coalesce.js";
import type { ZipSink, ZipWriteState } from "../../containers/zip/zip-writer.js";
import {
  concatChunks, endZipEntry, finishZip, newZipWriteState, writeZipHeader, zipEntryChunks, zipEntryChunksAsync,
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

/** Records up to this size are copied into the output buffer whole, header and descriptor around them. */
const SMALL_RECORD_BYTES = 64 * 1024;

/** The records before the storages, in torch 2.x order: name below the archive folder, bytes. */
function headRecords(data: DataPickle, opts: ResolvedWriteOptions): [string, Uint8Array][] {
  return [
    ["data.pkl", data.bytes],
    [".format_version", encodeLatin1(FORMAT_VERSION)!],
    [".storage_alignment", encodeLatin1(String(opts.storageAlignment))!],
    ["byteorder", encodeLatin1("little")!],
  ];
}

/** One archive being written: the zip state and where small pieces are coalesced. */
interface ZipOut {
  readonly state: ZipWriteState;
  readonly co: ChunkCoalescer;
  /** Chunks ready to go out, in order. */
  readonly out: Uint8Array[];
  /** Headers and descriptors are written in place into the coalescer's buffer. */
  readonly sink: ZipSink;
  /** `<archive>/` and `<archive>/data/`: names are written as prefix + key, never concatenated. */
  readonly folder: string;
  readonly dataFolder: string;
}

function zipOut(opts: ResolvedWriteOptions): ZipOut {
  // Names are unique by construction: fixed ones and data/<n> for distinct numbers n.
  const state = newZipWriteState({ alignment: opts.storageAlignment, crc32: opts.crc32, zip64Threshold: opts.zip64Threshold, uniqueNames: true });
  const co = new ChunkCoalescer();
  const out: Uint8Array[] = [];
  const sink: ZipSink = {
    reserve: (n) => co.room(n, out),
    get buf() {
      return co.current;
    },
  };
  return { state, co, out, sink, folder: `${opts.archiveName}/`, dataFolder: `${opts.archiveName}/data/` };
}

/** A small record written whole into the coalescing buffer: header, payload, descriptor. Returns its number. */
function smallEntry(z: ZipOut, prefix: string, name: string, bytes: Uint8Array): number {
  const entry = writeZipHeader(z.state, prefix, name, bytes.length, z.sink);
  z.co.push(bytes, z.out);
  endZipEntry(z.state, entry, bytes.length === 0 ? 0 : z.state.crc32(bytes, 0), z.sink);
  return entry;
}

/** The records after the storages: `version`, then the serialization id over everything before it. */
function tailRecords(z: ZipOut, opts: ResolvedWriteOptions): void {
  smallEntry(z, z.folder, "version", encodeLatin1(FILE_FORMAT_VERSION)!);
  const id = opts.serializationId ?? serializationIdOfTable(z.state.table, encodeUtf8(z.folder).length);
  smallEntry(z, z.folder, ".data/serialization_id", encodeLatin1(id)!);
  z.co.push(finishZip(z.state), z.out);
  z.co.flush(z.out);
}

/** The output's CRC of a storage record copied as is is the input record's: checked with it, for free (record-crc.ts). */
function written(z: ZipOut, r: StorageRecord, entry: number): void {
  confirmRecordCrc(r.storage, z.state.table.crc(entry), isSwapped(r.storage));
}

/**
 * The zip archive's chunks, coalesced: small records (headers, descriptors, small storages) go out
 * in buffers of about 1 MiB, large storage chunks pass through as views, each as soon as it is
 * checksummed (so a pipelined writer overlaps the CRC of one slice with the write of the last).
 */
function* zipChunks(data: DataPickle, opts: ResolvedWriteOptions): Generator<Uint8Array> {
  const z = zipOut(opts);
  yield* headEntries(z, data, opts);
  for (const r of data.records) {
    const small = smallStorageBytes(r.storage, SMALL_RECORD_BYTES);
    let entry: number;
    if (small !== undefined) entry = smallEntry(z, z.dataFolder, r.key, small);
    else entry = yield* largeEntry(z, z.dataFolder + r.key, r.byteLength, storageChunks(r.storage, opts.chunkBytes, true));
    written(z, r, entry);
    if (z.out.length > 0) yield* drain(z.out);
  }
  tailRecords(z, opts);
  yield* drain(z.out);
}

/** The records before the storages (data.pkl, version, byteorder ...), for both writers. */
function* headEntries(z: ZipOut, data: DataPickle, opts: ResolvedWriteOptions): Generator<Uint8Array> {
  for (const [name, bytes] of headRecords(data, opts)) {
    if (bytes.length <= SMALL_RECORD_BYTES) smallEntry(z, z.folder, name, bytes);
    else yield* largeEntry(z, z.folder + name, bytes.length, [bytes]);
  }
  if (z.out.length > 0) yield* drain(z.out);
}

/** A record streamed chunk by chunk (a large one): coalesced output as it goes; returns its number. */
function* largeEntry(z: ZipOut, name: string, size: number, chunks: Iterable<Uint8Array>): Generator<Uint8Array, number> {
  const it = zipEntryChunks(z.state, name, size, chunks);
  for (;;) {
    const step = it.next();
    if (step.done === true) return step.value;
    z.co.push(step.value, z.out);
    if (z.out.length > 0) yield* drain(z.out);
  }
}

/**
 * {@link zipChunks} for storages on any source. Records whose bytes need no waiting are taken
 * synchronously, so thousands of small tensors cost no await each; the others are read
 * asynchronously, chunk by chunk.
 */
async function* zipChunksAsync(data: DataPickle, opts: ResolvedWriteOptions): AsyncGenerator<Uint8Array> {
  const z = zipOut(opts);
  yield* headEntries(z, data, opts);
  for (const r of data.records) {
    const ready = readsWithoutWaiting(r.storage);
    const small = ready ? smallStorageBytes(r.storage, SMALL_RECORD_BYTES) : undefined;
    let entry: number;
    if (small !== undefined) entry = smallEntry(z, z.dataFolder, r.key, small);
    else if (ready) entry = yield* largeEntry(z, z.dataFolder + r.key, r.byteLength, storageChunks(r.storage, opts.chunkBytes, true));
    else {
      const it = zipEntryChunksAsync(z.state, z.dataFolder + r.key, r.byteLength, storageChunksAsync(r.storage, opts.chunkBytes, true));
      for (;;) {
        const step = await it.next();
        if (step.done === true) {
          entry = step.value;
          break;
        }
        z.co.push(step.value, z.out);
        if (z.out.length > 0) yield* drain(z.out);
      }
    }
    written(z, r, entry);
    if (z.out.length > 0) yield* drain(z.out);
  }
  tailRecords(z, opts);
  yield* drain(z.out);
}

/** Hands out and empties `out`. */
function* drain(out: Uint8Array[]): Generator<Uint8Array> {
  const ready = out.splice(0);
  yield* ready;
}
