/**
 * Plain JSON export, as training loops write it with `json.dump`: tensors as nested lists of
 * numbers (`tensor.tolist()`), floats as JSON numbers, dicts as objects. Lossy by nature
 * (docs/formats.md lists what is lost).
 */
import { ConvertError } from "../errors.js";
import type { PyDict, PyFloat, PyGlobal, PyObject } from "../pickle/value.js";
import { pyDict, pyGlobal, pyKind } from "../pickle/value.js";
import { floatRepr } from "../pickle/py-float.js";
import type { DTypeInfo, DTypeName, NdArray, Tensor, TorchHost, TorchValue } from "../torch/index.js";
import { dtypeByName, dtypeByNumpy, isNdArray, isStorage, isTensor, numel, storageBytesSync, tensorBytes, tensorToFloat32 } from "../torch/index.js";
import { encodeBase64 } from "./base64.js";
import { guarded, rootOf, type ConvertInput } from "./input.js";
import { jsonPieces, lazyJson, orderedJson, rawJson, writeJson, type JsonLike } from "./json-pretty.js";

/** Options of {@link toPlainJson}. */
export interface ToPlainJsonOptions {
  /** Spaces per level; 0 writes one line (as `json.dumps` without indent). Default 1. */
  readonly indent?: number;
  /**
   * How NaN and ±Infinity are written: "python" (default) as `NaN`/`Infinity`/`-Infinity`, the
   * tokens Python's `json.dump` writes and reads; "null" as `null`, for strict JSON tools.
   */
  readonly nonFinite?: "python" | "null";
  /** Most JSON values written (shared objects are written again each time they are met). Default 100,000,000. */
  readonly maxValues?: number;
  /** Deepest nesting written before `limit-exceeded`. Default {@link DEFAULT_PLAIN_JSON_MAX_DEPTH}. */
  readonly maxDepth?: number;
}

const DEFAULT_MAX_VALUES = 100_000_000;
/** Default {@link ToPlainJsonOptions.maxDepth}. */
export const DEFAULT_PLAIN_JSON_MAX_DEPTH = 1000;

/**
 * Plain JSON text of a checkpoint or value.
 * @throws ConvertError `unencodable` for a cycle, `unsupported` for tensors whose elements have no
 *   number form (bits, sub-byte ints, packed quantized), `limit-exceeded` past `maxValues`.
 */
export function toPlainJson(input: ConvertInput, options: ToPlainJsonOptions = {}): string {
  return [...plainJsonChunks(input, options)].join("");
}

/**
 * Plain JSON text of a checkpoint or value, in pieces of a few KiB: each large tensor's text is
 * made when the writer reaches it and dropped once written, so the document is never whole in
 * memory (see {@link toPlainJson}, which joins these pieces).
 */
export function* plainJsonChunks(input: ConvertInput, options: ToPlainJsonOptions = {}): Generator<string> {
  yield* jsonPieces(toPlainJsonValue(input, options), { indent: options.indent ?? 1 });
  yield "\n";
}

/** Tensors with more elements than this are made lazily: their text is longer than a one-line container. */
const LAZY_MIN_ELEMENTS = 64;

/** `make()` now, or (for more than {@link LAZY_MIN_ELEMENTS} elements) when the writer reaches it. */
function later(elements: number, dims: number, make: () => JsonLike): JsonLike {
  // nestTokens gives one raw token for 0-d and 1-d values, nested lists otherwise.
  return elements > LAZY_MIN_ELEMENTS ? lazyJson(() => guarded("plain JSON", make), dims <= 1) : make();
}

