/**
 * THE dtype table: one row per torch dtype, with its storage class, safetensors code, numpy descr
 * and typed array. Readers, writers and converters look dtypes up here; adding a dtype is adding
 * a row. Names and codes follow `torch/storage.py` (`_dtype_to_storage_type_map`, `_new_dtypes`),
 * `torch/_weights_only_unpickler.py` and the safetensors `Dtype` enum.
 */

/** A torch dtype by its canonical attribute name (`torch.float32` → "float32"). */
export type DTypeName =
  | "float64" | "float32" | "float16" | "bfloat16" | "complex32" | "complex64" | "complex128"
  | "int8" | "int16" | "int32" | "int64" | "uint8" | "uint16" | "uint32" | "uint64" | "bool"
  | "qint8" | "quint8" | "qint32" | "quint4x2" | "quint2x4"
  | "float8_e4m3fn" | "float8_e5m2" | "float8_e4m3fnuz" | "float8_e5m2fnuz" | "float8_e8m0fnu" | "float4_e2m1fn_x2"
  | "bits8" | "bits16" | "bits1x8" | "bits2x4" | "bits4x2"
  | "int1" | "int2" | "int3" | "int4" | "int5" | "int6" | "int7"
  | "uint1" | "uint2" | "uint3" | "uint4" | "uint5" | "uint6" | "uint7";

/** A JavaScript typed array that holds a dtype's values exactly. */
export type TypedArrayName =
  | "Float64Array" | "Float32Array" | "Int8Array" | "Int16Array" | "Int32Array" | "BigInt64Array"
  | "Uint8Array" | "Uint16Array" | "Uint32Array" | "BigUint64Array";

export interface DTypeInfo {
  readonly name: DTypeName;
  /**
   * Bytes per torch element as stored: a storage of `n` elements holds `n * itemSize` bytes.
   * Exception: quint4x2 and quint2x4 pack 2 and 4 elements into each byte (`packing`); their
   * itemSize is the byte (torch's `element_size()` is 1).
   */
  readonly itemSize: number;
  /** Width of one scalar for byte swapping: itemSize, except complex (each half swaps alone) and bool/bits. */
  readonly scalarSize: number;
  readonly kind: "float" | "complex" | "int" | "uint" | "bool" | "quantized" | "bits";
  /** Logical values per stored byte for sub-byte dtypes (quint4x2: 2, quint2x4: 4, float4_e2m1fn_x2: 2). */
  readonly packing?: number;
  /** Legacy typed storage class (the 17 of `_dtype_to_storage_type_map`), e.g. "FloatStorage". */
  readonly storageClass?: string;
  /**
   * The safetensors dtype code, undefined if none. "F4" counts 4-bit values while torch's
   * float4_e2m1fn_x2 counts bytes of two, so shapes differ by 2 in the last dimension.
   */
  readonly safetensors?: string;
  /** numpy descr without byte order, e.g. "f4", "c8", "b1", "u2". */
  readonly numpy?: string;
  /**
   * The typed array that holds the values exactly, when one does. Complex dtypes use their float
   * array with real and imaginary parts interleaved; quantized dtypes give their integer
   * representation (apply scale and zero point yourself). Float16, bfloat16 and the float8 family
   * have none: decode them with `float-convert.ts`.
   */
  readonly typedArray?: TypedArrayName;
  /** Quantized → its integer representation dtype (qint8 → int8, quint8 → uint8, qint32 → int32, quint4x2/quint2x4 → uint8). */
  readonly underlying?: DTypeName;
  /** Other torch attribute names for the same dtype ("float", "double", "half", "long", ...). */
  readonly aliases?: readonly string[];
}

type Row = Omit<DTypeInfo, "scalarSize"> & { readonly scalarSize?: number };

const row = (r: Row): DTypeInfo => ({ ...r, scalarSize: r.scalarSize ?? r.itemSize });

