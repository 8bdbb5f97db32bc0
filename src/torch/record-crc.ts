/**
 * CRC-32 checks of storage records done while the bytes are read for another purpose (converting,
 * writing), instead of in a pass of their own before: each storage's bytes are read once. A
 * storage is "armed" with the CRC its zip record should have (done by `verifyRecordCrcsAsRead`
 * in read/verify-crc.ts); whichever reader next reads its record checks it, and a writer that
 * copies the record unchanged compares the CRC it computes for its own output
 * (`confirmRecordCrc`), so the check costs nothing more. A checked storage is disarmed.
 *
 * Arming is usually per directory row (`armZipRows`): one byte per row, and the storage finds its
 * row by where its data starts in the source (a binary search), so a checkpoint of 100,000
 * storages arms without an object or a map entry per storage. A storage whose row is not found
 * that way is armed on its own (`armRecordCrc`). Storages located in the same record of the same
 * source share that record's check.
 */
import type { Crc32Fn } from "../bytes/crc32.js";
import type { ByteSource } from "../bytes/source.js";
import { rowAtDataOffset } from "../containers/zip/zip-reader.js";
import type { ZipArchive } from "../containers/zip/zip-reader.js";
import { rowCrc32, type ZipTable } from "../containers/zip/zip-table.js";
import { CheckpointError } from "../errors.js";
import type { Storage } from "./model.js";

/** What a storage's record must hold: its uncompressed size and CRC-32, as the central directory says. */
export interface RecordCrcCheck {
  readonly expected: number;
  readonly size: number;
  readonly crc32: Crc32Fn;
  /** The input file, for the error. */
  readonly file: string | undefined;
}

/** Rows of one archive armed for checks: `armed[row]` is 1 while the row's check is owed. */
interface ArmedRows {
  readonly zip: ZipArchive;
  readonly table: ZipTable;
  readonly armed: Uint8Array;
  readonly crc32: Crc32Fn;
  readonly file: string | undefined;
}

/** A check as this module keeps it: where it is armed (`rows` and `row`, or on the storage itself when `rows` is undefined). */
interface OwedCheck extends RecordCrcCheck {
  readonly rows: ArmedRows | undefined;
  readonly row: number;
}

const armed = new WeakMap<Storage, OwedCheck>();
const armedRows = new WeakMap<ByteSource, ArmedRows>();

/** Arms `storage` on its own: the next read of its record checks that its `size` bytes have CRC-32 `expected`. */
export function armRecordCrc(storage: Storage, expected: number, size: number, crc32: Crc32Fn, file: string | undefined): void {
  armed.set(storage, { expected, size, crc32, file, rows: undefined, row: -1 });
}

/**
 * Arms directory row `row` of `zip` (whose `table` it is): the next read of a storage whose bytes
 * were located there (`rowAtDataOffset` finds the row) checks the row's CRC-32 and size. The
 * caller checks the row is the storage's (same data offset and length) and is not encrypted.
 * Returns false, arming nothing, when `zip`'s source already has rows armed for another archive
 * or other options: the caller then arms the storage on its own.
 */
export function armZipRow(zip: ZipArchive, table: ZipTable, row: number, crc32: Crc32Fn, file: string | undefined): boolean {
  let rows = armedRows.get(zip.source);
  if (rows === undefined) {
    rows = { zip, table, armed: new Uint8Array(table.count), crc32, file };
    armedRows.set(zip.source, rows);
  } else if (rows.zip !== zip || rows.crc32 !== crc32 || rows.file !== file) {
    return false;
  }
  rows.armed[row] = 1;
  return true;
}

/** The check owed for `storage`'s record: its own, else its armed row's (found by where its data starts). */
function owed(storage: Storage): OwedCheck | undefined {
  const own = armed.get(storage);
  if (own !== undefined) return own;
  const from = storage.from;
  if (from === undefined) return undefined;
  const rows = armedRows.get(from.source);
  if (rows === undefined) return undefined;
  const row = rowAtDataOffset(rows.zip, from.offset);
  const table = rows.table;
  if (row < 0 || rows.armed[row] !== 1 || table.compressedSize[row] !== from.length) return undefined;
  return { expected: rowCrc32(table, row), size: table.size[row]!, crc32: rows.crc32, file: rows.file, rows, row };
}

