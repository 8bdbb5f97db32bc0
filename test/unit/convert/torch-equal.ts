/**
 * Structural equality of torch value graphs for the converter tests: every field of every tensor,
 * storage and numpy array, storages byte for byte, and the sharing graph (an object referenced
 * twice on one side is referenced twice on the other, cycles included). Immutable scalars whose
 * identity Python cannot observe (floats, complex numbers, globals, extension codes, bytes) compare
 * by value. Returns a description of the first difference, or undefined when equal.
 */
import type { TorchValue } from "../../../src/torch/index.js";
import { storageBytesSync, tensorBytes } from "../../../src/torch/index.js";
import { formatKeyPath } from "../../../src/errors.js";
import { canonicalOrigin } from "../../../src/convert/torch-records.js";
import type { Tensor } from "../../../src/torch/index.js";

/** A tensor's rebuild call: the one it kept, else the standard call (what a missing origin stands for). */
const originOf = (t: Tensor) => t.origin ?? canonicalOrigin(t);

export interface EqualOptions {
  /** Compare storage keys too (default true). */
  readonly storageKeys?: boolean;
  /** Compare tensor/ndarray `origin` (default true). */
  readonly origins?: boolean;
  /**
   * "exact" (default): every field, storages included. "logical": what torch.load gives back —
   * tensors by dtype, shape, flags and their contiguous bytes (`tensorBytes`), not by storage
   * layout (writers may re-key storages, rewrite legacy views as offsets, swap byte order).
   */
  readonly tensors?: "exact" | "logical";
}

const VALUE_KINDS = new Set(["float", "complex", "global", "ext", "bytes"]);

