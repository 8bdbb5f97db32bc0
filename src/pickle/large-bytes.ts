/**
 * A pickle with its large `bytes` arguments left in the source: the stream is walked opcode by
 * opcode through a window, every BINBYTES / BINBYTES8 payload of at least `minLength` bytes that
 * sits outside any frame and is never fetched back from the memo is cut out (its opcode keeps a
 * length of 0), and the rest is copied into a compact stream. Decoding the compact stream gives
 * the same value except that each cut payload reads as an empty `bytes` whose position names the
 * hole; the caller resolves holes (a plain pickle's `torch.storage._load_from_bytes(b)` payloads
 * become lazily read legacy files) and must not let an unresolved hole pass as data.
 *
 * Anything the walk does not understand returns undefined: the caller then decodes the whole
 * stream as usual, so errors are the decoder's own.
 */
import type { SourceWindow } from "../bytes/source-window.js";
import { OPCODES_BY_CODE } from "./opcodes.js";

/** Where a cut payload lies in the source. */
export interface BytesHole {
  readonly offset: number;
  readonly length: number;
}

export interface CompactPickle {
  /** The stream with the holes cut out. */
  readonly bytes: Uint8Array;
  /** By the position of each hole's (empty) payload in `bytes`. */
  readonly holes: ReadonlyMap<number, BytesHole>;
}

/** Payloads at least this long are left in the source by default. */
export const DEFAULT_HOLE_BYTES = 2 ** 20;

const BINBYTES = 0x42;
const BINBYTES8 = 0x8e;
const FRAME = 0x95;
const STOP = 0x2e;
const DUP = 0x32;
const MEMOIZE = 0x94;
const PUTS = new Set([0x70, 0x71, 0x72]); // PUT, BINPUT, LONG_BINPUT
const GETS = new Set([0x67, 0x68, 0x6a]); // GET, BINGET, LONG_BINGET

interface Cut extends BytesHole {
  /** Start of the opcode and length of its header (opcode byte and length field). */
  readonly op: number;
  readonly head: number;
  shared: boolean;
}

/** The compact stream, or undefined when nothing is worth cutting or the walk cannot be sure. */
export function compactLargeBytes(window: SourceWindow, minLength = DEFAULT_HOLE_BYTES): CompactPickle | undefined {
  const cuts = findCuts(window, minLength);
  if (cuts === undefined) return undefined;
  const kept = cuts.filter((c) => !c.shared);
  if (kept.length === 0) return undefined;
  let total = window.size;
  for (const c of kept) total -= c.length;
  const out = new Uint8Array(total);
  const holes = new Map<number, BytesHole>();
  let from = 0;
  let at = 0;
  for (const c of kept) {
    const headEnd = c.op + c.head;
    out.set(window.at(from, headEnd - from), at);
    at += headEnd - from;
    // The length field becomes 0: the opcode byte stays, the rest of the header is zeroed.
    out.fill(0, at - (c.head - 1), at);
    holes.set(at, { offset: c.offset, length: c.length });
    from = c.offset + c.length;
  }
  out.set(window.at(from, window.size - from), at);
  return { bytes: out, holes };
}

function findCuts(window: SourceWindow, minLength: number): Cut[] | undefined {
  const size = window.size;
  const cuts: Cut[] = [];
  const memo = new Set<number>();
  const holeAt = new Map<number, Cut>();
  let frameEnd = 0;
  let last: Cut | undefined; // the hole on top of the stack, while only memo ops follow it
  let pos = 0;
  while (pos < size) {
    const code = window.at(pos, 1)[0]!;
    const info = OPCODES_BY_CODE[code];
    if (info === undefined) return undefined;
    const argStart = pos + 1;
    let argEnd: number;
    let payload = 0;
    const size_ = info.arg.size;
    if (typeof size_ === "number") argEnd = argStart + size_;
    else if (size_ === "up-to-newline") {
      const lines = info.arg.name === "stringnl_noescape_pair" ? 2 : 1;
      let end = argStart;
      for (let i = 0; i < lines; i++) {
        const nl = findNewline(window, end);
        if (nl < 0) return undefined;
        end = nl + 1;
      }
      argEnd = end;
    } else {
      const width = size_ === "length1" ? 1 : size_ === "length4" ? 4 : 8;
      if (argStart + width > size) return undefined;
      payload = uint(window.at(argStart, width));
      argEnd = argStart + width + payload;
    }
    if (!Number.isSafeInteger(argEnd) || argEnd > size) return undefined;
    const wasLast = last;
    last = undefined;
    if (code === FRAME) frameEnd = argEnd + uint(window.at(argStart, 8));
    else if ((code === BINBYTES || code === BINBYTES8) && payload >= minLength && pos >= frameEnd) {
      last = { op: pos, head: argEnd - payload - pos, offset: argEnd - payload, length: payload, shared: false };
      cuts.push(last);
    } else if (code === MEMOIZE || PUTS.has(code)) {
      const key = code === MEMOIZE ? memo.size : memoKey(window, code, argStart, argEnd);
      if (key === undefined) return undefined;
      memo.add(key);
      if (wasLast !== undefined) holeAt.set(key, wasLast);
      else holeAt.delete(key);
      last = wasLast;
    } else if (GETS.has(code)) {
      const key = memoKey(window, code, argStart, argEnd);
      if (key === undefined) return undefined;
      const c = holeAt.get(key);
      if (c !== undefined) c.shared = true;
    } else if (code === DUP && wasLast !== undefined) wasLast.shared = true;
    pos = argEnd;
    if (code === STOP) break;
  }
  return cuts;
}

/** A little-endian unsigned integer of 1 to 8 bytes (past 2^53 it is only compared against sizes). */
function uint(b: Uint8Array): number {
  let v = 0;
  for (let i = b.length - 1; i >= 0; i--) v = v * 256 + b[i]!;
  return v;
}

function memoKey(window: SourceWindow, code: number, start: number, end: number): number | undefined {
  const b = window.at(start, end - start);
  if (code === 0x70 || code === 0x67) {
    if (b.length > 16) return undefined;
    const text = String.fromCharCode(...b.subarray(0, b.length - 1));
    return /^\d{1,15}$/.test(text) ? Number(text) : undefined;
  }
  return uint(b);
}

/** The position of the next newline at or after `from`, or -1 (reads a window at a time). */
function findNewline(window: SourceWindow, from: number): number {
  for (let at = from; at < window.size; ) {
    const b = window.from(at);
    const i = b.indexOf(0x0a);
    if (i >= 0) return at + i;
    at += b.length;
  }
  return -1;
}
