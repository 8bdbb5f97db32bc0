/**
 * A stored (uncompressed) zip writer laid out exactly like PyTorch's `PyTorchStreamWriter`
 * (`caffe2/serialize/inline_container.cc` over miniz with `MZ_ZIP_FLAG_WRITE_ZIP64`):
 *
 * - every record is STORED; its local header has version 0, flags 0x0808 (UTF-8 name, data
 *   descriptor), time/date 0, CRC and sizes 0, and an extra field `"FB"` + u16 length + `'Z'`
 *   filler that moves the payload to a multiple of the alignment (`getPadding`);
 * - a data descriptor follows each payload (`PK\7\8`, CRC, sizes): the CRC is computed while the
 *   bytes stream past, so nothing has to be read twice and a record may come from any source
 *   (an empty record has none, and flags 0x0800, as miniz writes it);
 * - sizes or offsets of 0xFFFFFFFF or more get a zip64 extra field (local and central) and a
 *   64-bit data descriptor, exactly where miniz puts them;
 * - the central directory is followed by the zip64 end record, its locator and the classic end
 *   record, which miniz always writes in zip64 mode.
 *
 * The writer is plain data ({@link ZipWriteState}) plus functions, so a caller can stream one
 * record at a time (sync or async) with bounded memory.
 */
import type { Crc32Fn } from "../../bytes/crc32.js";
import { crc32 as portableCrc32 } from "../../bytes/crc32.js";
import { ZipEntryTable } from "./zip-entry-table.js";
import { CheckpointError } from "../../errors.js";

/** Torch's `kFieldAlignment`: payloads start on multiples of this. */
export const DEFAULT_ZIP_ALIGNMENT = 64;
/** Largest alignment accepted: the padding must fit the extra field's u16 length. */
export const MAX_ZIP_ALIGNMENT = 32768;
/** Values at or above this go to zip64 extra fields (miniz compares `>= MZ_UINT32_MAX`). */
export const ZIP64_LIMIT = 0xffffffff;

const SIG_LOCAL = 0x04034b50;
const SIG_DESCRIPTOR = 0x08074b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const SIG_EOCD = 0x06054b50;
const LOCAL_HEADER_SIZE = 30;
const CENTRAL_HEADER_SIZE = 46;
/** UTF-8 names (bit 11) + sizes in a data descriptor (bit 3), as miniz sets them. */
const FLAGS = 0x0808;
/** miniz writes no data descriptor (and clears bit 3) for an empty record. */
const FLAGS_EMPTY = 0x0800;

/** Options of {@link newZipWriteState} and {@link zipRecordsSync}; every field optional. */
export interface ZipWriterOptions {
  /** Payload alignment in bytes, 1 to {@link MAX_ZIP_ALIGNMENT}. Default {@link DEFAULT_ZIP_ALIGNMENT}. */
  readonly alignment?: number;
  /** CRC-32 implementation. Default the portable one in `bytes/crc32.ts` (Node passes `zlib.crc32`). */
  readonly crc32?: Crc32Fn;
  /**
   * Sizes and offsets at or above this are written as zip64. Default {@link ZIP64_LIMIT}, as
   * torch; tests lower it to exercise the zip64 paths on small files.
   */
  readonly zip64Threshold?: number;
  /**
   * The caller guarantees no name repeats (the checkpoint writer numbers its storage records), so
   * the writer keeps no set of names to check them against. Default false: a repeated name throws.
   */
  readonly uniqueNames?: boolean;
}

/** The running state of one archive being written. Plain data; pass it to the functions below. */
export interface ZipWriteState {
  /** Bytes emitted so far (the offset of the next byte). */
  offset: number;
  /** The records written so far, numbered in write order (what the central directory needs). */
  readonly table: ZipEntryTable;
  /** Names written so far, to refuse a repeat; undefined under `uniqueNames`. */
  readonly names: Set<string> | undefined;
  readonly alignment: number;
  readonly zip64Threshold: number;
  readonly crc32: Crc32Fn;
  /** Set once the central directory is out; nothing can follow it. */
  finished: boolean;
}

/**
 * Where a caller wants headers and descriptors written: `reserve(n)` makes room for `n` bytes
 * at the end of `buf` and returns their offset (a coalescing writer hands out room in its current
 * buffer, so small records cost no allocation). Read `buf` after `reserve`: it may be a new one.
 */
export interface ZipSink {
  reserve(n: number): number;
  readonly buf: Uint8Array;
}

