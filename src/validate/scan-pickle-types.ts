/**
 * What the security scanner reports of one pickle (see scan-pickle.ts): the value descriptions of
 * its stack emulation, the globals it imports and how they are spelled, calls and BUILD targets,
 * storage persistent ids, nested pickles, and the walk's problems.
 */
/** What the emulation knows about a stack value. */
export type Desc =
  | { readonly t: "str"; readonly v: string; readonly raw?: Uint8Array; readonly at?: number; readonly planted?: true }
  | { readonly t: "bytes"; readonly data: Uint8Array; readonly at: number; readonly io?: boolean }
  | { readonly t: "int"; readonly v: number | bigint }
  | { readonly t: "tuple"; readonly items: readonly Desc[] | undefined }
  | { readonly t: "global"; readonly module: string; readonly name: string; readonly key: string }
  | { readonly t: "obj"; readonly by: string | undefined; readonly via: CallVia; readonly newOf?: string }
  | { readonly t: "ext"; readonly code: number }
  /** A dict; `entries` holds the str-keyed items set on it (a few, for BUILD states), when tracked. */
  | { readonly t: "dict"; readonly entries?: Array<readonly [string, Desc]> }
  | { readonly t: "float" | "bool" | "none" | "list" | "set" | "frozenset" | "bytearray" | "buffer" | "persid" | "unknown" };

/** The opcode that made a call. */
export type CallVia = "REDUCE" | "NEWOBJ" | "NEWOBJ_EX" | "INST" | "OBJ";

/**
 * How a global's module and name reached the importing opcode: literal strings, strings from the
 * memo, or ("override") an attribute a BUILD planted on a module or class earlier in the pickle.
 */
export type GlobalSpelling = "literal" | "memo" | "computed" | "override";

/** BUILD, SETITEM or APPEND applied to an imported global (a module, class or module-level object) itself. */
export interface GlobalMutation {
  readonly offset: number;
  readonly op: "BUILD" | "SETITEM" | "SETITEMS" | "APPEND" | "APPENDS";
  /** The global mutated ("torch._utils"). */
  readonly key: string;
  /** For BUILD: the attributes it sets, when known. */
  readonly attrs: readonly string[];
}

/** One import: which global, where, by which opcode, spelled how. */
export interface GlobalUse {
  readonly module: string;
  readonly name: string;
  /** Offset of the importing opcode (in the scanned bytes, plus `baseOffset`). */
  readonly offset: number;
  readonly opcode: "GLOBAL" | "STACK_GLOBAL" | "INST";
  readonly spelling: GlobalSpelling;
}

/** Operations whose target the weights_only unpickler checks. */
export interface TargetEvent {
  readonly op: "REDUCE" | "NEWOBJ" | "BUILD" | "APPEND" | "APPENDS" | "SETITEM" | "SETITEMS" | "BINPERSID";
  readonly offset: number;
  readonly target: Desc;
  /** REDUCE only: the argument tuple (for rules on a call's arity, such as torch 1.13's sparse rebuild). */
  readonly args?: Desc;
}

/** A torch storage persistent id: ('storage', StorageClass, key, location, numel[, view]). */
export interface StorageRef {
  readonly offset: number;
  readonly storageClass: string;
  readonly key: string;
  readonly location: string | undefined;
  readonly numel: number | undefined;
  /** Legacy view metadata (view_key, offset, size), when present. */
  readonly view?: { readonly key: string; readonly offset: number; readonly size: number };
}

/** Bytes handed to a loader (or a bytes argument that looks like a pickle), to be scanned in turn. */
export interface NestedBytes {
  readonly offset: number;
  /** The callable that receives the bytes, "module.name". */
  readonly loader: string;
  readonly data: Uint8Array;
  /** Where `data` starts in the scanned bytes (plus `baseOffset`), or undefined when it was built (`_codecs.encode`). */
  readonly dataAt: number | undefined;
  /** "torch-file": a whole torch.save file (`_load_from_bytes`); "pickle": a pickle stream. */
  readonly format: "torch-file" | "pickle";
}