/** The plain JSON value (with exact number tokens) before it is written as text; large tensors are {@link LazyJson}. */
export function toPlainJsonValue(input: ConvertInput, options: ToPlainJsonOptions = {}): JsonLike {
  const python = (options.nonFinite ?? "python") === "python";
  const maxDepth = options.maxDepth ?? DEFAULT_PLAIN_JSON_MAX_DEPTH;
  const budget = { left: options.maxValues ?? DEFAULT_MAX_VALUES };
  const numText = (x: number): string => {
    if (Number.isFinite(x)) return floatText(x);
    if (!python) return "null";
    return Number.isNaN(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity";
  };
  const num = (x: number): JsonLike => rawJson(numText(x));
  const onPath = new Set<object>();
  const path: (string | number)[] = [];
  const spend = (n: number) => {
    budget.left -= n;
    if (budget.left < 0) throw new ConvertError("limit-exceeded", `more than ${options.maxValues ?? DEFAULT_MAX_VALUES} JSON values (shared objects are repeated in plain JSON)`, { path: [...path] });
  };
  // Recursion is bounded by maxDepth; plain JSON of a deeper value is not useful.
  const convert = (v: TorchValue, depth: number): JsonLike => {
    spend(1);
    if (depth > maxDepth) throw new ConvertError("limit-exceeded", `values nest deeper than ${maxDepth} levels (maxDepth)`, { path: [...path] });
    switch (typeof v) {
      case "boolean":
      case "string":
        return v;
      case "number":
      case "bigint":
        return rawJson(String(v));
      default:
        break;
    }
    if (v === null) return null;
    if (onPath.has(v)) throw new ConvertError("unencodable", "plain JSON cannot hold a cycle (use the lossless JSON format)", { path: [...path] });
    onPath.add(v);
    try {
      return object(v, depth);
    } finally {
      onPath.delete(v);
    }
  };
  const child = (key: string | number, v: TorchValue, depth: number): JsonLike => {
    path.push(key);
    const out = convert(v, depth + 1);
    path.pop();
    return out;
  };
  const object = (v: object, depth: number): JsonLike => {
    const kind = pyKind(v);
    switch (kind) {
      case "float":
        return num((v as PyFloat).value);
      case "complex":
        return [num((v as { real: number }).real), num((v as { imag: number }).imag)];
      case "bytes":
      case "bytearray":
      case "buffer":
        return encodeBase64((v as { data: Uint8Array }).data);
      case "list":
      case "tuple":
      case "set":
      case "frozenset":
        return (v as { items: TorchValue[] }).items.map((x, i) => child(i, x, depth));
      case "dict":
        // Pairs, not a JS object: JS would move index-like keys ("1", "10") to the front.
        return orderedJson((v as PyDict<TorchHost>).entries.map(([k, x]) => {
          const key = keyText(k);
          return [key, child(key, x, depth)];
        }));
      case "global":
        return `${(v as PyGlobal).module}.${(v as PyGlobal).name}`;
      case "object": {
        const o = v as PyObject<TorchHost>;
        const asDict = dictSubclassItems(o);
        if (asDict !== undefined) return object(asDict, depth);
        const out: Record<string, JsonLike> = { __class__: pyKind(o.callable) === "global" ? `${(o.callable as PyGlobal).module}.${(o.callable as PyGlobal).name}` : child("callable", o.callable, depth) };
        out.args = child("args", o.args, depth);
        if (o.kwargs !== undefined) out.kwargs = child("kwargs", o.kwargs, depth);
        if (o.state !== undefined) out.state = child("state", o.state, depth);
        if (o.listItems !== undefined) out.items = o.listItems.map((x, i) => child(i, x, depth));
        if (o.dictItems !== undefined) out.dict = child("dict", pyDict(o.dictItems), depth);
        if (o.setItems !== undefined) out.set = o.setItems.map((x, i) => child(i, x, depth));
        return out;
      }
      case "persid":
        return { __persistent_id__: child("pid", (v as { pid: TorchValue }).pid, depth) };
      case "ext":
        return { __extension__: (v as { code: number }).code };
      default:
        break;
    }
    if (isTensor(v)) return tensorJson(v, depth);
    if (isNdArray(v)) return ndarrayJson(v);
    if (isStorage(v)) {
      const n = v.byteLength / dtypeInfo(v.dtype).itemSize;
      return later(n, 1, () => nestTokens(elementTokens(storageBytesSync(v), dtypeInfo(v.dtype), numText), [n]));
    }
    throw new ConvertError("unencodable", "not a value of the torch value model", { path: [...path] });
  };
  const tensorJson = (t: Tensor, depth: number): JsonLike => {
    if (t.sparse !== undefined) {
      const s = t.sparse;
      const out: Record<string, JsonLike> = { layout: t.layout, size: s.size.map((d) => rawJson(String(d))) };
      for (const [k, part] of [["indices", s.indices], ["compressed_indices", s.compressedIndices], ["plain_indices", s.plainIndices], ["values", s.values]] as const) {
        if (part !== undefined) out[k] = child(k, part, depth);
      }
      return out;
    }
    if (t.storage === undefined) return { dtype: t.dtype, shape: t.shape.map((d) => rawJson(String(d))), device: t.device };
    const info = dtypeInfo(t.dtype);
    const n = numel(t.shape);
    spend(n);
    return later(n, t.shape.length, () => nestTokens(t.quantization === undefined ? elementTokens(tensorBytes(t), info, numText) : dequantized(t, info, numText), t.shape));
  };
  const ndarrayJson = (a: NdArray): JsonLike => {
    if (a.items !== undefined) return nest(a.items.map((x, i) => child(i, x, 0)), a.shape);
    const found = a.dtype === undefined ? undefined : dtypeByNumpy(a.descr);
    if (found === undefined || a.data === undefined) {
      throw new ConvertError("unsupported", `numpy array ${a.descr} has no plain JSON form`, { path: [...path] });
    }
    const size = found.dtype.itemSize;
    const bytes = found.littleEndian || size === 1 ? a.data : swap(a.data, found.dtype.kind === "complex" ? size / 2 : size);
    spend(bytes.length / size);
    return later(bytes.length / size, a.shape.length, () => {
      const flat = elementTokens(bytes, found.dtype, numText);
      return nestTokens(a.fortranOrder ? fromFortran(flat, a.shape) : flat, a.shape);
    });
  };
  return guarded("plain JSON", () => convert(rootOf(input), 0));
}

/** Python's json.dumps spelling of a dict key: str as is; int, float, bool, None as text; others as their JSON. */
function keyText(k: TorchValue): string {
  if (typeof k === "string") return k;
  if (typeof k === "number" || typeof k === "bigint") return String(k);
  if (typeof k === "boolean") return k ? "true" : "false";
  if (k === null) return "null";
  if (pyKind(k) === "float") {
    const x = (k as PyFloat).value;
    return Number.isNaN(x) ? "NaN" : x === Infinity ? "Infinity" : x === -Infinity ? "-Infinity" : floatRepr(x);
  }
  const out: string[] = [];
  writeJson(toPlainJsonValue(k, { indent: 0 }), out, { indent: 0 });
  return out.join("");
}

function dtypeInfo(name: string): DTypeInfo {
  const info = dtypeByName(name);
  if (info === undefined) throw new ConvertError("unsupported", `unknown dtype ${name}`);
  return info;
}

function swap(bytes: Uint8Array, unit: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += unit) for (let k = 0; k < unit; k++) out[i + k] = bytes[i + unit - 1 - k]!;
  return out;
}

