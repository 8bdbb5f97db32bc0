/**
 * The decoder's options, limits, hook types and result: what callers and reducers see of
 * {@link decodePickle} (in decoder.ts), and the checks of the options themselves.
 */
import { PickleDecodeError, type ErrorLocation } from "../errors.js";
import type { PyGlobal, PyObjectVia, PyValue } from "./value.js";

/** Bounds on what one decode may build; exceeding one throws `limit-exceeded`. */
export interface DecodeLimits {
  /** Items on the stack, counting those below every MARK. Default 10,000,000 (a tuple that long). */
  maxStack: number;
  /** Distinct memo entries. Default 10,000,000. */
  maxMemo: number;
  /** Nested MARKs open at once. Default 100,000. */
  maxMarkDepth: number;
  /** Items one list, tuple, dict (pairs) or set (and an inert object's recorded items) may get. Default 100,000,000. */
  maxContainerItems: number;
  /** Longest pickle accepted, in bytes from the start offset. Default 2^53 - 1 (no limit). */
  maxBytes: number;
}

/**
 * The default limits. Memory use is already linear in the input (each opcode adds at most one
 * stack slot or container item), so these are generous; lower them for untrusted input in a small heap.
 */
export const DEFAULT_DECODE_LIMITS: Readonly<DecodeLimits> = Object.freeze({
  maxStack: 10_000_000,
  maxMemo: 10_000_000,
  maxMarkDepth: 100_000,
  maxContainerItems: 100_000_000,
  maxBytes: Number.MAX_SAFE_INTEGER,
});

/** Turns a persistent id (PERSID's text, or BINPERSID's value) into the object it stands for. */
export type PersistentLoad<X> = (pid: PyValue<X>, ctx: { offset: number; binary: boolean }) => PyValue<X>;

/** What a reducer learns about the call it may stand in for. */
export interface ReduceContext<X> {
  /** The global being called (the class for NEWOBJ, NEWOBJ_EX, INST and OBJ). */
  callable: PyGlobal;
  /** Which opcode made the call: `reduce` (`f(*args)`), `newobj` (`cls.__new__(cls, *args)`), ... */
  via: PyObjectVia;
  /** NEWOBJ_EX's keyword arguments (a dict). */
  kwargs?: PyValue<X>;
  /** Byte offset of the opcode (plus `baseOffset`). */
  offset: number;
  /**
   * False when `value`, an object this pickle built, is referenced only where it was built (it
   * was never stored in a memo entry the pickle reads back), so a reducer may consume it, e.g.
   * reuse a size tuple's items as a tensor's shape. True when it may be reached again, or when
   * the decoder cannot tell. Absent means "may be shared". Host values returned by hooks are the
   * hooks' own business.
   */
  shared?: (value: PyValue<X>) => boolean;
}

/**
 * Stands in for calls of one global: how `collections.OrderedDict()` becomes a {@link PyDict}, or
 * how the torch layer turns `torch._utils._rebuild_tensor_v2(...)` into a tensor record.
 */
export interface Reducer<X> {
  /** Called for REDUCE/NEWOBJ/NEWOBJ_EX/INST/OBJ whose callable is a global with this key. Return a
   *  value to stand in for the call's result, or undefined to leave an inert PyObject. */
  call(args: PyValue<X>, ctx: ReduceContext<X>): PyValue<X> | undefined;
}

/** Reducers by `"module.name"` (see `globalKey`). Looked up as own properties only. */
export type ReducerRegistry<X> = Readonly<Record<string, Reducer<X>>>;

/**
 * Options of {@link decodePickle} and {@link decodePickleAt}; every field is optional. Host values
 * (X) that hooks return must not carry a value-model `kind` tag ("dict", "list", ...): the decoder
 * tells them apart by that tag.
 */
