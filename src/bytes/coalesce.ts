/**
 * Coalescing output chunks: writers produce many small pieces (a zip header, a 16-byte tensor, a
 * data descriptor, a JSON token), and a file write or stream push costs per call, not per byte.
 * Small chunks are copied into a buffer that goes out once it holds about {@link
 * DEFAULT_COALESCE_BYTES}; large chunks pass through as they are (no copy), after whatever was
 * buffered before them. The bytes and their order never change.
 *
 * Every buffer handed out is new and never written again, so a consumer may keep several pending
 * (a pipelined writer) and a producer may reuse its own small chunks as soon as they are pushed.
 */

/** Size of a coalesced chunk: 1 MiB (one write syscall per MiB, not per record). */
export const DEFAULT_COALESCE_BYTES = 1 << 20;

const EMPTY = new Uint8Array(0);

/** A chunk of at least this fraction of the buffer size passes through uncopied. */
const PASS_THROUGH_DIVISOR = 4;

/** Collects small chunks into buffers of `size` bytes; see the file comment. */
export class ChunkCoalescer {
  private buf: Uint8Array | undefined;
  private used = 0;
  private readonly passThrough: number;

  constructor(readonly size = DEFAULT_COALESCE_BYTES) {
    this.passThrough = Math.max(1, Math.floor(size / PASS_THROUGH_DIVISOR));
  }

  /** Adds `chunk`; whatever is ready to go out is appended to `out`, in order. */
  push(chunk: Uint8Array, out: Uint8Array[]): void {
    const n = chunk.length;
    if (n === 0) return;
    if (n >= this.passThrough) {
      this.flush(out);
      out.push(chunk);
      return;
    }
    if (this.buf !== undefined && this.used + n > this.buf.length) this.flush(out);
    this.buf ??= new Uint8Array(this.size);
    this.buf.set(chunk, this.used);
    this.used += n;
  }

  /**
   * Reserves `n` bytes (at most a quarter of the buffer size) at the end of the buffer and
   * returns the buffer and the offset to write them at, so a producer can encode in place.
   */
  reserve(n: number, out: Uint8Array[]): { buf: Uint8Array; at: number } {
    const at = this.room(n, out);
    return { buf: this.buf!, at };
  }

  /**
   * {@link reserve} without a result object (a writer of 80,000 small records calls it twice per
   * record): returns the offset; the bytes go into {@link current}, read after this call.
   */
  room(n: number, out: Uint8Array[]): number {
    if (this.buf !== undefined && this.used + n > this.buf.length) this.flush(out);
    this.buf ??= new Uint8Array(Math.max(this.size, n));
    const at = this.used;
    this.used += n;
    return at;
  }

  /** The buffer being filled (after {@link room}: the one it reserved in). */
  get current(): Uint8Array {
    return this.buf ?? EMPTY;
  }

  /** Sends what is buffered (if anything) to `out`. */
  flush(out: Uint8Array[]): void {
    if (this.buf === undefined || this.used === 0) return;
    out.push(this.buf.subarray(0, this.used));
    this.buf = undefined;
    this.used = 0;
  }
}

/** `chunks` coalesced: small ones joined into buffers of about `size` bytes, large ones passed through. */
export function* coalesceChunks(chunks: Iterable<Uint8Array>, size = DEFAULT_COALESCE_BYTES): Generator<Uint8Array> {
  const co = new ChunkCoalescer(size);
  const out: Uint8Array[] = [];
  for (const chunk of chunks) {
    co.push(chunk, out);
    if (out.length > 0) {
      yield* out;
      out.length = 0;
    }
  }
  co.flush(out);
  yield* out;
}

/** {@link coalesceChunks} for chunks that arrive asynchronously. */
export async function* coalesceChunksAsync(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  size = DEFAULT_COALESCE_BYTES,
): AsyncGenerator<Uint8Array> {
  const co = new ChunkCoalescer(size);
  const out: Uint8Array[] = [];
  for await (const chunk of chunks) {
    co.push(chunk, out);
    if (out.length > 0) {
      for (const c of out) yield c;
      out.length = 0;
    }
  }
  co.flush(out);
  for (const c of out) yield c;
}

/** Characters of text {@link encodeTextChunks} gathers before encoding them at once. */
const TEXT_BATCH_CHARS = 1 << 20;

/**
 * Text pieces as UTF-8 chunks of about a MiB: many small strings (JSON tokens) are joined and
 * encoded together, a large one on its own. Pieces must not split a surrogate pair. Byte pieces
 * (text already encoded, such as base64 written straight into bytes) go out as they are, in order.
 */
export function* encodeTextChunks(pieces: Iterable<string | Uint8Array>): Generator<Uint8Array> {
  const utf8 = new TextEncoder();
  let buf = new Uint8Array(TEXT_BATCH_CHARS);
  let at = 0;
  for (const piece of pieces) {
    // A piece that may not fit (3 bytes per UTF-16 unit at most) flushes the buffer first.
    if (typeof piece !== "string" || piece.length * 3 > buf.length - at) {
      if (at > 0) {
        yield buf.subarray(0, at);
        buf = new Uint8Array(TEXT_BATCH_CHARS);
        at = 0;
      }
      if (typeof piece !== "string") {
        yield piece;
        continue;
      }
      if (piece.length * 3 > buf.length) {
        yield utf8.encode(piece);
        continue;
      }
    }
    at = putText(utf8, piece, buf, at);
  }
  if (at > 0) yield buf.subarray(0, at);
}

/** Writes `s` as UTF-8 at `buf[at]` (which has room for 3 bytes per unit); returns the new end. */
function putText(utf8: TextEncoder, s: string, buf: Uint8Array, at: number): number {
  // ASCII, which is nearly all JSON text, byte by byte: cheaper than a view and a call per piece.
  // A long piece goes through the encoder at once (native speed, and no loop to warm up first).
  const n = s.length;
  if (n > 64) return at + utf8.encodeInto(s, buf.subarray(at)).written;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return at + utf8.encodeInto(s, buf.subarray(at)).written;
    buf[at + i] = c;
  }
  return at + n;
}
