/**
 * gzip output at native speed on every core: the output is cut into fixed {@link GZIP_BLOCK_BYTES}
 * blocks, and node:zlib deflates each on libuv's thread pool, several at once, as pigz does: each
 * block is primed with the last 32 KiB of the one before (zlib's window, so matches reach across
 * blocks and the size is about a single stream's), ends with a sync flush (an empty stored block,
 * so the next one starts on a byte), and the last ends the deflate stream. The CRC-32 and size of
 * the trailer are computed here as the blocks pass. Memory stays bounded: at most
 * {@link GZIP_AHEAD_BLOCKS} blocks are being compressed or waiting to be written.
 *
 * The header is zlib's own (no file name, mtime 0, XFL by level, OS 3), as the core's
 * `convert/gzip.ts` writes none either. The bytes depend only on the content, the level and the
 * Node (its bundled zlib), never on how the input was chunked or on timing; they are not the bytes
 * the browser's fflate writes. Both are valid gzip of the same content, which Python's `gzip`
 * module and torchsave read.
 */
import { constants, deflateRaw } from "node:zlib";
import { crc32 as portableCrc32 } from "../bytes/crc32.js";
import { DEFAULT_GZIP_LEVEL, type GzipOptions } from "../convert/gzip.js";
import { nodeCrc32 } from "./write-checkpoint.js";

/** Bytes of input per compressed block. */
export const GZIP_BLOCK_BYTES = 2 ** 20;
/** Blocks being compressed, or compressed and waiting to be written, at most. */
export const GZIP_AHEAD_BLOCKS = 4;
/** What a block is primed with from the one before: deflate's window. */
const WINDOW_BYTES = 32 * 1024;

/**
 * Compresses `chunks` (see the module comment). A torchsave error thrown while the chunks are
 * produced (a damaged storage found as it is read, say) is rethrown as it is; stopping the
 * iteration early stops the producer. Chunks are copied into blocks, so the producer may reuse
 * its buffers.
 */
export async function* gzipStream(chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, options: GzipOptions = {}): AsyncGenerator<Uint8Array> {
  const level = options.level ?? DEFAULT_GZIP_LEVEL;
  const crc32 = nodeCrc32 ?? portableCrc32;
  const pending: Promise<Uint8Array>[] = [];
  let header: Uint8Array | undefined = gzipHeader(level);
  const withHeader = (block: Uint8Array): Uint8Array => {
    if (header === undefined) return block;
    const out = new Uint8Array(header.length + block.length);
    out.set(header);
    out.set(block, header.length);
    header = undefined;
    return out;
  };
  let crc = 0;
  let size = 0;
  let before: Uint8Array | undefined;
  for await (const { bytes, last } of fixedBlocks(chunks, GZIP_BLOCK_BYTES)) {
    crc = crc32(bytes, crc);
    size += bytes.length;
    const deflated = deflateBlock(bytes, level, before, last);
    deflated.catch(() => undefined); // awaited below; never an unhandled rejection if we stop early
    pending.push(deflated);
    before = bytes.length >= WINDOW_BYTES ? bytes.subarray(bytes.length - WINDOW_BYTES) : bytes;
    while (pending.length >= GZIP_AHEAD_BLOCKS) yield withHeader(await pending.shift()!);
  }
  while (pending.length > 0) yield withHeader(await pending.shift()!);
  const trailer = new Uint8Array(8);
  const view = new DataView(trailer.buffer);
  view.setUint32(0, crc >>> 0, true);
  view.setUint32(4, size % 2 ** 32, true);
  yield trailer;
}

/** zlib's gzip header: no name, mtime 0, XFL 2 at level 9 and 4 at levels 0–1, OS 3 (Unix). */
function gzipHeader(level: number): Uint8Array {
  const xfl = level === 9 ? 2 : level < 2 ? 4 : 0;
  return Uint8Array.of(0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, xfl, 3);
}

/** The input in blocks of exactly `blockBytes` (the last may be shorter; one empty block for no input), each fresh. */
async function* fixedBlocks(chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, blockBytes: number): AsyncGenerator<{ bytes: Uint8Array; last: boolean }> {
  let held: Uint8Array | undefined; // a full block, given out once we know whether more follows
  let block = new Uint8Array(blockBytes);
  let fill = 0;
  for await (const chunk of chunks) {
    for (let at = 0; at < chunk.length; ) {
      if (fill === blockBytes) {
        if (held !== undefined) yield { bytes: held, last: false };
        held = block;
        block = new Uint8Array(blockBytes);
        fill = 0;
      }
      const n = Math.min(blockBytes - fill, chunk.length - at);
      block.set(chunk.subarray(at, at + n), fill);
      fill += n;
      at += n;
    }
  }
  if (held !== undefined) yield { bytes: held, last: false };
  yield { bytes: block.subarray(0, fill), last: true };
}

/** One block deflated on the thread pool, primed with `dictionary`, ending the stream when `last`. */
function deflateBlock(bytes: Uint8Array, level: number, dictionary: Uint8Array | undefined, last: boolean): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    deflateRaw(
      bytes,
      { level, ...(dictionary === undefined ? {} : { dictionary }), finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH },
      (err, out) => (err === null ? resolve(new Uint8Array(out.buffer, out.byteOffset, out.length)) : reject(err)),
    );
  });
}
