/**
 * `sanitize(root)`: rewrites values that make torch.load(weights_only=True) refuse a checkpoint
 * but are plain data in disguise into types it accepts — numpy arrays into tensors, numpy scalars
 * into Python numbers, argparse.Namespace / SimpleNamespace / EasyDict / Lightning AttributeDict /
 * defaultdict into dicts, paths and TorchVersion into str, frozenset into set — and reports each
 * change. What it cannot make safe (a custom class, a whole nn.Module, a function reference) is
 * left untouched and listed as refused with the global named. The input is not modified: changed
 * containers are copied, unchanged subtrees are shared, and shared references and cycles survive.
 */
import type { KeyPath } from "../errors.js";
import { pyKind, type PyDict, type PyFrozenSet, type PyGlobal, type PyObject, type PyValue } from "../pickle/value.js";
import { bfloat16ToFloat32, byteswap, float16ToFloat32 } from "../torch/float-convert.js";
import { dtypeByName, isNdArray, isStorage, isTensor } from "../torch/index.js";
import type { DTypeInfo, NdArray, Storage, Tensor, TorchHost, TorchValue } from "../torch/index.js";
import { numpyDescr } from "../numpy/numpy.js";
import { classifyGlobal } from "./classify-global.js";
import { python3Name } from "./compat-names.js";
import { tensorForTarget } from "./sanitize-target.js";
import { DEFAULT_TORCH_TARGET, torchHasDtype, type TorchTarget } from "./weights-only-policy.js";

/** One rewrite: where, what it was, what it became. */
export interface SanitizeChange {
  readonly path: KeyPath;
  /** The global (or value kind) that was replaced, e.g. "numpy.core.multiarray._reconstruct". */
  readonly from: string;
  /** What replaced it, e.g. "torch.Tensor float32 [3, 4]". */
  readonly to: string;
}

/** A value left as it was because it cannot be made weights_only-safe. */
export interface SanitizeRefusal {
  readonly path: KeyPath;
  /** The global that blocks it ("module.name"), or a description when there is none. */
  readonly global: string;
  readonly reason: string;
}

/** The rewritten value and what was changed or refused. */
export interface SanitizeResult {
  readonly value: TorchValue;
  readonly changes: readonly SanitizeChange[];
  readonly refused: readonly SanitizeRefusal[];
}

/** Options for {@link sanitize}; every field is optional. */
export interface SanitizeOptions {
  /** Deepest nesting rewritten; deeper values are refused. Default 10,000. */
  readonly maxDepth?: number;
  /**
   * The torch the result must load in (`torch.load(weights_only=True)`): tensors whose dtype or
   * sparse form it cannot rebuild are refused, sparse rebuild calls rewritten to its form.
   * Default {@link DEFAULT_TORCH_TARGET}.
   */
  readonly target?: TorchTarget;
}

/** Default {@link SanitizeOptions.maxDepth}. */
export const DEFAULT_SANITIZE_MAX_DEPTH = 10_000;

/** Classes whose instances are a dict of attributes (state) or a dict subclass (items). */
const DICT_HOLDERS = new Set([
  "argparse.Namespace", "types.SimpleNamespace", "easydict.EasyDict", "collections.defaultdict",
  "pytorch_lightning.utilities.parsing.AttributeDict", "lightning_fabric.utilities.data.AttributeDict",
  "lightning.fabric.utilities.data.AttributeDict",
]);
const PATH_CLASSES = ["PosixPath", "WindowsPath", "PurePosixPath", "PureWindowsPath", "Path"];
// pathlib (Python < 3.13) and pathlib._local (3.13 pickles).
const PATHS = new Set(PATH_CLASSES.flatMap((n) => [`pathlib.${n}`, `pathlib._local.${n}`]));
const STRINGS = new Set(["torch.torch_version.TorchVersion"]);
/** Dict subclasses torch's weights_only accepts as they are. */
const ALLOWED_DICT_TYPES = new Set(["collections.OrderedDict", "collections.Counter"]);

/**
 * Rewrites plain data in disguise into weights_only types. Never throws; a value it cannot
 * handle is refused, not dropped.
 */
