import { describe, expect, it } from "vitest";
import { DTYPES, dtypeByName, dtypeByNumpy, dtypeBySafetensors, dtypeByStorageClass, type DTypeName } from "../../../src/torch/dtypes.js";

// torch/storage.py `_dtype_to_storage_type_map` (frozen: "should no longer add dtypes").
const STORAGE_MAP: Record<string, DTypeName> = {
  DoubleStorage: "float64", FloatStorage: "float32", HalfStorage: "float16", LongStorage: "int64",
  IntStorage: "int32", ShortStorage: "int16", CharStorage: "int8", ByteStorage: "uint8",
  BoolStorage: "bool", BFloat16Storage: "bfloat16", ComplexDoubleStorage: "complex128",
  ComplexFloatStorage: "complex64", QInt8Storage: "qint8", QInt32Storage: "qint32",
  QUInt8Storage: "quint8", QUInt4x2Storage: "quint4x2", QUInt2x4Storage: "quint2x4",
};

// torch/storage.py `_new_dtypes()` (serialized as UntypedStorage + dtype via _rebuild_tensor_v3).
const NEW_DTYPES: DTypeName[] = [
  "float8_e5m2", "float8_e4m3fn", "float8_e5m2fnuz", "float8_e4m3fnuz", "float8_e8m0fnu", "float4_e2m1fn_x2",
  "bits8", "bits16", "bits1x8", "bits2x4", "bits4x2", "complex32", "uint16", "uint32", "uint64",
];

// Every torch.dtype attribute of torch 1.13 with its element_size(), read with dir(torch).
const TORCH_113: [string[], number][] = [
  [["bfloat16"], 2], [["bool"], 1], [["cdouble", "complex128"], 16], [["cfloat", "complex64"], 8],
  [["chalf", "complex32"], 4], [["double", "float64"], 8], [["float", "float32"], 4], [["float16", "half"], 2],
  [["int", "int32"], 4], [["int16", "short"], 2], [["int64", "long"], 8], [["int8"], 1], [["qint32"], 4],
  [["qint8"], 1], [["quint2x4"], 1], [["quint4x2"], 1], [["quint8"], 1], [["uint8"], 1],
];

// The safetensors `Dtype` enum, with the torch dtype its Python binding maps it to.
const SAFETENSORS: Record<string, DTypeName> = {
  BOOL: "bool", U8: "uint8", I8: "int8", I16: "int16", U16: "uint16", F16: "float16", BF16: "bfloat16",
  I32: "int32", U32: "uint32", F32: "float32", F64: "float64", I64: "int64", U64: "uint64", C64: "complex64",
  F8_E5M2: "float8_e5m2", F8_E4M3: "float8_e4m3fn", F8_E8M0: "float8_e8m0fnu",
  F8_E4M3FNUZ: "float8_e4m3fnuz", F8_E5M2FNUZ: "float8_e5m2fnuz", F4: "float4_e2m1fn_x2",
};

const BYTES_PER_ELEMENT: Record<string, number> = {
  Float64Array: 8, Float32Array: 4, Int8Array: 1, Int16Array: 2, Int32Array: 4, BigInt64Array: 8,
  Uint8Array: 1, Uint16Array: 2, Uint32Array: 4, BigUint64Array: 8,
};

