// summarize: the page's one- and two-pass statistics, histogram and heat map equal analyze's
// (statsOfBytes, histogramOfBytes) and heatMap's, for float32/64 and the float16/bfloat16 table path.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { histogramOfBytes, statsOfBytes } from "../../../src/analyze/index.js";
import { float32ToBfloat16, float32ToFloat16, toFloat32Array } from "../../../src/torch/index.js";
import { heatMap } from "../../../src/web/heat-map.js";
import { summarize } from "../../../src/web/tensor-summary.js";

const special = [NaN, Infinity, -Infinity, 0, -0, 1e-8, 65504, -3.5];
const values = fc.array(fc.oneof(fc.float({ min: -1000, max: 1000, noNaN: true }), fc.constantFrom(...special)), { minLength: 1, maxLength: 300 });

function bytesOf(dtype: "float32" | "float64" | "float16" | "bfloat16", xs: number[]): Uint8Array {
  if (dtype === "float64") return new Uint8Array(Float64Array.from(xs).buffer);
  const f = Float32Array.from(xs);
  if (dtype === "float32") return new Uint8Array(f.buffer);
  const half = Uint16Array.from(f, (v) => (dtype === "float16" ? float32ToFloat16(v) : float32ToBfloat16(v)));
  return new Uint8Array(half.buffer);
}

function close(a: number | null, b: number | null): void {
  if (a === null || b === null) {
    expect(a).toBe(b);
    return;
  }
  expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(b)));
}

describe("summarize", () => {
  for (const dtype of ["float32", "float64", "float16", "bfloat16"] as const) {
    it(`${dtype}: analyze's statistics and histogram, heatMap's cells`, () => {
      fc.assert(fc.property(values, fc.integer({ min: 1, max: 7 }), (xs, r) => {
        const rows = Math.min(r, xs.length);
        const n = xs.length - (xs.length % rows);
        const bytes = bytesOf(dtype, xs.slice(0, n));
        const shape = [rows, n / rows];
        const got = summarize(dtype, shape, bytes, 16)!;
        const want = statsOfBytes(bytes, dtype);
        for (const k of ["numel", "nan", "posinf", "neginf", "zeros"] as const) expect(got.stats[k], k).toBe(want[k]);
        for (const k of ["min", "max", "mean", "std", "norm"] as const) close(got.stats[k], want[k]);
        if (want.min === null || want.max === null) expect(got.histogram).toBeUndefined();
        else {
          // min and max may differ in the sign of a zero (the table sees +0 first): equal as numbers.
          const h = histogramOfBytes(bytes, dtype, want.min, want.max, 16);
          expect(got.histogram!.counts).toEqual(h.counts);
          expect(got.histogram!.lo === h.lo && got.histogram!.hi === h.hi).toBe(true);
        }
        const numbers = dtype === "float64" ? new Float64Array(bytes.buffer) : dtype === "float32" ? new Float32Array(bytes.buffer) : toFloat32Array(bytes, dtype);
        const heat = heatMap(numbers, shape);
        if (heat === undefined) {
          expect(got.heat).toBeUndefined();
          return;
        }
        expect([got.heat!.rows, got.heat!.cols]).toEqual([heat.rows, heat.cols]);
        got.heat!.values.forEach((v, i) => {
          if (Number.isNaN(heat.values[i])) expect(v).toBeNaN();
          else expect(Math.abs(v - heat.values[i]!)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(v)));
        });
      }), { numRuns: 60 });
    });
  }

  it("leaves other dtypes to the general path, and a 1-D tensor without a heat map", () => {
    expect(summarize("int64", [2], new Uint8Array(16), 8)).toBeUndefined();
    const one = summarize("float32", [3], new Uint8Array(Float32Array.of(1, 2, 3).buffer), 2)!;
    expect(one.heat).toBeUndefined();
    expect(one.histogram!.counts).toEqual([1, 2]);
  });
});