/** The check still owed for `storage`'s record (undefined when none). */
export function pendingRecordCrc(storage: Storage): RecordCrcCheck | undefined {
  return owed(storage);
}

/** Drops `check`, owed for `storage`'s record. */
function disarm(storage: Storage, check: OwedCheck): void {
  if (check.rows === undefined) armed.delete(storage);
  else check.rows.armed[check.row] = 0;
}

/**
 * Checks an armed storage whose bytes are in memory (an in-memory input's zero-copy view, or
 * bytes loaded before it was armed): over the record in the source when it is stored there, else
 * over `storage.data` when that is the whole record. Nothing to do when no check is owed.
 * @throws as {@link checkRecordCrc}.
 */
export function checkRecordInMemory(storage: Storage): void {
  const check = owed(storage);
  if (check === undefined) return;
  const from = storage.from;
  const whole = from?.source.bytes;
  let bytes: Uint8Array | undefined;
  if (from !== undefined && from.compression === "none" && whole !== undefined) bytes = whole.subarray(from.offset, from.offset + from.length);
  else if (storage.data !== undefined && storage.data.length === check.size) bytes = storage.data;
  if (bytes === undefined) {
    disarm(storage, check); // bytes from elsewhere: no record to check them against
    return;
  }
  settle(storage, check, bytes.length === 0 ? 0 : check.crc32(bytes, 0), bytes.length);
}

/**
 * True when the bytes a writer writes for `storage` are exactly its record's (same length, no
 * byte swap): the writer's CRC of its output is then the record's CRC.
 */
export function writesRecordAsIs(storage: Storage, check: RecordCrcCheck, swapped: boolean): boolean {
  return !swapped && storage.byteLength === check.size;
}

/**
 * Compares the CRC-32 computed over `size` bytes of `storage`'s record with the directory's, and
 * disarms it.
 * @throws CheckpointError `crc-mismatch` (the record is damaged) or `bad-archive` (its length is not the declared one).
 */
export function checkRecordCrc(storage: Storage, crc: number, size: number): void {
  const check = owed(storage);
  if (check !== undefined) settle(storage, check, crc, size);
}

/** {@link checkRecordCrc} of the check `owed` found. */
function settle(storage: Storage, check: OwedCheck, crc: number, size: number): void {
  disarm(storage, check);
  if (size === check.size && crc >>> 0 === check.expected >>> 0) return;
  const where = { ...(storage.from === undefined ? {} : { entry: storage.from.record }), ...(check.file === undefined ? {} : { file: check.file }) };
  if (size !== check.size) {
    throw new CheckpointError("bad-archive", `record ${where.entry ?? storage.key} holds ${size} bytes; the central directory says ${check.size}`, where);
  }
  if (crc >>> 0 !== check.expected >>> 0) {
    throw new CheckpointError(
      "crc-mismatch",
      `the record is damaged: its ${size} bytes have CRC-32 0x${hex(crc)}, the central directory says 0x${hex(check.expected)}` +
        " (--ignore-crc, or verifyCrc: \"none\", reads it anyway)",
      where,
    );
  }
}

/** A writer wrote `storage` and computed `crc` over what it wrote: that is the record's CRC when it wrote the record as is. */
export function confirmRecordCrc(storage: Storage, crc: number, swapped: boolean): void {
  const check = pendingRecordCrc(storage);
  if (check !== undefined && writesRecordAsIs(storage, check, swapped)) checkRecordCrc(storage, crc, storage.byteLength);
}

/**
 * A running CRC-32 over a record's bytes as they are read in order: `push` each piece, `end`
 * compares. Undefined when no check is owed.
 */
export function recordCrcStream(storage: Storage): { push(bytes: Uint8Array): void; end(): void } | undefined {
  const check = pendingRecordCrc(storage);
  if (check === undefined) return undefined;
  let crc = 0;
  let size = 0;
  return {
    push(bytes) {
      if (bytes.length === 0) return;
      crc = check.crc32(bytes, crc) >>> 0;
      size += bytes.length;
    },
    end: () => checkRecordCrc(storage, crc, size),
  };
}

const hex = (n: number): string => (n >>> 0).toString(16).padStart(8, "0");