const subByteInts = (kind: "int" | "uint"): DTypeInfo[] =>
  [1, 2, 3, 4, 5, 6, 7].map((bits) => row({ name: `${kind}${bits}` as DTypeName, itemSize: 1, kind }));

/** Every dtype torch can name, in torch's ScalarType order where one exists. */
export const DTYPES: readonly DTypeInfo[] = [
  row({ name: "uint8", itemSize: 1, kind: "uint", storageClass: "ByteStorage", safetensors: "U8", numpy: "u1", typedArray: "Uint8Array" }),
  row({ name: "int8", itemSize: 1, kind: "int", storageClass: "CharStorage", safetensors: "I8", numpy: "i1", typedArray: "Int8Array" }),
  row({ name: "int16", itemSize: 2, kind: "int", storageClass: "ShortStorage", safetensors: "I16", numpy: "i2", typedArray: "Int16Array", aliases: ["short"] }),
  row({ name: "int32", itemSize: 4, kind: "int", storageClass: "IntStorage", safetensors: "I32", numpy: "i4", typedArray: "Int32Array", aliases: ["int"] }),
  row({ name: "int64", itemSize: 8, kind: "int", storageClass: "LongStorage", safetensors: "I64", numpy: "i8", typedArray: "BigInt64Array", aliases: ["long"] }),
  row({ name: "float16", itemSize: 2, kind: "float", storageClass: "HalfStorage", safetensors: "F16", numpy: "f2", aliases: ["half"] }),
  row({ name: "float32", itemSize: 4, kind: "float", storageClass: "FloatStorage", safetensors: "F32", numpy: "f4", typedArray: "Float32Array", aliases: ["float"] }),
  row({ name: "float64", itemSize: 8, kind: "float", storageClass: "DoubleStorage", safetensors: "F64", numpy: "f8", typedArray: "Float64Array", aliases: ["double"] }),
  row({ name: "complex32", itemSize: 4, scalarSize: 2, kind: "complex", aliases: ["chalf"] }),
  row({ name: "complex64", itemSize: 8, scalarSize: 4, kind: "complex", storageClass: "ComplexFloatStorage", safetensors: "C64", numpy: "c8", typedArray: "Float32Array", aliases: ["cfloat"] }),
  row({ name: "complex128", itemSize: 16, scalarSize: 8, kind: "complex", storageClass: "ComplexDoubleStorage", numpy: "c16", typedArray: "Float64Array", aliases: ["cdouble"] }),
  row({ name: "bool", itemSize: 1, kind: "bool", storageClass: "BoolStorage", safetensors: "BOOL", numpy: "b1", typedArray: "Uint8Array" }),
  row({ name: "qint8", itemSize: 1, kind: "quantized", storageClass: "QInt8Storage", typedArray: "Int8Array", underlying: "int8" }),
  row({ name: "quint8", itemSize: 1, kind: "quantized", storageClass: "QUInt8Storage", typedArray: "Uint8Array", underlying: "uint8" }),
  row({ name: "qint32", itemSize: 4, kind: "quantized", storageClass: "QInt32Storage", typedArray: "Int32Array", underlying: "int32" }),
  row({ name: "bfloat16", itemSize: 2, kind: "float", storageClass: "BFloat16Storage", safetensors: "BF16" }),
  row({ name: "quint4x2", itemSize: 1, kind: "quantized", packing: 2, storageClass: "QUInt4x2Storage", underlying: "uint8" }),
  row({ name: "quint2x4", itemSize: 1, kind: "quantized", packing: 4, storageClass: "QUInt2x4Storage", underlying: "uint8" }),
  row({ name: "bits1x8", itemSize: 1, kind: "bits" }),
  row({ name: "bits2x4", itemSize: 1, kind: "bits" }),
  row({ name: "bits4x2", itemSize: 1, kind: "bits" }),
  row({ name: "bits8", itemSize: 1, kind: "bits" }),
  row({ name: "bits16", itemSize: 2, kind: "bits" }),
  row({ name: "float8_e5m2", itemSize: 1, kind: "float", safetensors: "F8_E5M2" }),
  row({ name: "float8_e4m3fn", itemSize: 1, kind: "float", safetensors: "F8_E4M3" }),
  row({ name: "float8_e5m2fnuz", itemSize: 1, kind: "float", safetensors: "F8_E5M2FNUZ" }),
  row({ name: "float8_e4m3fnuz", itemSize: 1, kind: "float", safetensors: "F8_E4M3FNUZ" }),
  row({ name: "uint16", itemSize: 2, kind: "uint", safetensors: "U16", numpy: "u2", typedArray: "Uint16Array" }),
  row({ name: "uint32", itemSize: 4, kind: "uint", safetensors: "U32", numpy: "u4", typedArray: "Uint32Array" }),
  row({ name: "uint64", itemSize: 8, kind: "uint", safetensors: "U64", numpy: "u8", typedArray: "BigUint64Array" }),
  ...subByteInts("uint"),
  ...subByteInts("int"),
  row({ name: "float8_e8m0fnu", itemSize: 1, kind: "float", safetensors: "F8_E8M0" }),
  row({ name: "float4_e2m1fn_x2", itemSize: 1, kind: "float", packing: 2, safetensors: "F4" }),
];

