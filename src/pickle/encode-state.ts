/**
 * The encoder's working state and the primitive writes every other encoder file builds on:
 * opcode emission (with the weights-only filter), the memo (PUT/GET/MEMOIZE) and error reporting
 * with the key path of the value being written.
 */
import { isTorchsaveError, PickleEncodeError, type ErrorCode, type KeyPath } from "../errors.js";
import type { ByteWriter } from "../bytes/writer.js";
import type { HostWriter } from "./encode-host.js";
import type { FramedWriter } from "./encode-output.js";
import { OPCODES_BY_NAME, type OpcodeInfo } from "./opcodes.js";
import type { PyBuffer } from "./value.js";

/** A path element as errors report it. */
export type PathKey = string | number;

/** Looks an opcode up by name once, at module load. */
export function opcode(name: string): OpcodeInfo {
  const info = OPCODES_BY_NAME[name];
  if (info === undefined) throw new PickleEncodeError("unsupported", `the opcode table has no ${name}`);
  return info;
}

/** The opcodes the encoder writes, resolved from the table once. */
export const OP = {
  MARK: opcode("MARK"), STOP: opcode("STOP"), POP: opcode("POP"), POP_MARK: opcode("POP_MARK"),
  PROTO: opcode("PROTO"), NONE: opcode("NONE"), NEWTRUE: opcode("NEWTRUE"), NEWFALSE: opcode("NEWFALSE"),
  INT: opcode("INT"), BININT: opcode("BININT"), BININT1: opcode("BININT1"), BININT2: opcode("BININT2"),
  LONG: opcode("LONG"), LONG1: opcode("LONG1"), LONG4: opcode("LONG4"),
  FLOAT: opcode("FLOAT"), BINFLOAT: opcode("BINFLOAT"),
  UNICODE: opcode("UNICODE"), SHORT_BINUNICODE: opcode("SHORT_BINUNICODE"), BINUNICODE: opcode("BINUNICODE"),
  BINUNICODE8: opcode("BINUNICODE8"),
  SHORT_BINBYTES: opcode("SHORT_BINBYTES"), BINBYTES: opcode("BINBYTES"), BINBYTES8: opcode("BINBYTES8"),
  BYTEARRAY8: opcode("BYTEARRAY8"), NEXT_BUFFER: opcode("NEXT_BUFFER"), READONLY_BUFFER: opcode("READONLY_BUFFER"),
  EMPTY_TUPLE: opcode("EMPTY_TUPLE"), TUPLE: opcode("TUPLE"), TUPLE1: opcode("TUPLE1"), TUPLE2: opcode("TUPLE2"),
  TUPLE3: opcode("TUPLE3"), EMPTY_LIST: opcode("EMPTY_LIST"), LIST: opcode("LIST"), APPEND: opcode("APPEND"),
  APPENDS: opcode("APPENDS"), EMPTY_DICT: opcode("EMPTY_DICT"), DICT: opcode("DICT"), SETITEM: opcode("SETITEM"),
  SETITEMS: opcode("SETITEMS"), EMPTY_SET: opcode("EMPTY_SET"), ADDITEMS: opcode("ADDITEMS"),
  FROZENSET: opcode("FROZENSET"),
  GET: opcode("GET"), BINGET: opcode("BINGET"), LONG_BINGET: opcode("LONG_BINGET"), PUT: opcode("PUT"),
  BINPUT: opcode("BINPUT"), LONG_BINPUT: opcode("LONG_BINPUT"), MEMOIZE: opcode("MEMOIZE"),
  EXT1: opcode("EXT1"), EXT2: opcode("EXT2"), EXT4: opcode("EXT4"),
  GLOBAL: opcode("GLOBAL"), STACK_GLOBAL: opcode("STACK_GLOBAL"), REDUCE: opcode("REDUCE"), BUILD: opcode("BUILD"),
  INST: opcode("INST"), OBJ: opcode("OBJ"), NEWOBJ: opcode("NEWOBJ"), NEWOBJ_EX: opcode("NEWOBJ_EX"),
  PERSID: opcode("PERSID"), BINPERSID: opcode("BINPERSID"),
} as const;

/**
 * The opcodes `torch.load(weights_only=True)` accepts (`torch/_weights_only_unpickler.py`), minus
 * EMPTY_SET: torch accepts it, but it is a protocol-4 opcode and the weights-only output is a
 * protocol-2 pickle, so sets are written as `builtins.set([...])` REDUCE like CPython does at 2.
 */
