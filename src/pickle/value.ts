/**
 * A lossless model of every value a pickle can carry. Each Python value has exactly one JS shape,
 * so decode → encode → decode changes nothing:
 *
 * | Python            | JS                                             |
 * |-------------------|------------------------------------------------|
 * | None              | `null`                                         |
 * | bool              | `boolean`                                      |
 * | int               | `number` when a safe integer, else `bigint`    |
 * | str               | `string` (lone surrogates kept)                |
 * | float             | {@link PyFloat} (1.0 stays a float; -0.0, NaN bits kept) |
 * | complex           | {@link PyComplex}                              |
 * | bytes / bytearray | {@link PyBytes} / {@link PyByteArray}          |
 * | tuple / list      | {@link PyTuple} / {@link PyList}               |
 * | dict (+ OrderedDict and other dict subclasses) | {@link PyDict} (ordered entries, any hashable keys) |
 * | set / frozenset   | {@link PySet} / {@link PyFrozenSet}            |
 * | a class or function reference | {@link PyGlobal}                   |
 * | anything built by calling one | {@link PyObject} (inert: never executed) |
 * | persistent id without a hook | {@link PyPersistentId}              |
 * | protocol-5 out-of-band buffer | {@link PyBuffer}                   |
 * | unregistered extension code | {@link PyExtension}                  |
 *
 * Shared references keep identity: an object referenced twice is one JS object referenced twice,
 * and cycles are real cycles. Containers are therefore mutable while decoding and should be treated
 * as read-only afterwards.
 *
 * `X` is the type of host values that hooks build (the torch layer's tensors and storages); the pure
 * pickle layer uses `never`.
 */

export type PyValue<X = never> =
  | null
  | boolean
  | number
  | bigint
  | string
  | PyFloat
  | PyComplex
  | PyBytes
  | PyByteArray
  | PyTuple<X>
  | PyList<X>
  | PyDict<X>
  | PySet<X>
  | PyFrozenSet<X>
  | PyGlobal
  | PyObject<X>
  | PyPersistentId<X>
  | PyBuffer
  | PyExtension
  | X;

export interface PyFloat {
  readonly kind: "float";
  readonly value: number;
  /** The 64-bit pattern (big-endian hex, 16 digits) of a NaN whose payload is not the canonical one. */
  readonly nanBits?: string;
}

export interface PyComplex {
  readonly kind: "complex";
  readonly real: number;
  readonly imag: number;
}

export interface PyBytes {
  readonly kind: "bytes";
  /** A view into the decoded input (no copy); copy it before mutating the input. */
  readonly data: Uint8Array;
}

export interface PyByteArray {
  readonly kind: "bytearray";
  readonly data: Uint8Array;
}

export interface PyTuple<X = never> {
  readonly kind: "tuple";
  readonly items: PyValue<X>[];
}

export interface PyList<X = never> {
  readonly kind: "list";
  readonly items: PyValue<X>[];
}

export interface PyDict<X = never> {
  readonly kind: "dict";
  /** Key/value pairs in insertion order. Keys are hashable values (never lists, dicts or sets). */
  readonly entries: [PyValue<X>, PyValue<X>][];
  /** The dict subclass that built it, e.g. `collections.OrderedDict`; absent for a plain dict. */
  readonly type?: PyGlobal;
  /** Instance attributes set by BUILD (a state_dict's `_metadata` lives here). */
  state?: PyValue<X>;
}

export interface PySet<X = never> {
  readonly kind: "set";
  readonly items: PyValue<X>[];
}

export interface PyFrozenSet<X = never> {
  readonly kind: "frozenset";
  readonly items: PyValue<X>[];
}

/** A reference to `module.name` (GLOBAL, STACK_GLOBAL, INST/OBJ classes). Never resolved or executed. */
export interface PyGlobal {
  readonly kind: "global";
  readonly module: string;
  readonly name: string;
}

/** How an inert object was built, so it is written back the same way. */
export type PyObjectVia = "reduce" | "newobj" | "newobj_ex" | "inst" | "obj";

