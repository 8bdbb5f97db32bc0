/**
 * Which memo entries a pickle ever reads back. Pickles written by Python PUT nearly every object
 * they build, but GET only a few (globals, repeated strings, shared objects). Knowing the fetched
 * indices before decoding lets the decoder keep only those entries alive, so the rest become
 * garbage as soon as they are consumed, and tells which built objects can be reached twice.
 *
 * The scan walks the opcodes through the table's argument sizes without building any value. It
 * answers only when it is sure; anything it cannot follow exactly (DUP, MEMOIZE mixed with PUT, a
 * text index that is not plain digits, an unknown opcode, a stream that ends before STOP) gives
 * `undefined`, and the decoder then keeps every entry, as it always did.
 */
import { stringnl_noescape_pair } from "./args.js";
import { OPCODES } from "./opcodes.js";

/** The memo indices a pickle fetches (GET, BINGET, LONG_BINGET). */
export interface MemoFetches {
  /** One bit per index below `bits.length * 8`. */
  bits: Uint8Array;
  /** Fetched indices too large for `bits`. */
  readonly large: Set<number>;
  /** Index just past the pickle's STOP. */
  end: number;
}

/** True when the scan saw a GET of `index`. */
export function isFetched(fetches: MemoFetches, index: number | bigint): boolean {
  if (typeof index !== "number") return true; // bigint indices come only from text PUTs, which the scan refuses
  const byte = index >>> 3;
  return index < fetches.bits.length * 8 ? (fetches.bits[byte]! & (1 << (index & 7))) !== 0 : fetches.large.has(index);
}

// How each opcode's argument is laid out: bytes to skip (≥ 0), or one of these markers.
const UNKNOWN = -1;
const LENGTH1 = -2;
const LENGTH4 = -3;
const LENGTH8 = -4;
const LINE = -5;
const TWO_LINES = -6;

const ARG_LAYOUT: Int8Array = (() => {
  const layout = new Int8Array(256).fill(UNKNOWN);
  for (const op of OPCODES) {
    const size = op.arg.size;
    if (op.arg === stringnl_noescape_pair) layout[op.code] = TWO_LINES;
    else if (typeof size === "number") layout[op.code] = size;
    else layout[op.code] = size === "length1" ? LENGTH1 : size === "length4" ? LENGTH4 : size === "length8" ? LENGTH8 : LINE;
  }
  return layout;
})();

// Opcodes the scan looks at; every other opcode only has its argument skipped.
const OTHER = 0;
const STOP = 1;
const DUP = 2;
const GET = 3;
const BINGET = 4;
const LONG_BINGET = 5;
const PUT = 6;
const MEMOIZE = 7;

const ROLE: Uint8Array = (() => {
  const role = new Uint8Array(256);
  role[0x2e] = STOP;
  role[0x32] = DUP;
  role[0x67] = GET;
  role[0x68] = BINGET;
  role[0x6a] = LONG_BINGET;
  role[0x70] = PUT; // PUT, BINPUT, LONG_BINPUT
  role[0x71] = PUT;
  role[0x72] = PUT;
  role[0x94] = MEMOIZE;
  return role;
})();

/**
 * Scans the pickle that starts at `start` up to its STOP and returns the memo indices it fetches,
 * or undefined when it cannot tell exactly. Time is linear in the pickle; memory is one bit per
 * input byte at most.
 */
