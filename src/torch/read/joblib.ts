/**
 * joblib's `dump` (scikit-learn models, numpy-heavy training state): each array is pickled as a
 * `joblib.numpy_pickle.NumpyArrayWrapper` whose BUILD is followed, inside the pickle stream, by the
 * array's raw bytes (optionally after an alignment pad: one length byte, then that many 0xff) or,
 * for object arrays, by a nested pickle. Read here as an NdArray in place of the wrapper.
 */
import { CheckpointError } from "../../errors.js";
import type { DecodeOptions, DecodeResult } from "../../pickle/decoder.js";
import type { PyDict, PyObject } from "../../pickle/value.js";
import { dictGet, isPyGlobal, pyKind } from "../../pickle/value.js";
import { dtypeByNumpy } from "../dtypes.js";
import type { NdArray, TorchHost, TorchValue } from "../model.js";
import { isNdArray } from "../model.js";
import { numpyDescr } from "../../numpy/numpy.js";

const WRAPPER_MODULES = new Set(["joblib.numpy_pickle", "sklearn.externals.joblib.numpy_pickle"]);

/** The wrapper's class name: a pickle without it has no raw array data after any BUILD. */
export const JOBLIB_MARKERS: readonly string[] = ["NumpyArrayWrapper"];

/** Decodes a nested pickle (object arrays) at `pos`. */
export type NestedDecode = (input: Uint8Array, pos: number) => DecodeResult<TorchHost>;

/**
 * Told where each wrapper's data lies: `buildEnd` is the position just after its BUILD opcode,
 * `[start, end)` the raw array bytes (after any alignment pad) or the nested pickle.
 */
export type JoblibDataObserver = (buildEnd: number, start: number, end: number, kind: "raw" | "pickle") => void;

export function joblibAfterBuild(nested: NestedDecode, observe?: JoblibDataObserver): NonNullable<DecodeOptions<TorchHost>["afterBuild"]> {
  return (target, input, pos) => {
    if (pyKind(target) !== "object") return undefined;
    const o = target as PyObject<TorchHost>;
    if (!isPyGlobal(o.callable) || o.callable.name !== "NumpyArrayWrapper" || !WRAPPER_MODULES.has(o.callable.module)) return undefined;
    if (pyKind(o.state) !== "dict") return undefined;
    const state = o.state as PyDict<TorchHost>;
    const shapeV = dictGet(state, "shape");
    const shape = pyKind(shapeV) === "tuple" ? (shapeV as { items: TorchValue[] }).items : undefined;
    if (shape === undefined || !shape.every((d) => typeof d === "number" && d >= 0)) {
      throw new CheckpointError("invalid-data", "joblib array wrapper without a shape", { offset: pos });
    }
    const dims = shape as number[];
    const descr = numpyDescr(dictGet(state, "dtype"));
    const fortranOrder = dictGet(state, "order") === "F";
    if (descr === undefined || descr.endsWith("O8") || descr.endsWith("O")) {
      const inner = nested(input, pos);
      observe?.(pos, pos, inner.end, "pickle");
      const value = isNdArray(inner.value) ? ({ ...inner.value, origin: o } as NdArray) : inner.value;
      return { end: inner.end, value };
    }
    let start = pos;
    const alignment = dictGet(state, "numpy_array_alignment_bytes");
    if (typeof alignment === "number") {
      const pad = input[start];
      if (pad === undefined) throw new CheckpointError("truncated", "joblib array padding byte is missing", { offset: start });
      start += 1 + pad;
    }
    const info = dtypeByNumpy(descr);
    const itemSize = info?.dtype.itemSize ?? Number(descr.slice(2));
    const length = dims.reduce((a, b) => a * b, 1) * itemSize;
    if (!Number.isSafeInteger(length) || start + length > input.length) {
      throw new CheckpointError("truncated", `joblib array of ${dims.join("×")} ${descr} needs ${length} bytes after byte ${start}`, { offset: start });
    }
    observe?.(pos, start, start + length, "raw");
    const array: NdArray = {
      kind: "ndarray", descr, shape: dims, fortranOrder, data: input.subarray(start, start + length), scalar: false, origin: o,
      ...(info === undefined ? {} : { dtype: info.dtype.name }),
    };
    return { end: start + length, value: array };
  };
}
