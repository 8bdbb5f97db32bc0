/**
 * Reads a zip's directory the way torch's miniz does: find the end record in the last 64 KiB,
 * follow the zip64 locator, read the central directory in one piece, and index its entries.
 * Written as a {@link ReadPlan} so the sync and async openers share it. Irregularities that
 * torch tolerates (and several it does not) become quirks; only a directory that cannot be
 * followed throws.
 */
import type { ReadPlan } from "../../bytes/source.js";
import { decodeUtf8 } from "../../bytes/text.js";
import { CheckpointError } from "../../errors.js";
import { createQuirkSink, type QuirkSink } from "./zip-quirks.js";
import { createNameIndex, findName, indexName, NAME_NON_ASCII, NAME_UPPER, nameFlagsAt, nameKey } from "./zip-names.js";
import { CENTRAL_HEADER_SIZE, createZipTable, rowHeaderOffset, rowName, rowNameStartsWith, u16, u32, type ZipTable } from "./zip-table.js";
import { SIG_CENTRAL, SIG_EOCD, SIG_EOCD64, SIG_EOCD64_LOCATOR, LOCAL_HEADER_SIZE, LOCAL_SIGNATURE_BYTES, EOCD_SIZE, EOCD64_SIZE, LOCATOR_SIZE, MAX_COMMENT, U32_MAX, U16_MAX, FLAG_ENCRYPTED, FLAG_PATCH, FLAG_STRONG, FLAG_UTF8, FLAG_MASKED, KNOWN_FLAGS, QUIET_FLAGS } from "./zip-format.js";
export { SIG_LOCAL, LOCAL_HEADER_SIZE, FLAG_DESCRIPTOR } from "./zip-format.js";

/** Limits for opening a zip; every field is optional. */
export interface ZipOpenOptions {
  /** Most entries accepted. Default {@link DEFAULT_MAX_ZIP_ENTRIES}. */
  readonly maxEntries?: number;
  /** Largest central directory read, in bytes. Default {@link DEFAULT_MAX_DIRECTORY_BYTES}. */
  readonly maxDirectoryBytes?: number;
}

/** Default {@link ZipOpenOptions.maxEntries}: 1,000,000 entries. */
export const DEFAULT_MAX_ZIP_ENTRIES = 1_000_000;
/** Default {@link ZipOpenOptions.maxDirectoryBytes}: 256 MiB. */
export const DEFAULT_MAX_DIRECTORY_BYTES = 256 * 1024 * 1024;


/** What the directory pass learns; the archive object is built from it. */
export interface ZipDirectory {
  /** The entries, as columns (see zip-table.ts). */
  readonly table: ZipTable;
  readonly quirks: QuirkSink;
  readonly zip64: boolean;
  readonly eocdOffset: number;
  readonly centralDirectoryOffset: number;
  readonly centralDirectorySize: number;
  /** The archive folder with its slash ("archive/"), or "" when the first entry has no folder. */
  readonly prefix: string;
  /** Raw-byte key (latin-1 of the name bytes) of the prefix, for byte-exact lookups. */
  readonly prefixKey: string;
  /** The prefix's raw bytes. */
  readonly prefixBytes: Uint8Array;
  /**
   * The row of the first entry (in directory order) whose raw-byte key is `prefixKey + rest`, else
   * of the first whose key equals it with ASCII letters lowered on both sides (miniz compares names
   * that way); -1 when none does. `rest` is a raw-byte key (latin-1 of the record's bytes).
   */
  readonly find: (rest: string) => number;
}

/** Little-endian u64; beyond 2^53 it comes back imprecise but still larger than any file. */
function u64(b: Uint8Array, at: number): number {
  return u32(b, at + 4) * 0x1_0000_0000 + u32(b, at);
}

/**
 * Plans the directory read for a source of `size` bytes.
 * @throws CheckpointError `truncated` when the file starts like a zip but its end record is
 *   missing (cut short); `bad-archive` when the end record, zip64 records or central directory
 *   are damaged; `limit-exceeded` past the options' limits.
 */
