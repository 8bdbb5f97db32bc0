// Plain JSON: the parser that keeps number spellings and key order, the export (byte-identical to
// Python's json.dumps of tensor.tolist() for the fixture dump), and the import back into tensors.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { fromPlainJson, toPlainJson } from "../../../src/convert/index.js";
import { BOOL, FLOAT, INT, parsePlainJsonText, runText, type NumberRun } from "../../../src/convert/plain-json-read.js";
import { ORDERED_DICT, pyComplex, pyDict, pyFloat, pyGlobal, pyList, pySet, pyTuple } from "../../../src/pickle/value.js";
import type { NdArray, Tensor, TorchHost, TorchValue } from "../../../src/torch/index.js";
import { readCheckpoint, tensorBytes, walkTensors } from "../../../src/torch/index.js";
import { bytes, f32, storage, tensor, thrown } from "./values.js";

const plain = (v: TorchValue) => toPlainJson(v, { indent: 0 }).trim();

describe("plain JSON parser", () => {
  it("keeps number text, key order and Python's non-finite tokens; lists of numbers become runs", () => {
    const doc = parsePlainJsonText('{"b": 1, "2": 1.0, "a": [NaN, -Infinity, 1e5, 123456789012345678901234, -0, true], "c": [1, "x"]}');
    expect(doc).toMatchObject({ t: "obj", entries: [["b", { t: "num", text: "1" }], ["2", { t: "num", text: "1.0" }], ["a", { t: "nums" }], ["c", { t: "arr" }]] });
    const run = ((doc as { entries: [string, { run: NumberRun }][] }).entries[2]![1]).run;
    expect([...run.values]).toEqual([NaN, -Infinity, 1e5, 123456789012345678901234, -0, 1]);
    expect([...run.kinds]).toEqual([FLOAT, FLOAT, FLOAT, INT, INT, BOOL]);
    expect(run.kind).toBe("float");
    expect([...run.bigInts]).toEqual([[3, "123456789012345678901234"]]);
    expect([0, 1, 2, 3, 4, 5].map((i) => runText(run, i))).toEqual(["NaN", "-Infinity", "100000.0", "123456789012345678901234", "-0", "true"]);
    // A list that holds anything but numbers and bools keeps one item per element.
    expect((doc as { entries: [string, unknown][] }).entries[3]![1]).toEqual({ t: "arr", items: [{ t: "num", text: "1" }, "x"] });
    expect(parsePlainJsonText(' "a\\u00e9\\n" ')).toBe("aé\n");
    expect(parsePlainJsonText("[[], {}, true, null]")).toEqual({ t: "arr", items: [{ t: "arr", items: [] }, { t: "obj", entries: [] }, true, null] });
  });

  it("reports where JSON goes wrong, as a byte offset: invalid-data, or truncated when the text ends inside a value", () => {
    for (const [text, at, code] of [
      ["[1,]", 3, "invalid-data"], ['{"a" 1}', 5, "invalid-data"], ["[01]", 2, "invalid-data"], ["", 0, "truncated"], ["[1] x", 4, "invalid-data"],
      ['"\u0001"', 1, "invalid-data"], ["{", 1, "truncated"], ["[1, 2", 5, "truncated"], ['["é", x]', 7, "invalid-data"], ["[1.5.2]", 4, "invalid-data"],
    ] as const) {
      const e = thrown(() => parsePlainJsonText(text));
      expect(e.code, text).toBe(code);
      expect(e.offset, text).toBe(at);
    }
  });

  it("parses deep nesting without recursion", () => {
    const depth = 300_000;
    let node = parsePlainJsonText(`${"[".repeat(depth)}1${"]".repeat(depth)}`);
    let n = 0;
    while (typeof node === "object" && node !== null && node.t === "arr") {
      node = node.items[0]!;
      n++;
    }
    expect(n).toBe(depth - 1);
    expect(node).toMatchObject({ t: "nums" });
  });
});

