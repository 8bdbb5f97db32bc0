/**
 * numpy arrays and scalars inside checkpoints, rebuilt as plain data without numpy:
 * - array: `numpy.core.multiarray._reconstruct(ndarray, (0,), b"b")` then BUILD with
 *   `(version, shape, dtype, is_fortran, rawdata)`;
 * - dtype: `numpy.dtype("f8", False, True)` then BUILD with `(3, "<", ...)`, kept inert and read here;
 * - scalar: `numpy.core.multiarray.scalar(dtype, raw_bytes)`.
 * numpy 2.x spells the module `numpy._core`; both are accepted.
 */
import type { Reducer, ReducerRegistry } from "../pickle/decoder.js";
import type { PyObject } from "../pickle/value.js";
import { isPyGlobal, pyKind } from "../pickle/value.js";
import { dtypeByNumpy } from "./dtypes.js";
import type { NdArray, TorchHost, TorchValue } from "./model.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const MODULES = ["numpy.core.multiarray", "numpy._core.multiarray"];

/** The numpy type string (`<f4`) an inert `numpy.dtype(...)` object describes, if it is a simple one. */
export function numpyDescr(dtype: TorchValue | undefined): string | undefined {
  if (pyKind(dtype) !== "object") return undefined;
  const o = dtype as PyObject<TorchHost>;
  if (!isPyGlobal(o.callable) || o.callable.name !== "dtype" || !o.callable.module.startsWith("numpy")) return undefined;
  const args = pyKind(o.args) === "tuple" ? (o.args as { items: TorchValue[] }).items : [];
  const code = args[0];
  if (typeof code !== "string" || !/^[a-zA-Z]\d*$/.test(code)) return undefined;
  const state = pyKind(o.state) === "tuple" ? (o.state as { items: TorchValue[] }).items : [];
  // A state with field names (structured dtype) is more than a type string can say.
  if (state[3] !== undefined && state[3] !== null) return undefined;
  const order = typeof state[1] === "string" ? state[1] : "|";
  return `${order === "=" ? "<" : order}${code}`;
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
  const descr = numpyDescr(dtype);
  const shapeItems = pyKind(shape) === "tuple" ? (shape as { items: TorchValue[] }).items : undefined;
  if (shapeItems === undefined || !shapeItems.every((d) => typeof d === "number")) return false;
  t.shape = shapeItems as number[];
  t.fortranOrder = fortran === true;
  t.descr = descr ?? "|O";
  const info = descr === undefined ? undefined : dtypeByNumpy(descr);
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

const scalar: Reducer<TorchHost> = {
  call(args, ctx) {
    const items = pyKind(args) === "tuple" ? (args as { items: TorchValue[] }).items : [];
    const descr = numpyDescr(items[0]);
    const raw = items[1];
    if (descr === undefined || (pyKind(raw) !== "bytes" && typeof raw !== "string")) return undefined;
    const a = newArray(true, { kind: "object", via: ctx.via, callable: ctx.callable, args });
    a.descr = descr;
    const info = dtypeByNumpy(descr);
    if (info !== undefined) a.dtype = info.dtype.name;
    a.data = typeof raw === "string" ? latin1Bytes(raw) : (raw as { data: Uint8Array }).data;
    return a;
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
