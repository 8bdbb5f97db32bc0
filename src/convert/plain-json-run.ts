/**
 * Lists of numbers and bools as the plain JSON parser keeps them (`plain-json-read.ts`): a run of
 * values in a Float64Array with a kind per element, never an object per number; and the number
 * scanner that reads a token's value from its bytes.
 */

/** Kinds of a run's elements: a bool, an int (spelled without `.` or exponent) or a float. */
export const BOOL = 0, INT = 1, FLOAT = 2;

/** A non-empty list of numbers and bools, as read: values (`Number(text)`, bools 0/1) and kinds. */
export interface NumberRun {
  readonly values: Float64Array;
  readonly kinds: Uint8Array;
  /** "float" when an element is a float, else "int" when one is an int, else "bool". */
  readonly kind: "bool" | "int" | "float";
  /** Ints past 2^53, by index: their exact text. */
  readonly bigInts: ReadonlyMap<number, string>;
}

/** A parsed JSON value: numbers keep their text, objects their key order and repeats; lists of numbers are runs. */
export type ParsedJson =
  | null
  | boolean
  | string
  | { readonly t: "num"; readonly text: string }
  | { readonly t: "nums"; readonly run: NumberRun }
  | { readonly t: "arr"; readonly items: ParsedJson[] }
  | { readonly t: "obj"; readonly entries: [string, ParsedJson][] };

/** Text that reads back as element `i` of `run` with the same kind and value (`-0`, `1.0`, exact big ints). */
export function runText(run: NumberRun, i: number): string {
  const v = run.values[i]!;
  const k = run.kinds[i]!;
  if (k === BOOL) return v !== 0 ? "true" : "false";
  if (k === INT) return run.bigInts.get(i) ?? (Object.is(v, -0) ? "-0" : String(v));
  if (!Number.isFinite(v)) return String(v);
  const s = Object.is(v, -0) ? "-0" : String(v);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/** A run's elements as plain JSON scalars: bools, and numbers with a text that reads back the same. */
export function runItems(run: NumberRun): ParsedJson[] {
  const out: ParsedJson[] = new Array<ParsedJson>(run.values.length);
  for (let i = 0; i < out.length; i++) out[i] = run.kinds[i] === BOOL ? run.values[i] !== 0 : { t: "num", text: runText(run, i) };
  return out;
}

/** A number token: its value, kind, and (for big ints and scalars) its text. */
export interface Num {
  value: number;
  kind: number;
  text: string | undefined;
}

const NO_BIG_INTS: ReadonlyMap<number, string> = new Map();
const EMPTY_VALUES = new Float64Array(0);
const EMPTY_KINDS = new Uint8Array(0);

/** The elements of an array read so far while all are numbers or bools. */
export class RunBuilder {
  values = EMPTY_VALUES;
  kinds = EMPTY_KINDS;
  length = 0;
  kind = BOOL;
  bigInts: Map<number, string> | undefined;
  push(value: number, kind: number, big: string | undefined): void {
    if (this.length === this.values.length) {
      const v = new Float64Array(Math.max(16, this.length * 2));
      v.set(this.values);
      this.values = v;
      const k = new Uint8Array(Math.max(16, this.length * 2));
      k.set(this.kinds);
      this.kinds = k;
    }
    if (big !== undefined) (this.bigInts ??= new Map()).set(this.length, big);
    this.values[this.length] = value;
    this.kinds[this.length++] = kind;
    if (kind > this.kind) this.kind = kind;
  }
  finish(): NumberRun {
    const n = this.length;
    return { values: this.values.slice(0, n), kinds: this.kinds.slice(0, n), kind: this.kind === FLOAT ? "float" : this.kind === INT ? "int" : "bool", bigInts: this.bigInts ?? NO_BIG_INTS };
  }
}

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * The longest JSON number at `bytes[from..to)` (`-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`): its length
 * (0 when none), with value and kind in `out`. Up to 15 digits and a power of ten up to 22 are
 * exact in one IEEE operation (correctly rounded, as `Number(text)`); longer ones use `Number`.
 */
export function scanNumber(bytes: Uint8Array, from: number, to: number, out: Num): number {
  let i = from;
  const neg = bytes[i] === 0x2d;
  if (neg) i++;
  if (i >= to || bytes[i]! < 0x30 || bytes[i]! > 0x39) return 0;
  let mantissa = 0;
  let digits = 0;
  if (bytes[i] === 0x30) {
    i++;
  } else {
    while (i < to && bytes[i]! >= 0x30 && bytes[i]! <= 0x39) {
      mantissa = mantissa * 10 + (bytes[i]! - 0x30);
      digits++;
      i++;
    }
  }
  let end = i;
  let kind = INT;
  let scale = 0;
  if (i + 1 < to && bytes[i] === 0x2e && bytes[i + 1]! >= 0x30 && bytes[i + 1]! <= 0x39) {
    kind = FLOAT;
    i++;
    while (i < to && bytes[i]! >= 0x30 && bytes[i]! <= 0x39) {
      if (digits > 0 || bytes[i] !== 0x30 || mantissa > 0) digits++;
      mantissa = mantissa * 10 + (bytes[i]! - 0x30);
      scale--;
      i++;
    }
    end = i;
  }
  if (i < to && (bytes[i] === 0x65 || bytes[i] === 0x45)) {
    let j = i + 1;
    let eneg = false;
    if (j < to && (bytes[j] === 0x2b || bytes[j] === 0x2d)) {
      eneg = bytes[j] === 0x2d;
      j++;
    }
    if (j < to && bytes[j]! >= 0x30 && bytes[j]! <= 0x39) {
      kind = FLOAT;
      let e = 0;
      while (j < to && bytes[j]! >= 0x30 && bytes[j]! <= 0x39) {
        if (e < 1e6) e = e * 10 + (bytes[j]! - 0x30);
        j++;
      }
      scale += eneg ? -e : e;
      end = j;
    }
  }
  out.kind = kind;
  if (digits <= 15 && scale >= -22 && scale <= 22) {
    const v = scale >= 0 ? mantissa * POW10[scale]! : mantissa / POW10[-scale]!;
    out.value = neg ? -v : v;
  } else {
    out.value = Number(String.fromCharCode.apply(null, bytes.subarray(from, end) as unknown as number[]));
  }
  return end - from;
}
