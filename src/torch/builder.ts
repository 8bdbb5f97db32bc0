/**
 * Building checkpoints from plain JavaScript: objects, arrays and Maps become dicts and lists,
 * typed arrays become tensors, and small wrappers settle what JavaScript cannot say on its own
 * (1.0 is a float, this array is a tuple, these bytes are `bytes`, this dict is an OrderedDict).
 *
 * ```ts
 * const ckpt = toTorchValue({
 *   model: stateDict({ "fc.weight": tensor(new Float32Array(6), { shape: [2, 3] }), "fc.bias": new Float32Array(2) }),
 *   epoch: 3,
 *   lr: asFloat(1),             // 1.0, not 1
 *   betas: asTuple(0.9, 0.999),
 * });
 * writeCheckpoint(ckpt);
 * ```
 */
import { CheckpointError } from "../errors.js";
import type { KeyPath } from "../errors.js";
import type { PyBytes, PyDict, PyFloat, PyValue } from "../pickle/value.js";
import { ORDERED_DICT, pyBytes, pyFloat, pyKind } from "../pickle/value.js";
import type { TorchHost, TorchValue } from "./model.js";
import { isNdArray, isStorage, isTensor } from "./model.js";
import { fail, isTypedArray, tensor } from "./build-tensor.js";
import { normalizeInt } from "../bytes/bigint.js";
import type { TypedArrayInput } from "./build-tensor.js";
export { tensor, parameter, tensorView } from "./build-tensor.js";
export type { NestedNumbers, TensorOptions, TypedArrayInput } from "./build-tensor.js";

/** What {@link toTorchValue} accepts. Value-model shapes and tensors pass through unchanged. */
export type BuildInput =
  | null
  | undefined
  | boolean
  | number
  | bigint
  | string
  | TypedArrayInput
  | readonly BuildInput[]
  | ReadonlyMap<BuildInput, BuildInput>
  | BuildWrapper
  | TorchValue
  | { readonly [key: string]: BuildInput };

const WRAP: unique symbol = Symbol("torchsave.build");

/** A wrapper made by {@link asTuple}, {@link asSet} or {@link asOrderedDict}. */
export interface BuildWrapper {
  readonly [WRAP]: "tuple" | "set" | "frozenset" | "ordered";
  readonly items: readonly BuildInput[] | readonly (readonly [BuildInput, BuildInput])[];
}

/** A Python float even when the number is whole: `asFloat(1)` is `1.0`. */
export const asFloat = (value: number): PyFloat => pyFloat(value);

/** A Python tuple (a JS array is a list). */
export const asTuple = (...items: BuildInput[]): BuildWrapper => ({ [WRAP]: "tuple", items });

/** A Python set (or frozenset). */
export const asSet = (items: Iterable<BuildInput>, frozen = false): BuildWrapper => ({ [WRAP]: frozen ? "frozenset" : "set", items: [...items] });

/** Python `bytes` (a Uint8Array alone becomes a uint8 tensor). Text is encoded as latin-1. */
export function asBytes(data: Uint8Array | string): PyBytes {
  if (typeof data !== "string") return pyBytes(data);
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const c = data.charCodeAt(i);
    if (c > 255) throw new CheckpointError("invalid-argument", "asBytes text must be latin-1 (code points below 256)");
    out[i] = c;
  }
  return pyBytes(out);
}

/** A `collections.OrderedDict` (what state_dicts are); a plain object or Map is a dict. */
export function asOrderedDict(entries: ReadonlyMap<BuildInput, BuildInput> | { readonly [key: string]: BuildInput }): BuildWrapper {
  const items = entries instanceof Map ? [...entries] : Object.entries(entries);
  return { [WRAP]: "ordered", items };
}

/** Options of {@link toTorchValue}. */
export interface BuildOptions {
  /** What plain objects and Maps become: "dict" (default) or "ordered" (`collections.OrderedDict`). */
  readonly dicts?: "dict" | "ordered";
}

/**
 * Converts plain JavaScript into the value model: null/undefined → None; booleans, strings and
 * bigints as they are; whole numbers → int, other numbers (and NaN, ±Infinity) → float; arrays →
 * list; plain objects and Maps → dict; typed arrays → 1-D tensors (see {@link tensor}); the
 * wrappers above; value-model shapes and tensors pass through unchanged. An object reached twice
 * becomes one Python object referenced twice (cycles included).
 *
 * A plain object whose `kind` field names a value-model shape (`{kind: "float", value: 1}`) is
 * taken as that shape; build such a dict from a Map instead.
 * @throws CheckpointError `invalid-argument` with the key path of a value it cannot convert
 *   (functions, class instances, unhashable dict keys).
 */
