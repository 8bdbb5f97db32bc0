/**
 * Plain JSON import: reads `json.dump`-style training dumps back, turning every rectangular list of
 * numbers into a tensor (dtype inferred as torch.tensor would, or given). The text is parsed from
 * bytes (`plain-json-read.ts`: any size), lists of numbers straight into typed arrays.
 */
import { ConvertError, type KeyPath } from "../errors.js";
import { pyDict, pyFloat, pyGlobal, pyList, pyTuple } from "../pickle/value.js";
import type { PyDict, PyObject } from "../pickle/value.js";
import type { DTypeInfo, DTypeName, Storage, Tensor, TorchHost, TorchValue } from "../torch/index.js";
import { dtypeByName } from "../torch/index.js";
import { float32ToBfloat16, float32ToFloat16 } from "../torch/float-convert.js";
import type { ByteSource } from "../bytes/source.js";
import { guarded } from "./input.js";
import { BOOL, INT, parsePlainJsonSource, parsePlainJsonText, runText, type NumberRun, type ParsedJson } from "./plain-json-read.js";
import { planStateDicts } from "./plain-json-shapes.js";

/** dtypes the plain JSON import can produce. */
export const PLAIN_JSON_DTYPES: readonly DTypeName[] = [
  "float64", "float32", "float16", "bfloat16", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool",
];

/** Options of {@link fromPlainJson}. */
export interface FromPlainJsonOptions {
  /** The dtype of every tensor made (default: inferred like `torch.tensor`: bool, int64 or float32). */
  readonly dtype?: DTypeName;
  /**
   * Which lists become tensors: called for each rectangular, non-empty list of numbers or bools
   * with its key path and shape. Default: all of them.
   */
  readonly isTensor?: (path: KeyPath, shape: readonly number[]) => boolean;
  /**
   * Recognize the state_dicts of torch's optimizers, LR schedulers and GradScaler and give back
   * what their `load_state_dict` needs: int state keys, `params` as int lists, `betas` as tuples,
   * scheduler lists as lists, MultiStepLR milestones as a Counter (see plain-json-shapes.ts).
   * Default true; false reads every rectangular list as a tensor and every key as a string.
   */
  readonly stateDicts?: boolean;
  /** Receives one line per recognized state_dict saying what was inferred (the CLI prints them on stderr). */
  readonly onNote?: (line: string) => void;
}

interface Shape {
  readonly dims: number[];
  /** "bool" when every leaf is a bool, "int" when every leaf is an int, else "float". */
  readonly kind: "bool" | "int" | "float";
}

/**
 * Reads plain JSON: objects become dicts (keys in document order; a repeated key keeps its first
 * place and its last value, as Python's json does), numbers ints or floats by their spelling, and
 * rectangular lists of numbers tensors.
 * @throws ConvertError `invalid-data` for text that is not JSON (with the byte offset of its UTF-8)
 *   or values a dtype cannot hold (with the key path), `truncated` for text that ends inside a
 *   value; `invalid-argument` for an unsupported dtype.
 */
export function fromPlainJson(text: string, options: FromPlainJsonOptions = {}): TorchValue {
  checkDtype(options);
  return guarded("plain JSON", () => importPlain(parsePlainJsonText(text), options));
}

/**
 * {@link fromPlainJson} from the bytes of a source (in memory or read synchronously), a window at a
 * time: any size.
 * @throws as {@link fromPlainJson}, with byte offsets; `invalid-argument` for a source that reads only asynchronously.
 */
export function fromPlainJsonSource(source: ByteSource, options: FromPlainJsonOptions = {}): TorchValue {
  checkDtype(options);
  return guarded("plain JSON", () => importPlain(parsePlainJsonSource(source), options));
}

function checkDtype(options: FromPlainJsonOptions): void {
  if (options.dtype !== undefined && !PLAIN_JSON_DTYPES.includes(options.dtype)) {
    throw new ConvertError("invalid-argument", `plain JSON import makes ${PLAIN_JSON_DTYPES.join(", ")} tensors, not ${options.dtype}`);
  }
}

