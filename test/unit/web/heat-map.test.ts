import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { float32ToFloat16, float32ToBfloat16 } from "../../../src/torch/index.js";
import { formatNumber, heatMap } from "../../../src/web/heat-map.js";
import { tensorNumbers } from "../../../src/web/tensor-values.js";
import { readUrlState, tensorName } from "../../../src/web/url-state.js";

describe("heatMap", () => {
  it("averages blocks of a 2-D tensor and skips NaN/Inf", () => {
    const v = new Float64Array([1, 3, NaN, 5, 2, 4, Infinity, 6]); // [2, 4]
    const h = heatMap(v, [2, 4], 2)!;
    expect([h.rows, h.cols, h.sourceRows, h.sourceCols]).toEqual([2, 2, 2, 4]);
    expect([...h.values]).toEqual([2, 5, 3, 6]);
    expect(heatMap(v, [8])).toBeUndefined();
  });

  it("sees tensors of more dimensions as [shape[0], rest]; each cell's mean lies within the block's range", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 12 }), (r, c, cells) => {
      const v = Float64Array.from({ length: r * c }, (_, i) => i);
      const h = heatMap(v, [r, c, 1], cells)!;
      expect(h.rows).toBe(Math.min(r, cells));
      expect(h.cols).toBe(Math.min(c, cells));
      for (const x of h.values) expect(x >= 0 && x <= r * c - 1).toBe(true);
      // Row-major means are increasing along each row and down each column.
      for (let i = 0; i < h.rows; i++) for (let k = 1; k < h.cols; k++) expect(h.values[i * h.cols + k]!).toBeGreaterThan(h.values[i * h.cols + k - 1]!);
    }));
  });
});

describe("formatNumber", () => {
  it("spells non-finite values as torch prints them and float32s by their shortest decimal", () => {
    expect([NaN, Infinity, -Infinity].map((v) => formatNumber(v, true, true))).toEqual(["nan", "inf", "-inf"]);
    expect(formatNumber(Math.fround(0.1), true, true)).toBe("0.1");
    expect(formatNumber(0.1, true, false)).toBe("0.1");
    expect(formatNumber(7, false, false)).toBe("7");
    fc.assert(fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (x) => {
      expect(Math.fround(Number(formatNumber(x, true, true)))).toBe(x === 0 ? 0 : x);
    }));
  });
});

describe("tensorNumbers", () => {
  it("reads float16, bfloat16, int64 and complex from little-endian bytes", () => {
    const half = new Uint16Array([float32ToFloat16(1.5), float32ToFloat16(-2)]);
    expect(Array.from(tensorNumbers({ dtype: "float16" }, new Uint8Array(half.buffer))!.values)).toEqual([1.5, -2]);
    const bf = new Uint16Array([float32ToBfloat16(3), float32ToBfloat16(0.5)]);
    expect(Array.from(tensorNumbers({ dtype: "bfloat16" }, new Uint8Array(bf.buffer))!.values)).toEqual([3, 0.5]);
    const big = new BigInt64Array([-5n, 2n ** 40n]);
    expect(Array.from(tensorNumbers({ dtype: "int64" }, new Uint8Array(big.buffer))!.values)).toEqual([-5, 2 ** 40]);
    const c = tensorNumbers({ dtype: "complex64" }, new Uint8Array(new Float32Array([1, -1]).buffer))!;
    expect(c.perElement).toBe(2);
    // An odd byte offset (a view into a file) is copied to alignment, not misread.
    const odd = new Uint8Array(9);
    odd.set(new Uint8Array(new Float64Array([0.25]).buffer), 1);
    expect(Array.from(tensorNumbers({ dtype: "float64" }, odd.subarray(1))!.values)).toEqual([0.25]);
  });
});

describe("url state", () => {
  it("reads ?url= (repeated) and &tensor=", () => {
    expect(readUrlState("?url=%2Ffiles%2F0%2Fa.pt&url=b.pt&tensor=fc.weight")).toEqual({ urls: ["/files/0/a.pt", "b.pt"], tensor: "fc.weight" });
    expect(readUrlState("")).toEqual({ urls: [] });
  });

  it("keeps a tensor's last key as its short name", () => {
    expect(tensorName('["state_dict"]["fc.weight"]')).toBe("fc.weight");
    expect(tensorName('["a"]["quote\\"d"]')).toBe('quote"d');
    expect(tensorName('["state"][3]')).toBe('["state"][3]');
  });
});
