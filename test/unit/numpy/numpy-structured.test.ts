// Structured (record) numpy dtypes: the fields numpy reported for fixtures/torch/numpy-structured.pt
// (its skeleton holds them, checked whole by the skeleton tests), read here field by field; the
// same arrays in numpy's own .npz; and hostile dtype pickles and headers that must not be trusted.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dictGet, pyDict, pyGlobal, pyTuple } from "../../../src/pickle/value.js";
import type { PyDict, PyObject, PyValue } from "../../../src/pickle/value.js";
import { fromJson, toJson } from "../../../src/convert/index.js";
import { describeValue } from "../../../src/cli/describe.js";
import { isNdArray, numpyDescr, readCheckpoint, readNumpyDtype, writeCheckpoint } from "../../../src/torch/index.js";
import type { NdArray, NdField, TorchHost, TorchValue } from "../../../src/torch/index.js";
import { REPO } from "../../helpers/corpus.js";
import { parseLiteral } from "../../../src/numpy/npy-literal.js";
import { structuredDescr } from "../../../src/numpy/npy-descr.js";

const bytes = new Uint8Array(readFileSync(join(REPO, "fixtures/torch/numpy-structured.pt")));
const root = readCheckpoint(bytes).root as PyDict<TorchHost>;
const array = (key: string) => dictGet(root, key) as NdArray;

/** `numpy.dtype(code, False, True)` with BUILD state `state`, as numpy pickles one. */
function dtype(code: string, state: PyValue<TorchHost>[]): PyObject<TorchHost> {
  return { kind: "object", via: "reduce", callable: pyGlobal("numpy", "dtype"), args: pyTuple([code, false, true]), state: pyTuple(state) };
}
const simple = (code: string, order = "<") => dtype(code, [3, order, null, null, null, -1, -1, 0]);
const record = (size: number, fields: [string, PyValue<TorchHost>, number][]) =>
  dtype(`V${size}`, [3, "|", null, pyTuple(fields.map(([n]) => n)), pyDict(fields.map(([n, t, o]) => [n, pyTuple([t, o])])), size, 1, 16]);

describe("structured numpy arrays in a checkpoint", () => {
  it("packed records: descr |V12, fields in numpy's order with their offsets", () => {
    const a = array("packed");
    expect(isNdArray(a)).toBe(true);
    expect(a.descr).toBe("|V12");
    expect(a.dtype).toBeUndefined();
    expect(a.fields).toEqual([{ name: "a", descr: "<i4", offset: 0 }, { name: "b", descr: "<f8", offset: 4 }]);
    const view = new DataView(a.data!.buffer, a.data!.byteOffset, a.data!.byteLength);
    expect([view.getInt32(0, true), view.getFloat64(4, true), view.getInt32(12, true), view.getFloat64(16, true)]).toEqual([1, 2, -3, 4.5]);
  });

  it("aligned records keep numpy's padding, sub-array fields their shapes, nested records their fields", () => {
    expect(array("aligned").descr).toBe("|V8");
    expect(array("aligned").fields!.map((f) => f.offset)).toEqual([0, 4]);
    expect(array("subarray").fields).toEqual([
      { name: "pos", descr: "<f4", offset: 0, shape: [3] },
      { name: "id", descr: "<i8", offset: 12 },
      { name: "grid", descr: "<i2", offset: 20, shape: [2, 2] },
    ]);
    expect(array("nested").fields![0]).toEqual({ name: "inner", descr: "|V6", offset: 0, fields: [{ name: "p", descr: "<i2", offset: 0 }, { name: "q", descr: ">f4", offset: 2 }] });
    expect(array("titled").fields).toEqual([{ name: "t", descr: "<i4", offset: 0, title: "The title" }]);
    expect(array("strings").fields!.map((f) => f.descr)).toEqual(["|S4", "<U3"]);
  });

  it("a record scalar (np.void) is a numpy scalar with the same fields", () => {
    const s = array("record_scalar");
    expect(s.scalar).toBe(true);
    expect(s.fields).toEqual(array("packed").fields);
    expect(s.data).toEqual(array("packed").data!.subarray(12, 24));
  });

  it("inspect shows the fields; JSON and a rewrite keep every byte and field", () => {
    expect(describeValue(array("subarray"))).toBe("ndarray |V28 {pos: <f4 (3), id: <i8, grid: <i2 (2, 2)} [2] 56 B");
    expect(describeValue(array("nested"))).toBe("ndarray |V7 {inner: {p: <i2, q: >f4}, flag: |b1} [2] 14 B");
    const again = fromJson(toJson(root)) as PyDict<TorchHost>;
    const rewritten = readCheckpoint(writeCheckpoint(root, { weightsOnly: false })).root as PyDict<TorchHost>;
    for (const copy of [again, rewritten]) {
      for (const key of ["packed", "aligned", "subarray", "nested", "titled", "strings", "fortran", "record_scalar"]) {
        const a = dictGet(copy, key) as NdArray;
        expect(a.fields).toEqual(array(key).fields);
        expect(a.data).toEqual(array(key).data);
        expect(a.shape).toEqual(array(key).shape);
      }
    }
  });
});

