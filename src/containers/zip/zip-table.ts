/**
 * The central directory as typed columns, one row per entry, with no object per entry: a torch
 * checkpoint has one record per storage, so an optimizer's state alone can list 100,000 entries.
 * {@link ZipEntry} objects are built only when asked for (`zip.get`, `zip.entries`), once each.
 * Fields with fixed places in a central header (flags, method, CRC, name) are read from the
 * directory's bytes; the zip64-resolved sizes and offsets have columns of their own.
 */
import { decodeLatin1 } from "../../bytes/text.js";
import type { ZipEntry } from "./zip-reader.js";

/** Size of a central header's fixed part (before the name, extra field and comment). */
export const CENTRAL_HEADER_SIZE = 46;

export interface ZipTable {
  /** The central directory's bytes. */
  readonly cd: Uint8Array;
  /** Where the central directory starts in the file. */
  readonly cdOffset: number;
  /** Rows filled so far (all of them once the directory is read). */
  count: number;
  /** Each entry's central header, as a position in `cd`. */
  readonly header: Uint32Array;
  readonly localHeaderOffset: Float64Array;
  readonly compressedSize: Float64Array;
  readonly size: Float64Array;
  /** Names that differ from their bytes read as latin-1 (UTF-8 flagged, non-ASCII), by row. */
  readonly names: Map<number, string>;
  /** Entries built so far, by row: each is built once, so lookups return the same object. */
  readonly built: (ZipEntry | undefined)[];
  /** Every entry, once someone asked for the whole list. */
  all: ZipEntry[] | undefined;
}

export function createZipTable(cd: Uint8Array, cdOffset: number, capacity: number): ZipTable {
  return {
    cd, cdOffset, count: 0,
    header: new Uint32Array(capacity),
    localHeaderOffset: new Float64Array(capacity),
    compressedSize: new Float64Array(capacity),
    size: new Float64Array(capacity),
    names: new Map(),
    built: [],
    all: undefined,
  };
}

/** Little-endian u16 at `at` (callers check bounds). */
export function u16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}
/** Little-endian u32 at `at` (callers check bounds). */
export function u32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

export const rowFlags = (t: ZipTable, i: number): number => u16(t.cd, t.header[i]! + 8);
export const rowMethod = (t: ZipTable, i: number): number => u16(t.cd, t.header[i]! + 10);
export const rowCrc32 = (t: ZipTable, i: number): number => u32(t.cd, t.header[i]! + 16);
export const rowNameStart = (t: ZipTable, i: number): number => t.header[i]! + CENTRAL_HEADER_SIZE;
export const rowNameLength = (t: ZipTable, i: number): number => u16(t.cd, t.header[i]! + 28);

/** The entry's name: UTF-8 decoded when flagged so (kept in `names`), else its bytes as latin-1. */
export function rowName(t: ZipTable, i: number): string {
  const start = rowNameStart(t, i);
  return t.names.get(i) ?? decodeLatin1(t.cd.subarray(start, start + rowNameLength(t, i)));
}

/** The row's central header offset in the file. */
export const rowHeaderOffset = (t: ZipTable, i: number): number => t.cdOffset + t.header[i]!;

/** The entry in row `i`, built on first use. */
export function entryAt(t: ZipTable, i: number): ZipEntry {
  const known = t.built[i];
  if (known !== undefined) return known;
  const start = rowNameStart(t, i);
  const entry: ZipEntry = {
    name: rowName(t, i),
    nameBytes: t.cd.subarray(start, start + rowNameLength(t, i)),
    method: rowMethod(t, i),
    flags: rowFlags(t, i),
    crc32: rowCrc32(t, i),
    compressedSize: t.compressedSize[i]!,
    size: t.size[i]!,
    localHeaderOffset: t.localHeaderOffset[i]!,
    centralHeaderOffset: rowHeaderOffset(t, i),
  };
  t.built[i] = entry;
  return entry;
}

/** Every entry in directory order (built once, then shared). */
export function allEntries(t: ZipTable): ZipEntry[] {
  if (t.all === undefined) {
    const all: ZipEntry[] = new Array(t.count);
    for (let i = 0; i < t.count; i++) all[i] = entryAt(t, i);
    t.all = all;
  }
  return t.all;
}

/** The row whose central header is at `centralHeaderOffset` (rows are in offset order), or -1. */
export function rowAtHeaderOffset(t: ZipTable, centralHeaderOffset: number): number {
  const target = centralHeaderOffset - t.cdOffset;
  let lo = 0;
  let hi = t.count - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const at = t.header[mid]!;
    if (at === target) return mid;
    if (at < target) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** True when row `i`'s name starts with `prefix` (raw bytes). */
export function rowNameStartsWith(t: ZipTable, i: number, prefix: Uint8Array): boolean {
  const start = rowNameStart(t, i);
  if (rowNameLength(t, i) < prefix.length) return false;
  for (let k = 0; k < prefix.length; k++) if (t.cd[start + k] !== prefix[k]) return false;
  return true;
}