/** A suspicious spot in a pickle, with a message. */
export interface ScanProblem {
  readonly offset: number;
  readonly message: string;
}

/** The first point where Python's unpickler would have failed. */
export interface ScanError {
  readonly kind: "truncated" | "invalid";
  /** The decoder-style error code ("truncated", "unknown-opcode", "stack-underflow", ...). */
  readonly code: string;
  readonly message: string;
  readonly offset: number;
  readonly opcode: string | undefined;
}

/** Everything one walk of a pickle learned. */
export interface PickleScan {
  /** Where the walk started (plus `baseOffset`). */
  readonly start: number;
  /** Just past STOP, or where the walk stopped. */
  readonly end: number;
  /** True when STOP was reached. */
  readonly complete: boolean;
  /** The PROTO number, or -1 without PROTO. */
  readonly protocol: number;
  /** The first error Python would have raised (the walk continued leniently after semantic ones). */
  readonly error: ScanError | undefined;
  readonly globals: GlobalUse[];
  /** Opcode name → count and first offset. */
  readonly opcodes: Map<string, { count: number; first: number }>;
  readonly events: TargetEvent[];
  /** True when more target events happened than were kept. */
  readonly eventsTruncated: boolean;
  readonly storageRefs: StorageRef[];
  /** Persistent ids that are not storage tuples (module refs of whole-model saves, or anything else). */
  readonly otherPersistentIds: { offset: number; tag: string | undefined }[];
  readonly nested: NestedBytes[];
  readonly extensions: { offset: number; code: number }[];
  /**
   * Every call of builtins.getattr: `boundMethod` when it takes an object this pickle built and a
   * literal, non-dunder name (how Python pickles a bound method), with the object's class.
   */
  readonly getattrCalls: { offset: number; boundMethod: boolean; ownerClass: string | undefined }[];
  /**
   * Every call of functools.partial: `newOf` names C when it wraps `getattr(C, "__new__")`, as
   * copyreg's protocol 2/3 spelling of NEWOBJ_EX does (`partial(object.__new__)`, the class and
   * arguments following as arguments or BUILD state).
   */
  readonly partialCalls: { offset: number; newOf: string | undefined }[];
  /** Offsets where the result of a getattr call is itself called. */
  readonly getattrResultCalls: number[];
  /** BUILD/SETITEM/APPEND on an imported global: what later lookups return is changed. */
  readonly globalMutations: GlobalMutation[];
  /** STACK_GLOBAL operands that are not strings (Python raises there). */
  readonly typeConfusion: ScanProblem[];
  /** STACK_GLOBAL operands computed at load time (unknowable without running the pickle). */
  readonly unresolved: ScanProblem[];
  readonly gets: number;
  readonly puts: number;
  readonly dups: number;
  readonly maxMarkDepth: number;
  /** Opcodes walked. */
  readonly ops: number;
  /** The value STOP returned, as described. */
  readonly result: Desc | undefined;
  /** True when the walk stopped because `maxOps` ran out. */
  readonly limitReached: boolean;
}

/** Options for {@link scanPickle}; every field is optional. */
export interface ScanPickleOptions {
  /** Added to every offset recorded (a pickle inside a larger file). Default 0. */
  readonly baseOffset?: number;
  /** Most opcodes walked before giving up. Default {@link DEFAULT_MAX_SCAN_OPS}. */
  readonly maxOps?: number;
  /** Most target events kept. Default 100,000. */
  readonly maxEvents?: number;
  /**
   * Data that is not opcodes, keyed by the position just after a BUILD (in `bytes`): the walk
   * continues at the value. joblib writes each array's raw bytes there (see validate-joblib.ts).
   */
  readonly skipAfterBuild?: ReadonlyMap<number, number>;
}

/** Default {@link ScanPickleOptions.maxOps}: 50 million opcodes. */
export const DEFAULT_MAX_SCAN_OPS = 50_000_000;
