// Random checkpoints (nested values holding tensors that share storages, view them with offsets and
// strides, and reuse objects) written with writeCheckpoint and read back with readCheckpoint must
// come back as the same graph: same values, same sharing, same tensors, storages byte for byte.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodePickle } from "../../src/pickle/encoder.js";
import { pyKind, type PyValue } from "../../src/pickle/value.js";
import type { PyDict, PyFloat, PyGlobal } from "../../src/pickle/value.js";
import { asFloat, asTuple, parameter, tensor, tensorView, toTorchValue } from "../../src/torch/builder.js";
import type { BuildInput } from "../../src/torch/builder.js";
import { DTYPES } from "../../src/torch/dtypes.js";
import type { DTypeInfo } from "../../src/torch/dtypes.js";
import type { Storage, Tensor, TorchHost, TorchValue } from "../../src/torch/model.js";
import { isTensor } from "../../src/torch/model.js";
import { readCheckpoint } from "../../src/torch/read/read-checkpoint.js";
import { storageBytesSync } from "../../src/torch/storage-bytes.js";
import { tensorBytes } from "../../src/torch/tensor-data.js";
import { writeCheckpoint } from "../../src/torch/write/write-checkpoint.js";
import { torchPickleHooks } from "../../src/torch/write/write-pickle-tensor.js";
import type { WriteOptions } from "../../src/torch/write/write-options.js";

/** Dtypes with a plain itemSize layout (packed quantized dtypes count shapes differently). */
const PLAIN = DTYPES.filter((d) => !(d.kind === "quantized" && (d.packing ?? 1) > 1));

const arbStorageSpec = fc.record({
  dtype: fc.constantFrom(...PLAIN),
  elements: fc.integer({ min: 0, max: 12 }),
  seed: fc.integer({ min: 0, max: 255 }),
  device: fc.constantFrom("cpu", "cpu", "cuda:0", "mps"),
});

const arbViewSpec = fc.record({
  storage: fc.nat(),
  kind: fc.constantFrom("whole", "slice", "transpose", "expand", "scalar", "param", "grad", "retype"),
  a: fc.nat(),
  b: fc.nat(),
});

function makeStorageTensor(spec: { dtype: DTypeInfo; elements: number; seed: number; device: string }): Tensor {
  const raw = new Uint8Array(spec.elements * spec.dtype.itemSize).map((_, i) => (i * 89 + spec.seed) & 0xff);
  return tensor(raw, { dtype: spec.dtype.name, device: spec.device });
}

/** A tensor viewing `base`'s storage some way; undefined when the view does not fit. */
function makeView(base: Tensor, spec: { kind: string; a: number; b: number }): Tensor | undefined {
  const n = base.shape[0]!;
  switch (spec.kind) {
    case "whole":
      return base;
    case "slice": {
      if (n === 0) return tensorView(base, [0]);
      const start = spec.a % n;
      return tensorView(base, [(spec.b % (n - start)) + 1], { offset: start });
    }
    case "transpose": {
      const rows = (spec.a % 3) + 1;
      const cols = Math.floor(n / rows);
      return cols === 0 ? undefined : tensorView(base, [cols, rows], { stride: [1, cols] });
    }
    case "expand":
      return n === 0 ? undefined : tensorView(base, [(spec.a % 3) + 1, 1], { stride: [0, 1], offset: spec.b % n });
    case "scalar":
      return n === 0 ? undefined : tensorView(base, [], { offset: spec.a % n });
    case "param":
      return { ...base, isParameter: true, requiresGrad: spec.a % 2 === 0 };
    case "grad":
      return { ...base, requiresGrad: true };
    case "retype": {
      // Another dtype of the same width over the same bytes: the storage must be written untyped.
      const other = PLAIN.find((d) => d.itemSize === dtypeSize(base) && d.name !== base.dtype && d.kind !== "quantized");
      return other === undefined ? undefined : { ...base, dtype: other.name };
    }
    default:
      return undefined;
  }
}

const dtypeSize = (t: Tensor): number => DTYPES.find((d) => d.name === t.dtype)!.itemSize;