/** Python's `repr` of a finite float: JS's shortest digits, in Python's spelling where they differ. */
function floatText(x: number): string {
  const a = Math.abs(x);
  // Between 1e-4 and 1e16 both languages write plain decimals; only "1" vs "1.0" differs.
  if (a >= 1e-4 && a < 1e16) {
    const s = String(x);
    return s.includes(".") ? s : `${s}.0`;
  }
  return floatRepr(x);
}

/** The elements of little-endian bytes of `info` as JSON text, as `tolist()` gives them (complex as [re, im]). */
function elementTokens(bytes: Uint8Array, info: DTypeInfo, num: (x: number) => string): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length / info.itemSize;
  const out: string[] = new Array<string>(n);
  const ints = (get: (i: number) => number | bigint) => {
    for (let i = 0; i < n; i++) out[i] = String(get(i));
    return out;
  };
  switch (info.name) {
    case "bool":
      for (let i = 0; i < n; i++) out[i] = bytes[i] !== 0 ? "true" : "false";
      return out;
    case "uint8":
      return ints((i) => bytes[i]!);
    case "int8":
      return ints((i) => view.getInt8(i));
    case "int16":
      return ints((i) => view.getInt16(2 * i, true));
    case "uint16":
      return ints((i) => view.getUint16(2 * i, true));
    case "int32":
      return ints((i) => view.getInt32(4 * i, true));
    case "uint32":
      return ints((i) => view.getUint32(4 * i, true));
    case "int64":
      return ints((i) => view.getBigInt64(8 * i, true));
    case "uint64":
      return ints((i) => view.getBigUint64(8 * i, true));
    case "float64":
      for (let i = 0; i < n; i++) out[i] = num(view.getFloat64(8 * i, true));
      return out;
    case "complex128":
      for (let i = 0; i < n; i++) out[i] = `[${num(view.getFloat64(16 * i, true))}, ${num(view.getFloat64(16 * i + 8, true))}]`;
      return out;
    default:
      break;
  }
  if (info.kind === "float" || info.kind === "complex") {
    // Every narrower float is exactly a float32 (tolist() gives the same Python float).
    const f = tensorToFloat32Values(bytes, info);
    if (info.kind === "complex") {
      const pairs: string[] = new Array<string>(f.length / 2);
      for (let i = 0; i < pairs.length; i++) pairs[i] = `[${num(f[2 * i]!)}, ${num(f[2 * i + 1]!)}]`;
      return pairs;
    }
    const floats: string[] = new Array<string>(f.length);
    for (let i = 0; i < f.length; i++) floats[i] = num(f[i]!);
    return floats;
  }
  throw new ConvertError("unsupported", `${info.name} elements have no plain JSON form`);
}

