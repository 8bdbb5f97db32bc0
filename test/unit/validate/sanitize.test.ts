import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pyKind, type PyDict, type PyObject } from "../../../src/pickle/value.js";
import { readCheckpoint } from "../../../src/torch/index.js";
import type { NdArray, Tensor, TorchValue } from "../../../src/torch/model.js";
import { isNdArray, isTensor } from "../../../src/torch/model.js";
import { tensorBytes } from "../../../src/torch/tensor-data.js";
import { classifyGlobal } from "../../../src/validate/classify-global.js";
import { sanitize } from "../../../src/validate/sanitize.js";
import { REPO } from "../../helpers/corpus.js";

const root = (name: string) => readCheckpoint(new Uint8Array(readFileSync(join(REPO, "fixtures/torch", name)))).root;
const g = (module: string, name: string) => ({ kind: "global" as const, module, name });

function ndarray(descr: string, shape: number[], data: Uint8Array, scalar = false, fortranOrder = false): NdArray {
  const dtype = descr.endsWith("f4") ? "float32" : descr.endsWith("i8") ? "int64" : descr.endsWith("f2") ? "float16" : undefined;
  return {
    kind: "ndarray", descr, shape, fortranOrder, data, scalar, ...(dtype === undefined ? {} : { dtype }),
    origin: { kind: "object", via: "reduce", callable: g("numpy.core.multiarray", scalar ? "scalar" : "_reconstruct"), args: { kind: "tuple", items: [] } },
  };
}

/** Everything left must be something torch's current weights_only unpickler accepts. */
function assertWeightsOnlySafe(v: TorchValue, seen = new Set<object>()): void {
  if (typeof v !== "object" || v === null || seen.has(v)) return;
  seen.add(v);
  expect(isNdArray(v)).toBe(false);
  if (isTensor(v)) return;
  switch (pyKind(v)) {
    case "frozenset":
      throw new Error("a frozenset survived");
    case "object": {
      const o = v as PyObject<never>;
      const c = o.callable as { module: string; name: string };
      expect(classifyGlobal(c.module, c.name).class).toBe("allowed");
      return;
    }
    case "dict": {
      const d = v as PyDict<never>;
      if (d.type !== undefined) expect(["collections.OrderedDict", "collections.Counter"]).toContain(`${d.type.module}.${d.type.name}`);
      for (const [k, x] of d.entries) {
        assertWeightsOnlySafe(k, seen);
        assertWeightsOnlySafe(x, seen);
      }
      return;
    }
    case "list":
    case "tuple":
    case "set":
      for (const x of (v as { items: TorchValue[] }).items) assertWeightsOnlySafe(x, seen);
      return;
    default:
      return;
  }
}