const arbScalar: fc.Arbitrary<BuildInput> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }),
  fc.double().map((x) => asFloat(x)),
  fc.string({ maxLength: 8 }),
);

/** A value tree whose leaves are scalars or indices into the tensor pool (resolved later). */
type Tree = { t: number } | { list: Tree[] } | { tuple: Tree[] } | { dict: [string, Tree][] } | { s: BuildInput };

const arbTree: fc.Arbitrary<Tree> = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    arbScalar.map((s): Tree => ({ s })),
    fc.nat().map((t): Tree => ({ t })),
    fc.array(tie("tree"), { maxLength: 4 }).map((list): Tree => ({ list })),
    fc.array(tie("tree"), { maxLength: 3 }).map((tuple): Tree => ({ tuple })),
    fc.array(fc.tuple(fc.string({ maxLength: 6 }), tie("tree")), { maxLength: 4 }).map((dict): Tree => ({ dict })),
  ),
})).tree;

const arbCase = fc.record({
  storages: fc.array(arbStorageSpec, { minLength: 1, maxLength: 5 }),
  views: fc.array(arbViewSpec, { minLength: 1, maxLength: 8 }),
  tree: arbTree,
  options: fc.constantFrom<WriteOptions>({}, { protocol: 4 }, { protocol: 5, storageAlignment: 8 }, { layout: "legacy" }),
});

type Case = typeof arbCase extends fc.Arbitrary<infer T> ? T : never;

function build(c: Case): { root: TorchValue; pool: Tensor[] } {
  const bases = c.storages.map(makeStorageTensor);
  const pool: Tensor[] = [];
  for (const v of c.views) {
    const t = makeView(bases[v.storage % bases.length]!, v);
    if (t !== undefined) pool.push(t);
  }
  if (pool.length === 0) pool.push(parameter(new Float32Array([1])));
  const resolve = (tree: Tree): BuildInput => {
    if ("t" in tree) return pool[tree.t % pool.length]!;
    if ("s" in tree) return tree.s;
    if ("list" in tree) return tree.list.map(resolve);
    if ("tuple" in tree) return asTuple(...tree.tuple.map(resolve));
    return new Map(tree.dict.map(([k, v]) => [k, resolve(v)] as [BuildInput, BuildInput]));
  };
  // Every pool tensor is reachable, plus the random tree around them.
  return { root: toTorchValue({ tensors: pool, tree: resolve(c.tree) }), pool };
}

