// The lossless JSON value format (docs/json-format.md): each rule on its own, the error paths of
// the reader, host hooks, deep values, and a fast-check round trip
// value → JSON → JSON.stringify → JSON.parse → value that must give a structurally identical value
// with the same sharing and cycles.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_HOST_DEPTH, valueFromJson, valueToJson, type JsonValue } from "../../../src/convert/json-value.js";
import { decodeBase64, encodeBase64 } from "../../../src/convert/base64.js";
import { isTorchsaveError } from "../../../src/errors.js";
import {
  ORDERED_DICT, pyByteArray, pyBytes, pyComplex, pyDict, pyFloat, pyFrozenSet, pyGlobal, pyList, pySet, pyTuple,
  type PyDict, type PyFloat, type PyList, type PyObject, type PyValue,
} from "../../../src/pickle/value.js";

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
/** JSON text round trip, as a file on disk would go. */
const viaText = (j: JsonValue): JsonValue => JSON.parse(JSON.stringify(j)) as JsonValue;
const roundTrip = <X>(v: PyValue<X>): PyValue<X> => valueFromJson<X>(viaText(valueToJson<X>(v)));

function thrown(f: () => unknown): { code: string; path: readonly (string | number)[] | undefined; name: string } {
  try {
    f();
  } catch (e) {
    if (!isTorchsaveError(e)) throw e;
    return { code: e.code, path: e.path, name: e.name };
  }
  throw new Error("expected a throw");
}

// ---------------------------------------------------------------------------------------------
// Structural equality with sharing: the two graphs must be isomorphic, not just equal as trees.

function pyGraphEqual(a: unknown, b: unknown): boolean {
  const ab = new Map<object, object>();
  const ba = new Map<object, object>();
  const todo: [unknown, unknown][] = [[a, b]];
  const push = (x: unknown, y: unknown): void => void todo.push([x, y]);
  const pushAll = (xs: unknown, ys: unknown): boolean => {
    if (!Array.isArray(xs) || !Array.isArray(ys) || xs.length !== ys.length) return false;
    xs.forEach((x, i) => push(x, ys[i]));
    return true;
  };
  const pushPairs = (xs: unknown, ys: unknown): boolean => {
    if (!Array.isArray(xs) || !Array.isArray(ys) || xs.length !== ys.length) return false;
    xs.forEach((x: unknown[], i) => {
      const y = ys[i] as unknown[];
      push(x[0], y[0]);
      push(x[1], y[1]);
    });
    return true;
  };
  const sameBytes = (x: Uint8Array, y: Uint8Array): boolean => x.length === y.length && x.every((v, i) => v === y[i]);
  const optional = (x: Record<string, unknown>, y: Record<string, unknown>, key: string, pairs = false): boolean => {
    if ((x[key] === undefined) !== (y[key] === undefined)) return false;
    if (x[key] === undefined) return true;
    if (pairs) return pushPairs(x[key], y[key]);
    if (Array.isArray(x[key])) return pushAll(x[key], y[key]);
    push(x[key], y[key]);
    return true;
  };
  while (todo.length > 0) {
    const [x, y] = todo.pop()!;
    if (typeof x !== "object" || x === null || typeof y !== "object" || y === null) {
      if (!Object.is(x, y)) return false;
      continue;
    }
    const mx = ab.get(x);
    const my = ba.get(y);
    if (mx !== undefined || my !== undefined) {
      if (mx !== y || my !== x) return false;
      continue;
    }
    ab.set(x, y);
    ba.set(y, x);
    const p = x as Record<string, unknown>;
    const q = y as Record<string, unknown>;
    if (p.kind !== q.kind) return false;
    switch (p.kind) {
      case "float":
        if (!Object.is(p.value, q.value) || p.nanBits !== q.nanBits) return false;
        break;
      case "complex":
        if (!Object.is(p.real, q.real) || !Object.is(p.imag, q.imag)) return false;
        break;
      case "bytes":
      case "bytearray":
        if (!sameBytes(p.data as Uint8Array, q.data as Uint8Array)) return false;
        break;
      case "buffer":
        if (!sameBytes(p.data as Uint8Array, q.data as Uint8Array) || p.readonly !== q.readonly) return false;
        break;
      case "tuple":
      case "list":
      case "set":
      case "frozenset":
        if (!pushAll(p.items, q.items)) return false;
        break;
      case "dict": {
        const tp = p.type as { module: string; name: string } | undefined;
        const tq = q.type as { module: string; name: string } | undefined;
        if ((tp === undefined) !== (tq === undefined)) return false;
        if (tp !== undefined && (tp.module !== tq!.module || tp.name !== tq!.name)) return false;
        if (!pushPairs(p.entries, q.entries) || !optional(p, q, "state")) return false;
        break;
      }
      case "global":
        if (p.module !== q.module || p.name !== q.name) return false;
        break;
      case "object":
        if (p.via !== q.via) return false;
        push(p.callable, q.callable);
        push(p.args, q.args);
        if (!optional(p, q, "kwargs") || !optional(p, q, "state") || !optional(p, q, "listItems")
          || !optional(p, q, "dictItems", true) || !optional(p, q, "setItems")) return false;
        break;
      case "persid":
        if (p.binary !== q.binary) return false;
        push(p.pid, q.pid);
        break;
      case "ext":
        if (p.code !== q.code) return false;
        break;
      default:
        // Host values in these tests: { host: string }.
        if (p.host !== q.host) return false;
    }
  }
  return true;
}