/**
 * The result of a call the decoder did not perform: `callable(*args, **kwargs)`, then the items
 * APPENDS/SETITEMS/ADDITEMS added to it, then BUILD's state.
 */
export interface PyObject<X = never> {
  readonly kind: "object";
  readonly via: PyObjectVia;
  /** Usually a {@link PyGlobal}; any value for REDUCE. */
  readonly callable: PyValue<X>;
  /** Positional arguments (a tuple for every `via` but "reduce", where it may be anything). */
  readonly args: PyValue<X>;
  /** Keyword arguments of NEWOBJ_EX. */
  readonly kwargs?: PyValue<X>;
  state?: PyValue<X>;
  listItems?: PyValue<X>[];
  dictItems?: [PyValue<X>, PyValue<X>][];
  setItems?: PyValue<X>[];
}

/** A persistent id left as data because no `persistentLoad` hook was given. */
export interface PyPersistentId<X = never> {
  readonly kind: "persid";
  readonly pid: PyValue<X>;
  /** True for BINPERSID (pid is any value), false for PERSID (pid is a text line). */
  readonly binary: boolean;
}

/** A protocol-5 out-of-band buffer (NEXT_BUFFER, optionally READONLY_BUFFER). */
export interface PyBuffer {
  readonly kind: "buffer";
  readonly data: Uint8Array;
  readonly readonly: boolean;
}

/** An EXT1/EXT2/EXT4 code not found in the caller's extension registry. */
export interface PyExtension {
  readonly kind: "ext";
  readonly code: number;
}

// ---------------------------------------------------------------------------------------------
// Constructors: the one way to build each shape, so callers never spell tags by hand.

export const pyFloat = (value: number): PyFloat => ({ kind: "float", value });
export const pyComplex = (real: number, imag: number): PyComplex => ({ kind: "complex", real, imag });
export const pyBytes = (data: Uint8Array): PyBytes => ({ kind: "bytes", data });
export const pyByteArray = (data: Uint8Array): PyByteArray => ({ kind: "bytearray", data });
export const pyTuple = <X = never>(items: PyValue<X>[]): PyTuple<X> => ({ kind: "tuple", items });
export const pyList = <X = never>(items: PyValue<X>[]): PyList<X> => ({ kind: "list", items });
export const pySet = <X = never>(items: PyValue<X>[]): PySet<X> => ({ kind: "set", items });
export const pyFrozenSet = <X = never>(items: PyValue<X>[]): PyFrozenSet<X> => ({ kind: "frozenset", items });
export const pyGlobal = (module: string, name: string): PyGlobal => ({ kind: "global", module, name });

export function pyDict<X = never>(entries: [PyValue<X>, PyValue<X>][] = [], type?: PyGlobal): PyDict<X> {
  return type === undefined ? { kind: "dict", entries } : { kind: "dict", entries, type };
}

/** A dict from a JS object or Map with string keys, in iteration order. */
export function pyDictFrom<X = never>(source: Record<string, PyValue<X>> | Map<PyValue<X>, PyValue<X>>, type?: PyGlobal): PyDict<X> {
  const entries: [PyValue<X>, PyValue<X>][] = source instanceof Map ? [...source] : Object.entries(source);
  return pyDict(entries, type);
}

export const ORDERED_DICT: PyGlobal = pyGlobal("collections", "OrderedDict");

// ---------------------------------------------------------------------------------------------
// Guards and helpers.

const KINDS = new Set([
  "float", "complex", "bytes", "bytearray", "tuple", "list", "dict", "set", "frozenset",
  "global", "object", "persid", "buffer", "ext",
]);

/** The `kind` of a tagged pickle value, or undefined for null/bool/int/str and host values. */
export function pyKind(v: unknown): string | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const k = (v as { kind?: unknown }).kind;
  return typeof k === "string" && KINDS.has(k) ? k : undefined;
}

export const isPyInt = (v: unknown): v is number | bigint =>
  (typeof v === "number" && Number.isInteger(v)) || typeof v === "bigint";
