/**
 * A gzip stream that inflates past the cap cannot be held, but it can still be read: the inflate
 * is streamed again and the pickles it holds are walked window by window (64 MiB by default),
 * so that the imports of a malicious pickle padded past the cap are still named. Memory stays at
 * about one window. Each window's walk starts fresh (the stack and memo of earlier windows are not
 * carried over: a name built from strings memoized before a gap is reported as unresolved, which
 * is an error). Opcode arguments longer than a window (a padding BINBYTES8) are skipped by their
 * declared length, never held.
 */
import { Inflate } from "fflate";
import { report, type Ctx } from "./context.js";
import { budgetExhausted, reportScan } from "./report-scan.js";
import { scanPickle } from "./scan-pickle.js";

/** Default window: 64 MiB of inflated bytes walked at a time. */
export const GZIP_SCAN_WINDOW = 64 * 2 ** 20;
/** Compressed bytes pushed into the inflater at a time (4 KiB inflate to at most ~4 MiB). */
export const GZIP_INFLATE_PIECE = 4 * 1024;

/** Opcodes whose argument is a length then that many bytes: header size and length width. */
const SIZED: ReadonlyMap<number, number> = new Map([
  [0x42, 4], [0x54, 4], [0x58, 4], // BINBYTES, BINSTRING, BINUNICODE
  [0x8e, 8], [0x8d, 8], [0x96, 8], // BINBYTES8, BINUNICODE8, BYTEARRAY8
]);

function payloadLength(bytes: Uint8Array, at: number, width: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, width);
  return width === 4 ? view.getUint32(0, true) : Number(view.getBigUint64(0, true));
}

/** Could a pickle start here (PROTO, or a protocol 0/1 opcode that opens a value)? */
function pickleStart(b: number | undefined): boolean {
  return b === 0x80 || b === 0x28 || b === 0x63 || b === 0x5d || b === 0x7d || b === 0x29 || b === 0x4e;
}

/**
 * Streams the deflate data at `start` of the file again, walking the pickles it holds in windows.
 * `read(offset, length)` reads the compressed file. Returns the number of windows walked.
 */
export function scanGzipWindows(ctx: Ctx, read: (offset: number, length: number) => Uint8Array, size: number, start: number, windowBytes = GZIP_SCAN_WINDOW): number {
  let pending: Uint8Array[] = [];
  let pendingLen = 0;
  let bufStart = 0; // stream offset of pending[0][0]
  let streamPos = 0; // stream offset of the next inflated byte
  let skipTo = 0; // inflated bytes before this offset are discarded unseen
  let scanAt = 0; // where the next walk starts (stream offset)
  let stopped = false;
  let newPickle = true; // the next walk starts a pickle (not the middle of one)
  let windows = 0;

  const window = (): Uint8Array => {
    if (pending.length === 1) return pending[0]!;
    const out = new Uint8Array(pendingLen);
    let p = 0;
    for (const c of pending) {
      out.set(c, p);
      p += c.length;
    }
    pending = [out];
    return out;
  };
  /** Walks from scanAt over what is held; `final` when the stream has ended. */
  const walk = (final: boolean): void => {
    while (!stopped && pendingLen > 0) {
      const bytes = window();
      const from = scanAt - bufStart;
      if (from >= bytes.length) break;
      if (newPickle && !pickleStart(bytes[from])) {
        stopped = true;
        break;
      }
      windows++;
      const scan = scanPickle(bytes, from, { baseOffset: bufStart, maxOps: Math.max(0, ctx.budget.opsLeft) });
      ctx.budget.opsLeft -= scan.ops;
      reportScan(ctx, bytes, scan, { record: "stream", baseOffset: bufStart, reportError: false });
      if (scan.limitReached) {
        budgetExhausted(ctx, { byteOffset: scan.end, record: "stream" });
        stopped = true;
        break;
      }
      let next: number;
      // Where the walk stopped: past the window's end (or a size limit) inside the opcode at scan.end?
      const at = scan.end - bufStart;
      const width = scan.complete ? undefined : SIZED.get(bytes[at]!);
      const declared = width !== undefined && at + 1 + width <= bytes.length ? payloadLength(bytes, at + 1, width) : undefined;
      if (scan.complete) next = scan.end;
      else if (declared !== undefined && at + 1 + width! + declared > bytes.length) {
        next = scan.end + 1 + width! + declared; // skip the payload by its declared length, never held
      } else if (scan.error !== undefined && scan.error.kind !== "truncated") {
        stopped = true; // damaged: what follows is not a pickle stream any more
        break;
      } else {
        if (final || (scan.end === scanAt && bytes.length >= windowBytes)) {
          report(ctx, "validation-limit", `the walk of the inflated stream stopped at byte ${scan.end}: ${final ? "the stream ends inside an opcode" : "one opcode argument is longer than the window"}`, { record: "stream", byteOffset: scan.end });
          stopped = true;
          break;
        } else next = scan.end;
      }
      scanAt = next;
      newPickle = scan.complete;
      // Drop what the next walk does not need.
      const keep = next - bufStart;
      if (keep >= bytes.length) {
        pending = [];
        pendingLen = 0;
        bufStart = next;
        skipTo = next;
      } else {
        pending = [bytes.subarray(keep)];
        pendingLen = bytes.length - keep;
        bufStart = next;
      }
      if (!final && pendingLen < windowBytes) break; // wait for more bytes
    }
  };
  const inflater = new Inflate((chunk) => {
    const chunkStart = streamPos;
    streamPos += chunk.length;
    if (stopped || streamPos <= skipTo) return;
    const data = chunkStart < skipTo ? chunk.subarray(skipTo - chunkStart) : chunk;
    if (pendingLen === 0) bufStart = Math.max(chunkStart, skipTo);
    pending.push(data);
    pendingLen += data.length;
    if (pendingLen >= windowBytes) walk(false);
  });
  try {
    for (let pos = start; pos < size && !stopped; pos += GZIP_INFLATE_PIECE) {
      const n = Math.min(GZIP_INFLATE_PIECE, size - pos);
      inflater.push(read(pos, n), pos + n >= size);
    }
  } catch {
    // A damaged stream ends the walk where it broke; the first pass already reported it.
  }
  walk(true);
  return windows;
}