function importPlain(parsed: ParsedJson, options: FromPlainJsonOptions): TorchValue {
  const shapes = shapesOf(parsed);
  const plan = options.stateDicts === false ? undefined : planStateDicts(parsed);
  if (plan !== undefined && options.onNote !== undefined) for (const line of plan.notes) options.onNote(line);
  let storages = 0;
  const wantTensor = options.isTensor ?? (() => true);
  // Top-down, iteratively: a tensor-shaped list is turned into a tensor, anything else converted in place.
  type Task = { readonly node: ParsedJson; readonly path: (string | number)[]; readonly put: (v: TorchValue) => void };
  let result: TorchValue = null;
  const stack: Task[] = [{ node: parsed, path: [], put: (v) => (result = v) }];
  while (stack.length > 0) {
    const { node, path, put } = stack.pop()!;
    if (node === null || typeof node === "boolean" || typeof node === "string") {
      put(node);
      continue;
    }
    if (node.t === "num") {
      put(numberValue(node.text, path));
      continue;
    }
    const shape = shapes.get(node);
    if ((node.t === "arr" || node.t === "nums") && shape !== undefined && plan?.keepList.has(node) !== true && plan?.asTuple.has(node) !== true && wantTensor(path, shape.dims)) {
      put(makeTensor(node, shape, options.dtype, String(storages++), path));
      continue;
    }
    if (node.t === "nums") {
      const run = node.run;
      const items: TorchValue[] = new Array<TorchValue>(run.values.length);
      for (let i = 0; i < items.length; i++) items[i] = runValue(run, i);
      put(plan?.asTuple.has(node) === true ? pyTuple(items) : pyList(items));
      continue;
    }
    if (node.t === "arr") {
      const items: TorchValue[] = new Array<TorchValue>(node.items.length).fill(null);
      put(plan?.asTuple.has(node) === true ? pyTuple(items) : pyList(items));
      // Pushed last to first, so values (and storage keys) are made in document order.
      for (let i = node.items.length - 1; i >= 0; i--) stack.push({ node: node.items[i]!, path: [...path, i], put: (v) => (items[i] = v) });
      continue;
    }
    const dict = pyDict<TorchHost>();
    const intKeys = plan !== undefined && (plan.intKeys.has(node) || plan.counter.has(node));
    put(plan?.counter.has(node) === true ? counterOf(dict) : dict);
    const index = new Map<string, number>();
    const tasks: Task[] = [];
    for (const [k, x] of node.entries) {
      let at = index.get(k);
      if (at === undefined) {
        at = dict.entries.length;
        index.set(k, at);
        dict.entries.push([intKeys ? Number(k) : k, null]);
      }
      const slot = at;
      tasks.push({ node: x, path: [...path, k], put: (v) => (dict.entries[slot]![1] = v) });
    }
    for (let i = tasks.length - 1; i >= 0; i--) stack.push(tasks[i]!);
  }
  return result;
}

/** `collections.Counter(dict)`, as pickle writes it (REDUCE of the class with the dict). */
function counterOf(dict: PyDict<TorchHost>): TorchValue {
  return { kind: "object", via: "reduce", callable: pyGlobal("collections", "Counter"), args: pyTuple<TorchHost>([dict]) } as PyObject<TorchHost>;
}

/** The shape and leaf kind of every list that can be a tensor (rectangular, non-empty, numbers or bools). */
function shapesOf(root: ParsedJson): Map<ParsedJson & object, Shape> {
  const out = new Map<ParsedJson & object, Shape>();
  // Post-order without recursion: children are pushed after their parent and handled first.
  const order: Extract<ParsedJson, { t: "arr" }>[] = [];
  const stack: ParsedJson[] = [root];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n === null || typeof n !== "object" || n.t === "num") continue;
    if (n.t === "nums") {
      out.set(n, { dims: [n.run.values.length], kind: n.run.kind });
      continue;
    }
    if (n.t === "arr") {
      order.push(n);
      for (const x of n.items) stack.push(x);
    } else for (const [, x] of n.entries) stack.push(x);
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const arr = order[i]!;
    if (arr.items.length === 0) continue;
    let dims: number[] | undefined;
    let kind: Shape["kind"] = "bool";
    let ok = true;
    for (const x of arr.items) {
      let d: number[];
      let k: Shape["kind"];
      if (typeof x === "boolean") {
        d = [];
        k = "bool";
      } else if (x !== null && typeof x === "object" && x.t === "num") {
        d = [];
        k = isIntText(x.text) ? "int" : "float";
      } else {
        const s = x !== null && typeof x === "object" ? out.get(x) : undefined;
        if (s === undefined) {
          ok = false;
          break;
        }
        d = s.dims;
        k = s.kind;
      }
      if (dims === undefined) dims = d;
      else if (dims.length !== d.length || dims.some((v, j) => v !== d[j])) {
        ok = false;
        break;
      }
      kind = kind === "float" || k === "float" ? "float" : kind === "int" || k === "int" ? "int" : "bool";
    }
    if (ok && dims !== undefined) out.set(arr, { dims: [arr.items.length, ...dims], kind });
  }
  return out;
}

