/**
 * CRC-32 checks of storage records done while the bytes are read for another purpose (converting,
 * writing), instead of in a pass of their own before: each storage's bytes are read once. A
 * storage is "armed" with the CRC its zip record should have (`armRecordCrc`, done by
 * `armStorageCrcs` in read/verify-crc.ts); whichever reader next reads its record checks it, and
 * a writer that copies the record unchanged compares the CRC it computes for its own output
 * (`confirmRecordCrc`), so the check costs nothing more. A checked storage is disarmed.
 */
import type { Crc32Fn } from "../bytes/crc32.js";
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

const armed = new WeakMap<Storage, RecordCrcCheck>();

/** Arms `storage`: the next read of its record checks that its `size` bytes have CRC-32 `expected`. */
export function armRecordCrc(storage: Storage, expected: number, size: number, crc32: Crc32Fn, file: string | undefined): void {
  // One small object of one shape per armed storage (no spreads: 100,000 storages arm in a blink).
  armed.set(storage, { expected, size, crc32, file });
}

/** The check still owed for `storage`'s record (undefined when none). */
export function pendingRecordCrc(storage: Storage): RecordCrcCheck | undefined {
  return armed.get(storage);
}

/**
 * Checks an armed storage whose bytes are in memory (an in-memory input's zero-copy view, or
 * bytes loaded before it was armed): over the record in the source when it is stored there, else
 * over `storage.data` when that is the whole record. Nothing to do when no check is owed.
 * @throws as {@link checkRecordCrc}.
 */
export function checkRecordInMemory(storage: Storage): void {
  const check = armed.get(storage);
  if (check === undefined) return;
  const from = storage.from;
  const whole = from?.source.bytes;
  let bytes: Uint8Array | undefined;
  if (from !== undefined && from.compression === "none" && whole !== undefined) bytes = whole.subarray(from.offset, from.offset + from.length);
  else if (storage.data !== undefined && storage.data.length === check.size) bytes = storage.data;
  if (bytes === undefined) {
    armed.delete(storage); // bytes from elsewhere: no record to check them against
    return;
  }
  checkRecordCrc(storage, bytes.length === 0 ? 0 : check.crc32(bytes, 0), bytes.length);
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
  const check = armed.get(storage);
  if (check === undefined) return;
  armed.delete(storage);
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
