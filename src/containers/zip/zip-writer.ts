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
import { encodeUtf8 } from "../../bytes/text.js";
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
}

/** What the writer remembers about a record once its header is out (the central directory needs it). */
export interface ZipWrittenEntry {
  /** Full name inside the zip, e.g. "archive/data/0". */
  readonly name: string;
  readonly nameBytes: Uint8Array;
  readonly headerOffset: number;
  /** Where the payload starts (a multiple of the alignment). */
  readonly dataOffset: number;
  readonly size: number;
  /** The payload's CRC-32, known once the data descriptor is written. */
  crc: number;
  /** The size fields live in the zip64 extra field. */
  readonly zip64Size: boolean;
  /** The local header offset lives in the zip64 extra field. */
  readonly zip64Offset: boolean;
  /** General-purpose flags: 0x0808, or 0x0800 for an empty record (no data descriptor). */
  readonly flags: number;
}

/** The running state of one archive being written. Plain data; pass it to the functions below. */
export interface ZipWriteState {
  /** Bytes emitted so far (the offset of the next byte). */
  offset: number;
  readonly entries: ZipWrittenEntry[];
  readonly names: Set<string>;
  readonly alignment: number;
  readonly zip64Threshold: number;
  readonly crc32: Crc32Fn;
  /** Set once the central directory is out; nothing can follow it. */
  finished: boolean;
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
  return { offset: 0, entries: [], names: new Set(), alignment, zip64Threshold, crc32, finished: false };
}

/**
 * The local header (with its zip64 and `FB` padding extra fields) for a record of `size` bytes
 * named `name`, registered in `state`. The payload must follow immediately, then
 * {@link endZipEntry}'s descriptor. With `into`, the header is written where `into` says and
 * the returned `header` is empty.
 * @throws CheckpointError `invalid-argument` for an empty, over-long or repeated name, a bad
 *   size, or a call after {@link finishZip}.
 */
export function beginZipEntry(
  state: ZipWriteState, name: string, size: number, into?: ZipReserve,
): { header: Uint8Array; entry: ZipWrittenEntry } {
  if (state.finished) throw new CheckpointError("invalid-argument", "the archive is already finished");
  if (typeof name !== "string" || name.length === 0) throw new CheckpointError("invalid-argument", "a zip record needs a non-empty name");
  if (state.names.has(name)) throw new CheckpointError("invalid-argument", `record ${name} written twice`, { entry: name });
  if (!Number.isSafeInteger(size) || size < 0) throw new CheckpointError("invalid-argument", `bad record size ${String(size)}`, { entry: name });
  const nameBytes = encodeUtf8(name);
  if (nameBytes.length > 0xffff) throw new CheckpointError("invalid-argument", "record name longer than 65,535 bytes", { entry: name });
  const headerOffset = state.offset;
  const zip64Size = size >= state.zip64Threshold;
  const zip64Offset = headerOffset >= state.zip64Threshold;
  const z64 = zip64Extra(zip64Size ? size : undefined, zip64Offset ? headerOffset : undefined);
  // getPadding: the payload would start after the header, the name, the zip64 extra and the 4-byte FB header.
  const start = headerOffset + LOCAL_HEADER_SIZE + nameBytes.length + z64.length + 4;
  const padding = (state.alignment - (start % state.alignment)) % state.alignment;
  const extraLength = z64.length + 4 + padding;
  const length = LOCAL_HEADER_SIZE + nameBytes.length + extraLength;
  const target = into === undefined ? { buf: new Uint8Array(length), at: 0 } : into(length);
  const h = target.buf;
  const base = target.at;
  h.fill(0, base, base + LOCAL_HEADER_SIZE);
  // version needed 0, method 0 (stored), time/date 0, CRC and sizes 0: all left as zeros, as miniz writes them.
  put32(h, base, SIG_LOCAL);
  const flags = size > 0 ? FLAGS : FLAGS_EMPTY;
  put16(h, base + 6, flags);
  put16(h, base + 26, nameBytes.length);
  put16(h, base + 28, extraLength);
  h.set(nameBytes, base + LOCAL_HEADER_SIZE);
  let at = base + LOCAL_HEADER_SIZE + nameBytes.length;
  h.set(z64, at);
  at += z64.length;
  h[at] = 0x46; // "F"
  h[at + 1] = 0x42; // "B"
  put16(h, at + 2, padding);
  h.fill(0x5a, at + 4, base + length); // 'Z' filler
  const entry: ZipWrittenEntry = {
    name, nameBytes, headerOffset, dataOffset: headerOffset + length, size, crc: 0, zip64Size, zip64Offset, flags,
  };
  state.names.add(name);
  state.entries.push(entry);
  state.offset += length + size;
  return { header: into === undefined ? h : EMPTY, entry };
}

/**
 * Where a caller wants a header or descriptor of `n` bytes written: a buffer and an offset in it
 * (a coalescing writer hands out room in its current buffer, so small records cost no allocation).
 */
export type ZipReserve = (n: number) => { buf: Uint8Array; at: number };

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

/**
 * The data descriptor that closes `entry` (32-bit sizes, or 64-bit when the entry has a zip64
 * extra field, as miniz decides), recording its CRC for the central directory. Empty for an
 * empty record, which has no descriptor.
 */
