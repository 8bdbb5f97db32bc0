/**
 * CRC-32 checks of the zip records a reader uses. torch does not check them on load, so a flipped
 * bit in a storage loads as a wrong weight; a converter that rewrites the record with a fresh CRC
 * would make that damage undetectable. Records are streamed in bounded chunks (deflated ones
 * inflated as they stream), never held whole.
 */
import { Inflate } from "fflate";
import type { Crc32Fn } from "../../bytes/crc32.js";
import { crc32 as portableCrc32 } from "../../bytes/crc32.js";
import { CheckpointError, isTorchsaveError } from "../../errors.js";
import type { ZipArchive, ZipEntry } from "../../containers/zip/zip-reader.js";
import { entryDataOffsetSync, rowAtDataOffset, zipTable } from "../../containers/zip/zip-reader.js";
import { entryAt, rowCrc32, rowFlags, rowMethod, type ZipTable } from "../../containers/zip/zip-table.js";
import type { StorageLocation } from "../model.js";
import type { Checkpoint } from "./checkpoint.js";
import { TEXT_RECORDS } from "./zip-layout.js";
import { armRecordCrc, armZipRow } from "../record-crc.js";

/**
 * Which records {@link verifyRecordCrcsSync} checks: "all" every record the checkpoint refers to
 * (pickles, text records, every storage: what a converter reads), "metadata" only what opening
 * reads (pickles and text records), "none" nothing.
 */
export type CrcCheck = "all" | "metadata" | "none";

/** Options of {@link verifyRecordCrcsSync}. */
export interface VerifyCrcOptions {
  /** Which records; default "all". */
  readonly records?: CrcCheck;
  /** CRC-32 implementation (Node passes `zlib.crc32`); default the portable one. */
  readonly crc32?: Crc32Fn;
  /** Bytes per read from a random-access source; default 8 MiB. */
  readonly chunkBytes?: number;
}

const DEFAULT_CHUNK = 8 * 1024 * 1024;
const FLAG_ENCRYPTED = 1;

/**
 * Checks the CRC-32 of the zip records `checkpoint` uses against its central directory. Other
 * layouts carry no CRCs (gzip's is checked when inflating): nothing to do.
 * @throws CheckpointError `crc-mismatch` naming the record (`entry`) and, when the checkpoint was
 *   read with a `name`, the file; the zip reader's errors (`truncated`, `bad-archive`, `io`) when a
 *   record cannot be read.
 */
export function verifyRecordCrcsSync(checkpoint: Checkpoint, options: VerifyCrcOptions = {}): void {
  const which = options.records ?? "all";
  const zip = checkpoint.zip;
  if (which === "none" || zip === undefined) return;
  const crcFn = options.crc32 ?? portableCrc32;
  const chunk = options.chunkBytes ?? DEFAULT_CHUNK;
  for (const entry of recordsToCheck(checkpoint, zip, which)) verifyEntry(zip, entry, crcFn, chunk, checkpoint.source.name);
}

/** The entries to check, each once, in directory order. */
function recordsToCheck(checkpoint: Checkpoint, zip: ZipArchive, which: CrcCheck): ZipEntry[] {
  const wanted = new Set<ZipEntry>();
  for (const name of METADATA_RECORDS) {
    const e = zip.get(name);
    if (e !== undefined) wanted.add(e);
  }
  if (which === "all") {
    const table = zipTable(zip);
    let byName: Map<string, ZipEntry> | undefined;
    for (const s of checkpoint.storages) {
      const from = s.from ?? s.view?.root.from;
      if (from === undefined) continue;
      const row = table === undefined ? -1 : storageRow(zip, table, from);
      if (row >= 0) {
        wanted.add(entryAt(table!, row));
        continue;
      }
      byName ??= new Map(zip.entries.map((e) => [e.name, e] as const));
      const e = byName.get(from.record);
      if (e !== undefined) wanted.add(e);
    }
  }
  // The few metadata records are sorted; with storages, the directory order is walked once.
  const ordered = which === "all" ? zip.entries.filter((e) => wanted.has(e)) : [...wanted].sort((a, b) => a.centralHeaderOffset - b.centralHeaderOffset);
  return ordered.filter((e) => (e.flags & FLAG_ENCRYPTED) === 0 && (e.method === 0 || e.method === 8));
}

/** What opening reads: the text records and the pickles. */
const METADATA_RECORDS = [...TEXT_RECORDS, "data.pkl", "constants.pkl"];

/**
 * The directory row a storage's bytes were located in (found by where its data starts, with the
 * same length), or -1 when that does not find it (the caller then looks its record up by name).
 */
function storageRow(zip: ZipArchive, table: ZipTable, from: StorageLocation): number {
  if (from.source !== zip.source) return -1;
  const row = rowAtDataOffset(zip, from.offset);
  return row >= 0 && table.compressedSize[row] === from.length ? row : -1;
}

