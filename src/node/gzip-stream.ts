/**
 * gzip output at native speed: chunks (a conversion's output, produced synchronously) go through
 * node:zlib's gzip stream, which compresses on libuv's thread pool while the next chunks are
 * produced, and compressed chunks come out as they are ready. Memory stays bounded: about
 * {@link GZIP_AHEAD_CHUNKS} input chunks wait for the compressor (plus the one it is on).
 *
 * The header is zlib's: no file name, mtime 0 (as the core's `convert/gzip.ts`). The deflate bytes
 * are zlib's, not fflate's: the same input gives the same bytes with the same Node (its bundled
 * zlib), whatever the chunking (zlib's deflate without flushes does not depend on where its input
 * is cut), but not the bytes the browser's fflate writes. Both are valid gzip of the same content,
 * which Python's `gzip` module and torchsave read.
 */
import { Readable } from "node:stream";
import { constants, createGzip } from "node:zlib";
import { DEFAULT_GZIP_LEVEL, type GzipOptions } from "../convert/gzip.js";

/** Input chunks (each about 1 MiB in a conversion) produced ahead of the compressor at most. */
export const GZIP_AHEAD_CHUNKS = 4;

/**
 * Compresses `chunks` with node:zlib (see the module comment). Chunks are read ahead of the
 * compressor, so each must stay unchanged once yielded (an iterable that reuses one buffer must
 * copy). A torchsave error thrown while the chunks are produced (a damaged storage found as it is
 * read, say) is rethrown as it is; stopping the iteration early stops the producer.
 */
export async function* gzipStream(chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, options: GzipOptions = {}): AsyncGenerator<Uint8Array> {
  const gz = createGzip({ level: options.level ?? DEFAULT_GZIP_LEVEL, chunkSize: 256 * 1024, flush: constants.Z_NO_FLUSH });
  const input = Readable.from(chunks, { objectMode: true, highWaterMark: GZIP_AHEAD_CHUNKS });
  let failure: { error: unknown } | undefined;
  input.on("error", (e) => {
    failure = { error: e };
    gz.destroy(e);
  });
  input.pipe(gz);
  try {
    for await (const out of gz) yield out as Uint8Array;
  } catch (e) {
    throw failure === undefined ? e : failure.error;
  } finally {
    input.unpipe(gz);
    input.destroy();
    gz.destroy();
  }
  if (failure !== undefined) throw failure.error;
}