export function sanitize(root: TorchValue, options: SanitizeOptions = {}): SanitizeResult {
  const maxDepth = options.maxDepth ?? DEFAULT_SANITIZE_MAX_DEPTH;
  const target = options.target ?? DEFAULT_TORCH_TARGET;
  const changes: SanitizeChange[] = [];
  const refused: SanitizeRefusal[] = [];
  const done = new Map<object, TorchValue>();
  let storageCount = 0;

  const refuse = (path: KeyPath, global: string, reason: string): void => void refused.push({ path: [...path], global, reason });
  const change = (path: KeyPath, from: string, to: string): void => void changes.push({ path: [...path], from, to });

  const visit = (v: TorchValue, path: (string | number)[], depth: number): TorchValue => {
    if (typeof v !== "object" || v === null) return v;
    const cached = done.get(v);
    if (cached !== undefined) return cached;
    if (depth > maxDepth) {
      refuse(path, "nesting", `nested deeper than ${maxDepth} levels; not rewritten`);
      return v;
    }
    if (isTensor(v)) return visitTensor(v, path, depth);
    if (isStorage(v)) return v;
    if (isNdArray(v)) {
      const out = ndarrayValue(v, path);
      done.set(v, out);
      return out;
    }
    switch (pyKind(v)) {
      case "list":
      case "tuple":
      case "set": {
        const src = v as { kind: "list" | "tuple" | "set"; items: TorchValue[] };
        const out = { kind: src.kind, items: [] as TorchValue[] };
        done.set(v, out);
        let same = true;
        src.items.forEach((item, i) => {
          const x = visit(item, [...path, i], depth + 1);
          if (x !== item) same = false;
          out.items.push(x);
        });
        return same ? settle(v, v) : out;
      }
      case "frozenset": {
        const src = v as PyFrozenSet<TorchHost>;
        const out = { kind: "set" as const, items: [] as TorchValue[] };
        done.set(v, out);
        src.items.forEach((item, i) => out.items.push(visit(item, [...path, i], depth + 1)));
        change(path, "builtins.frozenset", "set (weights_only has no frozenset)");
        return out;
      }
      case "dict":
        return visitDict(v as PyDict<TorchHost>, path, depth);
      case "object":
        return visitObject(v as PyObject<TorchHost>, path, depth);
      case "global": {
        const g = v as PyGlobal;
        const verdict = classifyGlobal(g.module, g.name);
        if (verdict.class !== "allowed") refuse(path, verdict.key, `a reference to ${verdict.key} (${verdict.reason})`);
        return v;
      }
      case "persid":
        refuse(path, "persistent id", "a persistent id with no storage behind it");
        return v;
      case "buffer":
        refuse(path, "out-of-band buffer", "a protocol-5 out-of-band buffer cannot be pickled at protocol 2");
        return v;
      case "ext":
        refuse(path, "extension code", "an object from copyreg's extension registry");
        return v;
      default:
        return v; // float, complex, bytes, bytearray
    }
  };

  /** Records `out` as the rewrite of `v` (replacing a provisional copy made for cycles). */
  const settle = (v: object, out: TorchValue): TorchValue => {
    done.set(v, out);
    return out;
  };

  const visitTensor = (t0: Tensor, path: (string | number)[], depth: number): TorchValue => {
    const fit = tensorForTarget(t0, target);
    if ("refuse" in fit) {
      done.set(t0, t0);
      refuse(path, `torch.${t0.dtype}`, fit.refuse);
      return t0;
    }
    const t = fit.tensor;
    done.set(t0, t);
    if (fit.change !== undefined) change(path, t0.layout, fit.change);
    if (t.subclass !== undefined) {
      const verdict = classifyGlobal(t.subclass.module, t.subclass.name);
      if (verdict.class !== "allowed") refuse(path, verdict.key, `a tensor subclass (${verdict.reason})`);
    }
    if (t.state !== undefined) visit(t.state, [...path, "$state"], depth + 1);
    return t;
  };

  const visitDict = (d: PyDict<TorchHost>, path: (string | number)[], depth: number): TorchValue => {
    const typeKey = d.type === undefined ? undefined : keyOf(d.type);
    const keepType = typeKey !== undefined && ALLOWED_DICT_TYPES.has(typeKey);
    const out: PyDict<TorchHost> = keepType ? { kind: "dict", entries: [], type: d.type! } : { kind: "dict", entries: [] };
    done.set(d, out);
    let same = typeKey === undefined || keepType;
    for (const [k, x] of d.entries) {
      const keyPart = typeof k === "string" || typeof k === "number" ? k : String(pyKind(k) ?? typeof k);
      const nk = visit(k, [...path, keyPart], depth + 1);
      const nx = visit(x, [...path, keyPart], depth + 1);
      if (nk !== k || nx !== x) same = false;
      out.entries.push([nk, nx]);
    }
    if (typeKey !== undefined && !keepType) change(path, typeKey, "dict");
    if (d.state !== undefined) {
      if (keepType || typeKey === undefined) {
        const ns = visit(d.state, [...path, "$state"], depth + 1);
        if (ns !== d.state) same = false;
        if (keepType) out.state = ns;
        else {
          refuse(path, "builtins.dict", "a plain dict with attributes set by BUILD (weights_only builds only OrderedDict)");
          same = true; // leave it as it was
        }
      }
    }
    return same ? settle(d, d) : out;
  };

  const visitObject = (o: PyObject<TorchHost>, path: (string | number)[], depth: number): TorchValue => {
    const callable = o.callable;
    if (pyKind(callable) !== "global") {
      refuse(path, "a computed callable", "an object built by calling a value computed at load time");
      return settle(o, o);
    }
    const key = keyOf(callable as PyGlobal);
    const args = pyKind(o.args) === "tuple" ? (o.args as { items: TorchValue[] }).items : [];
    if (DICT_HOLDERS.has(key)) {
      const out: PyDict<TorchHost> = { kind: "dict", entries: [] };
      done.set(o, out);
      for (const [k, x] of o.dictItems ?? []) out.entries.push([visit(k, [...path, String(k)], depth + 1), visit(x, [...path, typeof k === "string" ? k : String(k)], depth + 1)]);
      // Namespaces keep their values as attributes (BUILD state); dict subclasses as items.
      const state = o.state;
      if (pyKind(state) === "dict") {
        for (const [k, x] of (state as PyDict<TorchHost>).entries) {
          if (out.entries.some(([ek]) => ek === k)) continue;
          out.entries.push([k, visit(x, [...path, typeof k === "string" ? k : String(k)], depth + 1)]);
        }
      }
      change(path, key, "dict");
      return out;
    }
    if (PATHS.has(key) && args.every((a) => typeof a === "string")) {
      const sep = key.includes("Windows") ? "\\" : "/";
      const text = (args as string[]).join(sep).replace(/\/{2,}/g, "/");
      change(path, key, `str ${JSON.stringify(text)}`);
      return settle(o, text);
    }
    if (STRINGS.has(key) && typeof args[0] === "string") {
      change(path, key, "str");
      return settle(o, args[0]);
    }
    if (key === "numpy.dtype") {
      const descr = numpyDescr(o);
      if (descr !== undefined) {
        change(path, key, `str ${JSON.stringify(descr)}`);
        return settle(o, descr);
      }
    }
    const verdict = classifyGlobal((callable as PyGlobal).module, (callable as PyGlobal).name);
    if (verdict.class === "allowed") {
      // An allowed call (torch.Size, torch.device, ...): keep it, rewriting what it holds.
      done.set(o, o);
      visit(o.args, [...path, "$args"], depth + 1);
      if (o.state !== undefined) visit(o.state, [...path, "$state"], depth + 1);
      return o;
    }
    refuse(path, verdict.key, verdict.class === "dangerous" ? `dangerous: ${verdict.reason}` : verdict.reason);
    return settle(o, o);
  };

  const ndarrayValue = (a: NdArray, path: (string | number)[]): TorchValue => {
    const from = pyKind(a.origin?.callable) === "global" ? keyOf(a.origin!.callable as PyGlobal) : "numpy.ndarray";
    if (a.items !== undefined) {
      const list = nestItems(a.items.map((x, i) => visit(x, [...path, i], 1)), a.shape);
      change(path, from, `list (an object array of ${a.items.length} values)`);
      return list;
    }
    const info = a.dtype === undefined ? undefined : dtypeByName(a.dtype);
    if (info !== undefined && !a.scalar && !torchHasDtype(info.name, target)) {
      refuse(path, from, `a numpy ${a.descr} array: torch ${target} has no ${info.name} dtype to make it a tensor of (torch >= 2.3 has; pick --torch 2.6 or current)`);
      return a;
    }
    if (info === undefined || a.data === undefined) {
      refuse(path, from, `a numpy ${a.scalar ? "scalar" : "array"} of ${a.descr}, which torch has no dtype for`);
      return a;
    }
    const count = a.shape.reduce((x, y) => x * y, 1);
    const byteLength = count * info.itemSize;
    if (a.data.length < byteLength) {
      refuse(path, from, `a numpy ${a.descr} array whose ${a.data.length} bytes cannot hold shape [${a.shape.join(", ")}]`);
      return a;
    }
    let data = a.data.subarray(0, byteLength);
    if (a.descr.startsWith(">") && info.scalarSize > 1) data = byteswap(data, info.scalarSize);
    if (a.scalar) {
      const scalar = scalarValue(data, info);
      if (scalar !== undefined) {
        const kind = typeof scalar === "boolean" ? "bool" : typeof scalar === "object" && scalar !== null ? (scalar as { kind: string }).kind : "int";
        change(path, from, `Python ${kind} (numpy ${a.descr} scalar)`);
        return scalar;
      }
    }
    const storage: Storage = {
      kind: "storage", key: `sanitized-${storageCount++}`, storageType: { kind: "global", module: "torch", name: info.storageClass ?? "UntypedStorage" },
      dtype: info.name, location: "cpu", declaredNumel: info.storageClass === undefined ? byteLength : count, byteLength, byteOrder: "little",
      data,
    };
    const tensor: Tensor = {
      kind: "tensor", dtype: info.name, shape: [...a.shape], stride: strides(a.shape, a.fortranOrder), storageOffset: 0, storage,
      device: "cpu", requiresGrad: false, isParameter: false, layout: "strided",
    };
    change(path, from, `torch.Tensor ${info.name} [${a.shape.join(", ")}]${a.scalar ? " (0-d)" : ""}`);
    return tensor;
  };

  const value = visit(root, [], 0);
  return { value, changes, refused };
}