function tensorToFloat32Values(bytes: Uint8Array, info: DTypeInfo): Float32Array {
  const t: Tensor = {
    kind: "tensor", dtype: info.name, shape: [bytes.length / info.itemSize], stride: [1], storageOffset: 0,
    storage: { kind: "storage", key: "", storageType: pyGlobal("torch", "UntypedStorage"), dtype: info.name, location: "cpu", declaredNumel: bytes.length, byteLength: bytes.length, byteOrder: "little", data: bytes },
    device: "cpu", requiresGrad: false, isParameter: false, layout: "strided",
  };
  return tensorToFloat32(t);
}

/** `qtensor.tolist()`: (q - zero_point) * scale, rounded to float32 as torch's dequantize does. */
function dequantized(t: Tensor, info: DTypeInfo, num: (x: number) => string): string[] {
  const q = t.quantization!;
  if (info.underlying === undefined || info.packing !== undefined) throw new ConvertError("unsupported", `${info.name} elements have no plain JSON form`);
  const raw = numbers(tensorBytes(t), dtypeInfo(info.underlying));
  if ("scale" in q) return raw.map((x) => num(Math.fround((x - q.zeroPoint) * q.scale)));
  const scales = numbers(tensorBytes(q.scales), dtypeInfo(q.scales.dtype));
  const zps = numbers(tensorBytes(q.zeroPoints), dtypeInfo(q.zeroPoints.dtype));
  const inner = t.shape.slice(q.axis + 1).reduce((a, b) => a * b, 1);
  const channels = t.shape[q.axis] ?? 1;
  return raw.map((x, i) => {
    const c = Math.floor(i / inner) % channels;
    return num(Math.fround((x - zps[c]!) * scales[c]!));
  });
}

