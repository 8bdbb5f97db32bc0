/**
 * Per-entry reads: the local header (torch uses it only to skip the name and extra field) and the
 * entry's bytes, stored or deflated. Written as {@link ReadPlan}s shared by the sync and async doors.
 */
import { inflateSync } from "fflate";
import type { ReadPlan } from "../../bytes/source.js";
import { CheckpointError } from "../../errors.js";
import { FLAG_DESCRIPTOR, LOCAL_HEADER_SIZE, SIG_LOCAL } from "./zip-directory.js";
import { rowCrc32, rowFlags, rowMethod, rowNameLength, rowNameStart, u16, u32, type ZipTable } from "./zip-table.js";
import type { ZipQuirkCode } from "./zip-quirks.js";
import type { ZipEntry } from "./zip-reader.js";

/** Options for reading an entry's bytes; every field is optional. */
export interface ReadEntryOptions {
  /** Largest inflated size accepted for a deflated entry, in bytes. Default {@link DEFAULT_MAX_INFLATED_SIZE}. */
  readonly maxInflatedSize?: number;
}

/** Default {@link ReadEntryOptions.maxInflatedSize}: 1 GiB. Stored entries are not limited (their bytes exist). */
export const DEFAULT_MAX_INFLATED_SIZE = 1024 * 1024 * 1024;

/** Deflate cannot expand more than 1032:1 (a 258-byte match in 2 bits); a larger claim is a lie. */
const MAX_DEFLATE_RATIO = 1032;

/** A quirk found in a local header, not yet recorded (the caller records each header's once). */
export interface LocalQuirk {
  readonly code: ZipQuirkCode;
  readonly message: string;
}

export interface LocalHeader {
  readonly dataOffset: number;
  readonly quirks: readonly LocalQuirk[];
}

/** The usual answer: a local header that agrees with the central directory. */
const NO_QUIRKS: readonly LocalQuirk[] = Object.freeze([]);

function localWhere(entry: ZipEntry, file: string | undefined, at: number): { offset: number; entry: string; file?: string } {
  return file === undefined ? { offset: at, entry: entry.name } : { offset: at, entry: entry.name, file };
}

/**
 * How many bytes {@link parseLocalHeader} needs at the entry's local header offset: the fixed
 * part and, hopefully, the name (they are usually the same length), cut at the end of the file.
 * @throws CheckpointError `bad-archive` when not even the fixed part fits.
 */
function localHeaderSpan(size: number, entry: ZipEntry, file: string | undefined): number {
  const at = entry.localHeaderOffset;
  const length = Math.min(LOCAL_HEADER_SIZE + entry.nameBytes.length, size - at);
  if (length < LOCAL_HEADER_SIZE) throw new CheckpointError("bad-archive", "local header runs past the end of the file", localWhere(entry, file, at));
  return length;
}

/**
 * Parses the entry's local header from `h[base .. base + length)` (those bytes are the file's
 * bytes at the local header offset): where its data starts and how it disagrees with the central
 * directory. A plain function, so in-memory sources skip the read plan.
 */
function parseLocalHeader(h: Uint8Array, base: number, length: number, size: number, entry: ZipEntry, file: string | undefined): LocalHeader {
  const at = entry.localHeaderOffset;
  if (u32(h, base) !== SIG_LOCAL) throw new CheckpointError("bad-archive", "no local file header where the central directory points", localWhere(entry, file, at));
  const flags = u16(h, base + 6);
  const method = u16(h, base + 8);
  const crc = u32(h, base + 14);
  const compressedSize = u32(h, base + 18);
  const size_ = u32(h, base + 22);
  const nameLength = u16(h, base + 26);
  const extraLength = u16(h, base + 28);
  const dataOffset = at + LOCAL_HEADER_SIZE + nameLength + extraLength;
  if (dataOffset > size || entry.compressedSize > size - dataOffset) {
    throw new CheckpointError("bad-archive", `entry data at ${dataOffset} (${entry.compressedSize} bytes) runs past the end of the file`, localWhere(entry, file, at));
  }

  let quirks: LocalQuirk[] | undefined;
  const central = entry.nameBytes;
  let sameName = nameLength === central.length && LOCAL_HEADER_SIZE + nameLength <= length;
  for (let i = 0; sameName && i < nameLength; i++) sameName = h[base + LOCAL_HEADER_SIZE + i] === central[i];
  if (!sameName) (quirks ??= []).push({ code: "local-name-mismatch", message: "local header names the entry differently" });
  if (flags !== entry.flags || method !== entry.method) {
    (quirks ??= []).push({ code: "local-header-mismatch", message: `local flags 0x${flags.toString(16)} method ${method}; central directory says 0x${entry.flags.toString(16)} method ${entry.method}` });
  }
  // With a data descriptor the local fields are legitimately zero; 0xffffffff defers to a zip64 extra.
  if ((flags & FLAG_DESCRIPTOR) === 0) {
    const differs = (local: number, central: number): boolean => local !== 0xffffffff && local !== central;
    if (differs(compressedSize, entry.compressedSize) || differs(size_, entry.size)) {
      (quirks ??= []).push({ code: "local-size-mismatch", message: `local sizes ${compressedSize}/${size_}; central directory says ${entry.compressedSize}/${entry.size}` });
    }
    if (crc !== entry.crc32) (quirks ??= []).push({ code: "local-crc-mismatch", message: `local CRC-32 ${hex(crc)}; central directory says ${hex(entry.crc32)}` });
  }
  return { dataOffset, quirks: quirks ?? NO_QUIRKS };
}