const isIntText = (text: string): boolean => /^-?\d+$/.test(text);

/** Element `i` of a run as the value its text reads as (see {@link numberValue}). */
function runValue(run: NumberRun, i: number): TorchValue {
  const k = run.kinds[i]!;
  const v = run.values[i]!;
  if (k === BOOL) return v !== 0;
  if (k === INT) return Number.isSafeInteger(v) ? v : BigInt(run.bigInts.get(i)!);
  return pyFloat(v);
}

function numberValue(text: string, path: KeyPath): TorchValue {
  if (isIntText(text)) {
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : BigInt(text);
  }
  const x = text === "NaN" ? NaN : text === "Infinity" ? Infinity : text === "-Infinity" ? -Infinity : Number(text);
  if (Number.isNaN(x) && text !== "NaN") throw new ConvertError("invalid-data", `bad number ${text}`, { path });
  return pyFloat(x);
}

/** The leaves of a tensor-shaped list in row-major order, as one run (its runs joined). */
function leaves(node: ParsedJson): NumberRun {
  if (node !== null && typeof node === "object" && node.t === "nums") return node.run;
  const runs: NumberRun[] = [];
  const stack: ParsedJson[] = [node];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n !== null && typeof n === "object" && n.t === "nums") runs.push(n.run);
    else if (n !== null && typeof n === "object" && n.t === "arr") for (let i = n.items.length - 1; i >= 0; i--) stack.push(n.items[i]!);
  }
  let total = 0;
  for (const r of runs) total += r.values.length;
  const values = new Float64Array(total);
  const kinds = new Uint8Array(total);
  const bigInts = new Map<number, string>();
  let at = 0;
  for (const r of runs) {
    values.set(r.values, at);
    kinds.set(r.kinds, at);
    for (const [i, t] of r.bigInts) bigInts.set(at + i, t);
    at += r.values.length;
  }
  return { values, kinds, kind: "float", bigInts };
}

function makeTensor(node: ParsedJson, shape: Shape, dtype: DTypeName | undefined, key: string, path: KeyPath): Tensor {
  const name: DTypeName = dtype ?? (shape.kind === "bool" ? "bool" : shape.kind === "int" ? "int64" : "float32");
  const info = dtypeByName(name)!;
  const values = leaves(node);
  const data = encodeElements(values, info, path);
  const typed = info.storageClass !== undefined;
  const storage: Storage = {
    kind: "storage", key, storageType: pyGlobal("torch", typed ? info.storageClass! : "UntypedStorage"), dtype: info.name,
    location: "cpu", declaredNumel: typed ? values.values.length : data.length, byteLength: data.length, byteOrder: "little", data,
  };
  const stride = new Array<number>(shape.dims.length);
  let step = 1;
  for (let i = shape.dims.length - 1; i >= 0; i--) {
    stride[i] = step;
    step *= shape.dims[i]!;
  }
  // No origin: the standard call, as the reader keeps it.
  return {
    kind: "tensor", dtype: info.name, shape: [...shape.dims], stride, storageOffset: 0, storage, device: "cpu",
    requiresGrad: false, isParameter: false, layout: "strided",
  };
}

