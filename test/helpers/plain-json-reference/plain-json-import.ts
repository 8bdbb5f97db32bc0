/**
 * Plain JSON import: reads `json.dump`-style training dumps back, turning every rectangular list of
 * numbers into a tensor (dtype inferred as torch.tensor would, or given).
 */
import { ConvertError, type KeyPath } from "../../../src/errors.js";
import { pyDict, pyFloat, pyGlobal, pyList, pyTuple } from "../../../src/pickle/value.js";
import type { PyDict, PyObject } from "../../../src/pickle/value.js";
import type { DTypeInfo, DTypeName, Storage, Tensor, TorchHost, TorchValue } from "../../../src/torch/index.js";
import { dtypeByName } from "../../../src/torch/index.js";
import { float32ToBfloat16, float32ToFloat16 } from "../../../src/torch/float-convert.js";
import { guarded } from "../../../src/convert/input.js";
import { parseJsonText, type ParsedJson } from "./json-parse.js";
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
 * @throws ConvertError `invalid-data` for text that is not JSON (with the character offset) or
 *   values a dtype cannot hold (with the key path); `invalid-argument` for an unsupported dtype.
 */
export function fromPlainJson(text: string, options: FromPlainJsonOptions = {}): TorchValue {
  if (options.dtype !== undefined && !PLAIN_JSON_DTYPES.includes(options.dtype)) {
    throw new ConvertError("invalid-argument", `plain JSON import makes ${PLAIN_JSON_DTYPES.join(", ")} tensors, not ${options.dtype}`);
  }
  return guarded("plain JSON", () => importPlain(text, options));
}

function importPlain(text: string, options: FromPlainJsonOptions): TorchValue {
  const parsed = parseJsonText(text);
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
    if (node.t === "arr" && shape !== undefined && plan?.keepList.has(node) !== true && plan?.asTuple.has(node) !== true && wantTensor(path, shape.dims)) {
      put(makeTensor(node, shape, options.dtype, String(storages++), path));
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

function numberValue(text: string, path: KeyPath): TorchValue {
  if (isIntText(text)) {
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : BigInt(text);
  }
  const x = text === "NaN" ? NaN : text === "Infinity" ? Infinity : text === "-Infinity" ? -Infinity : Number(text);
  if (Number.isNaN(x) && text !== "NaN") throw new ConvertError("invalid-data", `bad number ${text}`, { path });
  return pyFloat(x);
}

/** Leaves in row-major order. */
function leaves(node: ParsedJson): (boolean | string)[] {
  const out: (boolean | string)[] = [];
  const stack: ParsedJson[] = [node];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (typeof n === "boolean") out.push(n);
    else if (n !== null && typeof n === "object" && n.t === "num") out.push(n.text);
    else if (n !== null && typeof n === "object" && n.t === "arr") for (let i = n.items.length - 1; i >= 0; i--) stack.push(n.items[i]!);
  }
  return out;
}

function makeTensor(node: ParsedJson, shape: Shape, dtype: DTypeName | undefined, key: string, path: KeyPath): Tensor {
  const name: DTypeName = dtype ?? (shape.kind === "bool" ? "bool" : shape.kind === "int" ? "int64" : "float32");
  const info = dtypeByName(name)!;
  const values = leaves(node);
  const data = encodeElements(values, info, path);
  const typed = info.storageClass !== undefined;
  const storage: Storage = {
    kind: "storage", key, storageType: pyGlobal("torch", typed ? info.storageClass! : "UntypedStorage"), dtype: info.name,
    location: "cpu", declaredNumel: typed ? values.length : data.length, byteLength: data.length, byteOrder: "little", data,
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
function encodeElements(values: (boolean | string)[], info: DTypeInfo, path: KeyPath): Uint8Array {
  const n = values.length;
  const out = new Uint8Array(n * info.itemSize);
  const view = new DataView(out.buffer);
  const fail = (v: boolean | string, why: string) => new ConvertError("invalid-data", `${String(v)} ${why} as ${info.name}`, { path });
  const asNumber = (v: boolean | string): number => (typeof v === "boolean" ? (v ? 1 : 0) : v === "NaN" ? NaN : v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : Number(v));
  const asInt = (v: boolean | string, lo: bigint, hi: bigint): bigint => {
    if (typeof v === "boolean") return v ? 1n : 0n;
    let b: bigint;
    if (isIntText(v)) b = BigInt(v);
    else {
      const x = asNumber(v);
      if (!Number.isFinite(x)) throw fail(v, "cannot be stored");
      b = BigInt(Math.trunc(x));
    }
    if (b < lo || b > hi) throw fail(v, "is out of range");
    return b;
  };
  const range = (bits: number, signed: boolean): [bigint, bigint] =>
    signed ? [-(1n << BigInt(bits - 1)), (1n << BigInt(bits - 1)) - 1n] : [0n, (1n << BigInt(bits)) - 1n];
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    switch (info.name) {
      case "float64": view.setFloat64(8 * i, asNumber(v), true); break;
      case "float32": view.setFloat32(4 * i, asNumber(v), true); break;
      case "float16": view.setUint16(2 * i, float32ToFloat16(asNumber(v)), true); break;
      case "bfloat16": view.setUint16(2 * i, float32ToBfloat16(asNumber(v)), true); break;
      case "bool": out[i] = asNumber(v) !== 0 ? 1 : 0; break;
      case "int8": view.setInt8(i, Number(asInt(v, ...range(8, true)))); break;
      case "uint8": view.setUint8(i, Number(asInt(v, ...range(8, false)))); break;
      case "int16": view.setInt16(2 * i, Number(asInt(v, ...range(16, true))), true); break;
      case "uint16": view.setUint16(2 * i, Number(asInt(v, ...range(16, false))), true); break;
      case "int32": view.setInt32(4 * i, Number(asInt(v, ...range(32, true))), true); break;
      case "uint32": view.setUint32(4 * i, Number(asInt(v, ...range(32, false))), true); break;
      case "int64": view.setBigInt64(8 * i, asInt(v, ...range(64, true)), true); break;
      case "uint64": view.setBigUint64(8 * i, asInt(v, ...range(64, false)), true); break;
      default: throw new ConvertError("invalid-argument", `plain JSON import cannot make ${info.name} tensors`);
    }
  }
  return out;
}