export function scanMemoFetches(input: Uint8Array, start: number): MemoFetches | undefined {
  const len = input.length;
  const fetches: MemoFetches = { bits: new Uint8Array(32), large: new Set(), end: -1 };
  let puts = false;
  let memoizes = false;
  let pos = start;
  while (pos < len) {
    const code = input[pos]!;
    const layout = ARG_LAYOUT[code]!;
    const role = ROLE[code]!;
    if (role !== OTHER) {
      let index = -1;
      switch (role) {
        case STOP:
          fetches.end = pos + 1;
          return puts && memoizes ? undefined : fetches;
        case DUP:
          return undefined; // the top value gets a second reference the memo does not show
        case BINGET:
          if (pos + 1 < len) index = input[pos + 1]!;
          break;
        case LONG_BINGET:
          if (pos + 4 < len) index = (input[pos + 1]! | (input[pos + 2]! << 8) | (input[pos + 3]! << 16) | (input[pos + 4]! << 24)) >>> 0;
          break;
        case GET:
          index = digitsLine(input, pos + 1);
          if (index < 0) return undefined;
          break;
        case PUT:
          puts = true;
          break;
        default: // MEMOIZE
          memoizes = true;
      }
      if (index >= 0) addFetch(fetches, index, pos - start);
    }
    if (layout >= 0) {
      pos += 1 + layout; // fixed-size argument (running off the end is caught by the loop)
      continue;
    }
    const next = skipArgument(input, pos + 1, layout);
    if (next < 0) return undefined;
    pos = next;
  }
  return undefined; // no STOP: the decoder reports the truncation
}

/**
 * Records a fetch. The bitmap grows to cover indices below the bytes scanned so far (a dense memo
 * cannot have more entries than the pickle has opcodes), so its size stays bounded by the input;
 * any larger index goes to the set.
 */
function addFetch(fetches: MemoFetches, index: number, scanned: number): void {
  let bits = fetches.bits;
  if (index >= bits.length * 8 && index < scanned) {
    let size = bits.length;
    while (size * 8 <= index) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(bits);
    fetches.bits = bits = grown;
  }
  if (index < bits.length * 8) bits[index >>> 3]! |= 1 << (index & 7);
  else fetches.large.add(index);
}

/** Where the opcode after an argument of `layout` starting at `at` begins; -1 when it runs off the end. */
function skipArgument(input: Uint8Array, at: number, layout: number): number {
  const len = input.length;
  let end: number;
  switch (layout) {
    case UNKNOWN:
      return -1;
    case LENGTH1:
      end = at < len ? at + 1 + input[at]! : -1;
      break;
    case LENGTH4:
      end = at + 4 <= len ? at + 4 + ((input[at]! | (input[at + 1]! << 8) | (input[at + 2]! << 16) | (input[at + 3]! << 24)) >>> 0) : -1;
      break;
    case LENGTH8: {
      if (at + 8 > len) return -1;
      const high = (input[at + 4]! | (input[at + 5]! << 8) | (input[at + 6]! << 16) | (input[at + 7]! << 24)) >>> 0;
      const low = (input[at]! | (input[at + 1]! << 8) | (input[at + 2]! << 16) | (input[at + 3]! << 24)) >>> 0;
      end = high >= 0x200000 ? -1 : at + 8 + high * 0x100000000 + low;
      break;
    }
    case LINE:
      end = lineEnd(input, at);
      break;
    case TWO_LINES: {
      const first = lineEnd(input, at);
      end = first < 0 ? -1 : lineEnd(input, first);
      break;
    }
    default:
      end = at + layout;
  }
  return end >= 0 && end <= len ? end : -1;
}

/** The index just past the newline that ends the line starting at `at`, or -1. */
function lineEnd(input: Uint8Array, at: number): number {
  const nl = input.indexOf(0x0a, at);
  return nl < 0 ? -1 : nl + 1;
}

/** A line of 1 to 15 ASCII digits (what Python's pickler writes for GET), else -1. */
function digitsLine(input: Uint8Array, at: number): number {
  let value = 0;
  let pos = at;
  for (; pos < input.length && pos - at <= 15; pos++) {
    const c = input[pos]!;
    if (c === 0x0a) return pos > at ? value : -1;
    const d = c - 0x30;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return -1;
}

/** True when the ASCII `text` occurs in `input` between `from` and `to`. */
export function mentions(input: Uint8Array, from: number, to: number, text: string): boolean {
  const n = text.length;
  if (n === 0) return true;
  const first = text.charCodeAt(0);
  for (let at = input.indexOf(first, from); at >= 0 && at + n <= to; at = input.indexOf(first, at + 1)) {
    let k = 1;
    while (k < n && input[at + k] === text.charCodeAt(k)) k++;
    if (k === n) return true;
  }
  return false;
}