/**
 * Starts an archive.
 * @throws CheckpointError `invalid-argument` for an alignment outside 1..32768 or a threshold
 *   that is not a positive safe integer.
 */
export function newZipWriteState(options: ZipWriterOptions = {}): ZipWriteState {
  const alignment = options.alignment ?? DEFAULT_ZIP_ALIGNMENT;
  if (!Number.isSafeInteger(alignment) || alignment < 1 || alignment > MAX_ZIP_ALIGNMENT) {
    throw new CheckpointError("invalid-argument", `alignment must be an integer from 1 to ${MAX_ZIP_ALIGNMENT}, not ${String(alignment)}`);
  }
  const zip64Threshold = options.zip64Threshold ?? ZIP64_LIMIT;
  if (!Number.isSafeInteger(zip64Threshold) || zip64Threshold < 1 || zip64Threshold > ZIP64_LIMIT) {
    throw new CheckpointError("invalid-argument", `zip64Threshold must be an integer from 1 to ${ZIP64_LIMIT}`);
  }
  const crc32 = options.crc32 ?? portableCrc32;
  if (typeof crc32 !== "function") throw new CheckpointError("invalid-argument", "crc32 must be a function");
  const names = options.uniqueNames === true ? undefined : new Set<string>();
  return { offset: 0, table: new ZipEntryTable(), names, alignment, zip64Threshold, crc32, finished: false };
}

/**
 * The local header (with its zip64 and `FB` padding extra fields) for a record of `size` bytes
 * named `name`, registered in `state` as record `entry`. The payload must follow immediately,
 * then {@link endZipEntry}'s descriptor.
 * @throws as {@link writeZipHeader}.
 */
export function beginZipEntry(state: ZipWriteState, name: string, size: number): { header: Uint8Array; entry: number } {
  const own = { buf: EMPTY, reserve(n: number): number { this.buf = new Uint8Array(n); return 0; } };
  const entry = writeZipHeader(state, "", name, size, own);
  return { header: own.buf, entry };
}

/**
 * {@link beginZipEntry} for the record named `prefix + name`, its header written into `sink`
 * (no allocation of its own). Returns the record's number.
 * @throws CheckpointError `invalid-argument` for an empty, over-long or repeated name, a bad
 *   size, or a call after {@link finishZip}.
 */
export function writeZipHeader(state: ZipWriteState, prefix: string, name: string, size: number, sink: ZipSink): number {
  if (state.finished) throw new CheckpointError("invalid-argument", "the archive is already finished");
  if (typeof prefix !== "string" || typeof name !== "string" || prefix.length + name.length === 0) {
    throw new CheckpointError("invalid-argument", "a zip record needs a non-empty name");
  }
  if (state.names !== undefined) {
    const full = prefix + name;
    if (state.names.has(full)) throw new CheckpointError("invalid-argument", `record ${full} written twice`, { entry: full });
  }
  if (!Number.isSafeInteger(size) || size < 0) throw new CheckpointError("invalid-argument", `bad record size ${String(size)}`, { entry: prefix + name });
  const headerOffset = state.offset;
  const zip64Size = size >= state.zip64Threshold;
  const zip64Offset = headerOffset >= state.zip64Threshold;
  const flags = size > 0 ? FLAGS : FLAGS_EMPTY;
  const table = state.table;
  const entry = table.add(prefix, name, headerOffset, size, flags, zip64Size, zip64Offset);
  const nameLength = table.nameLength(entry);
  if (nameLength > 0xffff) {
    table.dropLast();
    throw new CheckpointError("invalid-argument", "record name longer than 65,535 bytes", { entry: prefix + name });
  }
  const z64 = zip64Size || zip64Offset ? zip64Extra(zip64Size ? size : undefined, zip64Offset ? headerOffset : undefined) : EMPTY;
  // getPadding: the payload would start after the header, the name, the zip64 extra and the 4-byte FB header.
  const start = headerOffset + LOCAL_HEADER_SIZE + nameLength + z64.length + 4;
  const padding = (state.alignment - (start % state.alignment)) % state.alignment;
  const extraLength = z64.length + 4 + padding;
  const length = LOCAL_HEADER_SIZE + nameLength + extraLength;
  const base = sink.reserve(length);
  const h = sink.buf;
  // version needed 0, method 0 (stored), time/date 0, CRC and sizes 0: all zeros, as miniz writes them.
  put32(h, base, SIG_LOCAL);
  put16(h, base + 4, 0);
  put16(h, base + 6, flags);
  for (let k = base + 8; k < base + 26; k++) h[k] = 0;
  put16(h, base + 26, nameLength);
  put16(h, base + 28, extraLength);
  let at = table.copyName(entry, h, base + LOCAL_HEADER_SIZE);
  if (z64.length > 0) {
    h.set(z64, at);
    at += z64.length;
  }
  h[at] = 0x46; // "F"
  h[at + 1] = 0x42; // "B"
  put16(h, at + 2, padding);
  for (let k = at + 4; k < base + length; k++) h[k] = 0x5a; // 'Z' filler
  if (state.names !== undefined) state.names.add(prefix + name);
  state.offset += length + size;
  return entry;
}