/** Little-endian bytes of the leaves as `info`, converting as `torch.tensor(data, dtype=...)` does. */
function encodeElements(run: NumberRun, info: DTypeInfo, path: KeyPath): Uint8Array {
  const { values, kinds } = run;
  const n = values.length;
  const out = new Uint8Array(n * info.itemSize);
  const view = new DataView(out.buffer);
  const fail = (i: number, why: string) => new ConvertError("invalid-data", `${runText(run, i)} ${why} as ${info.name}`, { path });
  // An int as torch takes it: bools 0/1, ints exactly (their text past 2^53), floats truncated.
  const asInt = (i: number, lo: bigint, hi: bigint): bigint => {
    const k = kinds[i]!;
    const v = values[i]!;
    let b: bigint;
    if (k === INT) b = BigInt(run.bigInts.get(i) ?? v);
    else if (k === BOOL) b = v !== 0 ? 1n : 0n;
    else {
      if (!Number.isFinite(v)) throw fail(i, "cannot be stored");
      b = BigInt(Math.trunc(v));
    }
    if (b < lo || b > hi) throw fail(i, "is out of range");
    return b;
  };
  // The same for ints up to 32 bits, in doubles (exact there).
  const asSmallInt = (i: number, lo: number, hi: number): number => {
    const k = kinds[i]!;
    const v = values[i]!;
    if (k === FLOAT_KIND && !Number.isFinite(v)) throw fail(i, "cannot be stored");
    const x = k === INT && run.bigInts.has(i) ? Number.NaN : k === FLOAT_KIND ? Math.trunc(v) : v;
    if (!(x >= lo && x <= hi)) throw fail(i, "is out of range");
    return x === 0 ? 0 : x;
  };
  const range = (bits: number, signed: boolean): [bigint, bigint] =>
    signed ? [-(1n << BigInt(bits - 1)), (1n << BigInt(bits - 1)) - 1n] : [0n, (1n << BigInt(bits)) - 1n];
  const small = (bits: number, signed: boolean): [number, number] => (signed ? [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1] : [0, 2 ** bits - 1]);
  switch (info.name) {
    case "float64": for (let i = 0; i < n; i++) view.setFloat64(8 * i, values[i]!, true); break;
    case "float32": for (let i = 0; i < n; i++) view.setFloat32(4 * i, values[i]!, true); break;
    case "float16": for (let i = 0; i < n; i++) view.setUint16(2 * i, float32ToFloat16(values[i]!), true); break;
    case "bfloat16": for (let i = 0; i < n; i++) view.setUint16(2 * i, float32ToBfloat16(values[i]!), true); break;
    case "bool": for (let i = 0; i < n; i++) out[i] = values[i] !== 0 ? 1 : 0; break;
    case "int8": { const [lo, hi] = small(8, true); for (let i = 0; i < n; i++) view.setInt8(i, asSmallInt(i, lo, hi)); break; }
    case "uint8": { const [lo, hi] = small(8, false); for (let i = 0; i < n; i++) view.setUint8(i, asSmallInt(i, lo, hi)); break; }
    case "int16": { const [lo, hi] = small(16, true); for (let i = 0; i < n; i++) view.setInt16(2 * i, asSmallInt(i, lo, hi), true); break; }
    case "uint16": { const [lo, hi] = small(16, false); for (let i = 0; i < n; i++) view.setUint16(2 * i, asSmallInt(i, lo, hi), true); break; }
    case "int32": { const [lo, hi] = small(32, true); for (let i = 0; i < n; i++) view.setInt32(4 * i, asSmallInt(i, lo, hi), true); break; }
    case "uint32": { const [lo, hi] = small(32, false); for (let i = 0; i < n; i++) view.setUint32(4 * i, asSmallInt(i, lo, hi), true); break; }
    case "int64": { const [lo, hi] = range(64, true); for (let i = 0; i < n; i++) view.setBigInt64(8 * i, asInt(i, lo, hi), true); break; }
    case "uint64": { const [lo, hi] = range(64, false); for (let i = 0; i < n; i++) view.setBigUint64(8 * i, asInt(i, lo, hi), true); break; }
    default: throw new ConvertError("invalid-argument", `plain JSON import cannot make ${info.name} tensors`);
  }
  return out;
}

const FLOAT_KIND = 2;
