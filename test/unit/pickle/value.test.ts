import { describe, expect, it } from "vitest";
import { dictGet, pyBytes, pyComplex, pyDict, pyFloat, pyFrozenSet, pyGlobal, pyKeyEquals, pyTuple } from "../../../src/pickle/value.js";
import type { PyValue } from "../../../src/pickle/value.js";

describe("pyKeyEquals: Python's == for hashable keys", () => {
  it("numbers across representations", () => {
    expect(pyKeyEquals(1, pyFloat(1))).toBe(true);
    expect(pyKeyEquals(1, true)).toBe(true);
    expect(pyKeyEquals(2n ** 64n, 2n ** 64n)).toBe(true);
    expect(pyKeyEquals(2 ** 60, 2n ** 60n)).toBe(true);
    expect(pyKeyEquals(1, pyComplex(1, 0))).toBe(true);
    expect(pyKeyEquals(1, pyComplex(1, 2))).toBe(false);
    expect(pyKeyEquals(pyComplex(1, 2), pyComplex(1, 2))).toBe(true);
    expect(pyKeyEquals(pyFloat(0.5), 0)).toBe(false);
    expect(pyKeyEquals(pyFloat(NaN), pyFloat(NaN))).toBe(false);
    expect(pyKeyEquals("1", 1)).toBe(false);
  });
  it("containers by content", () => {
    expect(pyKeyEquals(pyTuple([1, "a"]), pyTuple([1, "a"]))).toBe(true);
    expect(pyKeyEquals(pyTuple([1, "a"]), pyTuple(["a", 1]))).toBe(false);
    expect(pyKeyEquals(pyFrozenSet([1, 2]), pyFrozenSet([2, 1]))).toBe(true);
    expect(pyKeyEquals(pyFrozenSet([1, 2]), pyFrozenSet([1, 3]))).toBe(false);
    expect(pyKeyEquals(pyBytes(new Uint8Array([1, 2])), pyBytes(new Uint8Array([1, 2])))).toBe(true);
    expect(pyKeyEquals(pyGlobal("a", "b"), pyGlobal("a", "b"))).toBe(true);
    expect(pyKeyEquals(pyGlobal("a", "b"), pyGlobal("a", "c"))).toBe(false);
  });
  it("a 100,000-deep tuple key does not overflow the stack", () => {
    let a: PyValue = 0;
    let b: PyValue = 0;
    for (let i = 0; i < 100_000; i++) {
      a = pyTuple([a]);
      b = pyTuple([b]);
    }
    expect(pyKeyEquals(a, b)).toBe(true);
    const d = pyDict([[a, "found"]]);
    expect(dictGet(d, b)).toBe("found");
  });
});