/** Elements as JS numbers: exact for floats up to 64 bits and ints up to 32 bits, nearest for 64-bit ints. */
function numbers(bytes: Uint8Array, info: DTypeInfo): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length / info.itemSize;
  const get: Partial<Record<DTypeName, (i: number) => number>> = {
    float64: (i) => view.getFloat64(8 * i, true), int8: (i) => view.getInt8(i), uint8: (i) => view.getUint8(i),
    int16: (i) => view.getInt16(2 * i, true), uint16: (i) => view.getUint16(2 * i, true), int32: (i) => view.getInt32(4 * i, true),
    uint32: (i) => view.getUint32(4 * i, true), int64: (i) => Number(view.getBigInt64(8 * i, true)), uint64: (i) => Number(view.getBigUint64(8 * i, true)),
  };
  const read = get[info.name];
  if (read !== undefined) return Array.from({ length: n }, (_, i) => read(i));
  if (info.kind === "float") return Array.from(tensorToFloat32Values(bytes, info));
  throw new ConvertError("unsupported", `${info.name} quantization parameters are not numbers`);
}

/** Column-major (Fortran) elements reordered to row-major. */
function fromFortran<T>(flat: T[], shape: readonly number[]): T[] {
  const n = flat.length;
  const out: T[] = new Array<T>(n);
  const index = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    let at = 0;
    for (let d = shape.length - 1; d >= 0; d--) at = at * shape[d]! + index[d]!;
    out[k] = flat[at]!;
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d]! < shape[d]!) break;
      index[d] = 0;
    }
  }
  return out;
}

/**
 * Nests element text into the shape: each innermost row becomes one JSON token (`[1.0, 2.0]`), so
 * a large tensor costs one string per row, not one object per element.
 */
function nestTokens(tokens: string[], shape: readonly number[]): JsonLike {
  if (shape.length === 0) return rawJson(tokens[0] ?? "null");
  const size = shape[shape.length - 1]!;
  const rows: JsonLike[] = [];
  const count = size === 0 ? shape.slice(0, -1).reduce((a, b) => a * b, 1) : tokens.length / size;
  for (let r = 0; r < count; r++) rows.push(rawJson(`[${tokens.slice(r * size, r * size + size).join(", ")}]`));
  return shape.length === 1 ? rows[0] ?? rawJson("[]") : nest(rows, shape.slice(0, -1));
}

/** Nests a flat row-major list into the shape (a 0-d tensor is its one element). */
function nest(flat: JsonLike[], shape: readonly number[]): JsonLike {
  if (shape.length === 0) return flat[0] ?? null;
  let level: JsonLike[] = flat;
  for (let d = shape.length - 1; d >= 1; d--) {
    const size = shape[d]!;
    const next: JsonLike[] = [];
    const groups = size === 0 ? level.length === 0 ? shape.slice(0, d).reduce((a, b) => a * b, 1) : 0 : level.length / size;
    for (let g = 0; g < groups; g++) next.push(level.slice(g * size, g * size + size));
    level = next;
  }
  return level;
}

/** The classes `json.dump` writes as the dict they are (a Counter pickles as `Counter(dict)`, a defaultdict with dict items). */
const DICT_SUBCLASSES = new Set(["collections.Counter", "collections.defaultdict", "collections.OrderedDict"]);

/** A dict subclass's items as a plain dict, as `json.dump` sees it; undefined for any other object. */
function dictSubclassItems(o: PyObject<TorchHost>): PyDict<TorchHost> | undefined {
  if (pyKind(o.callable) !== "global") return undefined;
  const g = o.callable as PyGlobal;
  if (!DICT_SUBCLASSES.has(`${g.module}.${g.name}`) || o.listItems !== undefined || o.setItems !== undefined) return undefined;
  const args = pyKind(o.args) === "tuple" ? (o.args as { items: TorchValue[] }).items : [];
  const first = args[0];
  if (o.dictItems !== undefined) return args.length <= 1 && (o.state === undefined || o.state === null) ? pyDict(o.dictItems) : undefined;
  if (args.length === 1 && pyKind(first) === "dict" && o.state === undefined) return first as PyDict<TorchHost>;
  return undefined;
}
