/**
 * A gzip wrapper around a checkpoint: the header, the deflate stream (inflated from 4 KiB pieces
 * with a bound on what is held, so a gzip bomb cannot exhaust memory), and the trailer's CRC-32
 * and size against what was inflated. Past the bound, the stream is walked again in windows for
 * the imports of the pickles it holds (`validate-gzip-windows.ts`): what cannot be held is still
 * read. torch.load does not read gzip, so `torch.load(weights_only=True)` always refuses it.
 */
import { Inflate } from "fflate";
import type { ByteSource } from "../bytes/source.js";
import { report, type Ctx } from "./context.js";
import { GZIP_INFLATE_PIECE, scanGzipWindows } from "./validate-gzip-windows.js";

const FHCRC = 0x02, FEXTRA = 0x04, FNAME = 0x08, FCOMMENT = 0x10;

/** Where the deflate data starts, or a reason the header is malformed. */
function headerEnd(head: Uint8Array): number | string {
  if (head.length < 10) return "the gzip header is cut short";
  if (head[2] !== 8) return `compression method ${head[2]} is not deflate`;
  const flags = head[3]!;
  let p = 10;
  if (flags & FEXTRA) {
    if (p + 2 > head.length) return "the gzip extra field is cut short";
    p += 2 + (head[p]! | (head[p + 1]! << 8));
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (!(flags & flag)) continue;
    while (p < head.length && head[p] !== 0) p++;
    if (p >= head.length) return "the gzip file name or comment is not terminated";
    p++;
  }
  if (flags & FHCRC) p += 2;
  return p > head.length ? "the gzip header is cut short" : p;
}

/**
 * Inflates and checks the gzip file; returns the inflated bytes (to be validated as the
 * checkpoint inside), or undefined when nothing usable could be inflated.
 */
export function inspectGzip(ctx: Ctx, source: ByteSource): Uint8Array | undefined {
  const size = source.size;
  const read = (offset: number, length: number): Uint8Array => source.bytes?.subarray(offset, offset + length) ?? source.readSync!(offset, length);
  const headerBytes = read(0, Math.min(size, 64 * 1024));
  const start = headerEnd(headerBytes);
  if (typeof start === "string") {
    report(ctx, "gzip-damaged", start, { byteOffset: 0 });
    return undefined;
  }
  const max = ctx.options.maxInflatedBytes;
  const chunks: Uint8Array[] = [];
  let total = 0;
  let crc = 0;
  let overflow = false;
  const crcFn = ctx.options.crc32;
  const inflater = new Inflate((chunk) => {
    if (overflow) return;
    if (total + chunk.length > max) {
      overflow = true;
      chunks.length = 0; // nothing held past the cap
      return;
    }
    crc = crcFn(chunk, crc);
    total += chunk.length;
    chunks.push(chunk);
  });
  let failure: string | undefined;
  try {
    for (let pos = start; pos < size && !overflow; pos += GZIP_INFLATE_PIECE) {
      const n = Math.min(GZIP_INFLATE_PIECE, size - pos);
      inflater.push(read(pos, n), pos + n >= size);
    }
  } catch (e) {
    failure = e instanceof Error ? e.message : String(e);
  }
  if (overflow) {
    report(ctx, "validation-limit", `the gzip stream inflates past ${max} bytes (maxInflatedBytes): it was not held, so its container was not checked; its pickles were walked in windows for their imports`, { byteOffset: start });
    scanGzipWindows({ ...ctx, prefix: "gunzipped" }, read, size, start, ctx.options.gzipScanWindow);
    return undefined;
  }
  // The trailer holds CRC-32 and size mod 2^32 of the inflated bytes; find it to learn where the member ends.
  const trailer = new Uint8Array(8);
  const tv = new DataView(trailer.buffer);
  tv.setUint32(0, crc >>> 0, true);
  tv.setUint32(4, total % 2 ** 32, true);
  const memberEnd = findTrailer(read, size, start, trailer);
  if (memberEnd === undefined) {
    if (failure !== undefined) {
      const truncated = /unexpected EOF/i.test(failure);
      report(ctx, truncated ? "gzip-truncated" : "gzip-damaged", `the deflate stream ${truncated ? "ends early" : "is damaged"}: ${failure}`, { byteOffset: start });
    } else if (size - 8 >= start) {
      const last = read(size - 8, 8);
      const lv = new DataView(last.buffer, last.byteOffset, 8);
      const storedCrc = lv.getUint32(0, true);
      const storedSize = lv.getUint32(4, true);
      if (storedCrc !== crc >>> 0) report(ctx, "gzip-crc-mismatch", `CRC-32 of the inflated bytes is 0x${(crc >>> 0).toString(16)}; the trailer says 0x${storedCrc.toString(16)}`, { byteOffset: size - 8 });
      if (storedSize !== total % 2 ** 32) report(ctx, "gzip-size-mismatch", `${total} bytes were inflated; the trailer says ${storedSize} (mod 2^32)`, { byteOffset: size - 4 });
    } else {
      report(ctx, "gzip-truncated", "the gzip trailer is missing", { byteOffset: size });
    }
  } else if (memberEnd < size) {
    const next = read(memberEnd, Math.min(2, size - memberEnd));
    const member = next[0] === 0x1f && next[1] === 0x8b;
    report(ctx, "gzip-trailing-data", `${size - memberEnd} bytes follow the gzip member${member ? " (another gzip member, which torchsave does not inflate)" : ""}`, { byteOffset: memberEnd });
  }
  if (total === 0 && failure !== undefined) return undefined;
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let pos = 0;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

/** End of the member whose 8-byte trailer equals `trailer`: the file's end if it is there, else the first match. */
function findTrailer(read: (o: number, n: number) => Uint8Array, size: number, start: number, trailer: Uint8Array): number | undefined {
  if (size - 8 >= start && equal(read(size - 8, 8), trailer)) return size;
  const limit = Math.min(size, start + 1024 * 2 ** 20);
  const bytes = read(start, limit - start);
  outer: for (let i = 0; i + 8 <= bytes.length; i++) {
    for (let k = 0; k < 8; k++) if (bytes[i + k] !== trailer[k]) continue outer;
    return start + i + 8;
  }
  return undefined;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