function keyOf(g: PyGlobal): string {
  const py3 = python3Name(g.module, g.name);
  return `${py3.module}.${py3.name}`;
}

function strides(shape: readonly number[], fortran: boolean): number[] {
  const out = new Array<number>(shape.length).fill(1);
  let step = 1;
  const order = fortran ? shape.map((_, i) => i) : shape.map((_, i) => shape.length - 1 - i);
  for (const i of order) {
    out[i] = step;
    step *= Math.max(1, shape[i]!);
  }
  return out;
}

/** An object array's items as nested lists following its shape (C order). */
function nestItems(items: TorchValue[], shape: readonly number[]): TorchValue {
  if (shape.length <= 1) return { kind: "list", items };
  const [first, ...rest] = shape;
  const size = rest.reduce((a, b) => a * b, 1);
  const out: TorchValue[] = [];
  for (let i = 0; i < first!; i++) out.push(nestItems(items.slice(i * size, (i + 1) * size), rest));
  return { kind: "list", items: out };
}

/** A numpy scalar's value as a Python number, or undefined for kinds without one (quantized, bits). */
function scalarValue(data: Uint8Array, info: DTypeInfo): PyValue<TorchHost> | undefined {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  switch (info.name) {
    case "bool": return data[0] !== 0;
    case "int8": return v.getInt8(0);
    case "uint8": return v.getUint8(0);
    case "int16": return v.getInt16(0, true);
    case "uint16": return v.getUint16(0, true);
    case "int32": return v.getInt32(0, true);
    case "uint32": return v.getUint32(0, true);
    case "int64": return safe(v.getBigInt64(0, true));
    case "uint64": return safe(v.getBigUint64(0, true));
    case "float16": return { kind: "float", value: float16ToFloat32(v.getUint16(0, true)) };
    case "bfloat16": return { kind: "float", value: bfloat16ToFloat32(v.getUint16(0, true)) };
    case "float32": return { kind: "float", value: v.getFloat32(0, true) };
    case "float64": return { kind: "float", value: v.getFloat64(0, true) };
    case "complex64": return { kind: "complex", real: v.getFloat32(0, true), imag: v.getFloat32(4, true) };
    case "complex128": return { kind: "complex", real: v.getFloat64(0, true), imag: v.getFloat64(8, true) };
    default: return undefined;
  }
}

function safe(x: bigint): number | bigint {
  return x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x;
}