export interface DecodeOptions<X = never> {
  /** Overrides for {@link DEFAULT_DECODE_LIMITS}; each must be a number ≥ 0. */
  limits?: Partial<DecodeLimits>;
  /** Default `BUILTIN_REDUCERS`; pass `{}` for a fully inert decode, or extend `builtinReducers<X>()`. */
  reducers?: ReducerRegistry<X>;
  /** Absent: PERSID/BINPERSID push a {@link PyPersistentId}. */
  persistentLoad?: PersistentLoad<X>;
  /** EXT1/2/4 registry (code → global, then through `findGlobal`); an absent code gives a {@link PyExtension}. */
  extensions?: ReadonlyMap<number, PyGlobal>;
  /** Protocol-5 out-of-band buffers for NEXT_BUFFER, in order; running out → `missing-buffer`. */
  buffers?: readonly Uint8Array[];
  /**
   * Python 2 `str` (STRING/BINSTRING/SHORT_BINSTRING). Default `"auto"`: a str when the bytes are
   * valid UTF-8, else {@link PyBytes}. `"bytes"`: always bytes; `"latin1"`: always str, byte = code
   * point; `"utf-8"`: str, and invalid UTF-8 is `invalid-data`.
   */
  strings?: "auto" | "bytes" | "latin1" | "utf-8";
  /**
   * Policy hook for GLOBAL, STACK_GLOBAL, INST and registered EXT codes: throw (e.g. a
   * `disallowed-global` error) to refuse, return a replacement value, or undefined for a {@link PyGlobal}.
   */
  findGlobal?: (module: string, name: string, offset: number) => PyValue<X> | undefined;
  /** BUILD on a host value (X). Absent: such a BUILD is `type-mismatch`. */
  build?: (target: X, state: PyValue<X>, offset: number) => void;
  /**
   * Called after every BUILD with the built object and the position just past the opcode. Some
   * writers (joblib) place raw data in the stream right after a BUILD; return `{ end }` to continue
   * decoding there, and `value` to put in place of the built object. Undefined: carry on.
   */
  afterBuild?: (target: PyValue<X>, input: Uint8Array, pos: number) => { end: number; value?: PyValue<X> } | undefined;
  /**
   * ASCII names (class names) that must appear in a pickle's bytes for `afterBuild` to ever
   * continue elsewhere, e.g. joblib's `NumpyArrayWrapper`. A pickle that mentions none of them is
   * decoded as if `afterBuild` could not jump, which lets the decoder drop memo entries the pickle
   * never reads back (and answer {@link ReduceContext.shared}). Absent: with `afterBuild`, every
   * memo entry is kept.
   */
  afterBuildMarkers?: readonly string[];
  /** Zip entry or record name, for error locations. */
  entry?: string;
  /** Added to every offset in errors and hook contexts (a pickle embedded in a larger file). Default 0. */
  baseOffset?: number;
}

/** What {@link decodePickleAt} found: the value and where its pickle ended. */
export interface DecodeResult<X> {
  value: PyValue<X>;
  /** Index in the input just after STOP (where a following, concatenated pickle starts). */
  end: number;
  /** The PROTO opcode's number; without one, the lowest protocol that has every opcode used (0 or 1 for CPython's output). */
  protocol: number;
}

const STRING_MODES: ReadonlySet<unknown> = new Set(["auto", "bytes", "latin1", "utf-8"]);
const LIMIT_NAMES = ["maxStack", "maxMemo", "maxMarkDepth", "maxContainerItems", "maxBytes"] as const;

/** The `strings` option is one of its four modes. */
export const isStringMode = (v: unknown): boolean => STRING_MODES.has(v);

export function argumentError(reason: string, where: ErrorLocation): PickleDecodeError {
  return new PickleDecodeError("invalid-argument", reason, where);
}

/** The limits a decode runs under: the defaults, overridden by each valid field of `partial`. */
export function resolveLimits(partial: Partial<DecodeLimits> | undefined, where: ErrorLocation): Readonly<DecodeLimits> {
  if (partial === undefined) return DEFAULT_DECODE_LIMITS;
  const out: DecodeLimits = { ...DEFAULT_DECODE_LIMITS };
  for (const name of LIMIT_NAMES) {
    const v = partial[name];
    if (v === undefined) continue;
    if (typeof v !== "number" || !(v >= 0)) throw argumentError(`limits.${name} must be a number ≥ 0`, where);
    out[name] = v;
  }
  return out;
}