describe("structured .npy headers (numpy's own .npz)", () => {
  const npz = readCheckpoint(new Uint8Array(readFileSync(join(REPO, "fixtures/torch/numpy-structured.npz"))));
  const expected = JSON.parse(readFileSync(join(REPO, "fixtures/torch/numpy-structured.npz.expected.json"), "utf8")) as Record<string, {
    descr: string; shape: number[]; fortran: boolean; sha256: string; fields: unknown[];
  }>;
  // In the key order numpy_fields (fixtures/gen_torch.py) writes.
  const fieldsOf = (fields: readonly NdField[] | undefined): unknown =>
    fields?.map((f) => ({
      name: f.name, offset: f.offset, ...(f.shape ? { shape: f.shape } : {}), descr: f.descr,
      ...(f.fields ? { fields: fieldsOf(f.fields) } : {}), ...(f.title ? { title: f.title } : {}),
    }));

  it("every array: numpy's type string, shape, order, bytes and fields (offsets from the field list)", () => {
    expect(npz.layout).toBe("npz");
    const members = npz.root as PyDict<TorchHost>;
    expect(members.entries.map(([k]) => k)).toEqual(Object.keys(expected));
    for (const [name, want] of Object.entries(expected)) {
      const a = dictGet(members, name) as NdArray;
      expect({ descr: a.descr, shape: a.shape, fortran: a.fortranOrder, sha256: createHash("sha256").update(a.data!).digest("hex"), fields: fieldsOf(a.fields) })
        .toEqual(want);
      // The same fields as the pickled dtype in the .pt gives.
      expect(a.fields).toEqual(array(name).fields);
    }
  });

  it("refuses descr lists that do not add up, without throwing anything but the typed error", () => {
    const descr = (text: string) => structuredDescr(parseLiteral(text)!);
    expect(descr("[('a', '<i4'), ('', '|V4'), ('b', '<f8', (2,))]")).toEqual({
      fields: [{ name: "a", descr: "<i4", offset: 0 }, { name: "b", descr: "<f8", offset: 8, shape: [2] }], itemSize: 24,
    });
    for (const bad of ["[('a',)]", "[('a', '<q9x')]", "[('a', '<i4', ('2',))]", "[(1, '<i4')]", "[('a', '<M8')]", "('a', '<i4')"]) {
      expect(descr(bad)).toBeUndefined();
    }
    expect(parseLiteral("[" .repeat(200) + "]".repeat(200))).toBeUndefined();
    expect(parseLiteral("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }")).toEqual({
      dict: [["descr", "<f4"], ["fortran_order", false], ["shape", { tuple: [3, 4] }]],
    });
  });
});

describe("readNumpyDtype", () => {
  it("reads simple, structured and sub-array dtypes; numpyDescr stays simple-only", () => {
    expect(readNumpyDtype(simple("f4"))).toEqual({ descr: "<f4" });
    expect(readNumpyDtype(simple("i8", "="))).toEqual({ descr: "<i8" });
    const rec = record(12, [["a", simple("i4"), 0], ["b", simple("f8"), 4]]);
    expect(readNumpyDtype(rec)).toEqual({ descr: "|V12", fields: [{ name: "a", descr: "<i4", offset: 0 }, { name: "b", descr: "<f8", offset: 4 }] });
    expect(numpyDescr(rec)).toBeUndefined();
    expect(numpyDescr(simple("f4"))).toBe("<f4");
  });

  it("refuses what does not hold together, and nesting past 32 levels, without throwing", () => {
    // A name with no entry in the fields dict, a non-string name, an offset that is not a number.
    expect(readNumpyDtype(dtype("V4", [3, "|", null, pyTuple(["a"]), pyDict([]), 4, 1, 16]))).toBeUndefined();
    expect(readNumpyDtype(dtype("V4", [3, "|", null, pyTuple([7]), pyDict([[7, pyTuple([simple("i4"), 0])]]), 4, 1, 16]))).toBeUndefined();
    expect(readNumpyDtype(record(4, [["a", simple("i4"), 0]]))).toBeDefined();
    expect(readNumpyDtype(dtype("V4", [3, "|", null, pyTuple(["a"]), pyDict([["a", pyTuple([simple("i4"), "0"])]]), 4, 1, 16]))).toBeUndefined();
    let deep: TorchValue = simple("i4");
    for (let i = 0; i < 40; i++) deep = record(4, [["x", deep, 0]]);
    expect(readNumpyDtype(deep)).toBeUndefined();
    let shallow: TorchValue = simple("i4");
    for (let i = 0; i < 30; i++) shallow = record(4, [["x", shallow, 0]]);
    expect(readNumpyDtype(shallow)?.descr).toBe("|V4");
  });

  it("a field named __proto__ is data, not a property", () => {
    const rec = readNumpyDtype(record(4, [["__proto__", simple("i4"), 0]]))!;
    expect(rec.fields![0]!.name).toBe("__proto__");
    expect(Object.getPrototypeOf(rec.fields![0])).toBe(Object.prototype);
  });
});