export const WEIGHTS_ONLY_OPCODES: ReadonlySet<number> = new Set(
  [
    "PROTO", "STOP", "MARK", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "EMPTY_TUPLE", "EMPTY_LIST", "EMPTY_DICT",
    "APPEND", "APPENDS", "SETITEM", "SETITEMS", "BUILD", "GLOBAL", "NEWOBJ", "REDUCE", "BINPERSID", "BINGET",
    "LONG_BINGET", "BINPUT", "LONG_BINPUT", "NONE", "NEWTRUE", "NEWFALSE", "BININT", "BININT1", "BININT2",
    "LONG1", "BINFLOAT", "BINUNICODE", "SHORT_BINSTRING",
  ].map((n) => opcode(n).code),
);

/** One value whose contents are being written: the encoder's explicit stack replaces recursion. */
export interface Frame {
  /** The value (identity) this frame writes; undefined for persistent-id frames. */
  readonly v: object | undefined;
  /** Where the value sits in its parent, for error paths; undefined for encoder-made helpers. */
  readonly key: PathKey | undefined;
  /** True for containers the encoder made up (the `(list,)` of a protocol-2 set, ...). */
  readonly fresh: boolean;
  /** The program; usually one of the shared constant programs, so a frame allocates nothing else. */
  readonly ops: readonly Step[];
  /** Values the `field` steps save (callable, args, kwargs or state, by program). */
  readonly a: unknown;
  readonly b: unknown;
  readonly c: unknown;
  /** The sequence the `own-seq` step writes, and how. */
  readonly items: readonly unknown[] | undefined;
  readonly batch: Batch;
  readonly pairs: boolean;
  readonly keyed: boolean;
  /** Index of the next step. */
  pc: number;
  /** Position inside the current sequence step (child index). */
  i: number;
  /** A sequence child finished in a nested frame and its trailing opcode is still to be written. */
  after: boolean;
}

/** How a sequence of items is grouped into APPEND(S)/SETITEM(S)/ADDITEMS batches. */
export const Batch = {
  /** No batching opcodes: tuple, frozenset, INST/OBJ arguments. */
  Plain: 0,
  /** `list` (C pickler `batch_list_exact`): one item → APPEND, else MARK…APPENDS per 1000. */
  ExactList: 1,
  /** `__reduce__` list items (`batch_list`): a lone item in a batch → APPEND. */
  IterList: 2,
  /** `dict` (`batch_dict_exact`): one entry → SETITEM; a full last batch is followed by an empty one. */
  ExactDict: 3,
  /** OrderedDict and `__reduce__` dict items (`batch_dict`): a lone entry in a batch → SETITEM. */
  IterDict: 4,
  /** `set` at protocol 4+ (`save_set`): MARK…ADDITEMS per 1000, plus an empty batch after a full one. */
  ExactSet: 5,
  /** Set items of an inert object: MARK…ADDITEMS per 1000. */
  IterSet: 6,
  /** Protocol 0 lists and dicts: every item gets its own APPEND/SETITEM. */
  EachItem: 7,
} as const;
export type Batch = (typeof Batch)[keyof typeof Batch];

/** One step of a frame's program. */
export type Step =
  /** Save a value held by the step (rare shapes: INST/OBJ argument lists, object tails). */
  | { readonly t: "save"; readonly v: unknown; readonly key: PathKey | undefined; readonly pers: boolean }
  /** Save the frame's `a`, `b` or `c`. */
  | { readonly t: "field"; readonly field: "a" | "b" | "c"; readonly pers: boolean }
  | { readonly t: "emit"; readonly op: OpcodeInfo; readonly arg?: unknown }
  /** Save a sequence held by the step with its batching opcodes. */
  | { readonly t: "seq"; readonly items: readonly unknown[]; readonly batch: Batch; readonly pairs: boolean; readonly keyed: boolean }
  /** Save the frame's own `items`. */
  | { readonly t: "own-seq" }
  /** After a tuple's items: TUPLEn/TUPLE + memo, or (the tuple was written meanwhile) POPs + GET. */
  | { readonly t: "close-tuple" }
  /** After a frozenset's items: FROZENSET + memo, or POP_MARK + GET. */
  | { readonly t: "close-frozenset" }
  /** After REDUCE/NEWOBJ/…: memo, or (written meanwhile) POP + GET and skip the remaining steps. */
  | { readonly t: "close-object" };

/**
 * Everything one `encodePickle` call works with; created per call (no module state). Values are
 * `unknown` here: the public entry point is generic, the machinery does not need to be.
 */