describe("plain JSON export", () => {
  it("writes exactly what Python's json.dumps writes for tensor.tolist()", () => {
    const ckpt = readCheckpoint(new Uint8Array(readFileSync("fixtures/torch/train-dump.pt")));
    expect(toPlainJson(ckpt, { indent: 0 })).toBe(readFileSync("fixtures/torch/train-dump.json", "utf8").trimEnd() + "\n");
  });

  it("writes Python values as json.dumps does", () => {
    const od = pyDict<TorchHost>([["a", 1]], ORDERED_DICT);
    expect(plain(pyDict<TorchHost>([
      ["f", pyFloat(1)], ["g", pyFloat(1e16)], ["h", pyFloat(1e-5)], ["n", pyFloat(NaN)], ["i", pyFloat(-Infinity)], ["big", 2n ** 70n],
      [1, "int key"], [pyFloat(2.5), "float key"], [true, "bool key"], [null, "none key"], [pyTuple([1, 2]), "tuple key"],
      ["t", pyTuple([1, pyList([2])])], ["s", pySet([3])], ["c", pyComplex(1, -2)], ["b", { kind: "bytes", data: bytes(255) }],
      ["g2", pyGlobal("torch", "float32")], ["od", od],
    ]))).toBe(
      '{"f": 1.0, "g": 1e+16, "h": 1e-05, "n": NaN, "i": -Infinity, "big": 1180591620717411303424, "1": "int key", "2.5": "float key", ' +
        '"true": "bool key", "null": "none key", "[1, 2]": "tuple key", "t": [1, [2]], "s": [3], "c": [1.0, -2.0], "b": "/w==", ' +
        '"g2": "torch.float32", "od": {"a": 1}}',
    );
    expect(toPlainJson(pyList<TorchHost>([pyFloat(NaN), pyFloat(Infinity)]), { indent: 0, nonFinite: "null" }).trim()).toBe("[null, null]");
  });

  it("writes tensors of every numeric dtype as tolist() gives them", () => {
    const t = (dtype: Parameters<typeof storage>[0], data: Uint8Array, shape: number[]) => tensor(storage(dtype, data), shape);
    expect(plain(t("float32", f32(0.1, -2, 3.5, 0), [2, 2]))).toBe("[[0.10000000149011612, -2.0], [3.5, 0.0]]");
    expect(plain(t("float16", bytes(0x00, 0x3c, 0x00, 0xfc), [2]))).toBe("[1.0, -Infinity]");
    expect(plain(t("bfloat16", bytes(0x80, 0x3f), []))).toBe("1.0");
    expect(plain(t("int64", new Uint8Array(new BigInt64Array([-(2n ** 63n), 5n]).buffer), [2]))).toBe("[-9223372036854775808, 5]");
    expect(plain(t("uint8", bytes(1, 255), [2]))).toBe("[1, 255]");
    expect(plain(t("bool", bytes(1, 0), [2]))).toBe("[true, false]");
    expect(plain(t("complex64", f32(1, 2), [1]))).toBe("[[1.0, 2.0]]");
    expect(plain(t("float32", new Uint8Array(0), [2, 0]))).toBe("[[], []]");
    expect(plain(tensor(storage("float32", f32(1, 2, 3, 4, 5, 6)), [3, 2], { stride: [1, 3] }))).toBe("[[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]");
    const q = { ...t("qint8", bytes(4, 0xfe), [2]), quantization: { scheme: "per_tensor_affine" as const, scale: 0.1, zeroPoint: 2 } };
    expect(plain(q)).toBe("[0.20000000298023224, -0.4000000059604645]");
    expect(thrown(() => plain(t("bits8", bytes(1), [1]))).code).toBe("unsupported");
  });

  it("writes numpy arrays, Fortran order included", () => {
    const a: NdArray = { kind: "ndarray", descr: ">i2", dtype: "int16", shape: [2, 2], fortranOrder: true, data: bytes(0, 1, 0, 2, 0, 3, 0, 4), scalar: false };
    expect(plain(a)).toBe("[[1, 3], [2, 4]]");
  });

  it("repeats shared values, and refuses cycles with their path", () => {
    const shared = pyList<TorchHost>([1]);
    expect(plain(pyList<TorchHost>([shared, shared]))).toBe("[[1], [1]]");
    const cyclic = pyList<TorchHost>([]);
    cyclic.items.push(pyDict<TorchHost>([["back", cyclic]]));
    const e = thrown(() => plain(cyclic));
    expect(e.code).toBe("unencodable");
    expect(e.path).toEqual([0, "back"]);
  });
});