// Lookup maps are built once from the table and never change.
const BY_NAME: ReadonlyMap<string, DTypeInfo> = new Map(
  DTYPES.flatMap((d) => [[d.name, d] as const, ...(d.aliases ?? []).map((a) => [a, d] as const)]),
);
const BY_STORAGE: ReadonlyMap<string, DTypeInfo> = new Map(
  DTYPES.flatMap((d) => (d.storageClass === undefined ? [] : [[d.storageClass, d] as const])),
);
const BY_SAFETENSORS: ReadonlyMap<string, DTypeInfo> = new Map(
  DTYPES.flatMap((d) => (d.safetensors === undefined ? [] : [[d.safetensors, d] as const])),
);
const BY_NUMPY: ReadonlyMap<string, DTypeInfo> = new Map(
  DTYPES.flatMap((d) => (d.numpy === undefined || d.kind === "quantized" ? [] : [[d.numpy, d] as const])),
);

/**
 * A dtype by torch attribute name or alias: "float32", "float", "torch.float32", "torch.long".
 * Returns undefined for names torch does not have.
 */
export function dtypeByName(name: string): DTypeInfo | undefined {
  return BY_NAME.get(name.startsWith("torch.") ? name.slice(6) : name);
}

/**
 * A dtype by legacy storage class name. Accepts the bare class ("FloatStorage") or a dotted path
 * ("torch.FloatStorage", "torch.cuda.FloatStorage"); only the last component is used.
 * "UntypedStorage" and unknown names return undefined.
 */
export function dtypeByStorageClass(cls: string): DTypeInfo | undefined {
  return BY_STORAGE.get(cls.slice(cls.lastIndexOf(".") + 1));
}

/** A dtype by safetensors code ("F32", "BF16", "F8_E4M3", "C64", ...); undefined if torch has none. */
export function dtypeBySafetensors(code: string): DTypeInfo | undefined {
  return BY_SAFETENSORS.get(code);
}

/**
 * A dtype by numpy descr with its byte order: "<f4", ">i8", "|b1", "=f2", or no prefix. "=" and
 * no prefix mean native order, taken as little-endian (every host torchsave targets). Single-byte
 * types are little-endian whatever the prefix. Returns undefined for descrs torch cannot hold
 * ("O", "U10", "M8[ns]", ...).
 */
export function dtypeByNumpy(descr: string): { dtype: DTypeInfo; littleEndian: boolean } | undefined {
  const order = descr[0];
  const hasOrder = order === "<" || order === ">" || order === "|" || order === "=";
  const dtype = BY_NUMPY.get(hasOrder ? descr.slice(1) : descr);
  if (dtype === undefined) return undefined;
  return { dtype, littleEndian: order !== ">" || dtype.scalarSize === 1 };
}
