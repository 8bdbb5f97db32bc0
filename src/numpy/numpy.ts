/**
 * numpy arrays and scalars inside checkpoints, rebuilt as plain data without numpy:
 * - array: `numpy.core.multiarray._reconstruct(ndarray, (0,), b"b")` then BUILD with
 *   `(version, shape, dtype, is_fortran, rawdata)`;
 * - dtype: `numpy.dtype("f8", False, True)` then BUILD with `(3, "<", ...)`, kept inert and read
 *   by numpy-dtype.ts (structured dtypes too);
 * - scalar: `numpy.core.multiarray.scalar(dtype, raw_bytes)`.
 * numpy 2.x spells the module `numpy._core`; both are accepted.
 */
import type { Reducer, ReducerRegistry } from "../pickle/decoder.js";
import type { PyObject } from "../pickle/value.js";
import { pyKind } from "../pickle/value.js";
import { dtypeByNumpy } from "../torch/dtypes.js";
import { readNumpyDtype } from "./numpy-dtype.js";
import type { NdArray, TorchHost, TorchValue } from "../torch/model.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const MODULES = ["numpy.core.multiarray", "numpy._core.multiarray"];

/** The numpy type string (`<f4`) an inert `numpy.dtype(...)` object describes, if it is a simple one. */
export function numpyDescr(dtype: TorchValue | undefined): string | undefined {
  const read = readNumpyDtype(dtype);
  // Structured and sub-array dtypes are more than a type string can say.
  return read === undefined || read.fields !== undefined || read.shape !== undefined ? undefined : read.descr;
}

function newArray(scalar: boolean, origin: PyObject<TorchHost>): Mutable<NdArray> {
  return { kind: "ndarray", descr: "", shape: [], fortranOrder: false, scalar, origin };
}

/** BUILD on an array placeholder: fills it from the pickled state. Returns false if the state is not understood. */
export function buildNdArray(target: NdArray, state: TorchValue): boolean {
  const t = target as Mutable<NdArray>;
  const items = pyKind(state) === "tuple" ? (state as { items: TorchValue[] }).items : undefined;
  if (items === undefined || items.length < 5) return false;
  const [, shape, dtype, fortran, raw] = items;
  const read = readNumpyDtype(dtype);
  // A sub-array dtype never reaches an array's state: numpy folds it into the shape.
  const descr = read === undefined || read.shape !== undefined ? undefined : read.descr;
  const shapeItems = pyKind(shape) === "tuple" ? (shape as { items: TorchValue[] }).items : undefined;
  if (shapeItems === undefined || !shapeItems.every((d) => typeof d === "number")) return false;
  t.shape = shapeItems as number[];
  t.fortranOrder = fortran === true;
  t.descr = descr ?? "|O";
  if (read?.fields !== undefined && read.shape === undefined) t.fields = read.fields;
  const info = descr === undefined || t.fields !== undefined ? undefined : dtypeByNumpy(descr);
  if (info !== undefined) t.dtype = info.dtype.name;
  if (pyKind(raw) === "bytes" || pyKind(raw) === "bytearray") t.data = (raw as { data: Uint8Array }).data;
  else if (pyKind(raw) === "list") t.items = (raw as { items: TorchValue[] }).items;
  else if (typeof raw === "string") t.data = latin1Bytes(raw); // Python 2 pickles carry the data as a str.
  else return false;
  t.origin = { ...t.origin!, state };
  return true;
}

function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

const reconstruct: Reducer<TorchHost> = {
  call(args, ctx) {
    return newArray(false, { kind: "object", via: ctx.via, callable: ctx.callable, args });
  },
};

/**
 * The numpy scalar `numpy...scalar(dtype, raw)` makes (`args` are the call's), keeping `origin`;
 * undefined when the dtype is not one numpy-dtype.ts reads or the bytes are not bytes.
 */
export function numpyScalar(args: readonly TorchValue[], origin: PyObject<TorchHost>): NdArray | undefined {
  const type = readNumpyDtype(args[0]);
  const raw = args[1];
  if (args.length !== 2 || type === undefined || type.shape !== undefined) return undefined;
  let data: Uint8Array;
  if (pyKind(raw) === "bytes") data = (raw as { data: Uint8Array }).data;
  // Python 2 pickles carry the bytes as a str of code points below 256.
  else if (typeof raw === "string" && isLatin1(raw)) data = latin1Bytes(raw);
  else return undefined;
  const a = newArray(true, origin);
  a.descr = type.descr;
  a.data = data;
  if (type.fields !== undefined) a.fields = type.fields;
  const info = type.fields === undefined ? dtypeByNumpy(type.descr) : undefined;
  if (info !== undefined) a.dtype = info.dtype.name;
  return a;
}

function isLatin1(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return false;
  return true;
}

const scalar: Reducer<TorchHost> = {
  call(args, ctx) {
    const items = pyKind(args) === "tuple" ? (args as { items: TorchValue[] }).items : [];
    return numpyScalar(items, { kind: "object", via: ctx.via, callable: ctx.callable, args });
  },
};

/** Reducers for numpy 1.x and 2.x module paths. */
export function numpyReducers(): ReducerRegistry<TorchHost> {
  const out: Record<string, Reducer<TorchHost>> = {};
  for (const m of MODULES) {
    out[`${m}._reconstruct`] = reconstruct;
    out[`${m}.scalar`] = scalar;
  }
  return out;
}