const EMPTY = new Uint8Array(0);

function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
}

function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
}

/** A 64-bit little-endian value below 2^53. */
function put64(b: Uint8Array, at: number, v: number): void {
  put32(b, at, v >>> 0);
  put32(b, at + 4, Math.floor(v / 2 ** 32));
}

/**
 * The data descriptor that closes record `entry` (32-bit sizes, or 64-bit when the record has a
 * zip64 extra field, as miniz decides), recording its CRC for the central directory: returned,
 * or written into `sink` when given (then the result is empty). Empty for an empty record, which
 * has no descriptor.
 */
export function endZipEntry(state: ZipWriteState, entry: number, crc: number, sink?: ZipSink): Uint8Array {
  const table = state.table;
  table.setCrc(entry, crc);
  if (table.flags(entry) === FLAGS_EMPTY) return EMPTY;
  const wide = table.zip64Size(entry) || table.zip64Offset(entry);
  const length = wide ? 24 : 16;
  const size = table.size(entry);
  const out = sink === undefined ? new Uint8Array(length) : undefined;
  const at = sink === undefined ? 0 : sink.reserve(length);
  const b = out ?? sink!.buf;
  put32(b, at, SIG_DESCRIPTOR);
  put32(b, at + 4, crc >>> 0);
  if (wide) {
    put64(b, at + 8, size);
    put64(b, at + 16, size);
  } else {
    put32(b, at + 8, size);
    put32(b, at + 12, size);
  }
  state.offset += length;
  return out ?? EMPTY;
}

/**
 * The central directory, the zip64 end record and locator, and the end record, in one buffer.
 * After this the archive is complete and `state` accepts no more records.
 * @throws CheckpointError `invalid-argument` when called twice.
 */
export function finishZip(state: ZipWriteState): Uint8Array {
  if (state.finished) throw new CheckpointError("invalid-argument", "the archive is already finished");
  state.finished = true;
  const limit = state.zip64Threshold;
  const table = state.table;
  const n = table.count;
  const extraLength = (i: number): number => {
    const fields = (table.zip64Size(i) ? 2 : 0) + (table.zip64Offset(i) ? 1 : 0);
    return fields === 0 ? 0 : 4 + 8 * fields;
  };
  let cdSize = 0;
  for (let i = 0; i < n; i++) cdSize += CENTRAL_HEADER_SIZE + table.nameLength(i) + extraLength(i);
  const cdOffset = state.offset;
  const out = new Uint8Array(cdSize + 56 + 20 + 22);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const size = table.size(i);
    const offset = table.headerOffset(i);
    const z64Size = table.zip64Size(i);
    const z64Offset = table.zip64Offset(i);
    // version made by / needed 0, method 0, time/date 0, comment 0, disk 0, attributes 0 (the buffer is zeroed).
    put32(out, at, SIG_CENTRAL);
    put16(out, at + 8, table.flags(i));
    put32(out, at + 16, table.crc(i));
    put32(out, at + 20, z64Size ? ZIP64_LIMIT : size);
    put32(out, at + 24, z64Size ? ZIP64_LIMIT : size);
    put16(out, at + 28, table.nameLength(i));
    put16(out, at + 30, extraLength(i));
    put32(out, at + 42, z64Offset ? ZIP64_LIMIT : offset);
    at = table.copyName(i, out, at + CENTRAL_HEADER_SIZE);
    if (z64Size || z64Offset) {
      const extra = zip64Extra(z64Size ? size : undefined, z64Offset ? offset : undefined);
      out.set(extra, at);
      at += extra.length;
    }
  }
  const eocd64Offset = cdOffset + cdSize;
  // zip64 end of central directory record (miniz: made by 0x031E, needed 45).
  put32(out, at, SIG_EOCD64);
  put64(out, at + 4, 44);
  put16(out, at + 12, 0x031e);
  put16(out, at + 14, 45);
  put64(out, at + 24, n);
  put64(out, at + 32, n);
  put64(out, at + 40, cdSize);
  put64(out, at + 48, cdOffset);
  at += 56;
  put32(out, at, SIG_EOCD64_LOCATOR);
  put64(out, at + 8, eocd64Offset);
  put32(out, at + 16, 1);
  at += 20;
  put32(out, at, SIG_EOCD);
  put16(out, at + 8, Math.min(n, 0xffff));
  put16(out, at + 10, Math.min(n, 0xffff));
  put32(out, at + 12, cdSize >= limit ? ZIP64_LIMIT : cdSize);
  put32(out, at + 16, cdOffset >= limit ? ZIP64_LIMIT : cdOffset);
  state.offset += out.length;
  return out;
}

