/**
 * fast-check arbitraries for checkpoints: nested Python values with tensors of every dtype over
 * shared storages (views, offsets, transposes), Parameters, quantized, sparse and storage-less
 * tensors, numpy arrays, optimizer-state shapes, and rebuild calls that are standard, absent or
 * not standard — everything the converters must carry.
 */
import fc from "fast-check";
import { canonicalOrigin } from "../../../src/convert/torch-records.js";
import {
  ORDERED_DICT, pyByteArray, pyBytes, pyComplex, pyDict, pyFloat, pyFrozenSet, pyGlobal, pyList, pySet, pyTuple,
  type PyDict, type PyObject,
} from "../../../src/pickle/value.js";
import type { DTypeInfo, NdArray, Storage, Tensor, TorchHost, TorchValue } from "../../../src/torch/index.js";
import { DTYPES } from "../../../src/torch/index.js";
import { contiguous } from "./values.js";

type V = TorchValue;

export interface CheckpointShape {
  /** Restrict to what torch's own formats hold (typed storages, dense tensors, weights_only values). */
  readonly torchFormats?: boolean;
}

const LOCATIONS = ["cpu", "cpu", "cuda:0", "mps"];

const floatArb: fc.Arbitrary<V> = fc.oneof(
  fc.double().map((x) => pyFloat(x)),
  fc.constantFrom(pyFloat(-0), pyFloat(NaN), pyFloat(Infinity), { kind: "float", value: NaN, nanBits: "7ff0000000000001" } as V),
);
const intArb: fc.Arbitrary<V> = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).filter((b) => b > 2n ** 53n || b < -(2n ** 53n)),
);
const strArb: fc.Arbitrary<V> = fc.oneof(fc.string(), fc.constantFrom("", "a\ud800b", "\udc00", "é€😀", "0", "$x", "__proto__"));
const hashableArb: fc.Arbitrary<V> = fc.oneof(strArb, intArb, fc.boolean(), fc.constant(null), floatArb.filter((f) => !Number.isNaN((f as { value: number }).value)));

/** A storage of `dtype` with random bytes; typed when the dtype has a class (unless asked otherwise). */
function storageArb(info: DTypeInfo, key: string, torchFormats: boolean): fc.Arbitrary<Storage> {
  return fc.record({
    n: fc.integer({ min: 0, max: 12 }),
    untyped: torchFormats ? fc.constant(false) : fc.boolean(),
    location: fc.constantFrom(...LOCATIONS),
    big: torchFormats ? fc.constant(false) : fc.integer({ min: 0, max: 3 }).map((k) => k === 0),
    seed: fc.uint8Array({ minLength: 12 * 16, maxLength: 12 * 16 }),
  }).map(({ n, untyped, location, big, seed }) => {
    const typed = info.storageClass !== undefined && !untyped;
    const data = seed.slice(0, n * info.itemSize);
    return {
      kind: "storage", key, storageType: pyGlobal("torch", typed ? info.storageClass! : "UntypedStorage"), dtype: info.name, location,
      declaredNumel: typed ? n : data.length, byteLength: data.length, byteOrder: big ? "big" : "little", data,
    } satisfies Storage;
  });
}

/** A view of `s` that stays inside it: a shape, strides (possibly transposed or zero), an offset. */
function viewArb(s: Storage, info: DTypeInfo): fc.Arbitrary<{ shape: number[]; stride: number[]; offset: number }> {
  const numel = s.byteLength / info.itemSize;
  return fc.record({
    dims: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }),
    transpose: fc.boolean(),
    offset: fc.nat(),
    zeroStride: fc.boolean(),
  }).map(({ dims, transpose, offset, zeroStride }) => {
    let shape = dims;
    let stride = contiguous(shape);
    if (transpose && shape.length >= 2) {
      shape = [...shape].reverse();
      stride = [...stride].reverse();
    }
    if (zeroStride && shape.length > 0) stride = [0, ...stride.slice(1)];
    const span = shape.some((d) => d === 0) ? 0 : shape.reduce((a, d, i) => a + (d - 1) * stride[i]!, 1);
    if (span > numel) return { shape: [numel], stride: [1], offset: 0 };
    return { shape, stride, offset: numel - span === 0 ? 0 : offset % (numel - span + 1) };
  });
}

