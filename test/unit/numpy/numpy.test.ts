// numpy arrays and scalars inside a checkpoint come back as plain data with their exact bytes
// (expected values printed by numpy for fixtures/torch/full-checkpoint.pt).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dictGet } from "../../../src/pickle/value.js";
import type { PyDict } from "../../../src/pickle/value.js";
import { isNdArray, readCheckpoint } from "../../../src/torch/index.js";
import type { NdArray, TorchHost } from "../../../src/torch/index.js";
import { REPO } from "../../helpers/corpus.js";

const root = readCheckpoint(new Uint8Array(readFileSync(join(REPO, "fixtures/torch/full-checkpoint.pt")))).root as PyDict<TorchHost>;
const arrays = dictGet(root, "numpy") as PyDict<TorchHost>;
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex").slice(0, 16);

const EXPECTED: [string, string, number[], boolean, string, string | undefined][] = [
  ["f32", "<f4", [2, 3], false, "b1290cd43eac8e2f", "float32"],
  ["i64_fortran", "<i8", [2, 3], false, "cd23c9642e24d85b", "int64"],
  ["bool", "|b1", [3], false, "85f90dfea1d8027e", "bool"],
  ["f64_empty", "<f8", [0, 2], false, "e3b0c44298fc1c14", "float64"],
  ["f32_scalar", "<f4", [], true, "c0e336a5f371ef22", "float32"],
  ["i64_scalar", "<i8", [], true, "35be322d094f9d15", "int64"],
  ["f64_scalar", "<f8", [], true, "5caaabe50da77f59", "float64"],
];

describe("numpy inside checkpoints", () => {
  for (const [key, descr, shape, scalar, hash, dtype] of EXPECTED) {
    it(key, () => {
      const a = dictGet(arrays, key);
      expect(isNdArray(a)).toBe(true);
      const arr = a as NdArray;
      expect(arr.descr).toBe(descr);
      expect(arr.shape).toEqual(shape);
      expect(arr.scalar).toBe(scalar);
      expect(arr.dtype).toBe(dtype);
      expect(sha(arr.data!)).toBe(hash);
    });
  }
  it("keeps Fortran order and the column-major bytes numpy pickled", () => {
    const a = dictGet(arrays, "i64_fortran") as NdArray;
    expect(a.fortranOrder).toBe(true);
    const values = Array.from(new BigInt64Array(a.data!.slice().buffer), Number);
    expect(values).toEqual([0, 3, 1, 4, 2, 5]);
    expect((dictGet(arrays, "f32") as NdArray).fortranOrder).toBe(false);
  });
});
