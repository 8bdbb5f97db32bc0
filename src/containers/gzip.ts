/**
 * Inflating a gzip-wrapped checkpoint with a bound on the output, so a gzip bomb cannot exhaust
 * memory: the input is pushed in 4 KiB pieces (each inflates to at most ~4 MiB: fflate grows its
 * output buffer per push, so small pieces are also much faster on bombs), and the first
 * piece that takes the output past `maxBytes` stops the inflate with a `limit-exceeded` error.
 * Every member's trailer is checked (fflate checks none): CRC-32 and size of what it inflated to,
 * so a damaged file is an error naming the member, not silently different data.
 */
import { Gunzip } from "fflate";
import { CheckpointError } from "../errors.js";
import { concatBytes } from "../bytes/concat.js";
import { crc32 as portableCrc32, type Crc32Fn } from "../bytes/crc32.js";

/** Compressed bytes pushed at a time. */
const PIECE = 4 * 1024;
/** The largest byte array a JavaScript engine is sure to allocate (2^32 - 1 in V8). */
const MAX_ARRAY = 2 ** 32 - 1;

/** Options of {@link gunzipBounded}. */
export interface GunzipBoundedOptions {
  /** Largest output allowed before `limit-exceeded` (capped at the largest array an engine holds). */
  readonly maxBytes: number;
  /** The file, for error messages. */
  readonly name?: string;
  /** Check each member's CRC-32 and size against its trailer. Default true. */
  readonly verifyCrc?: boolean;
  /** CRC-32 implementation (Node passes `zlib.crc32`); default the portable one. */
  readonly crc32?: Crc32Fn;
}

/**
 * Inflates a whole gzip stream (several members are read one after another, as gzip does).
 * @throws CheckpointError `truncated` (cut short), `bad-archive` (damaged, or not gzip),
 *   `crc-mismatch` (a member's trailer disagrees with what it inflated to), `limit-exceeded`.
 */
export function gunzipBounded(bytes: Uint8Array, options: GunzipBoundedOptions): Uint8Array {
  const { name } = options;
  const file = name === undefined ? {} : { file: name };
  // The inflated bytes are returned as one array: past the engine's largest, the limit says so, not a RangeError.
  const maxBytes = Math.min(options.maxBytes, MAX_ARRAY);
  const verify = options.verifyCrc !== false;
  const crcFn = options.crc32 ?? portableCrc32;
  const chunks: Uint8Array[] = [];
  let total = 0;
  let memberStart = 0, memberBytes = 0, crc = 0;
  const inflater = new Gunzip((chunk) => {
    total += chunk.length;
    if (total > maxBytes) {
      throw new CheckpointError("limit-exceeded", `gzip input inflates past ${maxBytes} bytes (${maxBytes < options.maxBytes ? "the largest array one inflated file can be held in" : "maxInflatedBytes"})`, file);
    }
    if (verify) crc = crcFn(chunk, crc);
    memberBytes += chunk.length;
    chunks.push(chunk);
  });
  // The member ending at `end` (its 8-byte trailer last) against what it inflated to.
  const checkMember = (end: number): void => {
    if (!verify || end - 8 < memberStart) return;
    const trailer = new DataView(bytes.buffer, bytes.byteOffset + end - 8, 8);
    const storedCrc = trailer.getUint32(0, true), storedSize = trailer.getUint32(4, true);
    const member = memberStart === 0 ? "the gzip stream" : `the gzip member at byte ${memberStart}`;
    if (storedCrc !== crc >>> 0) {
      throw new CheckpointError("crc-mismatch", `${member} is damaged: its ${memberBytes} inflated bytes have CRC-32 0x${hex(crc)}, its trailer says 0x${hex(storedCrc)} (--ignore-crc, or verifyCrc: "none", reads it anyway)`, { offset: end - 8, ...file });
    }
    if (storedSize !== memberBytes % 2 ** 32) {
      throw new CheckpointError("crc-mismatch", `${member} is damaged: it inflated to ${memberBytes} bytes, its trailer says ${storedSize} (mod 2^32)`, { offset: end - 4, ...file });
    }
  };
  inflater.onmember = (offset) => {
    checkMember(offset);
    memberStart = offset;
    memberBytes = 0;
    crc = 0;
  };
  try {
    for (let at = 0; at < bytes.length || at === 0; at += PIECE) {
      const end = Math.min(bytes.length, at + PIECE);
      inflater.push(bytes.subarray(at, end), end >= bytes.length);
      if (end >= bytes.length) break;
    }
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    const truncated = /unexpected EOF/i.test(String((e as Error).message));
    throw new CheckpointError(truncated ? "truncated" : "bad-archive", `gzip stream is ${truncated ? "cut short" : "damaged"}: ${(e as Error).message}`, { cause: e, ...file });
  }
  if (total === 0 && bytes.length > 0 && !(bytes[0] === 0x1f && bytes[1] === 0x8b)) throw new CheckpointError("bad-archive", "not a gzip stream", { offset: 0, ...file });
  checkMember(bytes.length);
  return concatBytes(chunks);
}

const hex = (n: number): string => (n >>> 0).toString(16).padStart(8, "0");
