import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { statsOfBytes, tensorStats, tensorStatsSync } from "../../../src/analyze/index.js";
import { accumulate, finishStats, newAccumulator } from "../../../src/analyze/tensor-stats.js";
import { isTorchsaveError } from "../../../src/errors.js";
import type { Tensor, TorchValue } from "../../../src/torch/index.js";
import { tensor, walkTensors } from "../../../src/torch/index.js";
import { expectStats, expected, readFixture } from "./train-fixtures.js";

const tensors = (root: TorchValue): Map<string, Tensor> => new Map(walkTensors(root).map((e) => [String(e.path[0]), e.tensor]));

describe("tensorStats against torch (float64 over the finite elements)", () => {
  it("every dtype of dtypes.pt, NaN/±Inf/zeros counted, a transposed view too", async () => {
    const want = expected().dtypes;
    const got = tensors(readFixture("dtypes.pt"));
    expect([...got.keys()].sort()).toEqual(Object.keys(want).sort());
    for (const [name, t] of got) {
      expectStats(tensorStatsSync(t), want[name]!, name);
      expectStats(await tensorStats(t), want[name]!, `${name} (async)`);
    }
  });

  it("float8_e4m3fn and float8_e5m2 (written and measured by torch 2.6)", () => {
    const want = expected("expected-f8.json").dtypes;
    const got = tensors(readFixture("dtypes-f8.pt"));
    expect(got.size).toBe(2);
    for (const [name, t] of got) expectStats(tensorStatsSync(t), want[name]!, name);
  });

  it("int64 beyond 2^32 and uint8 are widened exactly", () => {
    const t = tensor(BigInt64Array.from([-(2n ** 40n), 2n ** 40n + 3n, 0n]));
    const s = tensorStatsSync(t);
    expect([s.min, s.max, s.zeros, s.mean]).toEqual([-(2 ** 40), 2 ** 40 + 3, 1, 1]);
  });

  it("empty and all-NaN tensors have null statistics, not NaN", () => {
    expect(tensorStatsSync(tensor(new Float32Array(0)))).toMatchObject({ numel: 0, min: null, mean: null, std: null, norm: null });
    expect(tensorStatsSync(tensor(Float32Array.from([NaN, Infinity])))).toMatchObject({ numel: 2, min: null, nan: 1, posinf: 1, std: null });
    expect(tensorStatsSync(tensor(Float32Array.from([2])))).toMatchObject({ numel: 1, mean: 2, std: null, norm: 2 });
  });

  it("refuses complex tensors with a typed error", () => {
    const t = { ...tensor(new Float32Array(4)), dtype: "complex64" as const, shape: [2] };
    try {
      tensorStatsSync(t);
      expect.unreachable();
    } catch (e) {
      expect(isTorchsaveError(e) && e.code).toBe("unsupported");
    }
  });

  it("chunked accumulation equals a plain two-pass float64 computation (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: false, min: -1e6, max: 1e6 }), { maxLength: 300 }), fc.integer({ min: 1, max: 50 }), (xs, chunk) => {
        const data = Float64Array.from(xs);
        const acc = newAccumulator();
        for (let s = 0; s < data.length; s += chunk) accumulate(acc, data, s, Math.min(data.length, s + chunk));
        const got = finishStats(acc);
        const fin = xs.filter(Number.isFinite);
        const mean = fin.reduce((a, b) => a + b, 0) / fin.length;
        const std = Math.sqrt(fin.reduce((a, b) => a + (b - mean) ** 2, 0) / (fin.length - 1));
        expect(got.numel).toBe(xs.length);
        expect(got.nan).toBe(xs.filter(Number.isNaN).length);
        if (fin.length > 0) {
          expect(got.min).toBe(Math.min(...fin));
          expect(Math.abs(got.mean! - mean)).toBeLessThanOrEqual(1e-9 * (1 + Math.max(...fin.map(Math.abs))));
        }
        if (fin.length > 1) expect(Math.abs(got.std! - std)).toBeLessThanOrEqual(1e-9 * (1 + std));
      }),
    );
  });

  it("statsOfBytes reads float16 bit patterns exactly", () => {
    // 0x3c00 = 1, 0xc000 = -2, 0x7c00 = +Inf, 0x0001 = 2^-24
    const bytes = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x7c00, 0x0001]).buffer);
    expect(statsOfBytes(bytes, "float16")).toMatchObject({ min: -2, max: 1, posinf: 1, numel: 4 });
  });
});
