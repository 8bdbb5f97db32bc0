/**
 * The pickle encoder: a {@link PyValue} tree to the bytes CPython's `pickle.dumps(obj, protocol)`
 * writes for the equivalent Python object, byte for byte (C pickler `Modules/_pickle.c`, Python 3.11).
 *
 * Choices where JavaScript and Python differ:
 * - **str memo.** CPython memoizes strings by object identity; JS strings have none, so equal
 *   strings share one memo entry (the first is written, later ones are GETs). This matches CPython
 *   whenever equal strings are the same object there (identifiers, dict keys, interned literals) and
 *   otherwise only makes the output smaller. Strings the encoder makes up itself (the latin-1 text
 *   of bytes below protocol 3) are never shared, as CPython creates a fresh one each time.
 * - **Identity.** Every other container, bytes, complex and inert object is memoized by JS object
 *   identity, so shared references and cycles come back shared after decoding. Globals are memoized
 *   by module and name (a Python class is a singleton).
 * - **Lone surrogates.** A JS string cannot keep two lone surrogates apart when they form a pair;
 *   such a Python str reads back as one astral character.
 *
 * The encoder walks the value with an explicit stack (no recursion), so 1,000,000 nested lists
 * encode without overflowing the JS stack.
 */
import { isTorchsaveError, PickleEncodeError } from "../errors.js";
import { runFrames } from "./encode-frames.js";
import { hostWriter, type HostWriter } from "./encode-host.js";
import { FramedWriter } from "./encode-output.js";
import { emit, encodeError, OP, WEIGHTS_ONLY_OPCODES, type EncodeState } from "./encode-state.js";
import { save } from "./encode-values.js";
import type { PyBuffer, PyValue } from "./value.js";

/** The protocol `encodePickle` writes by default: Python 3.8+'s default. (torch writes 2; its layer passes it.) */
export const DEFAULT_PROTOCOL = 4;

/** Default {@link EncodeOptions.maxDepth}: deep enough for anything the decoder accepts by default. */
export const DEFAULT_ENCODE_MAX_DEPTH = 2_000_000;

/** Options of {@link encodePickle}; all optional. `X` is the type of host values `reduceHost` turns into pickle values. */
export interface EncodeOptions<X = never> {
  /** Pickle protocol 0-5. Default {@link DEFAULT_PROTOCOL}, or 2 with `weightsOnly`. */
  protocol?: 0 | 1 | 2 | 3 | 4 | 5;
  /**
   * Called for every host value (anything that is not a pickle value-model shape). Return the
   * PyValue to encode in its place (e.g. the torch layer returns a PyObject REDUCE of
   * `torch._utils._rebuild_tensor_v2`). Values it returns are themselves encoded (and may contain
   * host values again). Called once per host object: a host value met again is written as a memo
   * GET of what it became. Absent: a host value → `unencodable` with its key path.
   */
  reduceHost?: (value: X) => PyValue<X>;
  /**
   * Called for every value before anything else (CPython's `persistent_id`; not for the module and
   * name strings of globals). Returning a PyValue writes it as a persistent id: BINPERSID at
   * protocol >= 1, the text PERSID at 0 (then it must be an ASCII str). `undefined` or `null`
   * (Python's None) write the value normally.
   */
  persistentId?: (value: PyValue<X>) => PyValue<X> | undefined;
  /**
   * Called for a host object before `reduceHost`: write it directly through `w` (the opcodes and
   * memo slots `encodePickle` would write for what `reduceHost` returns, see {@link HostWriter})
   * and return true, or return false to leave it to `reduceHost`. A speed path for calls repeated
   * many times; the bytes must be the same either way.
   */
  writeHost?: (value: X, w: HostWriter) => boolean;
  /**
   * Restrict the output to what `torch.load(weights_only=True)` accepts: protocol 2 and only
   * PROTO STOP MARK TUPLE TUPLE1-3 EMPTY_TUPLE/LIST/DICT APPEND(S) SETITEM(S) BUILD GLOBAL NEWOBJ
   * REDUCE BINPERSID (LONG_)BINGET (LONG_)BINPUT NONE NEWTRUE NEWFALSE BININT BININT1 BININT2 LONG1
   * BINFLOAT BINUNICODE SHORT_BINSTRING. EMPTY_SET, which torch also accepts, is a protocol-4
   * opcode, so sets are written as `builtins.set([...])` REDUCE like CPython at protocol 2; bytes
   * (even empty) as `_codecs.encode(str, "latin1")` REDUCE. Values needing anything else
   * (frozenset, NEWOBJ_EX, INST/OBJ, extension codes, text PERSID, ints over 255 bytes, a tuple that
   * contains itself, nested global names) → `unencodable` with the key path. The globals a caller's
   * objects name are not checked here; the torch layer's allow-list does that.
   */
  weightsOnly?: boolean;
  /**
   * Protocol 5: called for each PyBuffer; return true to send it out-of-band (NEXT_BUFFER, plus
   * READONLY_BUFFER when read-only; the caller collects the data and passes it to the decoder),
   * else it is written in-band (BINBYTES when read-only, BYTEARRAY8 otherwise). Absent: in-band.
   * Note the polarity is the opposite of Python's `buffer_callback`.
   */
  bufferCallback?: (buffer: PyBuffer) => boolean;
  /** Maximum nesting of containers and objects before `limit-exceeded`. Default {@link DEFAULT_ENCODE_MAX_DEPTH}. */
  maxDepth?: number;
}

