/**
 * The `module.name` globals each modelled torch's weights_only unpickler allows
 * (`torch/_weights_only_unpickler.py`, `_get_allowed_globals()`), as data:
 * - "1.13" and "2.6" were read from the installed torches (`_get_allowed_globals().keys()`); the
 *   generator `fixtures/gen_torch2.py` records both lists in `fixtures/torch2/weights-only-globals.json`
 *   and a unit test checks these sets equal them, so a drift is caught;
 * - "current" is the same function on pytorch/pytorch main: 2.6's list plus every later dtype
 *   (`uint1`..`uint7`, `int1`..`int7`, `float8_e8m0fnu`, `float4_e2m1fn_x2`), without
 *   `_rebuild_nested_tensor`. Storage classes are allowed under their `torch.storage` names only:
 *   torch 2.6 refuses `torch.UntypedStorage` (checked: fixtures/torch/v3-dtypes.pt).
 */
import { DTYPES } from "../torch/index.js";

const LEGACY_TYPES = ["Double", "Float", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool"];
const SPARSE_TYPES = ["Double", "Float", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte"];
const QUANTIZED_STORAGES = ["QInt8", "QInt32", "QUInt8", "QUInt4x2", "QUInt2x4"];
const COMPLEX_STORAGES = ["ComplexDouble", "ComplexFloat"];

/** `torch._tensor_classes`: the legacy tensor type objects, dense and sparse, CPU and CUDA. */
function tensorClasses(): string[] {
  return [
    ...LEGACY_TYPES.flatMap((t) => [`torch.${t}Tensor`, `torch.cuda.${t}Tensor`]),
    ...SPARSE_TYPES.flatMap((t) => [`torch.sparse.${t}Tensor`, `torch.cuda.sparse.${t}Tensor`]),
  ];
}

/** `torch._storage_classes`: CPU storages (all 17 legacy names), CUDA storages (no quantized), typed/untyped. */
function storageClasses(): string[] {
  return [
    ...[...LEGACY_TYPES, ...COMPLEX_STORAGES, ...QUANTIZED_STORAGES].map((t) => `torch.${t}Storage`),
    ...[...LEGACY_TYPES, ...COMPLEX_STORAGES].map((t) => `torch.cuda.${t}Storage`),
    "torch.storage.TypedStorage", "torch.storage.UntypedStorage",
  ];
}

const QSCHEMES = ["per_tensor_affine", "per_tensor_symmetric", "per_channel_affine", "per_channel_symmetric", "per_channel_affine_float_qparams"];

/** Rebuild functions of torch 2.6 (`_tensor_rebuild_functions()`). */
const V2_6_REBUILDS = [
  "_rebuild_parameter", "_rebuild_parameter_with_state", "_rebuild_qtensor", "_rebuild_tensor", "_rebuild_tensor_v2",
  "_rebuild_tensor_v3", "_rebuild_sparse_tensor", "_rebuild_meta_tensor_no_storage", "_rebuild_nested_tensor",
  "_rebuild_wrapper_subclass", "_rebuild_device_tensor_from_numpy", "_rebuild_device_tensor_from_cpu_tensor",
];
const CURRENT_REBUILDS = V2_6_REBUILDS.filter((f) => f !== "_rebuild_nested_tensor");

/** The dtypes torch 2.6 names in `_dtype_to_storage_type_map()` and `_new_dtypes()`. */
const V2_6_DTYPES = [
  "bfloat16", "bits16", "bits1x8", "bits2x4", "bits4x2", "bits8", "bool", "complex128", "complex32", "complex64", "float16",
  "float32", "float64", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz", "int16", "int32", "int64", "int8",
  "qint32", "qint8", "quint2x4", "quint4x2", "quint8", "uint16", "uint32", "uint64", "uint8",
];

const COMMON_2X = [
  "collections.OrderedDict", "collections.Counter", "torch.nn.parameter.Parameter", "torch.serialization._get_layout",
  "torch.Size", "torch.Tensor", "torch.device", "_codecs.encode", "builtins.bytearray", "builtins.set", "builtins.complex",
  ...tensorClasses(), ...storageClasses(), ...QSCHEMES.map((q) => `torch.${q}`), "torch._tensor._rebuild_from_type_v2",
];

/** torch 2.6's `_get_allowed_globals()` keys (128). */
export const V2_6_GLOBALS: ReadonlySet<string> = new Set([
  ...COMMON_2X, ...V2_6_DTYPES.map((d) => `torch.${d}`), ...V2_6_REBUILDS.map((f) => `torch._utils.${f}`),
]);

/** pytorch main's `_get_allowed_globals()` keys, as modelled. */
export const CURRENT_GLOBALS: ReadonlySet<string> = new Set([
  ...COMMON_2X,
  // Every dtype: _dtype_to_storage_type_map, _new_dtypes, uint1..7, int1..7 (our dtype table has them all).
  ...DTYPES.map((d) => `torch.${d.name}`),
  ...CURRENT_REBUILDS.map((f) => `torch._utils.${f}`),
]);

/** torch 1.13's `_get_allowed_globals()` keys (90; Debian's torch 1.13.0a0 build). */
export const V1_13_GLOBALS: ReadonlySet<string> = new Set([
  "collections.OrderedDict", "torch.nn.parameter.Parameter", "torch.serialization._get_layout", "torch.Size", "torch.Tensor",
  ...["complex32", "complex64", "complex128", "float16", "float32", "float64", "int8", "int16", "int32", "int64"].map((d) => `torch.${d}`),
  ...tensorClasses(),
  ...storageClasses(),
  ...["_rebuild_parameter", "_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_sparse_tensor", "_rebuild_meta_tensor_no_storage",
    "_rebuild_sparse_csr_tensor"].map((f) => `torch._utils.${f}`),
]);