export function* readDirectory(size: number, file: string | undefined, options: ZipOpenOptions = {}): ReadPlan<ZipDirectory> {
  const where = file === undefined ? {} : { file };
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ZIP_ENTRIES;
  const maxDirectoryBytes = options.maxDirectoryBytes ?? DEFAULT_MAX_DIRECTORY_BYTES;
  const quirks = createQuirkSink();
  const bad = (reason: string, offset: number, entry?: string): CheckpointError =>
    new CheckpointError("bad-archive", reason, { offset, ...where, ...(entry === undefined ? {} : { entry }) });

  // 1. The end record: the last signature with a full record after it, in the last 64 KiB + 22.
  const tailLength = Math.min(size, MAX_COMMENT + EOCD_SIZE);
  const tailStart = size - tailLength;
  const tail: Uint8Array = tailLength === 0 ? new Uint8Array(0) : yield { offset: tailStart, length: tailLength };
  let at = -1;
  for (let i = tailLength - EOCD_SIZE; i >= 0; i--) {
    if (tail[i] === 0x50 && tail[i + 1] === 0x4b && u32(tail, i) === SIG_EOCD) {
      at = i;
      break;
    }
  }
  if (at < 0) {
    // A file that starts like a local header (or is a prefix of one) lost its end: it was cut short.
    const headLength = Math.min(size, 4);
    const head: Uint8Array = headLength === 0 ? new Uint8Array(0) : yield { offset: 0, length: headLength };
    if (head.every((b, i) => b === LOCAL_SIGNATURE_BYTES[i])) {
      throw new CheckpointError("truncated", "zip archive has no end of central directory record: the file is cut short", { offset: size, ...where });
    }
    throw bad("no end of central directory record in the last 64 KiB: not a zip archive", tailStart);
  }
  const eocdOffset = tailStart + at;
  const disk = u16(tail, at + 4);
  const cdDisk = u16(tail, at + 6);
  const entriesOnDisk16 = u16(tail, at + 8);
  const total16 = u16(tail, at + 10);
  const cdSize32 = u32(tail, at + 12);
  const cdOffset32 = u32(tail, at + 16);
  const commentLength = u16(tail, at + 20);
  if (commentLength > 0) quirks.add("comment", `archive comment of ${commentLength} bytes`, eocdOffset + EOCD_SIZE);
  const archiveEnd = eocdOffset + EOCD_SIZE + commentLength;
  if (archiveEnd < size) {
    quirks.add("data-after-archive", `${size - archiveEnd} bytes follow the end of central directory record`, archiveEnd);
  } else if (archiveEnd > size) {
    quirks.add("comment-length-mismatch", `comment declares ${commentLength} bytes, ${size - eocdOffset - EOCD_SIZE} remain`, eocdOffset + 20);
  }

  // 2. Zip64: a locator right before the end record points at the zip64 end record.
  let zip64 = false;
  let total = total16;
  let entriesOnDisk = entriesOnDisk16;
  let cdSize = cdSize32;
  let cdOffset = cdOffset32;
  let thisDisk = disk;
  let cdStartDisk = cdDisk;
  let directoryEnd = eocdOffset;
  if (eocdOffset >= LOCATOR_SIZE + EOCD64_SIZE) {
    const loc: Uint8Array = yield { offset: eocdOffset - LOCATOR_SIZE, length: LOCATOR_SIZE };
    if (u32(loc, 0) === SIG_EOCD64_LOCATOR) {
      const eocd64Offset = u64(loc, 8);
      const totalDisks = u32(loc, 16);
      if (eocd64Offset > size - EOCD64_SIZE) {
        throw bad(`zip64 locator points at ${eocd64Offset}, past the end of the file`, eocdOffset - LOCATOR_SIZE);
      }
      const rec: Uint8Array = yield { offset: eocd64Offset, length: EOCD64_SIZE };
      if (u32(rec, 0) !== SIG_EOCD64) {
        quirks.add("zip64-locator-invalid", `zip64 locator points at ${eocd64Offset}, which holds no zip64 end record`, eocdOffset - LOCATOR_SIZE);
      } else {
        zip64 = true;
        if (u64(rec, 4) < EOCD64_SIZE - 12) throw bad("zip64 end record declares a size below its fixed fields", eocd64Offset);
        if (totalDisks !== 1) quirks.add("multi-disk", `zip64 locator says ${totalDisks} disks`, eocdOffset - LOCATOR_SIZE);
        thisDisk = u32(rec, 16);
        cdStartDisk = u32(rec, 20);
        entriesOnDisk = u64(rec, 24);
        total = u64(rec, 32);
        cdSize = u64(rec, 40);
        cdOffset = u64(rec, 48);
        directoryEnd = eocd64Offset;
        if ((total16 !== U16_MAX && total16 !== total) || (cdSize32 !== U32_MAX && cdSize32 !== cdSize) || (cdOffset32 !== U32_MAX && cdOffset32 !== cdOffset)) {
          quirks.add("zip64-eocd-mismatch", "zip64 end record disagrees with the classic one; using the zip64 values", eocd64Offset);
        }
      }
    }
  }

  // 3. Sanity of the directory's extent, as miniz checks it.
  if (total !== entriesOnDisk) {
    quirks.add("eocd-count-mismatch", `${entriesOnDisk} entries on this disk but ${total} in total`, eocdOffset);
  }
  if ((thisDisk | cdStartDisk) !== 0 && (thisDisk !== 1 || cdStartDisk !== 1)) {
    quirks.add("multi-disk", `disk ${thisDisk}, central directory starts on disk ${cdStartDisk}`, eocdOffset);
  }
  // Extent first: a damaged count is "bad-archive"; only a plausible one can exceed the limit.
  if (cdSize < total * CENTRAL_HEADER_SIZE) throw bad(`central directory of ${cdSize} bytes cannot hold ${total} entries`, eocdOffset);
  if (cdOffset > size || cdSize > size - cdOffset) {
    throw bad(`central directory at ${cdOffset} (${cdSize} bytes) runs past the end of the ${size}-byte file`, eocdOffset);
  }
  if (total > maxEntries) {
    throw new CheckpointError("limit-exceeded", `zip archive lists ${total} entries; the limit is ${maxEntries}`, { offset: eocdOffset, ...where });
  }
  if (cdSize > maxDirectoryBytes) {
    throw new CheckpointError("limit-exceeded", `central directory of ${cdSize} bytes exceeds the limit of ${maxDirectoryBytes}`, { offset: cdOffset, ...where });
  }
  const cdEnd = cdOffset + cdSize;
  if (cdEnd < directoryEnd) quirks.add("directory-gap", `${directoryEnd - cdEnd} bytes between the central directory and the end record`, cdEnd);
  else if (cdEnd > directoryEnd) quirks.add("directory-overlap", "the central directory runs into the end record", directoryEnd);

  // 4. The central directory, one header after another. Names are indexed as they are read, by
  // the part after the archive folder (which the first entry names): lookups then need no string
  // building, and the folder is compared as bytes.
  const cd: Uint8Array = cdSize === 0 ? new Uint8Array(0) : yield { offset: cdOffset, length: cdSize };
  // The per-entry work runs in a plain function: generators are not optimised mid-loop.
  return indexDirectory(cd, { size, total, cdOffset, cdSize, thisDisk, eocdOffset, zip64, quirks, bad });
}