/** Builds tensors over a pool of storages; the same tensor object may be placed several times. */
function tensorsArb(options: CheckpointShape): fc.Arbitrary<Tensor[]> {
  const torchFormats = options.torchFormats === true;
  const dtypes = DTYPES.filter((d) => !torchFormats || (d.storageClass !== undefined && d.kind !== "quantized"));
  return fc.array(fc.constantFrom(...dtypes), { minLength: 1, maxLength: 4 })
    .chain((infos) => fc.tuple(...infos.map((info, i) => storageArb(info, String(i), torchFormats))))
    .chain((storages) => {
      const one = fc.record({
        at: fc.nat(storages.length - 1),
        requiresGrad: fc.boolean(),
        parameter: fc.boolean(),
        origin: torchFormats ? fc.constant("canonical" as const) : fc.constantFrom("canonical" as const, "canonical" as const, "none" as const, "metadata" as const),
      }).chain((p) => {
        const s = storages[p.at]!;
        const info = DTYPES.find((d) => d.name === s.dtype)!;
        return viewArb(s, info).map((view): Tensor => {
          const t: Tensor = {
            kind: "tensor", dtype: s.dtype, shape: view.shape, stride: view.stride, storageOffset: view.offset, storage: s, device: s.location,
            requiresGrad: p.requiresGrad, isParameter: p.parameter, layout: "strided",
          };
          if (info.kind === "quantized" && info.packing === undefined) {
            return { ...t, quantization: { scheme: "per_tensor_affine", scale: 0.25, zeroPoint: 3 }, origin: { kind: "object", via: "reduce", callable: pyGlobal("torch._utils", "_rebuild_qtensor"), args: pyTuple<TorchHost>([s, view.offset]) } };
          }
          const canon = canonicalOrigin(t);
          if (p.origin === "none" || canon === undefined) return t;
          if (p.origin === "canonical") return { ...t, origin: canon };
          const args = (canon.args as { items: V[] }).items;
          return { ...t, origin: { ...canon, args: pyTuple<TorchHost>([...args, pyDict([["meta", 1]])]) } as PyObject<TorchHost> };
        });
      });
      return fc.array(one, { minLength: 1, maxLength: 6 }).map((ts) => {
        if (torchFormats) return ts;
        // One storage-less meta tensor and one sparse tensor over tensors of the pool.
        const meta: Tensor = { kind: "tensor", dtype: "float32", shape: [2], stride: [1], storageOffset: 0, device: "meta", requiresGrad: false, isParameter: false, layout: "strided" };
        const first = ts[0]!;
        const sparse: Tensor = {
          kind: "tensor", dtype: first.dtype, shape: [4], stride: [], storageOffset: 0, device: "cpu", requiresGrad: false, isParameter: false,
          layout: "sparse_coo", sparse: { size: [4], indices: first, values: first, isCoalesced: true },
        };
        return [...ts, meta, sparse];
      });
    });
}

/** A nested checkpoint: a model state_dict, optimizer state, and assorted Python values around the tensors. */
export function checkpointArb(options: CheckpointShape = {}): fc.Arbitrary<V> {
  const torchFormats = options.torchFormats === true;
  return tensorsArb(options).chain((tensors) => {
    const tensorArb = fc.constantFrom(...tensors) as fc.Arbitrary<V>;
    const leaf: fc.Arbitrary<V> = torchFormats
      ? fc.oneof(fc.constant(null), fc.boolean(), intArb, strArb, floatArb, tensorArb)
      : fc.oneof(
        fc.constant(null), fc.boolean(), intArb, strArb, floatArb, tensorArb, tensorArb,
        fc.tuple(fc.double(), fc.double()).map(([re, im]) => pyComplex(re, im)),
        fc.uint8Array({ maxLength: 8 }).map((b) => pyBytes(b)),
        fc.uint8Array({ maxLength: 8 }).map((b) => pyByteArray(b)),
        fc.constant(pyGlobal("torch", "float32")),
        fc.constant(tensors[0]!.storage ?? null),
        fc.uint8Array({ minLength: 8, maxLength: 8 }).map((data): NdArray => ({ kind: "ndarray", descr: "<f4", dtype: "float32", shape: [2], fortranOrder: false, data, scalar: false })),
      );
    const value = fc.letrec<{ v: V }>((tie) => ({
      v: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        leaf,
        fc.array(tie("v"), { maxLength: 4 }).map((items) => pyList<TorchHost>(items)),
        fc.array(tie("v"), { maxLength: 3 }).map((items) => pyTuple<TorchHost>(items)),
        fc.array(fc.tuple(strArb, tie("v")), { maxLength: 4 }).map((e) => pyDict<TorchHost>(dedupe(e))),
        ...(torchFormats ? [] : [
          fc.array(fc.tuple(hashableArb, tie("v")), { maxLength: 3 }).map((e) => pyDict<TorchHost>(e)),
          fc.array(hashableArb, { maxLength: 3 }).map((items) => pySet<TorchHost>(items)),
          fc.array(hashableArb, { maxLength: 3 }).map((items) => pyFrozenSet<TorchHost>(items)),
          fc.tuple(tie("v"), tie("v")).map(([args, state]): V => ({ kind: "object", via: "newobj", callable: pyGlobal("mylib", "Config"), args: pyTuple<TorchHost>([args]), state })),
        ]),
      ),
    }));
    const model = pyDict<TorchHost>(tensors.filter((t) => t.layout === "strided").map((t, i) => [`layer${i}.weight`, t]), ORDERED_DICT);
    model.state = pyDict<TorchHost>([["_metadata", pyDict([["", pyDict([["version", 1]])]])]]);
    return fc.record({ extra: value.v, epoch: fc.nat(), lr: fc.double({ noNaN: true }) }).map(({ extra, epoch, lr }) => {
      const state = pyDict<TorchHost>(tensors.map((t, i) => [i, pyDict<TorchHost>([["step", pyFloat(3)], ["exp_avg", t]])]));
      const optimizer = pyDict<TorchHost>([
        ["state", state],
        ["param_groups", pyList<TorchHost>([pyDict<TorchHost>([["lr", pyFloat(lr)], ["betas", pyTuple([pyFloat(0.9), pyFloat(0.999)])], ["params", pyList(tensors.map((_, i) => i))]])])],
      ]);
      const root: PyDict<TorchHost> = pyDict<TorchHost>([["model", model], ["optimizer", optimizer], ["epoch", epoch], ["extra", extra], ["model_again", model]]);
      return root;
    });
  });
}

function dedupe(entries: [V, V][]): [V, V][] {
  const seen = new Set<V>();
  return entries.filter(([k]) => (seen.has(k) ? false : (seen.add(k), true)));
}