/**
 * Where row `row`'s data starts when its local header agrees with the central directory in
 * everything {@link parseLocalHeader} checks and the data fits in the file of `fileSize` bytes;
 * -1 otherwise, or when the header is not all inside `span` (the file's bytes from `base` on).
 * The caller then takes the general path, which says why. Spares the reader an entry object and
 * a read per storage.
 */
export function cleanLocalDataOffset(span: Uint8Array, base: number, fileSize: number, table: ZipTable, row: number): number {
  const at = table.localHeaderOffset[row]! - base;
  const nameLength = rowNameLength(table, row);
  if (at < 0 || at + LOCAL_HEADER_SIZE + nameLength > span.length || u32(span, at) !== SIG_LOCAL) return -1;
  const flags = u16(span, at + 6);
  if (flags !== rowFlags(table, row) || u16(span, at + 8) !== rowMethod(table, row) || u16(span, at + 26) !== nameLength) return -1;
  const compressedSize = table.compressedSize[row]!;
  const dataOffset = base + at + LOCAL_HEADER_SIZE + nameLength + u16(span, at + 28);
  if (dataOffset > fileSize || compressedSize > fileSize - dataOffset) return -1;
  const cd = table.cd;
  const name = rowNameStart(table, row);
  for (let i = 0; i < nameLength; i++) if (span[at + LOCAL_HEADER_SIZE + i] !== cd[name + i]) return -1;
  if ((flags & FLAG_DESCRIPTOR) === 0) {
    const localCompressed = u32(span, at + 18);
    const localSize = u32(span, at + 22);
    if (localCompressed !== 0xffffffff && localCompressed !== compressedSize) return -1;
    if (localSize !== 0xffffffff && localSize !== table.size[row]) return -1;
    if (u32(span, at + 14) !== rowCrc32(table, row)) return -1;
  }
  return dataOffset;
}

/**
 * Plans reading the entry's local header; returns where its data starts and how the header
 * disagrees with the central directory.
 * @throws CheckpointError `bad-archive` when there is no local header at the offset or the data
 *   would run past the end of the file.
 */
export function* readLocalHeader(size: number, entry: ZipEntry, file: string | undefined): ReadPlan<LocalHeader> {
  const length = localHeaderSpan(size, entry, file);
  const h: Uint8Array = yield { offset: entry.localHeaderOffset, length };
  return parseLocalHeader(h, 0, length, size, entry, file);
}

/**
 * {@link readLocalHeader} over bytes already in memory (`bytes` is the whole file), without a plan.
 * @throws CheckpointError as {@link readLocalHeader}.
 */
export function readLocalHeaderIn(bytes: Uint8Array, entry: ZipEntry, file: string | undefined): LocalHeader {
  const size = bytes.length;
  return parseLocalHeader(bytes, entry.localHeaderOffset, localHeaderSpan(size, entry, file), size, entry, file);
}

/**
 * Plans reading an entry's bytes once its data offset is known. Stored entries come back as the
 * source returned them (a view for in-memory sources); deflated ones are inflated into a buffer
 * of exactly the declared size.
 * @throws CheckpointError `unsupported` for methods other than stored and deflate; `bad-archive`
 *   when sizes disagree or the deflate stream is damaged; `limit-exceeded` past maxInflatedSize.
 */
export function* readEntryData(entry: ZipEntry, dataOffset: number, file: string | undefined, options: ReadEntryOptions = {}): ReadPlan<Uint8Array> {
  const where = { offset: dataOffset, entry: entry.name, ...(file === undefined ? {} : { file }) };
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.size) {
      throw new CheckpointError("bad-archive", `stored entry has ${entry.compressedSize} bytes but claims ${entry.size}`, where);
    }
    if (entry.size === 0) return new Uint8Array(0);
    return yield { offset: dataOffset, length: entry.size };
  }
  if (entry.method !== 8) {
    throw new CheckpointError("unsupported", `zip compression method ${entry.method} is not supported (only stored and deflate)`, where);
  }
  const max = options.maxInflatedSize ?? DEFAULT_MAX_INFLATED_SIZE;
  if (entry.size > max) {
    throw new CheckpointError("limit-exceeded", `entry inflates to ${entry.size} bytes; the limit is ${max}`, where);
  }
  if (entry.size > entry.compressedSize * MAX_DEFLATE_RATIO + 1024) {
    throw new CheckpointError("bad-archive", `entry claims ${entry.size} bytes from ${entry.compressedSize} deflated bytes, more than deflate can produce`, where);
  }
  const compressed: Uint8Array = entry.compressedSize === 0 ? new Uint8Array(0) : yield { offset: dataOffset, length: entry.compressedSize };
  if (entry.size === 0 && entry.compressedSize === 0) return new Uint8Array(0);
  // One spare byte reveals a stream that inflates to more than declared (fflate stops at the buffer's end).
  const out = new Uint8Array(entry.size + 1);
  let inflated: Uint8Array;
  try {
    inflated = inflateSync(compressed, { out });
  } catch (e) {
    throw new CheckpointError("bad-archive", `damaged deflate stream: ${e instanceof Error ? e.message : String(e)}`, { ...where, cause: e });
  }
  if (inflated.length !== entry.size) {
    const got = inflated.length > entry.size ? "more than" : `${inflated.length}, not`;
    throw new CheckpointError("bad-archive", `entry inflates to ${got} the ${entry.size} bytes it declares`, where);
  }
  return out.subarray(0, entry.size);
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}