/** What {@link indexDirectory} needs from the end records. */
interface DirectoryExtent {
  readonly size: number;
  readonly total: number;
  readonly cdOffset: number;
  readonly cdSize: number;
  readonly thisDisk: number;
  readonly eocdOffset: number;
  readonly zip64: boolean;
  readonly quirks: QuirkSink;
  readonly bad: (reason: string, offset: number, entry?: string) => CheckpointError;
}

/** Steps 4-6 over the central directory's bytes `cd`: columns per entry, no object per entry. */
function indexDirectory(cd: Uint8Array, extent: DirectoryExtent): ZipDirectory {
  const { size, total, cdOffset, cdSize, thisDisk, eocdOffset, zip64, quirks, bad } = extent;
  const cdEnd = cdOffset + cdSize;
  const table = createZipTable(cd, cdOffset, total);
  const names = createNameIndex(cd, total);
  const clashes: NameClash[] = [];
  // A quirk names its entry; the name is decoded only then.
  const nameOf = (i: number): string => rowName(table, i);
  let prefixBytes: Uint8Array = new Uint8Array(0);
  let outside = false;
  let p = 0;
  for (let i = 0; i < total; i++) {
    const headerOffset = cdOffset + p;
    if (cdSize - p < CENTRAL_HEADER_SIZE || u32(cd, p) !== SIG_CENTRAL) {
      throw bad(`central directory header ${i} of ${total} is missing or damaged`, headerOffset);
    }
    const nameLength = u16(cd, p + 28);
    const extraLength = u16(cd, p + 30);
    const commentLen = u16(cd, p + 32);
    const headerSize = CENTRAL_HEADER_SIZE + nameLength + extraLength + commentLen;
    if (headerSize > cdSize - p) throw bad(`central directory header ${i} runs past the directory`, headerOffset);
    const flags = u16(cd, p + 8);
    const method = u16(cd, p + 10);
    const nameStart = p + CENTRAL_HEADER_SIZE;
    const nameEnd = nameStart + nameLength;
    table.header[i] = p;
    table.count = i + 1;
    // The archive folder: the first entry's name up to its first "/", as torch takes it.
    if (i === 0) prefixBytes = cd.subarray(nameStart, nameStart + cd.subarray(nameStart, nameEnd).indexOf(0x2f) + 1);
    if (!outside && !startsWithAt(cd, nameStart, nameEnd, prefixBytes)) outside = true;
    const nameFlags = nameFlagsAt(cd, nameStart, nameEnd);
    if ((nameFlags & NAME_NON_ASCII) !== 0 && (flags & FLAG_UTF8) !== 0) {
      const name = decodeName(cd.subarray(nameStart, nameEnd), quirks, headerOffset);
      if (name !== undefined) table.names.set(i, name);
    }
    let compressedSize = u32(cd, p + 20);
    let size_ = u32(cd, p + 24);
    let localHeaderOffset = u32(cd, p + 42);
    let diskStart = u16(cd, p + 34);

    if (compressedSize === U32_MAX || size_ === U32_MAX || localHeaderOffset === U32_MAX) {
      // Zip64 extended information (id 1): only the sentinel fields are present, in this order.
      const extra = cd.subarray(nameEnd, nameEnd + extraLength);
      const z = findExtraField(extra, 0x0001);
      if (z === "damaged") throw bad("damaged extra field in a zip64 entry", headerOffset, nameOf(i));
      if (z !== undefined) {
        let q = 0;
        const take = (what: string): number => {
          if (z.length - q < 8) throw bad(`zip64 extra field lacks the ${what}`, headerOffset, nameOf(i));
          const v = u64(z, q);
          q += 8;
          return v;
        };
        if (size_ === U32_MAX) size_ = take("uncompressed size");
        if (compressedSize === U32_MAX) compressedSize = take("compressed size");
        if (localHeaderOffset === U32_MAX) localHeaderOffset = take("local header offset");
        if (diskStart === U16_MAX && z.length - q >= 4) diskStart = u32(z, q);
      }
    }
    table.compressedSize[i] = compressedSize;
    table.size[i] = size_;
    table.localHeaderOffset[i] = localHeaderOffset;

    if (diskStart === U16_MAX || (diskStart !== thisDisk && diskStart !== 1)) {
      quirks.add("multi-disk", `entry starts on disk ${diskStart}`, headerOffset, nameOf(i));
    }
    if (localHeaderOffset > size || LOCAL_HEADER_SIZE + compressedSize > size - localHeaderOffset) {
      throw bad(`entry at ${localHeaderOffset} (${compressedSize} bytes) runs past the end of the ${size}-byte file`, headerOffset, nameOf(i));
    }
    if ((flags & ~QUIET_FLAGS) !== 0) checkFlags(flags, quirks, headerOffset, nameOf(i));
    if (method === 8) quirks.add("compressed-entry", "entry is deflated", headerOffset, nameOf(i));
    else if (method !== 0) quirks.add("unsupported-method", `compression method ${method}`, headerOffset, nameOf(i));
    if (method === 0 && compressedSize !== size_) {
      quirks.add("stored-size-mismatch", `stored entry has ${compressedSize} bytes but claims ${size_}`, headerOffset, nameOf(i));
    }
    if (size_ > 0 && compressedSize === 0) {
      quirks.add("missing-compressed-data", `entry claims ${size_} bytes from no compressed bytes`, headerOffset, nameOf(i));
    }
    if (commentLen > 0) quirks.add("entry-comment", `entry comment of ${commentLen} bytes`, headerOffset, nameOf(i));

    p += headerSize;
    const clash = indexName(names, i, nameStart, nameLength, (nameFlags & NAME_UPPER) !== 0);
    if (clash !== undefined) clashes.push({ row: i, duplicate: clash === "duplicate" });
  }

  // 5. Names: duplicates and case collisions (recorded after every entry's own quirks, in
  // directory order), then the archive folder from the first entry, as torch takes it.
  for (const { row, duplicate } of clashes) {
    const name = nameOf(row);
    if (duplicate) quirks.add("duplicate-name", `name ${JSON.stringify(name)} appears more than once`, rowHeaderOffset(table, row), name);
    else quirks.add("case-duplicate", `name ${JSON.stringify(name)} differs from another only in case`, rowHeaderOffset(table, row), name);
  }
  let prefix = "";
  if (total === 0) {
    quirks.add("empty-archive", "the archive has no entries", eocdOffset);
  } else if (prefixBytes.length === 0) {
    quirks.add("no-prefix", `first entry ${JSON.stringify(nameOf(0))} is not inside a folder`, rowHeaderOffset(table, 0), nameOf(0));
  } else {
    // The folder name ends at the first "/", which is the same character in latin-1 and UTF-8.
    const first = nameOf(0);
    prefix = first.slice(0, first.indexOf("/") + 1);
    if (outside) {
      for (let i = 0; i < total; i++) {
        if (!rowNameStartsWith(table, i, prefixBytes)) {
          quirks.add("prefix-mismatch", `entry is outside the archive folder ${JSON.stringify(prefix)}`, rowHeaderOffset(table, i), nameOf(i));
        }
      }
    }
  }
  const prefixKey = nameKey(prefixBytes);
  const find = (rest: string): number => findName(names, prefixBytes, rest);

  // 6. Layout known from the directory alone: leading bytes and overlaps (each entry spans at
  // least its fixed local header and its compressed bytes). Writers lay entries out in directory
  // order, so sorting is usually not needed.
  const order = rowsByLocalOffset(table);
  const starts = table.localHeaderOffset;
  if (total > 0 && starts[order(0)]! > 0) {
    quirks.add("data-before-archive", `${starts[order(0)]} bytes precede the first local header`, 0);
  }
  for (let k = 0; k < total; k++) {
    const i = order(k);
    const end = starts[i]! + LOCAL_HEADER_SIZE + table.compressedSize[i]!;
    if (k + 1 < total && starts[order(k + 1)]! < end) {
      quirks.add("overlapping-entries", `entry overlaps ${JSON.stringify(nameOf(order(k + 1)))} at ${starts[order(k + 1)]}`, starts[i]!, nameOf(i));
    }
    if (starts[i]! < cdEnd && end > cdOffset) {
      quirks.add("overlapping-entries", "entry overlaps the central directory", starts[i]!, nameOf(i));
    }
  }

  return {
    table, quirks, zip64, eocdOffset, centralDirectoryOffset: cdOffset, centralDirectorySize: cdSize,
    prefix, prefixKey, prefixBytes, find,
  };
}