describe("plain JSON import", () => {
  it("turns the fixture dump back into the fixture's tensors, byte for byte", () => {
    const ckpt = readCheckpoint(new Uint8Array(readFileSync("fixtures/torch/train-dump.pt")));
    const back = fromPlainJson(readFileSync("fixtures/torch/train-dump.json", "utf8"));
    const a = walkTensors(ckpt.root);
    const b = walkTensors(back);
    expect(b.map((e) => e.path)).toEqual(a.map((e) => e.path));
    a.forEach((e, i) => {
      expect(b[i]!.tensor.dtype).toBe("float32");
      expect(b[i]!.tensor.shape).toEqual(e.tensor.shape);
      expect(tensorBytes(b[i]!.tensor)).toEqual(tensorBytes(e.tensor));
    });
  });

  it("infers dtypes as torch.tensor does, and keeps other values as Python values", () => {
    const v = fromPlainJson('{"i": [1, 2], "f": [1, 2.5], "b": [true, false], "mixed": [true, 2], "s": 3, "x": 1.0, "l": ["a", 1], "e": [], "r": [[1], [2, 3]], "big": 99999999999999999999}') as {
      entries: [string, TorchValue][];
    };
    const get = (k: string) => v.entries.find(([key]) => key === k)![1];
    expect((get("i") as Tensor).dtype).toBe("int64");
    expect((get("f") as Tensor).dtype).toBe("float32");
    expect((get("b") as Tensor).dtype).toBe("bool");
    expect((get("mixed") as Tensor).dtype).toBe("int64");
    expect(get("s")).toBe(3);
    expect(get("x")).toEqual(pyFloat(1));
    expect(get("l")).toEqual(pyList(["a", 1]));
    expect(get("e")).toEqual(pyList([]));
    expect((get("r") as { kind: string }).kind).toBe("list");
    expect(get("big")).toBe(99999999999999999999n);
  });

  it("makes the dtype asked for, converting as torch does", () => {
    const t = (text: string, dtype: Parameters<typeof fromPlainJson>[1] extends infer O ? O extends { dtype?: infer D } ? D : never : never) =>
      tensorBytes(fromPlainJson(text, { dtype }) as Tensor);
    expect([...t("[1.7, -1.7]", "int8")]).toEqual([1, 0xff]);
    expect([...t("[1, 0.5]", "float16")]).toEqual([0x00, 0x3c, 0x00, 0x38]);
    expect([...t("[1]", "bfloat16")]).toEqual([0x80, 0x3f]);
    expect([...t("[2, 0]", "bool")]).toEqual([1, 0]);
    expect([...t("[18446744073709551615]", "uint64")]).toEqual(Array(8).fill(255));
    expect(thrown(() => fromPlainJson("[256]", { dtype: "uint8" })).message).toMatch(/out of range as uint8/);
    expect(thrown(() => fromPlainJson("[NaN]", { dtype: "int32" })).message).toMatch(/cannot be stored/);
    expect(thrown(() => fromPlainJson("[1]", { dtype: "complex64" })).code).toBe("invalid-argument");
    expect(thrown(() => fromPlainJson("[9223372036854775808]")).message).toMatch(/out of range as int64/);
  });

  it("lets the caller choose which lists are tensors, and keeps the first place of a repeated key", () => {
    const v = fromPlainJson('{"betas": [0.9, 0.99], "w": [1.0], "betas": [0.5, 0.6]}', { isTensor: (path) => path[0] !== "betas" });
    expect(v).toMatchObject({ kind: "dict", entries: [["betas", pyList([pyFloat(0.5), pyFloat(0.6)])], ["w", { kind: "tensor" }]] });
  });
});