export function torchDiff(a: TorchValue, b: TorchValue, options: EqualOptions = {}): string | undefined {
  const ab = new Map<object, object>();
  const ba = new Map<object, object>();
  const path: (string | number)[] = [];
  const storageKeys = options.storageKeys ?? true;
  const logical = options.tensors === "logical";
  const origins = (options.origins ?? true) && !logical;
  let steps = 0;

  const at = (msg: string) => `${formatKeyPath(path) || "(root)"}: ${msg}`;
  const bytesDiff = (x: Uint8Array | undefined, y: Uint8Array | undefined, what: string): string | undefined => {
    if (x === undefined || y === undefined) return x === y ? undefined : at(`${what}: one side has no bytes`);
    if (x.length !== y.length) return at(`${what}: ${x.length} vs ${y.length} bytes`);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return at(`${what}: byte ${i} differs (${x[i]} vs ${y[i]})`);
    return undefined;
  };
  const ints = (x: readonly number[], y: readonly number[], what: string) =>
    x.length === y.length && x.every((v, i) => v === y[i]) ? undefined : at(`${what} [${x}] vs [${y}]`);

  const sub = (key: string | number, x: unknown, y: unknown): string | undefined => {
    path.push(key);
    const d = diff(x, y);
    path.pop();
    return d;
  };
  const list = (key: string | number, x: readonly unknown[] | undefined, y: readonly unknown[] | undefined): string | undefined => {
    if (x === undefined || y === undefined) return x === y ? undefined : at(`${key}: present on one side only`);
    if (x.length !== y.length) return at(`${key}: ${x.length} vs ${y.length} items`);
    path.push(key);
    try {
      for (let i = 0; i < x.length; i++) {
        const d = sub(i, x[i], y[i]);
        if (d !== undefined) return d;
      }
    } finally {
      path.pop();
    }
    return undefined;
  };
  const fields = (x: Record<string, unknown>, y: Record<string, unknown>, names: readonly string[]): string | undefined => {
    for (const n of names) {
      const d = sub(n, x[n], y[n]);
      if (d !== undefined) return d;
    }
    return undefined;
  };

  function diff(x: unknown, y: unknown): string | undefined {
    if (++steps > 5_000_000) return at("too many steps (runaway comparison)");
    if (typeof x !== "object" || x === null || typeof y !== "object" || y === null) {
      if (typeof x === "number" && typeof y === "number") return Object.is(x, y) ? undefined : at(`${x} vs ${y}`);
      return x === y ? undefined : at(`${String(x)} (${typeof x}) vs ${String(y)} (${typeof y})`);
    }
    if (Array.isArray(x) || Array.isArray(y)) {
      if (!Array.isArray(x) || !Array.isArray(y)) return at("array vs non-array");
      if (x.length !== y.length) return at(`${x.length} vs ${y.length} items`);
      for (let i = 0; i < x.length; i++) {
        const d = sub(i, x[i], y[i]);
        if (d !== undefined) return d;
      }
      return undefined;
    }
    if (x instanceof Uint8Array || y instanceof Uint8Array) {
      if (!(x instanceof Uint8Array) || !(y instanceof Uint8Array)) return at("bytes vs non-bytes");
      return bytesDiff(x, y, "bytes");
    }
    const xo = x as Record<string, unknown>;
    const yo = y as Record<string, unknown>;
    const kind = xo.kind;
    if (kind !== yo.kind) return at(`kind ${String(kind)} vs ${String(yo.kind)}`);
    if (typeof kind === "string" && VALUE_KINDS.has(kind)) {
      switch (kind) {
        case "float":
          return Object.is(xo.value, yo.value) && xo.nanBits === yo.nanBits ? undefined : at(`float ${String(xo.value)} vs ${String(yo.value)}`);
        case "complex":
          return Object.is(xo.real, yo.real) && Object.is(xo.imag, yo.imag) ? undefined : at("complex differs");
        case "global":
          return xo.module === yo.module && xo.name === yo.name ? undefined : at(`global ${String(xo.module)}.${String(xo.name)} vs ${String(yo.module)}.${String(yo.name)}`);
        case "ext":
          return xo.code === yo.code ? undefined : at("extension code differs");
        case "bytes":
          return bytesDiff(xo.data as Uint8Array, yo.data as Uint8Array, "bytes");
      }
    }
    const mapped = ab.get(x);
    if (mapped !== undefined) return mapped === y ? undefined : at(`sharing differs (${String(kind)} met before maps elsewhere)`);
    if (ba.has(y)) return at(`sharing differs (the other side's ${String(kind)} was met before)`);
    ab.set(x, y);
    ba.set(y, x);
    switch (kind) {
      case "list":
      case "tuple":
      case "set":
      case "frozenset":
        return list("items", xo.items as unknown[], yo.items as unknown[]);
      case "dict":
        return list("entries", xo.entries as unknown[], yo.entries as unknown[]) ?? fields(xo, yo, ["type", "state"]);
      case "object":
        return (
          (xo.via === yo.via ? undefined : at(`via ${String(xo.via)} vs ${String(yo.via)}`)) ??
          fields(xo, yo, ["callable", "args", "kwargs", "state"]) ??
          list("listItems", xo.listItems as unknown[] | undefined, yo.listItems as unknown[] | undefined) ??
          list("dictItems", xo.dictItems as unknown[] | undefined, yo.dictItems as unknown[] | undefined) ??
          list("setItems", xo.setItems as unknown[] | undefined, yo.setItems as unknown[] | undefined)
        );
      case "persid":
        return xo.binary === yo.binary ? sub("$persid", xo.pid, yo.pid) : at("persid binary flag differs");
      case "buffer":
        return xo.readonly === yo.readonly ? bytesDiff(xo.data as Uint8Array, yo.data as Uint8Array, "buffer") : at("buffer readonly differs");
      case "bytearray":
        return bytesDiff(xo.data as Uint8Array, yo.data as Uint8Array, "bytearray");
      case "tensor":
        if (logical) {
          return (
            ints(xo.shape as number[], yo.shape as number[], "shape") ??
            fields(xo, yo, ["dtype", "device", "requiresGrad", "isParameter", "layout", "subclass", "state"]) ??
            quant(xo.quantization, yo.quantization) ??
            sparse(xo.sparse, yo.sparse) ??
            (xo.storage === undefined || yo.storage === undefined
              ? (xo.storage === yo.storage ? undefined : at("storage on one side only"))
              : bytesDiff(tensorBytes(x as never), tensorBytes(y as never), "tensor bytes"))
          );
        }
        return (
          ints(xo.shape as number[], yo.shape as number[], "shape") ??
          ints(xo.stride as number[], yo.stride as number[], "stride") ??
          fields(xo, yo, ["dtype", "storageOffset", "device", "requiresGrad", "isParameter", "layout", "storage", "subclass", "state"]) ??
          quant(xo.quantization, yo.quantization) ??
          sparse(xo.sparse, yo.sparse) ??
          (origins ? sub("origin", originOf(x as Tensor), originOf(y as Tensor)) : undefined)
        );
      case "storage": {
        if (logical) return fields(xo, yo, ["dtype"]) ?? bytesDiff(storageBytesSync(x as never), storageBytesSync(y as never), "storage bytes");
        const names = ["storageType", "dtype", "location", "declaredNumel", "byteLength", "byteOrder", ...(storageKeys ? ["key"] : [])];
        const d = fields(xo, yo, names);
        if (d !== undefined) return d;
        const xv = xo.view as { root: unknown; offset: number } | undefined;
        const yv = yo.view as { root: unknown; offset: number } | undefined;
        if ((xv === undefined) !== (yv === undefined)) return at("storage view on one side only");
        if (xv !== undefined && yv !== undefined) {
          if (xv.offset !== yv.offset) return at("storage view offset differs");
          const dv = sub("view", xv.root, yv.root);
          if (dv !== undefined) return dv;
        }
        return bytesDiff(storageBytesSync(x as never), storageBytesSync(y as never), `storage ${String(xo.key)} bytes`);
      }
      case "ndarray":
        return (
          ints(xo.shape as number[], yo.shape as number[], "shape") ??
          fields(xo, yo, ["descr", "dtype", "fortranOrder", "scalar"]) ??
          bytesDiff(xo.data as Uint8Array | undefined, yo.data as Uint8Array | undefined, "ndarray data") ??
          list("items", xo.items as unknown[] | undefined, yo.items as unknown[] | undefined) ??
          (origins ? sub("origin", xo.origin, yo.origin) : undefined)
        );
      default:
        return at(`unknown kind ${String(kind)}`);
    }
  }

  function quant(x: unknown, y: unknown): string | undefined {
    if (x === undefined || y === undefined) return x === y ? undefined : at("quantization on one side only");
    const xq = x as Record<string, unknown>, yq = y as Record<string, unknown>;
    if (xq.scheme !== yq.scheme) return at("qscheme differs");
    return fields(xq, yq, ["scale", "zeroPoint", "scales", "zeroPoints", "axis"]);
  }

  function sparse(x: unknown, y: unknown): string | undefined {
    if (x === undefined || y === undefined) return x === y ? undefined : at("sparse parts on one side only");
    const xs = x as Record<string, unknown>, ys = y as Record<string, unknown>;
    return ints(xs.size as number[], ys.size as number[], "sparse size") ??
      fields(xs, ys, ["indices", "values", "isCoalesced", "compressedIndices", "plainIndices"]);
  }

  return diff(a, b);
}