/** Undefined when `a` (written) and `b` (read back) are the same graph; else where they differ. */
function graphDiff(a: TorchValue, b: TorchValue): string | undefined {
  const ab = new Map<object, object>();
  const storages = new Map<Storage, Storage>();
  const work: [TorchValue, TorchValue, string][] = [[a, b, "$"]];
  while (work.length > 0) {
    const [x, y, path] = work.pop()!;
    if (typeof x !== "object" || x === null) {
      if (!Object.is(x, y)) return `${path}: ${String(x)} vs ${String(y)}`;
      continue;
    }
    if (typeof y !== "object" || y === null) return `${path}: object vs ${String(y)}`;
    if (isTensor(x)) {
      if (!isTensor(y)) return `${path}: tensor vs ${pyKind(y)}`;
      const seen = ab.get(x);
      if (seen !== undefined) {
        if (seen !== y) return `${path}: tensor sharing differs`;
        continue;
      }
      ab.set(x, y);
      for (const f of ["dtype", "storageOffset", "device", "requiresGrad", "isParameter", "layout"] as const) {
        if (x[f] !== y[f]) return `${path}: ${f} ${String(x[f])} vs ${String(y[f])}`;
      }
      if (x.shape.join() !== y.shape.join() || x.stride.join() !== y.stride.join()) return `${path}: shape/stride differ`;
      const sx = x.storage!;
      const sy = y.storage!;
      const mapped = storages.get(sx);
      if (mapped !== undefined && mapped !== sy) return `${path}: storage sharing differs`;
      if (mapped === undefined) {
        if ([...storages.values()].includes(sy)) return `${path}: two storages became one`;
        storages.set(sx, sy);
        if (Buffer.compare(storageBytesSync(sx), storageBytesSync(sy)) !== 0) return `${path}: storage bytes differ`;
        if (sy.location !== sx.location) return `${path}: location ${sx.location} vs ${sy.location}`;
      }
      if (Buffer.compare(tensorBytes(x), tensorBytes(y)) !== 0) return `${path}: tensor bytes differ`;
      continue;
    }
    const kx = pyKind(x);
    if (kx !== pyKind(y)) return `${path}: kind ${kx} vs ${pyKind(y)}`;
    if (kx === "float") {
      if (!Object.is((x as PyFloat).value, (y as PyFloat).value)) return `${path}: float differs`;
      continue;
    }
    const seen = ab.get(x);
    if (seen !== undefined) {
      if (seen !== y) return `${path}: sharing differs`;
      continue;
    }
    const emptyTuple = kx === "tuple" && (x as { items: unknown[] }).items.length === 0;
    if (!emptyTuple) ab.set(x, y);
    if (kx === "dict") {
      const dx = x as PyDict<never>;
      const dy = y as PyDict<never>;
      if (dx.entries.length !== dy.entries.length) return `${path}: ${dx.entries.length} vs ${dy.entries.length} entries`;
      if ((dx.type as PyGlobal | undefined)?.name !== (dy.type as PyGlobal | undefined)?.name) return `${path}: dict type differs`;
      dx.entries.forEach(([k, v], i) => {
        work.push([k, dy.entries[i]![0], `${path}.key${i}`], [v, dy.entries[i]![1], `${path}[${String(k)}]`]);
      });
      continue;
    }
    if (kx === "list" || kx === "tuple") {
      const ix = (x as { items: TorchValue[] }).items;
      const iy = (y as { items: TorchValue[] }).items;
      if (ix.length !== iy.length) return `${path}: ${ix.length} vs ${iy.length} items`;
      ix.forEach((v, i) => work.push([v, iy[i]!, `${path}[${i}]`]));
      continue;
    }
    return `${path}: unexpected ${kx}`;
  }
  return undefined;
}

describe("property: write → read gives the same checkpoint", () => {
  it("for random graphs of tensors, views, shared storages and Python values", () => {
    fc.assert(
      fc.property(arbCase, (c) => {
        const { root } = build(c);
        let options = c.options;
        // The legacy layout has only typed storages; such graphs go to the zip layout instead.
        const untyped = c.views.some((v) => v.kind === "retype") || c.storages.some((s) => s.dtype.storageClass === undefined);
        if (options.layout === "legacy" && untyped) {
          options = {};
        }
        const file = writeCheckpoint(root, options);
        const back = readCheckpoint(file);
        const diff = graphDiff(root, back.root);
        expect(diff).toBeUndefined();
        // Writing what was read gives the same file again.
        expect(Buffer.compare(writeCheckpoint(back.root, options), file)).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});

describe("property: the writer's direct path for plain tensors changes no byte", () => {
  it("for random graphs, at every protocol, in both layouts", () => {
    fc.assert(
      fc.property(arbCase, fc.constantFrom<2 | 3 | 4 | 5>(2, 3, 4, 5), fc.constantFrom<"zip" | "legacy">("zip", "legacy"), (c, protocol, layout) => {
        const { root } = build(c);
        const pickle = (direct: boolean): string => {
          const hooks = torchPickleHooks(root, { layout, weightsOnly: false });
          try {
            const options = { protocol, reduceHost: hooks.reduceHost, persistentId: hooks.persistentId, ...(direct ? { writeHost: hooks.writeHost } : {}) };
            return Buffer.from(encodePickle<TorchHost>(root as PyValue<TorchHost>, options)).toString("hex");
          } catch (e) {
            return `error ${String(e)}`;
          }
        };
        expect(pickle(true)).toBe(pickle(false));
      }),
      { numRuns: 300 },
    );
  });
});