/**
 * Encodes `value` as a pickle. The result is a view of the encoder's output buffer (no final copy).
 *
 * @throws PickleEncodeError `invalid-argument` for a bad option or a malformed value-model object,
 *   `unencodable` for a value the protocol (or weights-only mode) cannot express, a host value
 *   without `reduceHost`, or a failing hook; `limit-exceeded` past `maxDepth` or when memory runs
 *   out. Errors carry the key path of the offending value.
 */
export function encodePickle<X = never>(value: PyValue<X>, options: EncodeOptions<X> = {}): Uint8Array {
  const st = createState(options);
  try {
    if (st.proto >= 2) emit(st, OP.PROTO, st.proto);
    if (st.proto >= 4) st.out.startFraming();
    if (save(st, value, undefined, true)) runFrames(st);
    st.curKey = undefined;
    emit(st, OP.STOP);
    return st.out.finish();
  } catch (e) {
    throw asEncodeError(st, e);
  }
}

/** Default {@link EncodeChunksOptions.chunkBytes}: 1 MiB. */
export const DEFAULT_PICKLE_CHUNK_BYTES = 1 << 20;

/** Options of {@link encodePickleChunks}: those of {@link encodePickle}, and the size of the pieces. */
export interface EncodeChunksOptions<X = never> extends EncodeOptions<X> {
  /** Output gathered before it is handed out (a piece may be larger by one value). Default {@link DEFAULT_PICKLE_CHUNK_BYTES}. */
  chunkBytes?: number;
}

/**
 * {@link encodePickle} in pieces, made as they are asked for: the same bytes, handed out about
 * `chunkBytes` at a time, with bytes payloads of 64 KiB or more passed on as they are (views of the value's
 * data, not copies). Memory stays bounded by the value itself plus about a MiB, so a caller whose
 * values make their bytes on demand (plain pickles of checkpoints) writes any size.
 * @throws as {@link encodePickle}, while iterating.
 */
export function* encodePickleChunks<X = never>(value: PyValue<X>, options: EncodeChunksOptions<X> = {}): Generator<Uint8Array> {
  const chunkBytes = options.chunkBytes ?? DEFAULT_PICKLE_CHUNK_BYTES;
  if (!(chunkBytes >= 1)) throw new PickleEncodeError("invalid-argument", `chunkBytes must be at least 1, got ${String(chunkBytes)}`);
  const st = createState(options, chunkBytes);
  try {
    if (st.proto >= 2) emit(st, OP.PROTO, st.proto);
    if (st.proto >= 4) st.out.startFraming();
    if (save(st, value, undefined, true)) {
      while (runFrames(st)) yield* st.out.drain();
    }
    st.curKey = undefined;
    emit(st, OP.STOP);
    st.out.commit();
  } catch (e) {
    throw asEncodeError(st, e);
  }
  yield* st.out.drain();
}

function asEncodeError(st: EncodeState, e: unknown): unknown {
  if (isTorchsaveError(e)) return e;
  // Defensive: a malformed value object or an allocation failure must still surface as ours.
  const message = e instanceof Error ? e.message : String(e);
  return encodeError(st, e instanceof RangeError ? "limit-exceeded" : "invalid-argument", `encoding failed: ${message}`, e);
}

/** `pauseAt`: streaming, the output handed out at a time (see {@link EncodeState.pauseAt}). */
function createState<X>(options: EncodeOptions<X>, pauseAt = Infinity): EncodeState {
  const weightsOnly = options.weightsOnly === true;
  const proto = options.protocol ?? (weightsOnly ? 2 : DEFAULT_PROTOCOL);
  if (!Number.isInteger(proto) || proto < 0 || proto > 5) {
    throw new PickleEncodeError("invalid-argument", `protocol must be 0-5, got ${String(proto)}`);
  }
  if (weightsOnly && proto !== 2) {
    throw new PickleEncodeError("invalid-argument", `weightsOnly writes protocol 2, not ${proto}`);
  }
  if (options.bufferCallback !== undefined && proto < 5) {
    throw new PickleEncodeError("invalid-argument", "bufferCallback needs protocol 5");
  }
  const maxDepth = options.maxDepth ?? DEFAULT_ENCODE_MAX_DEPTH;
  if (!(maxDepth >= 1)) throw new PickleEncodeError("invalid-argument", `maxDepth must be at least 1, got ${String(maxDepth)}`);
  const st: EncodeState = {
    proto,
    out: new FramedWriter(pauseAt !== Infinity),
    allowed: weightsOnly ? WEIGHTS_ONLY_OPCODES : undefined,
    maxDepth,
    pauseAt,
    reduceHost: options.reduceHost as ((value: unknown) => unknown) | undefined,
    persistentId: options.persistentId as ((value: unknown) => unknown) | undefined,
    bufferCallback: options.bufferCallback,
    writeHost: options.writeHost as ((value: unknown, w: HostWriter) => boolean) | undefined,
    host: undefined,
    memo: new Map(),
    strMemo: new Map(),
    globalMemo: new Map(),
    memoSize: 0,
    active: new Map(),
    hostCache: new Map(),
    frames: [],
    curKey: undefined,
  };
  if (st.writeHost !== undefined) st.host = hostWriter(st);
  return st;
}