function verifyEntry(zip: ZipArchive, e: ZipEntry, crcFn: Crc32Fn, chunk: number, file: string | undefined): void {
  const where = { entry: e.name, ...(file === undefined ? {} : { file }) };
  let crc = 0;
  let total = 0;
  const emit = (bytes: Uint8Array): void => {
    crc = crcFn(bytes, crc) >>> 0;
    total += bytes.length;
  };
  try {
    const offset = entryDataOffsetSync(zip, e);
    if (e.method === 0) streamStored(zip, offset, e.compressedSize, chunk, emit);
    else streamDeflated(zip, offset, e, chunk, emit);
  } catch (err) {
    if (isTorchsaveError(err)) throw err.file === undefined && file !== undefined ? err.withLocation(where) : err;
    throw new CheckpointError("bad-archive", `record ${e.name} cannot be read to check its CRC-32: ${String(err)}`, { ...where, cause: err });
  }
  if (total !== e.size) {
    throw new CheckpointError("bad-archive", `record ${e.name} holds ${total} bytes; the central directory says ${e.size}`, where);
  }
  if (crc !== e.crc32 >>> 0) {
    throw new CheckpointError(
      "crc-mismatch",
      `the record is damaged: its ${total} bytes have CRC-32 0x${hex(crc)}, the central directory says 0x${hex(e.crc32)}` +
        " (--ignore-crc, or verifyCrc: \"none\", reads it anyway)",
      where,
    );
  }
}

const hex = (n: number): string => (n >>> 0).toString(16).padStart(8, "0");

function readAt(zip: ZipArchive, offset: number, n: number): Uint8Array {
  const src = zip.source;
  if (src.bytes !== undefined) {
    if (offset + n > src.bytes.length) throw new CheckpointError("truncated", `the file ends at byte ${src.bytes.length}, inside a record`, { offset });
    return src.bytes.subarray(offset, offset + n);
  }
  if (src.readSync === undefined) throw new CheckpointError("unsupported", "checking CRCs needs a source that reads synchronously");
  const got = src.readSync(offset, n);
  if (got.length !== n) throw new CheckpointError("truncated", `the file ends inside a record (wanted ${n} bytes at ${offset}, got ${got.length})`, { offset });
  return got;
}

function streamStored(zip: ZipArchive, offset: number, length: number, chunk: number, emit: (b: Uint8Array) => void): void {
  for (let pos = 0; pos < length; pos += chunk) emit(readAt(zip, offset + pos, Math.min(chunk, length - pos)));
}

function streamDeflated(zip: ZipArchive, offset: number, e: ZipEntry, chunk: number, emit: (b: Uint8Array) => void): void {
  let produced = 0;
  const inflater = new Inflate((out) => {
    produced += out.length;
    // Bounded: never inflate past the size the directory declares (plus one byte to notice).
    if (produced > e.size + 1) throw new CheckpointError("bad-archive", `record ${e.name} inflates past its declared ${e.size} bytes`, { entry: e.name });
    emit(out);
  });
  const length = e.compressedSize;
  if (length === 0) inflater.push(new Uint8Array(0), true);
  for (let pos = 0; pos < length; pos += chunk) {
    const n = Math.min(chunk, length - pos);
    try {
      inflater.push(readAt(zip, offset + pos, n), pos + n >= length);
    } catch (err) {
      if (isTorchsaveError(err)) throw err;
      throw new CheckpointError("bad-archive", `record ${e.name}: deflate stream is damaged`, { entry: e.name, cause: err });
    }
  }
}

/**
 * Checks the records opening reads now (as `records: "metadata"`), and arms every storage read
 * from a zip record with that record's CRC-32, so the storage is checked when its bytes are next
 * read (by `storageBytesSync`, `readStorageBytesSync`, `loadStorage`, or a writer: see
 * `torch/record-crc.ts`): the same guarantee as `records: "all"` for a reader that reads every
 * storage once, without reading each twice. A storage never read is never checked.
 * @throws as {@link verifyRecordCrcsSync} for the metadata records.
 */
export function verifyRecordCrcsAsRead(checkpoint: Checkpoint, options: Omit<VerifyCrcOptions, "records"> = {}): void {
  verifyRecordCrcsSync(checkpoint, { ...options, records: "metadata" });
  const zip = checkpoint.zip;
  if (zip === undefined) return;
  const crc32 = options.crc32 ?? portableCrc32;
  const file = checkpoint.source.name;
  const table = zipTable(zip);
  // Rows are found by where each storage's data starts: no entry objects, no map of 100,000 names.
  let byName: Map<string, ZipEntry> | undefined;
  for (const s of checkpoint.storages) {
    const from = s.from;
    if (from === undefined) continue;
    const row = table === undefined ? -1 : storageRow(zip, table, from);
    if (row >= 0) {
      const method = rowMethod(table!, row);
      if ((rowFlags(table!, row) & FLAG_ENCRYPTED) !== 0 || (method !== 0 && method !== 8)) continue;
      if (!armZipRow(zip, table!, row, crc32, file)) armRecordCrc(s, rowCrc32(table!, row), table!.size[row]!, crc32, file);
      continue;
    }
    byName ??= new Map(zip.entries.map((e) => [e.name, e] as const));
    const e = byName.get(from.record);
    if (e === undefined || (e.flags & FLAG_ENCRYPTED) !== 0 || (e.method !== 0 && e.method !== 8)) continue;
    armRecordCrc(s, e.crc32, e.size, crc32, file);
  }
}