describe("pyGraphEqual (the test's own helper)", () => {
  it("tells sharing from copies and cycles from trees", () => {
    const a = pyList([1]);
    const shared = pyList([a, a]);
    const copies = pyList([pyList([1]), pyList([1])]);
    expect(pyGraphEqual(shared, copies)).toBe(false);
    expect(pyGraphEqual(shared, pyList([a, a]))).toBe(true);
    const cyc = pyList([]);
    cyc.items.push(cyc);
    expect(pyGraphEqual(cyc, pyList([pyList([])]))).toBe(false);
    expect(pyGraphEqual(pyFloat(-0), pyFloat(0))).toBe(false);
    expect(pyGraphEqual(pyFloat(NaN), pyFloat(NaN))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------

describe("valueToJson: scalars", () => {
  it("None, bools and str are themselves", () => {
    expect(valueToJson(null)).toBe(null);
    expect(valueToJson(true)).toBe(true);
    expect(valueToJson("a\ud800b")).toBe("a\ud800b");
    expect(JSON.stringify(valueToJson("a\ud800b"))).toBe('"a\\ud800b"');
  });

  it("ints are JSON numbers up to 2**53-1 in size, else {$int}", () => {
    expect(valueToJson(0)).toBe(0);
    expect(valueToJson(-5)).toBe(-5);
    expect(valueToJson(2 ** 53 - 1)).toBe(2 ** 53 - 1);
    expect(valueToJson(-(2 ** 53) + 1)).toBe(-(2 ** 53) + 1);
    expect(valueToJson(2n ** 53n)).toEqual({ $int: "9007199254740992" });
    expect(valueToJson(-(2n ** 64n))).toEqual({ $int: "-18446744073709551616" });
    expect(valueToJson(0x1950a86a20f9469cfc6cn)).toEqual({ $int: "119547037146038801333356" });
    // A safe bigint is the same Python int as the number.
    expect(valueToJson(7n)).toBe(7);
    // An integral but unsafe JS number is still exactly that int.
    expect(valueToJson(2 ** 60)).toEqual({ $int: "1152921504606846976" });
  });

  it("floats are tagged, with strings for what JSON numbers cannot spell", () => {
    expect(valueToJson(pyFloat(1))).toEqual({ $float: 1 });
    expect(valueToJson(pyFloat(0.1))).toEqual({ $float: 0.1 });
    expect(valueToJson(pyFloat(5e-324))).toEqual({ $float: 5e-324 });
    expect(valueToJson(pyFloat(-0))).toEqual({ $float: "-0.0" });
    expect(valueToJson(pyFloat(NaN))).toEqual({ $float: "nan" });
    expect(valueToJson(pyFloat(Infinity))).toEqual({ $float: "inf" });
    expect(valueToJson(pyFloat(-Infinity))).toEqual({ $float: "-inf" });
    const payload: PyFloat = { kind: "float", value: NaN, nanBits: "7ff0000000000001" };
    expect(valueToJson(payload)).toEqual({ $float: "nan", bits: "7ff0000000000001" });
    expect(valueToJson(pyComplex(-0, NaN))).toEqual({ $complex: ["-0.0", "nan"] });
    expect(valueToJson(pyComplex(1.5, -Infinity))).toEqual({ $complex: [1.5, "-inf"] });
  });

  it("bytes, bytearray and buffers are base64", () => {
    expect(valueToJson(pyBytes(bytes()))).toEqual({ $bytes: "" });
    expect(valueToJson(pyBytes(bytes(0, 1, 0xff)))).toEqual({ $bytes: "AAH/" });
    expect(valueToJson(pyByteArray(bytes(0x61)))).toEqual({ $bytearray: "YQ==" });
    expect(valueToJson({ kind: "buffer", data: bytes(1, 2), readonly: true })).toEqual({ $buffer: "AQI=", readonly: true });
  });

  it("refuses what is not a pickle value", () => {
    expect(thrown(() => valueToJson(1.5))).toMatchObject({ code: "invalid-data", name: "ConvertError" });
    expect(thrown(() => valueToJson(pyList([1, NaN])))).toMatchObject({ code: "invalid-data", path: [1] });
    expect(thrown(() => valueToJson(pyList([undefined as unknown as null])))).toMatchObject({ code: "type-mismatch", path: [0] });
    const bad: PyFloat = { kind: "float", value: 1, nanBits: "7ff0000000000001" };
    expect(thrown(() => valueToJson(bad))).toMatchObject({ code: "invalid-data" });
    const notNan: PyFloat = { kind: "float", value: NaN, nanBits: "3ff0000000000000" };
    expect(thrown(() => valueToJson(notNan))).toMatchObject({ code: "invalid-data" });
    const upper: PyFloat = { kind: "float", value: NaN, nanBits: "7FF0000000000001" };
    expect(thrown(() => valueToJson(upper))).toMatchObject({ code: "invalid-data" });
    expect(thrown(() => valueToJson(pyDict([[1, { weird: true } as unknown as null]])))).toMatchObject({ code: "type-mismatch", path: [1] });
  });
});

describe("valueToJson: containers", () => {
  it("list is an array, tuple/set/frozenset are tagged", () => {
    expect(valueToJson(pyList([1, "a"]))).toEqual([1, "a"]);
    expect(valueToJson(pyTuple([]))).toEqual({ $tuple: [] });
    expect(valueToJson(pyTuple([pyTuple([1])]))).toEqual({ $tuple: [{ $tuple: [1] }] });
    expect(valueToJson(pySet([1, 2]))).toEqual({ $set: [1, 2] });
    expect(valueToJson(pyFrozenSet([]))).toEqual({ $frozenset: [] });
  });

  it("a dict is a JSON object when its keys allow, keeping their order", () => {
    const d = pyDict([["b", 1], ["a", pyList([])], ["", null]]);
    const j = valueToJson(d);
    expect(j).toEqual({ b: 1, a: [], "": null });
    expect(Object.keys(j as object)).toEqual(["b", "a", ""]);
  });

  it("else {$dict: [[k, v], ...]}", () => {
    const pairs = (d: PyDict<unknown>): JsonValue => valueToJson(d as PyDict);
    expect(pairs(pyDict([[1, "x"]]))).toEqual({ $dict: [[1, "x"]] });
    expect(pairs(pyDict([["$id", 1]]))).toEqual({ $dict: [["$id", 1]] });
    expect(pairs(pyDict([["a", 1], ["0", 2]]))).toEqual({ $dict: [["a", 1], ["0", 2]] });
    expect(pairs(pyDict([["10", 2]]))).toEqual({ $dict: [["10", 2]] });
    // Not index-like, so plain: leading zero, sign.
    expect(pairs(pyDict([["01", 2], ["-1", 3]]))).toEqual({ "01": 2, "-1": 3 });
    expect(pairs(pyDict([[null, 1], [pyTuple([1, 2]), 2], [pyFloat(1.5), 3]]))).toEqual({
      $dict: [[null, 1], [{ $tuple: [1, 2] }, 2], [{ $float: 1.5 }, 3]],
    });
    // Duplicate str keys (not from a decoder, but representable) keep both entries.
    expect(pairs(pyDict([["a", 1], ["a", 2]]))).toEqual({ $dict: [["a", 1], ["a", 2]] });
  });

  it("dict subclasses and BUILD state", () => {
    const od = pyDict([["w", 1]], ORDERED_DICT);
    expect(valueToJson(od)).toEqual({ $type: ["collections", "OrderedDict"], $dict: [["w", 1]] });
    od.state = pyDict([["_metadata", pyDict([["", pyDict([["version", 1]])]])]]);
    expect(valueToJson(od)).toEqual({
      $type: ["collections", "OrderedDict"], $dict: [["w", 1]], $state: { _metadata: { "": { version: 1 } } },
    });
    const plainWithState = pyDict([["a", 1]]);
    plainWithState.state = null;
    expect(valueToJson(plainWithState)).toEqual({ $dict: [["a", 1]], $state: null });
  });

  it("a __proto__ key is an own data property, never the prototype", () => {
    const j = valueToJson(pyDict([["__proto__", pyDict([["polluted", true]])], ["constructor", 1]])) as Record<string, JsonValue>;
    expect(Object.getPrototypeOf(j)).toBe(Object.prototype);
    expect(Object.keys(j)).toEqual(["__proto__", "constructor"]);
    expect(JSON.stringify(j)).toBe('{"__proto__":{"polluted":true},"constructor":1}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("globals, inert objects, persistent ids and extensions", () => {
    const point = pyGlobal("m", "Point");
    expect(valueToJson(point)).toEqual({ $global: ["m", "Point"] });
    const obj: PyObject = {
      kind: "object", via: "newobj_ex", callable: point, args: pyTuple([1]), kwargs: pyDict([["y", 2]]),
      state: pyDict([["z", 3]]), listItems: [4], dictItems: [[5, 6]], setItems: [7],
    };
    expect(valueToJson(obj)).toEqual({
      $object: {
        via: "newobj_ex", callable: { $global: ["m", "Point"] }, args: { $tuple: [1] }, kwargs: { y: 2 },
        state: { z: 3 }, listItems: [4], dictItems: [[5, 6]], setItems: [7],
      },
    });
    expect(valueToJson({ kind: "object", via: "reduce", callable: point, args: pyTuple([]) })).toEqual({
      $object: { via: "reduce", callable: { $global: ["m", "Point"] }, args: { $tuple: [] } },
    });
    expect(valueToJson({ kind: "persid", pid: pyTuple(["storage", "0"]), binary: true })).toEqual({
      $persid: { $tuple: ["storage", "0"] }, binary: true,
    });
    expect(valueToJson({ kind: "persid", pid: "text id", binary: false })).toEqual({ $persid: "text id", binary: false });
    expect(valueToJson({ kind: "ext", code: 300 })).toEqual({ $ext: 300 });
    expect(thrown(() => valueToJson({ kind: "object", via: "call" as "reduce", callable: point, args: null })))
      .toMatchObject({ code: "invalid-data" });
  });
});

describe("sharing and cycles", () => {
  it("an object met twice gets $id on its first occurrence and $ref after", () => {
    const a = pyList([1]);
    expect(valueToJson(pyList([a, a]))).toEqual([{ $id: 0, $list: [1] }, { $ref: 0 }]);
    const b = pyBytes(bytes(1));
    const d = pyDict([["k", 1]]);
    expect(valueToJson(pyList([b, d, b, d]))).toEqual([{ $id: 0, $bytes: "AQ==" }, { $id: 1, k: 1 }, { $ref: 0 }, { $ref: 1 }]);
  });

  it("ids count in document order", () => {
    const x = pyList([]);
    const y = pyList([]);
    // y is met first (inside the first item), so it is $id 0 even though x is shared too.
    expect(valueToJson(pyList([pyTuple([y, x]), x, y]))).toEqual([
      { $tuple: [{ $id: 0, $list: [] }, { $id: 1, $list: [] }] }, { $ref: 1 }, { $ref: 0 },
    ]);
  });

  it("self-referencing list, dict and tuple-list cycle", () => {
    const l: PyList = pyList([]);
    l.items.push(l);
    expect(valueToJson(l)).toEqual({ $id: 0, $list: [{ $ref: 0 }] });
    const d = pyDict([]);
    d.entries.push(["self", d]);
    expect(valueToJson(d)).toEqual({ $id: 0, self: { $ref: 0 } });
    const inner = pyList([]);
    const t = pyTuple([inner]);
    inner.items.push(t);
    expect(valueToJson(t)).toEqual({ $id: 0, $tuple: [[{ $ref: 0 }]] });
    for (const v of [l, d, t]) {
      const back = roundTrip(v);
      expect(pyGraphEqual(back, v)).toBe(true);
    }
    const back = roundTrip(l) as PyList;
    expect(back.items[0]).toBe(back);
  });

  it("sharing through object fields and dict keys", () => {
    const g = pyGlobal("m", "C");
    const o1: PyObject = { kind: "object", via: "reduce", callable: g, args: pyTuple([]) };
    const o2: PyObject = { kind: "object", via: "reduce", callable: g, args: pyTuple([]) };
    o1.state = o2;
    const key = pyTuple([1]);
    const v = pyList([o1, pyDict([[key, o2]]), key]);
    const j = valueToJson(v);
    expect(j).toEqual([
      { $object: { via: "reduce", callable: { $id: 0, $global: ["m", "C"] }, args: { $tuple: [] },
        state: { $id: 1, $object: { via: "reduce", callable: { $ref: 0 }, args: { $tuple: [] } } } } },
      { $dict: [[{ $id: 2, $tuple: [1] }, { $ref: 1 }]] },
      { $ref: 2 },
    ]);
    expect(pyGraphEqual(roundTrip(v), v)).toBe(true);
  });

  it("a shared float or host value keeps its identity too", () => {
    const f = pyFloat(2.5);
    expect(valueToJson(pyTuple([f, f]))).toEqual({ $tuple: [{ $id: 0, $float: 2.5 }, { $ref: 0 }] });
  });
});

describe("valueFromJson", () => {
  it("reads every tag", () => {
    const v = valueFromJson({
      l: [1, { $int: "-18446744073709551616" }, { $int: "12" }],
      f: [{ $float: 1 }, { $float: "-0.0" }, { $float: "nan", bits: "fff8000000000000" }, { $float: "inf" }],
      c: { $complex: ["nan", 2] },
      b: [{ $bytes: "AAH/" }, { $bytearray: "" }, { $buffer: "AQ==", readonly: false }],
      s: [{ $tuple: [] }, { $set: [1] }, { $frozenset: [2] }],
      d: { $dict: [[1, 2]], $type: ["collections", "OrderedDict"], $state: null },
      g: { $global: ["builtins", "len"] },
      o: { $object: { via: "obj", callable: { $global: ["m", "C"] }, args: { $tuple: [] }, setItems: [] } },
      p: { $persid: "x", binary: false },
      e: { $ext: 7 },
    }) as PyDict;
    const get = (k: string): PyValue => v.entries.find(([key]) => key === k)![1];
    expect(get("l")).toEqual(pyList([1, -(2n ** 64n), 12]));
    const floats = (get("f") as PyList).items as PyFloat[];
    expect(floats[0]).toEqual(pyFloat(1));
    expect(Object.is(floats[1]!.value, -0)).toBe(true);
    expect(floats[2]).toEqual({ kind: "float", value: NaN, nanBits: "fff8000000000000" });
    expect(floats[3]).toEqual(pyFloat(Infinity));
    expect(get("c")).toEqual(pyComplex(NaN, 2));
    expect(get("b")).toEqual(pyList([pyBytes(bytes(0, 1, 255)), pyByteArray(bytes()), { kind: "buffer", data: bytes(1), readonly: false }]));
    expect(get("s")).toEqual(pyList([pyTuple([]), pySet([1]), pyFrozenSet([2])]));
    expect(get("d")).toEqual({ kind: "dict", entries: [[1, 2]], type: ORDERED_DICT, state: null });
    expect(get("g")).toEqual(pyGlobal("builtins", "len"));
    expect(get("o")).toEqual({ kind: "object", via: "obj", callable: pyGlobal("m", "C"), args: pyTuple([]), setItems: [] });
    expect(get("p")).toEqual({ kind: "persid", pid: "x", binary: false });
    expect(get("e")).toEqual({ kind: "ext", code: 7 });
  });

  it("keeps plain-object key order, and __proto__ is data", () => {
    const parsed = JSON.parse('{"b": 1, "__proto__": {"polluted": true}, "a": 2}') as JsonValue;
    const d = valueFromJson(parsed) as PyDict;
    expect(d.entries.map(([k]) => k)).toEqual(["b", "__proto__", "a"]);
    expect(d.entries[1]![1]).toEqual(pyDict([["polluted", true]]));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const withId = valueFromJson(JSON.parse('[{"$id": 0, "__proto__": 1}, {"$ref": 0}]') as JsonValue) as PyList;
    expect(withId.items[0]).toBe(withId.items[1]);
    expect((withId.items[0] as PyDict).entries).toEqual([["__proto__", 1]]);
  });

  it("a companion $type/$state may precede $dict", () => {
    expect(valueFromJson({ $state: 1, $dict: [] })).toEqual({ kind: "dict", entries: [], state: 1 });
  });

  const cases: [string, JsonValue, string, (string | number)[]][] = [
    ["a float as a bare number", [1, 1.5], "invalid-data", [1]],
    ["an unsafe bare number", { a: 2 ** 60 }, "invalid-data", ["a"]],
    ["an unknown tag", { k: { $tensor: {} } }, "invalid-data", ["k"]],
    ["two tags", { $tuple: [], $set: [] }, "invalid-data", ["$set"]],
    ["an extra key next to a tag", { $bytes: "", x: 1 }, "invalid-data", ["x"]],
    ["$type without $dict", { $type: ["a", "b"] }, "invalid-data", []],
    ["a non-decimal $int", { $int: "1e5" }, "invalid-data", []],
    ["an $int with a leading zero", { $int: "01" }, "invalid-data", []],
    ["$id on an $int", { $id: 0, $int: "1" }, "invalid-data", ["$id"]],
    ["a bad float string", { $float: "NaN" }, "invalid-data", ["$float"]],
    ["bits next to a number", { $float: 1, bits: "7ff0000000000001" }, "invalid-data", ["bits"]],
    ["bits that are not a NaN", { $float: "nan", bits: "7ff0000000000000" }, "invalid-data", ["bits"]],
    ["a complex of three", { $complex: [1, 2, 3] }, "invalid-data", []],
    ["unpadded base64", [{ $bytes: "YQ" }], "invalid-data", [0, "$bytes"]],
    ["base64 with a space", { $bytes: "YQ= =" }, "invalid-data", ["$bytes"]],
    ["a tuple that is not an array", { $tuple: {} }, "invalid-data", []],
    ["a dict entry that is not a pair", { $dict: [[1]] }, "invalid-data", ["$dict", 0]],
    ["a global of one string", { $global: ["m"] }, "invalid-data", ["$global"]],
    ["an object without args", { $object: { via: "reduce", callable: null } }, "invalid-data", ["$object"]],
    ["an object with an unknown via", { $object: { via: "call", callable: null, args: null } }, "invalid-data", ["$object", "via"]],
    ["an object with an unknown field", { $object: { via: "reduce", callable: null, args: null, extra: 1 } }, "invalid-data", ["$object", "extra"]],
    ["listItems that is not an array", { $object: { via: "reduce", callable: null, args: null, listItems: 1 } }, "invalid-data", ["$object", "listItems"]],
    ["a persid without binary", { $persid: "x" }, "invalid-data", []],
    ["a buffer without readonly", { $buffer: "" }, "invalid-data", []],
    ["a fractional ext code", { $ext: 1.5 }, "invalid-data", []],
    ["a forward $ref", [{ $ref: 0 }, { $id: 0, $list: [] }], "invalid-data", [0]],
    ["a dangling $ref", { a: { $ref: 3 } }, "invalid-data", ["a"]],
    ["a $ref with company", [{ $id: 0, $list: [] }, { $ref: 0, x: 1 }], "invalid-data", [1, "x"]],
    ["a duplicate $id", [{ $id: 0, $list: [] }, { $id: 0, $list: [] }], "invalid-data", [1]],
    ["a negative $id", { $id: -1, $list: [] }, "invalid-data", ["$id"]],
  ];
  for (const [what, json, code, path] of cases) {
    it(`rejects ${what}`, () => {
      expect(thrown(() => valueFromJson(json))).toEqual({ code, path, name: "ConvertError" });
    });
  }

  it("rejects values that are not JSON", () => {
    expect(thrown(() => valueFromJson([undefined as unknown as null]))).toMatchObject({ code: "invalid-data", path: [0] });
    expect(thrown(() => valueFromJson({ a: (() => 1) as unknown as null }))).toMatchObject({ code: "invalid-data", path: ["a"] });
  });
});

describe("deep values do not use the JS stack", () => {
  const DEPTH = 200_000;

  it("valueToJson of 200,000 nested lists", () => {
    let v: PyList = pyList([]);
    for (let i = 0; i < DEPTH; i++) v = pyList([v]);
    let j = valueToJson(v);
    let depth = 0;
    while (Array.isArray(j) && j.length === 1) {
      j = j[0]!;
      depth++;
    }
    expect(depth).toBe(DEPTH);
  });

  it("valueFromJson of 200,000 nested tuples", () => {
    let j: JsonValue = null;
    for (let i = 0; i < DEPTH; i++) j = { $tuple: [j] };
    let v = valueFromJson(j);
    let depth = 0;
    while (v !== null) {
      v = (v as { items: PyValue[] }).items[0]!;
      depth++;
    }
    expect(depth).toBe(DEPTH);
  });
});

// ---------------------------------------------------------------------------------------------
// Host hooks, as the torch layer will use them.

interface Tensor { readonly host: string; readonly storage: PyValue<Tensor> }

describe("host hooks", () => {
  const toJson = (v: PyValue<Tensor>): JsonValue => valueToJson<Tensor>(v, {
    host: (t, recurse) => ({ $tensor: { name: t.host, storage: recurse(t.storage) } }),
  });
  const fromJson = (j: JsonValue): PyValue<Tensor> => valueFromJson<Tensor>(j, {
    host: (tag, obj, recurse) => {
      if (tag !== "$tensor") return undefined;
      const inner = obj.$tensor as { name: string; storage: JsonValue };
      return { host: inner.name, storage: recurse(inner.storage) };
    },
  });

  it("describe host values and share them like any object", () => {
    const storage = pyBytes(bytes(1, 2));
    const t: Tensor = { host: "w", storage };
    const v = pyDict<Tensor>([["a", t], ["b", t], ["c", { host: "view", storage }]]);
    const j = toJson(v);
    expect(j).toEqual({
      a: { $id: 0, $tensor: { name: "w", storage: { $id: 1, $bytes: "AQI=" } } },
      b: { $ref: 0 },
      c: { $tensor: { name: "view", storage: { $ref: 1 } } },
    });
    const back = fromJson(viaText(j)) as PyDict<Tensor>;
    const [a, b, c] = back.entries.map((e) => e[1] as Tensor);
    expect(a).toBe(b);
    expect(a!.storage).toBe(c!.storage);
    expect(pyGraphEqual(back, v)).toBe(true);
  });

  it("without a hook, a host value is a type-mismatch and an unknown tag invalid-data", () => {
    expect(thrown(() => valueToJson(pyList([{ host: "x" } as unknown as null])))).toMatchObject({ code: "type-mismatch", path: [0] });
    expect(thrown(() => valueToJson<Tensor>(pyList<Tensor>([{ host: "x", storage: null }]), { host: () => undefined as unknown as JsonValue })))
      .toMatchObject({ code: "type-mismatch" });
    expect(thrown(() => fromJson({ $storage: 1 }))).toMatchObject({ code: "invalid-data", path: [] });
  });

  it("a shared host value needs an object description", () => {
    const t: Tensor = { host: "x", storage: null };
    expect(thrown(() => valueToJson<Tensor>(pyList<Tensor>([t, t]), { host: () => "scalar" })))
      .toMatchObject({ code: "invalid-argument" });
  });

  it("host nesting is bounded", () => {
    interface Chain { readonly host: string; readonly next: PyValue<Chain> }
    let c: Chain = { host: "end", next: null };
    for (let i = 0; i < MAX_HOST_DEPTH + 5; i++) c = { host: "link", next: c };
    const r = thrown(() => valueToJson<Chain>(c, { host: (x, recurse) => ({ $chain: recurse(x.next) }) }));
    expect(r.code).toBe("limit-exceeded");
    let j: JsonValue = null;
    for (let i = 0; i < MAX_HOST_DEPTH + 5; i++) j = { $chain: j };
    expect(thrown(() => valueFromJson<Chain>(j, { host: (_t, o, recurse) => ({ host: "link", next: recurse(o.$chain!) }) })).code)
      .toBe("limit-exceeded");
  });

  it("a hook that exhausts the JS stack gives limit-exceeded, not a RangeError", () => {
    const endless = (n: number): number => endless(n + 1) + 1;
    expect(thrown(() => valueToJson<Tensor>({ host: "x", storage: null }, { host: () => endless(0) })).code).toBe("limit-exceeded");
    expect(thrown(() => valueFromJson<Tensor>({ $tensor: 1 }, { host: () => ({ host: String(endless(0)), storage: null }) })).code)
      .toBe("limit-exceeded");
    // And other errors a hook throws pass through untouched.
    const mine = new Error("mine");
    expect(() => valueToJson<Tensor>({ host: "x", storage: null }, { host: () => { throw mine; } })).toThrow(mine);
  });
});

// ---------------------------------------------------------------------------------------------
// Property: any value survives value → JSON text → value, sharing and cycles included.

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  // Lone surrogates and "$"/index-like keys, which change how dicts are written.
  fc.string({ unit: fc.constantFrom("\ud800", "\udfff", "$", "0", "1", "a", "\u00e9", "\u{1f600}") }),
);
const int = fc.oneof(
  fc.integer(),
  fc.constantFrom(0, 2 ** 53 - 1, -(2 ** 53) + 1),
  fc.bigInt({ min: -(2n ** 130n), max: 2n ** 130n }).filter((b) => b > 2n ** 53n - 1n || b < -(2n ** 53n) + 1n),
);
const float = fc.oneof(
  fc.double().map(pyFloat),
  fc.constantFrom("7ff0000000000001", "fff8000000000000", "7fffffffffffffff", "7ff8000000000000")
    .map((nanBits): PyFloat => ({ kind: "float", value: NaN, nanBits })),
);
const data = fc.uint8Array({ maxLength: 40 });
const leaf: fc.Arbitrary<PyValue> = fc.oneof(
  fc.constant(null), fc.boolean(), int, text, float,
  fc.tuple(fc.double(), fc.double()).map(([r, i]) => pyComplex(r, i)),
  data.map(pyBytes), data.map(pyByteArray),
  fc.tuple(data, fc.boolean()).map(([d, readonly]): PyValue => ({ kind: "buffer", data: d, readonly })),
  fc.tuple(text, text).map(([m, n]) => pyGlobal(m, n)),
  fc.integer({ min: 1, max: 0x7fffffff }).map((code): PyValue => ({ kind: "ext", code })),
);

const { value: anyValue } = fc.letrec<{ value: PyValue; node: PyValue }>((tie) => ({
  value: fc.oneof({ depthSize: "small", withCrossShrink: true }, leaf, tie("node")),
  node: fc.oneof(
    fc.array(tie("value"), { maxLength: 4 }).map(pyList),
    fc.array(tie("value"), { maxLength: 4 }).map(pyTuple),
    fc.array(tie("value"), { maxLength: 3 }).map(pySet),
    fc.array(tie("value"), { maxLength: 3 }).map(pyFrozenSet),
    fc.tuple(
      fc.array(fc.tuple(fc.oneof(text, tie("value")), tie("value")), { maxLength: 4 }),
      fc.option(fc.constantFrom(ORDERED_DICT, pyGlobal("m", "MyDict")), { nil: undefined }),
      fc.option(tie("value"), { nil: undefined }),
    ).map(([entries, type, state]) => {
      const d = pyDict(entries, type);
      if (state !== undefined) d.state = state;
      return d;
    }),
    fc.record({
      via: fc.constantFrom("reduce", "newobj", "newobj_ex", "inst", "obj" as const),
      callable: tie("value"),
      args: tie("value"),
      kwargs: fc.option(tie("value"), { nil: undefined }),
      state: fc.option(tie("value"), { nil: undefined }),
      listItems: fc.option(fc.array(tie("value"), { maxLength: 3 }), { nil: undefined }),
      dictItems: fc.option(fc.array(fc.tuple(tie("value"), tie("value")), { maxLength: 3 }), { nil: undefined }),
      setItems: fc.option(fc.array(tie("value"), { maxLength: 3 }), { nil: undefined }),
    }).map((r): PyValue => {
      const o: Record<string, unknown> = { kind: "object", via: r.via, callable: r.callable, args: r.args };
      for (const k of ["kwargs", "state", "listItems", "dictItems", "setItems"] as const) if (r[k] !== undefined) o[k] = r[k];
      return o as unknown as PyObject;
    }),
    fc.tuple(tie("value"), fc.boolean()).map(([pid, binary]): PyValue => ({ kind: "persid", pid, binary })),
  ),
}));

/** Every slot (array index or field) of every object in the graph, in walk order. */
function slotsOf(root: PyValue): { objects: object[]; slots: [Record<string | number, unknown>, string | number][] } {
  const objects: object[] = [];
  const slots: [Record<string | number, unknown>, string | number][] = [];
  const seen = new Set<object>();
  const todo: unknown[] = [root];
  const visit = (holder: Record<string | number, unknown>, key: string | number): void => {
    slots.push([holder, key]);
    todo.push(holder[key]);
  };
  while (todo.length > 0) {
    const v = todo.pop();
    if (typeof v !== "object" || v === null || seen.has(v) || v instanceof Uint8Array) continue;
    seen.add(v);
    const o = v as Record<string, unknown>;
    objects.push(o);
    for (const key of ["items", "listItems", "setItems"]) {
      const list = o[key];
      if (Array.isArray(list)) list.forEach((_, i) => visit(list as unknown as Record<number, unknown>, i));
    }
    for (const key of ["entries", "dictItems"]) {
      const list = o[key];
      if (Array.isArray(list)) for (const pair of list) visit(pair as Record<number, unknown>, 1);
    }
    for (const key of ["callable", "args", "kwargs", "state", "pid"]) if (key in o) visit(o, key);
  }
  return { objects, slots };
}

/** A value plus rewiring: some slots are pointed at other objects, making DAGs and cycles. */
const sharedValue = fc.tuple(anyValue, fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 6 })).map(([v, links]) => {
  const { objects, slots } = slotsOf(v);
  if (objects.length > 0 && slots.length > 0) {
    for (const [s, t] of links) {
      const [holder, key] = slots[s % slots.length]!;
      holder[key] = objects[t % objects.length];
    }
  }
  return v;
});

describe("round trip (fast-check)", () => {
  it("value → JSON text → value is structurally identical, sharing and cycles included", () => {
    fc.assert(
      fc.property(sharedValue, (v) => {
        const json = valueToJson(v);
        const back = valueFromJson(viaText(json));
        expect(pyGraphEqual(back, v)).toBe(true);
        // And the document is canonical: writing the copy gives the same JSON.
        expect(valueToJson(back)).toEqual(json);
      }),
      { numRuns: 400 },
    );
  });

  it("valueFromJson never throws anything but ConvertError", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (j) => {
        try {
          valueFromJson(j as JsonValue);
        } catch (e) {
          expect(isTorchsaveError(e) && e.name === "ConvertError").toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("base64", () => {
  it("matches Node's encoder and decodes its output", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const t = encodeBase64(b);
        expect(t).toBe(Buffer.from(b).toString("base64"));
        expect(decodeBase64(t)).toEqual(b);
      }),
    );
  });

  it("is strict", () => {
    for (const bad of ["Y", "YQ", "YQ=", "Y===", "YR==", "YWI=x", "YW=I", "YW I", "YW-_", "====", "\u0100AAA"]) {
      expect(decodeBase64(bad)).toBeUndefined();
    }
    expect(decodeBase64("")).toEqual(new Uint8Array(0));
    expect(decodeBase64("YWJj")).toEqual(bytes(0x61, 0x62, 0x63));
  });
});

describe("index-like keys", () => {
  it("are exactly what /^(?:0|[1-9][0-9]*)$/ matches", async () => {
    const { isIndexLike, isPlainKey } = await import("../../../src/convert/json-value-types.js");
    const keys = fc.oneof(fc.string(), fc.stringMatching(/^[0-9]{0,12}$/), fc.constantFrom("", "0", "00", "01", "10", "9", "$0", "$", "1a", "a1", "٣", "1 ", "-1"));
    fc.assert(fc.property(keys, (k) => {
      expect(isIndexLike(k)).toBe(/^(?:0|[1-9][0-9]*)$/.test(k));
      expect(isPlainKey(k)).toBe(!k.startsWith("$") && !/^(?:0|[1-9][0-9]*)$/.test(k));
    }), { numRuns: 2000 });
  });
});
