/**
 * A pickled `numpy.dtype` read as plain data. numpy pickles a dtype as
 * `numpy.dtype(code, False, True)` then BUILD with `(version, byteorder, subarray, names, fields,
 * itemsize, alignment, flags[, metadata])`: a simple dtype has only the byte order; a structured
 * (record) dtype has field names and a `{name: (dtype, offset[, title])}` dict; a field of
 * sub-array type has `subarray = (base dtype, shape)`. The calls stay inert; this only reads them.
 */
import type { PyDict, PyObject } from "../pickle/value.js";
import { isPyGlobal, pyKind } from "../pickle/value.js";
import type { NdField, TorchHost, TorchValue } from "../torch/model.js";

/** What a dtype describes: its numpy type string, and for a structured one its fields. */
export interface NumpyDtype {
  /** `<f4`, `|b1`, ...; `|V12` for a structured dtype of 12-byte records. */
  readonly descr: string;
  readonly fields?: readonly NdField[];
  /** A sub-array dtype's shape (`descr` and `fields` are then its element's). */
  readonly shape?: readonly number[];
}

/** Structured dtypes nest fields in fields; deeper than this is not read (hostile input). */
const MAX_FIELD_DEPTH = 32;

const itemsOf = (v: TorchValue | undefined): TorchValue[] | undefined =>
  pyKind(v) === "tuple" ? (v as { items: TorchValue[] }).items : undefined;

/** The pickled dtype `dtype` (an inert `numpy.dtype(...)` call), or undefined when it is not one this reads. */
export function readNumpyDtype(dtype: TorchValue | undefined, depth = 0): NumpyDtype | undefined {
  if (depth > MAX_FIELD_DEPTH || pyKind(dtype) !== "object") return undefined;
  const o = dtype as PyObject<TorchHost>;
  if (!isPyGlobal(o.callable) || o.callable.name !== "dtype" || !o.callable.module.startsWith("numpy")) return undefined;
  const code = itemsOf(o.args)?.[0];
  if (typeof code !== "string" || !/^[a-zA-Z]\d*$/.test(code)) return undefined;
  const state = itemsOf(o.state) ?? [];
  const [, order, subarray, names, fields, itemsize] = state;
  if (subarray !== undefined && subarray !== null) return subarrayDtype(subarray, depth);
  if (names !== undefined && names !== null) {
    const read = structFields(names, fields, depth);
    if (read === undefined) return undefined;
    const size = typeof itemsize === "number" && itemsize >= 0 ? itemsize : Number(code.slice(1));
    return { descr: `|V${size}`, fields: read };
  }
  const byteOrder = typeof order === "string" ? order : "|";
  return { descr: `${byteOrder === "=" ? "<" : byteOrder}${code}` };
}

/** `(base dtype, shape)`: the base's description with the shape. */
function subarrayDtype(subarray: TorchValue, depth: number): NumpyDtype | undefined {
  const [base, shape] = itemsOf(subarray) ?? [];
  const dims = itemsOf(shape);
  const inner = readNumpyDtype(base, depth + 1);
  if (inner === undefined || inner.shape !== undefined || dims === undefined || !dims.every((d) => typeof d === "number")) return undefined;
  return { ...inner, shape: dims as number[] };
}

/** The fields named by `names`, in that order, from the `fields` dict. */
function structFields(names: TorchValue, fields: TorchValue | undefined, depth: number): NdField[] | undefined {
  const order = itemsOf(names);
  if (order === undefined || pyKind(fields) !== "dict") return undefined;
  const byName = new Map<TorchValue, TorchValue>();
  for (const [k, v] of (fields as PyDict<TorchHost>).entries) if (!byName.has(k)) byName.set(k, v);
  const out: NdField[] = [];
  for (const name of order) {
    if (typeof name !== "string") return undefined;
    const spec = itemsOf(byName.get(name));
    const offset = spec?.[1];
    const type = readNumpyDtype(spec?.[0], depth + 1);
    if (spec === undefined || type === undefined || typeof offset !== "number") return undefined;
    const title = spec[2];
    out.push({
      name, descr: type.descr, offset,
      ...(type.shape === undefined ? {} : { shape: [...type.shape] }),
      ...(type.fields === undefined ? {} : { fields: type.fields }),
      ...(typeof title === "string" ? { title } : {}),
    });
  }
  return out;
}