export interface EncodeState {
  readonly proto: number;
  readonly out: FramedWriter;
  /** Opcodes allowed in weights-only mode; undefined when unrestricted. */
  readonly allowed: ReadonlySet<number> | undefined;
  readonly maxDepth: number;
  /** Streaming: pending output at which the frame loop pauses so it can be handed out; else Infinity. */
  readonly pauseAt: number;
  readonly reduceHost: ((value: unknown) => unknown) | undefined;
  readonly persistentId: ((value: unknown) => unknown) | undefined;
  readonly bufferCallback: ((buffer: PyBuffer) => boolean) | undefined;
  /** `EncodeOptions.writeHost`, and the writer it is given (see `encode-host.ts`). */
  readonly writeHost: ((value: unknown, w: HostWriter) => boolean) | undefined;
  host: HostWriter | undefined;
  /** Memo indices of objects, by identity. */
  readonly memo: Map<object, number>;
  /** Memo indices of str values, by value (JS strings have no identity). */
  readonly strMemo: Map<string, number>;
  /** Memo indices of globals, by module and name (a Python class is a singleton). */
  readonly globalMemo: Map<string, number>;
  memoSize: number;
  /** How many frames currently write each object (cycle detection). */
  readonly active: Map<object, number>;
  /** Host value → the PyValue `reduceHost` gave for it, so a shared host value is written once. */
  readonly hostCache: Map<object, unknown>;
  readonly frames: Frame[];
  /** Key of the child being saved right now (appended to the frame keys in error paths). */
  curKey: PathKey | undefined;
}

/** The key path of the value being written. */
export function currentPath(st: EncodeState): KeyPath {
  const path: PathKey[] = [];
  for (const f of st.frames) if (f.key !== undefined) path.push(f.key);
  if (st.curKey !== undefined) path.push(st.curKey);
  return path;
}

/** A PickleEncodeError located at the value being written. */
export function encodeError(st: EncodeState, code: ErrorCode, reason: string, cause?: unknown): PickleEncodeError {
  const path = currentPath(st);
  return new PickleEncodeError(code, reason, cause === undefined ? { path } : { path, cause });
}

/** Calls a caller hook; its errors come back as torchsave errors located at the current value. */
export function callHook<A, R>(st: EncodeState, name: string, fn: (a: A) => R, arg: A): R {
  try {
    return fn(arg);
  } catch (e) {
    // A path of [] (a nested encoder's root) is the value handed to the hook: locate it here.
    if (isTorchsaveError(e)) throw e.path === undefined || e.path.length === 0 ? e.withLocation({ path: currentPath(st) }) : e;
    const message = e instanceof Error ? e.message : String(e);
    throw encodeError(st, "unencodable", `${name} threw: ${message}`, e);
  }
}

/** Writes one opcode and its argument; `payloadSize` routes large data outside protocol-4 frames. */
export function emit(st: EncodeState, op: OpcodeInfo, arg?: unknown, payloadSize?: number): void {
  op.arg.write(emitOpcode(st, op, payloadSize), arg);
}

/** Writes just the opcode byte and returns the writer its argument goes to (for hand-written fast paths). */
export function emitOpcode(st: EncodeState, op: OpcodeInfo, payloadSize?: number): ByteWriter {
  if (st.allowed !== undefined && !st.allowed.has(op.code)) {
    throw encodeError(st, "unencodable", `${op.name} is not accepted by torch.load(weights_only=True)`);
  }
  const w = payloadSize === undefined ? st.out.sink() : st.out.sinkFor(payloadSize);
  w.u8(op.code);
  return w;
}

/** Writes the memo store for the next index and returns that index (not registered anywhere). */
export function put(st: EncodeState): number {
  const idx = st.memoSize;
  if (idx > 0xffffffff) throw encodeError(st, "limit-exceeded", "more than 2^32 memo entries");
  st.memoSize++;
  if (st.proto >= 4) emit(st, OP.MEMOIZE);
  else if (st.proto >= 1) emit(st, idx < 256 ? OP.BINPUT : OP.LONG_BINPUT, idx);
  else emit(st, OP.PUT, idx);
  return idx;
}

/** Memoizes an object by identity. */
export function memoize(st: EncodeState, v: object): void {
  st.memo.set(v, put(st));
}

/** Writes a memo fetch. */
export function get(st: EncodeState, idx: number): void {
  if (st.proto >= 1) emit(st, idx < 256 ? OP.BINGET : OP.LONG_BINGET, idx);
  else emit(st, OP.GET, idx);
}