export function endZipEntry(state: ZipWriteState, entry: ZipWrittenEntry, crc: number, into?: ZipReserve): Uint8Array {
  entry.crc = crc >>> 0;
  if (entry.flags === FLAGS_EMPTY) return EMPTY;
  const wide = entry.zip64Size || entry.zip64Offset;
  const length = wide ? 24 : 16;
  if (into === undefined || wide) {
    const out = new Uint8Array(length);
    const v = new DataView(out.buffer);
    v.setUint32(0, SIG_DESCRIPTOR, true);
    v.setUint32(4, entry.crc, true);
    if (wide) {
      v.setBigUint64(8, BigInt(entry.size), true);
      v.setBigUint64(16, BigInt(entry.size), true);
    } else {
      v.setUint32(8, entry.size, true);
      v.setUint32(12, entry.size, true);
    }
    state.offset += out.length;
    if (into === undefined) return out;
    const t = into(length);
    t.buf.set(out, t.at);
    return EMPTY;
  }
  const { buf, at } = into(length);
  put32(buf, at, SIG_DESCRIPTOR);
  put32(buf, at + 4, entry.crc);
  put32(buf, at + 8, entry.size);
  put32(buf, at + 12, entry.size);
  state.offset += length;
  return EMPTY;
}

/**
 * The central directory, the zip64 end record and locator, and the end record. After this the
 * archive is complete and `state` accepts no more records.
 * @throws CheckpointError `invalid-argument` when called twice.
 */
export function finishZip(state: ZipWriteState): Uint8Array {
  if (state.finished) throw new CheckpointError("invalid-argument", "the archive is already finished");
  state.finished = true;
  const limit = state.zip64Threshold;
  let cdSize = 0;
  const extras = state.entries.map((e) => zip64Extra(e.zip64Size ? e.size : undefined, e.zip64Offset ? e.headerOffset : undefined));
  state.entries.forEach((e, i) => (cdSize += CENTRAL_HEADER_SIZE + e.nameBytes.length + extras[i]!.length));
  const cdOffset = state.offset;
  const out = new Uint8Array(cdSize + 56 + 20 + 22);
  const v = new DataView(out.buffer);
  let at = 0;
  state.entries.forEach((e, i) => {
    const extra = extras[i]!;
    v.setUint32(at, SIG_CENTRAL, true);
    // version made by / needed 0, method 0, time/date 0, comment 0, disk 0, attributes 0.
    v.setUint16(at + 8, e.flags, true);
    v.setUint32(at + 16, e.crc, true);
    v.setUint32(at + 20, e.zip64Size ? ZIP64_LIMIT : e.size, true);
    v.setUint32(at + 24, e.zip64Size ? ZIP64_LIMIT : e.size, true);
    v.setUint16(at + 28, e.nameBytes.length, true);
    v.setUint16(at + 30, extra.length, true);
    v.setUint32(at + 42, e.zip64Offset ? ZIP64_LIMIT : e.headerOffset, true);
    out.set(e.nameBytes, at + CENTRAL_HEADER_SIZE);
    out.set(extra, at + CENTRAL_HEADER_SIZE + e.nameBytes.length);
    at += CENTRAL_HEADER_SIZE + e.nameBytes.length + extra.length;
  });
  const n = state.entries.length;
  const eocd64Offset = cdOffset + cdSize;
  // zip64 end of central directory record (miniz: made by 0x031E, needed 45).
  v.setUint32(at, SIG_EOCD64, true);
  v.setBigUint64(at + 4, 44n, true);
  v.setUint16(at + 12, 0x031e, true);
  v.setUint16(at + 14, 45, true);
  v.setBigUint64(at + 24, BigInt(n), true);
  v.setBigUint64(at + 32, BigInt(n), true);
  v.setBigUint64(at + 40, BigInt(cdSize), true);
  v.setBigUint64(at + 48, BigInt(cdOffset), true);
  at += 56;
  v.setUint32(at, SIG_EOCD64_LOCATOR, true);
  v.setBigUint64(at + 8, BigInt(eocd64Offset), true);
  v.setUint32(at + 16, 1, true);
  at += 20;
  v.setUint32(at, SIG_EOCD, true);
  v.setUint16(at + 8, Math.min(n, 0xffff), true);
  v.setUint16(at + 10, Math.min(n, 0xffff), true);
  v.setUint32(at + 12, cdSize >= limit ? ZIP64_LIMIT : cdSize, true);
  v.setUint32(at + 16, cdOffset >= limit ? ZIP64_LIMIT : cdOffset, true);
  state.offset += out.length;
  return out;
}

/** miniz's zip64 extended information field: id 1, then the sizes and/or the offset that overflowed. */
function zip64Extra(size: number | undefined, offset: number | undefined): Uint8Array {
  if (size === undefined && offset === undefined) return EMPTY;
  const fields = (size === undefined ? 0 : 2) + (offset === undefined ? 0 : 1);
  const out = new Uint8Array(4 + 8 * fields);
  const v = new DataView(out.buffer);
  v.setUint16(0, 1, true);
  v.setUint16(2, 8 * fields, true);
  let at = 4;
  if (size !== undefined) {
    v.setBigUint64(at, BigInt(size), true);
    v.setBigUint64(at + 8, BigInt(size), true);
    at += 16;
  }
  if (offset !== undefined) v.setBigUint64(at, BigInt(offset), true);
  return out;
}

/**
 * Streams one record: its header, the payload chunks as given (views, not copies), then the
 * descriptor. The CRC is computed on the way.
 * @throws CheckpointError `invalid-data` when the chunks add up to more or fewer bytes than `size`.
 */
export function* zipEntryChunks(state: ZipWriteState, name: string, size: number, chunks: Iterable<Uint8Array>): Generator<Uint8Array, ZipWrittenEntry> {
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
): AsyncGenerator<Uint8Array, ZipWrittenEntry> {
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
    end(entry: Parameters<typeof endZipEntry>[1]): Uint8Array {
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