/** True when `bytes[start..end)` begins with `prefix`. */
function startsWithAt(bytes: Uint8Array, start: number, end: number, prefix: Uint8Array): boolean {
  if (end - start < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[start + i] !== prefix[i]) return false;
  return true;
}

/** A name that repeats an earlier one exactly (`duplicate`) or up to ASCII case. */
interface NameClash {
  readonly row: number;
  readonly duplicate: boolean;
}

/** Rows in local header order, as a lookup `k -> row`: the identity when writers kept directory order. */
function rowsByLocalOffset(table: ZipTable): (k: number) => number {
  const starts = table.localHeaderOffset;
  let sorted = true;
  for (let i = 1; i < table.count && sorted; i++) sorted = starts[i - 1]! <= starts[i]!;
  if (sorted) return (k) => k;
  const rows = Int32Array.from({ length: table.count }, (_, i) => i).sort((a, b) => starts[a]! - starts[b]! || a - b);
  return (k) => rows[k]!;
}

/**
 * A UTF-8 flagged, non-ASCII name decoded as UTF-8; undefined (the name stays latin-1) when it
 * is not valid UTF-8, which is a quirk.
 */
function decodeName(bytes: Uint8Array, quirks: QuirkSink, offset: number): string | undefined {
  try {
    return decodeUtf8(bytes);
  } catch {
    quirks.add("invalid-utf8-name", "name is flagged UTF-8 but is not valid UTF-8", offset, nameKey(bytes));
    return undefined;
  }
}

