/**
 * Small hand-built torch values for the converter tests: storages and tensors with exactly the
 * fields the reader would give them, so round trips can be compared field by field.
 */
import { canonicalOrigin } from "../../../src/convert/torch-records.js";
import { isTorchsaveError } from "../../../src/errors.js";
import { pyGlobal } from "../../../src/pickle/value.js";
import type { DTypeName, Storage, Tensor } from "../../../src/torch/index.js";
import { dtypeByName } from "../../../src/torch/index.js";

/** A typed storage (or UntypedStorage when the dtype has no class) over `data`. */
export function storage(dtype: DTypeName, data: Uint8Array, options: { key?: string; untyped?: boolean; location?: string; byteOrder?: "little" | "big" } = {}): Storage {
  const info = dtypeByName(dtype)!;
  const untyped = options.untyped === true || info.storageClass === undefined;
  return {
    kind: "storage", key: options.key ?? "0", storageType: pyGlobal("torch", untyped ? "UntypedStorage" : info.storageClass!),
    dtype, location: options.location ?? "cpu", declaredNumel: untyped ? data.length : data.length / info.itemSize,
    byteLength: data.length, byteOrder: options.byteOrder ?? "little", data,
  };
}

/** A strided tensor over `s` with torch.save's rebuild call as its origin (as a file would give it). */
export function tensor(s: Storage, shape: number[], options: { stride?: number[]; offset?: number; requiresGrad?: boolean; parameter?: boolean; origin?: "canonical" | "none" } = {}): Tensor {
  const stride = options.stride ?? contiguous(shape);
  const t: Tensor = {
    kind: "tensor", dtype: s.dtype, shape, stride, storageOffset: options.offset ?? 0, storage: s, device: s.location,
    requiresGrad: options.requiresGrad ?? false, isParameter: options.parameter ?? false, layout: "strided",
  };
  return options.origin === "none" ? t : { ...t, origin: canonicalOrigin(t)! };
}

export function contiguous(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let step = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = step;
    step *= shape[i]!;
  }
  return out;
}

export const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
export const f32 = (...v: number[]): Uint8Array => new Uint8Array(Float32Array.from(v).buffer);

/** The torchsave error `f` throws (fails the test when it throws something else or nothing). */
export function thrown(f: () => unknown): { code: string; name: string; path: readonly (string | number)[] | undefined; offset: number | undefined; message: string } {
  try {
    f();
  } catch (e) {
    if (!isTorchsaveError(e)) throw e;
    return { code: e.code, name: e.name, path: e.path, offset: e.offset, message: e.message };
  }
  throw new Error("expected a throw");
}

/** Byte equality that stays fast for large arrays (vitest's deep equality walks element by element). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
}
