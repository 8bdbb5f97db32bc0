import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { countNonFinite, nonFiniteCounter } from "../../../src/validate/nonfinite.js";

const f32 = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);
const f64 = (values: number[]) => new Uint8Array(new Float64Array(values).buffer);
const u16 = (values: number[]) => new Uint8Array(new Uint16Array(values).buffer);

describe("countNonFinite", () => {
  it("counts float32 and float64 NaN and infinities", () => {
    const values = [1, NaN, Infinity, -Infinity, 0, -0, 3.0e38, NaN, 2, 3, 4, 5, 6, 7, 8, -Infinity, 9];
    expect(countNonFinite(f32(values), "float32")).toEqual({ nan: 2, posInf: 1, negInf: 2 });
    expect(countNonFinite(f64(values), "float64")).toEqual({ nan: 2, posInf: 1, negInf: 2 });
  });

  it("counts NaN payloads and negative NaNs as NaN", () => {
    const bits = new Uint32Array([0x7f800001, 0xffc00000, 0x7fffffff, 0x7f800000, 0xff800000, 0x3f800000]);
    expect(countNonFinite(new Uint8Array(bits.buffer), "float32")).toEqual({ nan: 3, posInf: 1, negInf: 1 });
  });

  it("counts float16 and bfloat16 by their bit patterns", () => {
    expect(countNonFinite(u16([0x7c00, 0xfc00, 0x7e00, 0x7c01, 0x3c00, 0x7bff]), "float16")).toEqual({ nan: 2, posInf: 1, negInf: 1 });
    expect(countNonFinite(u16([0x7f80, 0xff80, 0x7fc0, 0x3f80, 0x7f7f]), "bfloat16")).toEqual({ nan: 1, posInf: 1, negInf: 1 });
    expect(countNonFinite(u16([0x7c00, 0x3c00, 0x7e00]), "float16")).toEqual({ nan: 1, posInf: 1, negInf: 0 });
  });

  it("counts each part of complex values", () => {
    expect(countNonFinite(f32([1, NaN, Infinity, 2]), "complex64")).toEqual({ nan: 1, posInf: 1, negInf: 0 });
    expect(countNonFinite(f64([NaN, NaN]), "complex128")).toEqual({ nan: 2, posInf: 0, negInf: 0 });
  });

  it("knows each float8 format's encoding", () => {
    const b = new Uint8Array([0x7c, 0xfc, 0x7d, 0x7f, 0xff, 0x80, 0x00, 0x38]);
    expect(countNonFinite(b, "float8_e5m2")).toEqual({ nan: 3, posInf: 1, negInf: 1 });
    expect(countNonFinite(b, "float8_e4m3fn")).toEqual({ nan: 2, posInf: 0, negInf: 0 });
    expect(countNonFinite(b, "float8_e4m3fnuz")).toEqual({ nan: 1, posInf: 0, negInf: 0 });
    expect(countNonFinite(b, "float8_e8m0fnu")).toEqual({ nan: 1, posInf: 0, negInf: 0 });
  });

  it("reads big-endian and unaligned bytes", () => {
    const be = new Uint8Array([0x7f, 0x80, 0, 0, 0x3f, 0x80, 0, 0, 0xff, 0xc0, 0, 0]);
    expect(countNonFinite(be, "float32", false)).toEqual({ nan: 1, posInf: 1, negInf: 0 });
    const shifted = new Uint8Array(1 + 16);
    shifted.set(f32([NaN, 1, -Infinity, 2]), 1);
    expect(countNonFinite(shifted.subarray(1), "float32")).toEqual({ nan: 1, posInf: 0, negInf: 1 });
    expect(countNonFinite(u16([0x7c00]).slice().reverse(), "float16", false)).toEqual({ nan: 0, posInf: 1, negInf: 0 });
  });

  it("has no counter for dtypes that cannot hold NaN", () => {
    for (const d of ["int32", "uint8", "bool", "qint8", "float4_e2m1fn_x2"] as const) expect(nonFiniteCounter(d)).toBeUndefined();
  });

  it("matches a naive count for any float32 data, however it is chunked", () => {
    const value = fc.oneof(fc.float(), fc.constantFrom(NaN, Infinity, -Infinity));
    fc.assert(
      fc.property(fc.array(value, { maxLength: 200 }), fc.integer({ min: 1, max: 50 }), (values, chunk) => {
        const bytes = f32(values);
        const naive = { nan: values.filter((v) => Number.isNaN(v)).length, posInf: values.filter((v) => v === Infinity).length, negInf: values.filter((v) => v === -Infinity).length };
        expect(countNonFinite(bytes, "float32")).toEqual(naive);
        const counts = { nan: 0, posInf: 0, negInf: 0 };
        const counter = nonFiniteCounter("float32")!.counter;
        for (let i = 0; i < bytes.length; i += chunk * 4) counter(bytes.subarray(i, i + chunk * 4), counts, true);
        expect(counts).toEqual(naive);
      }),
      { numRuns: 200 },
    );
  });
});