export function toTorchValue(input: BuildInput, options: BuildOptions = {}): TorchValue {
  const ordered = options.dicts === "ordered";
  const done = new Map<object, TorchValue>();
  const tasks: (() => void)[] = [];
  const convert = (v: BuildInput, at: Link): TorchValue => {
    if (v === null || v === undefined) return null;
    switch (typeof v) {
      case "boolean":
      case "string":
        return v;
      case "number":
        return Number.isInteger(v) && !Object.is(v, -0) ? v : pyFloat(v);
      case "bigint":
        return normalizeInt(v);
      case "object":
        break;
      default:
        throw fail(pathOf(at), `a ${typeof v} cannot be pickled`);
    }
    const seen = done.get(v);
    if (seen !== undefined) return seen;
    if (isTypedArray(v)) return remember(v, tensor(v));
    if (isTensor(v) || isStorage(v) || isNdArray(v) || pyKind(v) !== undefined) return v as TorchValue;
    if (WRAP in v) return wrapper(v as BuildWrapper, at);
    if (Array.isArray(v)) {
      const items: PyValue<TorchHost>[] = [];
      const out = remember(v, { kind: "list", items });
      (v as readonly BuildInput[]).forEach((x, i) => tasks.push(() => items.push(convert(x, { parent: at, step: i }))));
      return out;
    }
    if (v instanceof Map) return dict(v, [...v], at, ordered);
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto === Object.prototype || proto === null) return dict(v, Object.entries(v), at, ordered);
    throw fail(pathOf(at), `a ${(v as object).constructor?.name ?? "object"} is not a plain object, array, Map or typed array`);
  };
  const remember = <T extends TorchValue>(key: object, value: T): T => {
    done.set(key, value);
    return value;
  };
  const dict = (key: object, entries: readonly (readonly [BuildInput, BuildInput])[], at: Link, asOrdered: boolean): PyDict<TorchHost> => {
    const out: PyDict<TorchHost> = asOrdered ? { kind: "dict", entries: [], type: ORDERED_DICT } : { kind: "dict", entries: [] };
    remember(key, out);
    entries.forEach(([k, x], i) => {
      const here: Link = { parent: at, step: typeof k === "string" || typeof k === "number" ? k : i };
      tasks.push(() => {
        const pk = convert(k, here);
        if (!isHashable(pk)) throw fail(pathOf(here), "dict keys must be hashable (str, int, float, bool, None, bytes, tuple)");
        out.entries.push([pk, convert(x, here)]);
      });
    });
    return out;
  };
  const wrapper = (w: BuildWrapper, at: Link): TorchValue => {
    const kind = w[WRAP];
    if (kind === "ordered") return dict(w, w.items as readonly (readonly [BuildInput, BuildInput])[], at, true);
    const items: PyValue<TorchHost>[] = [];
    const out = remember(w, { kind, items } as TorchValue);
    (w.items as readonly BuildInput[]).forEach((x, i) => tasks.push(() => items.push(convert(x, { parent: at, step: i }))));
    return out;
  };
  const root = convert(input, undefined);
  // Children are filled from a queue, so deep nesting never grows the JS stack.
  for (let i = 0; i < tasks.length; i++) {
    tasks[i]!();
    if (i >= 65536) {
      tasks.splice(0, i + 1);
      i = -1;
    }
  }
  return root;
}

/** A key path kept as links to the parent, materialized only for an error message. */
type Link = { readonly parent: Link; readonly step: string | number } | undefined;

function pathOf(link: Link): KeyPath {
  const out: (string | number)[] = [];
  for (let l = link; l !== undefined; l = l.parent) out.push(l.step);
  return out.reverse();
}

/**
 * A state_dict: an OrderedDict from parameter names to tensors (typed arrays are made 1-D tensors;
 * other values are converted as {@link toTorchValue} does).
 */
export function stateDict(entries: ReadonlyMap<string, BuildInput> | { readonly [key: string]: BuildInput }): PyDict<TorchHost> {
  return toTorchValue(asOrderedDict(entries)) as PyDict<TorchHost>;
}


function isHashable(v: TorchValue): boolean {
  if (v === null || typeof v !== "object") return true;
  const k = pyKind(v);
  if (k === "tuple") return (v as { items: TorchValue[] }).items.every(isHashable);
  return k === "float" || k === "complex" || k === "bytes" || k === "frozenset" || k === "global";
}