describe("DTYPES table", () => {
  it("has unique names, aliases, storage classes, safetensors codes and numpy descrs", () => {
    for (const key of ["name", "storageClass", "safetensors", "numpy"] as const) {
      const values = DTYPES.map((d) => d[key]).filter((v) => v !== undefined);
      expect(new Set(values).size, key).toBe(values.length);
    }
    const all = DTYPES.flatMap((d) => [d.name, ...(d.aliases ?? [])]);
    expect(new Set(all).size).toBe(all.length);
  });

  it("names all 46 dtypes, including the sub-byte int1..7 and uint1..7", () => {
    expect(DTYPES).toHaveLength(46);
    for (let bits = 1; bits <= 7; bits++) {
      expect(dtypeByName(`int${bits}`)).toMatchObject({ itemSize: 1, kind: "int" });
      expect(dtypeByName(`uint${bits}`)).toMatchObject({ itemSize: 1, kind: "uint" });
    }
  });

  it("maps exactly torch's 17 legacy storage classes", () => {
    const classes = Object.fromEntries(DTYPES.filter((d) => d.storageClass !== undefined).map((d) => [d.storageClass, d.name]));
    expect(classes).toEqual(STORAGE_MAP);
    for (const name of NEW_DTYPES) expect(dtypeByName(name)?.storageClass, name).toBeUndefined();
  });

  it("agrees with torch 1.13's dtype attributes and element sizes", () => {
    for (const [names, size] of TORCH_113) {
      const infos = names.map((n) => dtypeByName(n));
      expect(new Set(infos).size, names.join()).toBe(1);
      expect(infos[0]?.itemSize, names.join()).toBe(size);
    }
  });

  it("maps exactly the safetensors dtype codes", () => {
    const codes = Object.fromEntries(DTYPES.filter((d) => d.safetensors !== undefined).map((d) => [d.safetensors, d.name]));
    expect(codes).toEqual(SAFETENSORS);
    for (const missing of ["complex128", "complex32", "qint8", "quint8"]) expect(dtypeByName(missing)?.safetensors).toBeUndefined();
  });

  it("keeps typed arrays consistent with item sizes (complex: two scalars per element)", () => {
    for (const d of DTYPES) {
      if (d.typedArray === undefined) continue;
      const per = d.kind === "complex" ? 2 : 1;
      expect(BYTES_PER_ELEMENT[d.typedArray]! * per, d.name).toBe(d.itemSize);
    }
    expect(dtypeByName("float16")?.typedArray).toBeUndefined();
    expect(dtypeByName("bfloat16")?.typedArray).toBeUndefined();
  });

  it("swaps complex halves separately and packs sub-byte quantized values", () => {
    expect(dtypeByName("complex64")?.scalarSize).toBe(4);
    expect(dtypeByName("complex128")?.scalarSize).toBe(8);
    expect(dtypeByName("complex32")?.scalarSize).toBe(2);
    expect(dtypeByName("int64")?.scalarSize).toBe(8);
    // torch 1.13: quantize_per_tensor(rand(4), ..., quint4x2) has storage nbytes 2; quint2x4 of 8 has 2.
    expect(dtypeByName("quint4x2")).toMatchObject({ itemSize: 1, packing: 2, underlying: "uint8" });
    expect(dtypeByName("quint2x4")).toMatchObject({ itemSize: 1, packing: 4, underlying: "uint8" });
    expect(dtypeByName("qint8")).toMatchObject({ underlying: "int8", typedArray: "Int8Array" });
    expect(dtypeByName("qint32")).toMatchObject({ underlying: "int32", itemSize: 4 });
  });
});

describe("lookups", () => {
  it("dtypeByName accepts aliases and a torch. prefix", () => {
    expect(dtypeByName("float")?.name).toBe("float32");
    expect(dtypeByName("torch.long")?.name).toBe("int64");
    expect(dtypeByName("torch.float8_e4m3fn")?.name).toBe("float8_e4m3fn");
    expect(dtypeByName("cdouble")?.name).toBe("complex128");
    expect(dtypeByName("float128")).toBeUndefined();
    expect(dtypeByName("__proto__")).toBeUndefined();
    expect(dtypeByName("constructor")).toBeUndefined();
  });

  it("dtypeByStorageClass takes the last dotted component", () => {
    expect(dtypeByStorageClass("FloatStorage")?.name).toBe("float32");
    expect(dtypeByStorageClass("torch.cuda.HalfStorage")?.name).toBe("float16");
    expect(dtypeByStorageClass("torch.QUInt4x2Storage")?.name).toBe("quint4x2");
    expect(dtypeByStorageClass("UntypedStorage")).toBeUndefined();
    expect(dtypeByStorageClass("torch.FooStorage")).toBeUndefined();
  });

  it("dtypeBySafetensors is exact and case-sensitive", () => {
    expect(dtypeBySafetensors("BF16")?.name).toBe("bfloat16");
    expect(dtypeBySafetensors("bf16")).toBeUndefined();
    expect(dtypeBySafetensors("F6_E2M3")).toBeUndefined();
  });

  it("dtypeByNumpy reads the byte order", () => {
    expect(dtypeByNumpy("<f4")).toEqual({ dtype: dtypeByName("float32"), littleEndian: true });
    expect(dtypeByNumpy(">i8")).toEqual({ dtype: dtypeByName("int64"), littleEndian: false });
    expect(dtypeByNumpy("=f2")).toEqual({ dtype: dtypeByName("float16"), littleEndian: true });
    expect(dtypeByNumpy("|b1")).toEqual({ dtype: dtypeByName("bool"), littleEndian: true });
    expect(dtypeByNumpy(">u1")).toEqual({ dtype: dtypeByName("uint8"), littleEndian: true });
    expect(dtypeByNumpy("c16")).toEqual({ dtype: dtypeByName("complex128"), littleEndian: true });
    expect(dtypeByNumpy(">c8")?.littleEndian).toBe(false);
    for (const bad of ["|O", "<U10", "<M8[ns]", "", ">", "f3", "<V8"]) expect(dtypeByNumpy(bad), bad).toBeUndefined();
  });
});