/** miniz's zip64 extended information field: id 1, then the sizes and/or the offset that overflowed. */
function zip64Extra(size: number | undefined, offset: number | undefined): Uint8Array {
  if (size === undefined && offset === undefined) return EMPTY;
  const fields = (size === undefined ? 0 : 2) + (offset === undefined ? 0 : 1);
  const out = new Uint8Array(4 + 8 * fields);
  put16(out, 0, 1);
  put16(out, 2, 8 * fields);
  let at = 4;
  if (size !== undefined) {
    put64(out, at, size);
    put64(out, at + 8, size);
    at += 16;
  }
  if (offset !== undefined) put64(out, at, offset);
  return out;
}

/**
 * Streams one record: its header, the payload chunks as given (views, not copies), then the
 * descriptor. The CRC is computed on the way. Returns the record's number.
 * @throws CheckpointError `invalid-data` when the chunks add up to more or fewer bytes than `size`.
 */
export function* zipEntryChunks(state: ZipWriteState, name: string, size: number, chunks: Iterable<Uint8Array>): Generator<Uint8Array, number> {
  const { header, entry } = beginZipEntry(state, name, size);
  yield header;
  const body = entryBody(state, name, size);
  for (const chunk of chunks) if (body.add(chunk)) yield chunk;
  const descriptor = body.end(entry);
  if (descriptor.length > 0) yield descriptor;
  return entry;
}

/** {@link zipEntryChunks} over chunks that arrive asynchronously. */
export async function* zipEntryChunksAsync(
  state: ZipWriteState, name: string, size: number, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Uint8Array, number> {
  const { header, entry } = beginZipEntry(state, name, size);
  yield header;
  const body = entryBody(state, name, size);
  for await (const chunk of chunks) if (body.add(chunk)) yield chunk;
  const descriptor = body.end(entry);
  if (descriptor.length > 0) yield descriptor;
  return entry;
}

/**
 * The running CRC and size of one entry's data, shared by the sync and async writers: `add` says
 * whether the chunk goes out (empty ones do not); `end` checks the size and gives the descriptor.
 */
function entryBody(state: ZipWriteState, name: string, size: number) {
  let crc = 0;
  let written = 0;
  return {
    add(chunk: Uint8Array): boolean {
      written += chunk.length;
      if (written > size) throw sizeMismatch(name, size, written);
      crc = state.crc32(chunk, crc);
      return chunk.length > 0;
    },
    end(entry: number): Uint8Array {
      if (written !== size) throw sizeMismatch(name, size, written);
      return endZipEntry(state, entry, crc);
    },
  };
}

function sizeMismatch(name: string, size: number, written: number): CheckpointError {
  return new CheckpointError("invalid-data", `record ${name} was declared as ${size} bytes but ${written} arrived`, { entry: name });
}

/**
 * A whole archive in memory from named byte arrays, in order (names are used as given: include
 * the archive folder). For small archives and tests; checkpoints stream through
 * `checkpointChunks` instead.
 * @throws CheckpointError `invalid-argument` as {@link beginZipEntry}.
 */
export function zipRecordsSync(records: readonly { readonly name: string; readonly data: Uint8Array }[], options: ZipWriterOptions = {}): Uint8Array {
  const state = newZipWriteState(options);
  const parts: Uint8Array[] = [];
  for (const r of records) for (const chunk of zipEntryChunks(state, r.name, r.data.length, [r.data])) parts.push(chunk);
  parts.push(finishZip(state));
  return concatChunks(parts, state.offset);
}

/** Concatenates chunks into one new array of `total` bytes. */
export function concatChunks(chunks: readonly Uint8Array[], total?: number): Uint8Array {
  const size = total ?? chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
