/**
 * gzip around any format (`model.json.gz`, `model.pt.gz`): deterministic compression (no file
 * name, mtime 0) and decompression with a bound on the output, so a gzip bomb cannot exhaust
 * memory. Streaming twins work chunk by chunk for files larger than memory.
 */
import { Gzip } from "fflate";
import { concatBytes as concat } from "../bytes/concat.js";
import type { Crc32Fn } from "../bytes/crc32.js";
import { gunzipBounded } from "../containers/gzip.js";

/** Default compression level (zlib's default). */
export const DEFAULT_GZIP_LEVEL = 6;
/** Default bound on what {@link gunzip} inflates to: 16 GiB. */
export const DEFAULT_GUNZIP_MAX_BYTES = 16 * 2 ** 30;

/** Options of {@link gzip} and {@link gzipChunks}. */
export interface GzipOptions {
  /** 0 (store) to 9 (smallest). Default {@link DEFAULT_GZIP_LEVEL}. */
  readonly level?: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
}

/** Options of {@link gunzip}. */
export interface GunzipOptions {
  /** Largest output allowed before `limit-exceeded`. Default {@link DEFAULT_GUNZIP_MAX_BYTES}. */
  readonly maxBytes?: number;
  /** Check each member's CRC-32 and size against its trailer. Default true. */
  readonly verifyCrc?: boolean;
  /** CRC-32 implementation (Node passes `zlib.crc32`); default the portable one. */
  readonly crc32?: Crc32Fn;
}

/** True when `bytes` starts with the gzip magic and deflate method (1f 8b 08). */
export const isGzip = (bytes: Uint8Array): boolean => bytes.length >= 3 && bytes[0] === 0x1f && bytes[1] === 0x8b && bytes[2] === 0x08;

/** Compresses `bytes`; the same input always gives the same output. */
export function gzip(bytes: Uint8Array, options: GzipOptions = {}): Uint8Array {
  return concat([...gzipChunks([bytes], options)]);
}

/**
 * The compressor is fed pieces of this size whatever chunks come in: fflate's output depends on
 * where pushes end, so fixed pieces make the bytes the same for every writer path, and its working
 * buffers stay the size of a piece instead of the largest chunk (a 16 MiB tensor, say).
 */
const GZIP_PIECE = 2 ** 20;

/** Compresses a stream of chunks, yielding compressed chunks as they are ready. */
export function* gzipChunks(chunks: Iterable<Uint8Array>, options: GzipOptions = {}): Generator<Uint8Array> {
  const out: Uint8Array[] = [];
  const z = new Gzip({ level: options.level ?? DEFAULT_GZIP_LEVEL, mtime: 0 }, (chunk) => {
    out.push(chunk);
  });
  const piece = new Uint8Array(GZIP_PIECE);
  let filled = 0;
  for (const c of chunks) {
    for (let at = 0; at < c.length; ) {
      const n = Math.min(GZIP_PIECE - filled, c.length - at);
      piece.set(c.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === GZIP_PIECE) {
        z.push(piece, false);
        filled = 0;
        yield* out.splice(0);
      }
    }
  }
  if (filled > 0) z.push(piece.subarray(0, filled), false);
  z.push(new Uint8Array(0), true);
  yield* out.splice(0);
}

/**
 * Decompresses a whole gzip stream (several members are read one after another, as gzip does),
 * from 4 KiB pieces, checking each member's CRC-32 and size (see `containers/gzip.ts`).
 * @throws CheckpointError `truncated` for a cut-short stream, `bad-archive` for a damaged one,
 *   `crc-mismatch` when a trailer disagrees (unless `verifyCrc: false`), `limit-exceeded` past `maxBytes`.
 */
export function gunzip(bytes: Uint8Array, options: GunzipOptions = {}): Uint8Array {
  return gunzipBounded(bytes, {
    maxBytes: options.maxBytes ?? DEFAULT_GUNZIP_MAX_BYTES,
    ...(options.verifyCrc === undefined ? {} : { verifyCrc: options.verifyCrc }),
    ...(options.crc32 === undefined ? {} : { crc32: options.crc32 }),
  });
}