function checkFlags(flags: number, quirks: QuirkSink, offset: number, name: string): void {
  if (flags & FLAG_ENCRYPTED) quirks.add("encrypted-flag", "entry is flagged encrypted (bit 0)", offset, name);
  if (flags & FLAG_STRONG) quirks.add("strong-encryption-flag", "entry is flagged strongly encrypted (bit 6)", offset, name);
  if (flags & FLAG_PATCH) quirks.add("patch-flag", "entry is flagged as compressed patch data (bit 5)", offset, name);
  if (flags & FLAG_MASKED) quirks.add("masked-local-header", "entry's local header is flagged masked (bit 13)", offset, name);
  if (flags & ~KNOWN_FLAGS) quirks.add("unknown-flags", `reserved flag bits 0x${(flags & ~KNOWN_FLAGS).toString(16)} are set`, offset, name);
}

/** The body of the first extra field with this id, undefined when absent, "damaged" when the fields overrun. */
function findExtraField(extra: Uint8Array, id: number): Uint8Array | undefined | "damaged" {
  let p = 0;
  while (p < extra.length) {
    if (extra.length - p < 4) return "damaged";
    const fieldId = u16(extra, p);
    const length = u16(extra, p + 2);
    if (length > extra.length - p - 4) return "damaged";
    if (fieldId === id) return extra.subarray(p + 4, p + 4 + length);
    p += 4 + length;
  }
  return undefined;
}
