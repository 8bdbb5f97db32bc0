/**
 * Inflating a gzip-wrapped checkpoint with a bound on the output, so a gzip bomb cannot exhaust
 * memory: the input is pushed in 4 KiB pieces (each inflates to at most ~4 MiB: fflate grows its
 * output buffer per push, so small pieces are also much faster on bombs), and the first
 * piece that takes the output past `maxBytes` stops the inflate with a `limit-exceeded` error.
 */
import { Gunzip } from "fflate";
import { CheckpointError } from "../errors.js";
import { concatBytes } from "../bytes/concat.js";

/** Compressed bytes pushed at a time. */
const PIECE = 4 * 1024;
/** The largest byte array a JavaScript engine is sure to allocate (2^32 - 1 in V8). */
const MAX_ARRAY = 2 ** 32 - 1;

export function gunzipBounded(bytes: Uint8Array, requested: number, name?: string): Uint8Array {
  // The inflated bytes are returned as one array: past the engine's largest, the limit says so, not a RangeError.
  const maxBytes = Math.min(requested, MAX_ARRAY);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const inflater = new Gunzip((chunk) => {
    total += chunk.length;
    if (total > maxBytes) {
      throw new CheckpointError("limit-exceeded", `gzip input inflates past ${maxBytes} bytes (${maxBytes < requested ? "the largest array one inflated file can be held in" : "maxInflatedBytes"})`, name === undefined ? {} : { file: name });
    }
    chunks.push(chunk);
  });
  try {
    for (let at = 0; at < bytes.length || at === 0; at += PIECE) {
      const end = Math.min(bytes.length, at + PIECE);
      inflater.push(bytes.subarray(at, end), end >= bytes.length);
      if (end >= bytes.length) break;
    }
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    const truncated = /unexpected EOF/i.test(String((e as Error).message));
    throw new CheckpointError(truncated ? "truncated" : "bad-archive", `gzip stream is ${truncated ? "cut short" : "damaged"}: ${(e as Error).message}`, {
      cause: e, ...(name === undefined ? {} : { file: name }),
    });
  }
  return concatBytes(chunks);
}