export const isPyFloat = (v: unknown): v is PyFloat => pyKind(v) === "float";
export const isPyDict = <X>(v: PyValue<X> | unknown): v is PyDict<X> => pyKind(v) === "dict";
export const isPyList = <X>(v: PyValue<X> | unknown): v is PyList<X> => pyKind(v) === "list";
export const isPyTuple = <X>(v: PyValue<X> | unknown): v is PyTuple<X> => pyKind(v) === "tuple";
export const isPyGlobal = (v: unknown): v is PyGlobal => pyKind(v) === "global";
export const isPyObject = <X>(v: PyValue<X> | unknown): v is PyObject<X> => pyKind(v) === "object";

/** `module.name` of a global, the key reducer registries and allow-lists use. */
export const globalKey = (g: PyGlobal): string => `${g.module}.${g.name}`;

/**
 * Python equality for hashable keys: ints equal across number/bigint, floats and complex equal to
 * ints of the same value (Python's `1 == 1.0 == 1+0j`), tuples element-wise, frozensets as sets,
 * strings and bytes by content. Iterative, so deeply nested tuple keys cannot overflow the stack.
 */
export function pyKeyEquals(a: unknown, b: unknown): boolean {
  const work: [unknown, unknown][] = [[a, b]];
  while (work.length > 0) {
    const [x, y] = work.pop()!;
    if (x === y) continue;
    const nx = numericValue(x);
    const ny = numericValue(y);
    if (nx !== undefined || ny !== undefined) {
      if (nx === undefined || ny === undefined || !numbersEqual(nx, ny)) return false;
      continue;
    }
    const kx = pyKind(x);
    if (kx === undefined || kx !== pyKind(y)) return false;
    switch (kx) {
      case "bytes":
      case "bytearray": {
        const p = (x as PyBytes).data, q = (y as PyBytes).data;
        if (p.length !== q.length || !p.every((v, i) => v === q[i])) return false;
        break;
      }
      case "tuple": {
        const p = (x as PyTuple).items, q = (y as PyTuple).items;
        if (p.length !== q.length) return false;
        for (let i = 0; i < p.length; i++) work.push([p[i], q[i]]);
        break;
      }
      case "frozenset": {
        // Set equality: every member of one has an equal member in the other (members are unique).
        const p = (x as PyFrozenSet).items, q = (y as PyFrozenSet).items;
        if (p.length !== q.length || !p.every((m) => q.some((n) => pyKeyEquals(m, n)))) return false;
        break;
      }
      case "complex":
        if ((x as PyComplex).real !== (y as PyComplex).real || (x as PyComplex).imag !== (y as PyComplex).imag) return false;
        break;
      case "global":
        if ((x as PyGlobal).module !== (y as PyGlobal).module || (x as PyGlobal).name !== (y as PyGlobal).name) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

function numbersEqual(a: number | bigint, b: number | bigint): boolean {
  if (typeof a === "number" && typeof b === "number") return a === b;
  // One side is a bigint: equal only to an integral number of the same value.
  const x = typeof a === "bigint" ? a : Number.isInteger(a) ? BigInt(a) : undefined;
  const y = typeof b === "bigint" ? b : Number.isInteger(b) ? BigInt(b) : undefined;
  return x !== undefined && x === y;
}

/** The number a numeric key stands for; complex with a zero imaginary part counts as its real part. */
function numericValue(v: unknown): number | bigint | undefined {
  if (typeof v === "number" || typeof v === "bigint") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  const kind = pyKind(v);
  if (kind === "float") return (v as PyFloat).value;
  if (kind === "complex" && (v as PyComplex).imag === 0) return (v as PyComplex).real;
  return undefined;
}

/** The value stored under `key` in a dict (Python equality), or undefined. */
export function dictGet<X>(dict: PyDict<X>, key: PyValue<X>): PyValue<X> | undefined {
  if (typeof key === "string") {
    for (const [k, v] of dict.entries) if (k === key) return v;
    return undefined;
  }
  for (const [k, v] of dict.entries) if (pyKeyEquals(k, key)) return v;
  return undefined;
}

/** True for any dict, OrderedDict or other dict subclass the decoder rebuilt. */
export const isOrderedDict = (d: PyDict<unknown>): boolean =>
  d.type !== undefined && d.type.module === "collections" && d.type.name === "OrderedDict";
