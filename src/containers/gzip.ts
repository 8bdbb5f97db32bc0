/** Inflating a gzip-wrapped checkpoint with a bound on the output, so a gzip bomb cannot exhaust memory. */
import { Gunzip } from "fflate";
import { CheckpointError } from "../errors.js";
import { concatBytes } from "../bytes/concat.js";

export function gunzipBounded(bytes: Uint8Array, maxBytes: number, name?: string): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const inflater = new Gunzip((chunk) => {
    total += chunk.length;
    if (total > maxBytes) {
      throw new CheckpointError("limit-exceeded", `gzip input inflates past ${maxBytes} bytes (maxInflatedBytes)`, name === undefined ? {} : { file: name });
    }
    chunks.push(chunk);
  });
  try {
    inflater.push(bytes, true);
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    const truncated = /unexpected EOF/i.test(String((e as Error).message));
    throw new CheckpointError(truncated ? "truncated" : "bad-archive", `gzip stream is ${truncated ? "cut short" : "damaged"}: ${(e as Error).message}`, {
      cause: e, ...(name === undefined ? {} : { file: name }),
    });
  }
  return concatBytes(chunks);
}