describe("sanitize", () => {
  it("rewrites a real training checkpoint's numpy values and Namespace, refusing nothing", () => {
    const result = sanitize(root("full-checkpoint.pt"));
    expect(result.refused).toEqual([]);
    expect(result.changes.map((c) => c.from)).toEqual(expect.arrayContaining([
      "numpy.core.multiarray._reconstruct", "numpy.core.multiarray.scalar", "argparse.Namespace",
    ]));
    assertWeightsOnlySafe(result.value);
  });

  it("turns numpy arrays into tensors with the same bytes, Fortran order and big-endian data included", () => {
    const data = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
    const t = sanitize(ndarray("<f4", [2, 3], data)).value as Tensor;
    expect(t).toMatchObject({ kind: "tensor", dtype: "float32", shape: [2, 3], stride: [3, 1] });
    expect(tensorBytes(t)).toEqual(data);
    const fortran = sanitize(ndarray("<f4", [2, 3], data, false, true)).value as Tensor;
    expect(fortran.stride).toEqual([1, 2]);
    const be = new Uint8Array([0x3f, 0x80, 0, 0]);
    expect(tensorBytes(sanitize(ndarray(">f4", [1], be)).value as Tensor)).toEqual(new Uint8Array(new Float32Array([1]).buffer));
  });

  it("turns numpy scalars into Python numbers", () => {
    expect(sanitize(ndarray("<f4", [], new Uint8Array(new Float32Array([1.5]).buffer), true)).value).toEqual({ kind: "float", value: 1.5 });
    expect(sanitize(ndarray("<i8", [], new Uint8Array(new BigInt64Array([2n ** 60n]).buffer), true)).value).toBe(2n ** 60n);
    expect(sanitize(ndarray("<f2", [], new Uint8Array([0x00, 0x3c]), true)).value).toEqual({ kind: "float", value: 1 });
  });

  it("turns namespaces and dict subclasses into dicts, frozensets into sets, paths into str", () => {
    const ns: PyObject<never> = {
      kind: "object", via: "newobj", callable: g("argparse", "Namespace"), args: { kind: "tuple", items: [] },
      state: { kind: "dict", entries: [["lr", { kind: "float", value: 0.1 }], ["name", "run"]] },
    };
    const dd: PyObject<never> = {
      kind: "object", via: "reduce", callable: g("collections", "defaultdict"), args: { kind: "tuple", items: [g("builtins", "list")] },
      dictItems: [["a", 1]],
    };
    const path: PyObject<never> = { kind: "object", via: "reduce", callable: g("pathlib", "PosixPath"), args: { kind: "tuple", items: ["runs", "exp1"] } };
    const value: TorchValue = { kind: "dict", entries: [["args", ns], ["counts", dd], ["tags", { kind: "frozenset", items: ["x"] }], ["dir", path]] };
    const result = sanitize(value);
    expect(result.refused).toEqual([]);
    expect(result.value).toEqual({ kind: "dict", entries: [
      ["args", { kind: "dict", entries: [["lr", { kind: "float", value: 0.1 }], ["name", "run"]] }],
      ["counts", { kind: "dict", entries: [["a", 1]] }],
      ["tags", { kind: "set", items: ["x"] }],
      ["dir", "runs/exp1"],
    ] });
    expect(result.changes.map((c) => [c.path, c.from])).toEqual([
      [["args"], "argparse.Namespace"], [["counts"], "collections.defaultdict"], [["tags"], "builtins.frozenset"], [["dir"], "pathlib.PosixPath"],
    ]);
    expect(pyKind(value)).toBe("dict");
    expect((value as PyDict<never>).entries[0]![1]).toBe(ns); // the input is untouched
  });

  it("refuses what it cannot make safe, naming the global, and leaves it in place", () => {
    const result = sanitize(root("whole-module.pt"));
    expect(result.refused).toEqual([expect.objectContaining({ path: [], global: "torch_models.TinyNet" })]);
    const evil: TorchValue = { kind: "list", items: [{ kind: "object", via: "reduce", callable: g("os", "system"), args: { kind: "tuple", items: ["id"] } }] };
    const r = sanitize(evil);
    expect(r.refused).toEqual([expect.objectContaining({ path: [0], global: "os.system", reason: expect.stringMatching(/^dangerous/) })]);
    expect(r.value).toBe(evil);
  });

  it("returns unchanged values as they are and keeps shared references and cycles", () => {
    const sd = root("protocol-2.pt");
    expect(sanitize(sd)).toEqual({ value: sd, changes: [], refused: [] });
    const arr = ndarray("<f4", [1], new Uint8Array(4));
    const list: { kind: "list"; items: TorchValue[] } = { kind: "list", items: [arr, arr] };
    list.items.push(list);
    const out = sanitize(list).value as { items: TorchValue[] };
    expect(out.items[0]).toBe(out.items[1]);
    expect(out.items[2]).toBe(out);
    expect(isTensor(out.items[0])).toBe(true);
  });

  it("refuses values nested beyond maxDepth instead of overflowing", () => {
    let v: TorchValue = 1;
    for (let i = 0; i < 50; i++) v = { kind: "list", items: [ndarray("<f4", [1], new Uint8Array(4)), v] };
    const r = sanitize(v, { maxDepth: 10 });
    expect(r.refused.some((x) => x.global === "nesting")).toBe(true);
  });
});
