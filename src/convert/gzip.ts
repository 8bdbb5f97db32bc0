/**
 * gzip around any format (`model.json.gz`, `model.pt.gz`): deterministic compression (no file
 * name, mtime 0) and decompression with a bound on the output, so a gzip bomb cannot exhaust
 * memory. Streaming twins work chunk by chunk for files larger than memory.
 */
import { Gunzip, Gzip } from "fflate";
import { ConvertError, isTorchsaveError } from "../errors.js";
import { concatBytes as concat } from "../bytes/concat.js";

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
}

/** True when `bytes` starts with the gzip magic and deflate method (1f 8b 08). */
export const isGzip = (bytes: Uint8Array): boolean => bytes.length >= 3 && bytes[0] === 0x1f && bytes[1] === 0x8b && bytes[2] === 0x08;

/** Compresses `bytes`; the same input always gives the same output. */
export function gzip(bytes: Uint8Array, options: GzipOptions = {}): Uint8Array {
  return concat([...gzipChunks([bytes], options)]);
}

/** Compresses a stream of chunks, yielding compressed chunks as they are ready. */
export function* gzipChunks(chunks: Iterable<Uint8Array>, options: GzipOptions = {}): Generator<Uint8Array> {
  const out: Uint8Array[] = [];
  const z = new Gzip({ level: options.level ?? DEFAULT_GZIP_LEVEL, mtime: 0 }, (chunk) => {
    out.push(chunk);
  });
  for (const c of chunks) {
    z.push(c, false);
    yield* out.splice(0);
  }
  z.push(new Uint8Array(0), true);
  yield* out.splice(0);
}

/**
 * Decompresses a whole gzip stream (several members are read one after another, as gzip does).
 * @throws ConvertError `truncated` for a cut-short stream, `bad-archive` for a damaged one,
 *   `limit-exceeded` past `maxBytes`.
 */
export function gunzip(bytes: Uint8Array, options: GunzipOptions = {}): Uint8Array {
  const max = options.maxBytes ?? DEFAULT_GUNZIP_MAX_BYTES;
  const chunks: Uint8Array[] = [];
  let total = 0;
  const inflater = new Gunzip((chunk) => {
    total += chunk.length;
    if (total > max) throw new ConvertError("limit-exceeded", `gzip input inflates past ${max} bytes (maxBytes)`);
    chunks.push(chunk);
  });
  try {
    inflater.push(bytes, true);
  } catch (e) {
    if (isTorchsaveError(e)) throw e;
    const truncated = /unexpected EOF/i.test(String((e as Error)?.message));
    throw new ConvertError(truncated ? "truncated" : "bad-archive", `gzip stream is ${truncated ? "cut short" : "damaged"}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
  if (total === 0 && bytes.length > 0 && !isGzip(bytes)) throw new ConvertError("bad-archive", "not a gzip stream", { offset: 0 });
  return concat(chunks);
}

