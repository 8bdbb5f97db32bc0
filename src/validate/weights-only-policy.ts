/**
 * What `torch.load(weights_only=True)` accepts, per torch version, as data: the opcodes its
 * restricted unpickler implements and the `module.name` globals it allows. Sources:
 * - "current": `torch/_weights_only_unpickler.py` on pytorch/pytorch main (`_get_allowed_globals`,
 *   `_tensor_rebuild_functions`, `_blocklisted_modules`), the default since torch 2.6;
 * - "1.13": the same file in torch 1.13 (the first release with weights_only), whose allow-list
 *   was read from the installed torch (`_get_allowed_globals()` keys) and is spelled out below.
 * The two differ a lot: 1.13 has no BINFLOAT (a float anywhere is refused), no `torch.device`,
 * `_codecs.encode`, `_rebuild_tensor_v3`, `_rebuild_qtensor` or `_rebuild_from_type_v2`.
 */
import { DTYPES } from "../torch/index.js";

/** The torch versions whose weights_only unpickler is modelled. */
export type WeightsOnlyVersion = "current" | "1.13";

/** One torch version's weights_only unpickler, as data. */
export interface WeightsOnlyPolicy {
  readonly version: WeightsOnlyVersion;
  /** Opcode names the restricted unpickler implements. */
  readonly opcodes: ReadonlySet<string>;
  /** Allowed globals as "module.name" (after Python 2 name mapping, when `mapsPython2Names`). */
  readonly globals: ReadonlySet<string>;
  /** Modules refused even when allowlisted. */
  readonly blockedModules: ReadonlySet<string>;
  /** GLOBAL names go through CPython's _compat_pickle mapping first (torch >= 2.4). */
  readonly mapsPython2Names: boolean;
  /** NEWOBJ accepts any allowed class (current), or only torch.nn.Parameter (1.13). */
  readonly newobjAnyAllowed: boolean;
  /** SETITEM/SETITEMS check their target is a dict, OrderedDict or Counter (current). */
  readonly checksSetItemTarget: boolean;
  /** BUILD accepts instances of any allowed class (current), or only Tensor/Parameter/OrderedDict (1.13). */
  readonly buildAnyAllowed: boolean;
  /** An int persistent id passes the unpickler's own check (current); 1.13 refuses ints (a bug). */
  readonly intPersistentId: boolean;
  /** TorchScript archives: 1.13 hands them to torch.jit.load; newer torch refuses weights_only. */
  readonly torchscript: "jit-load" | "refuse";
}

/** Opcodes both versions implement. */
const BASE_OPCODES = [
  "PROTO", "STOP", "MARK", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "EMPTY_TUPLE", "EMPTY_LIST", "EMPTY_DICT",
  "EMPTY_SET", "APPEND", "APPENDS", "SETITEM", "SETITEMS", "BUILD", "GLOBAL", "NEWOBJ", "REDUCE", "BINPERSID",
  "BINGET", "LONG_BINGET", "BINPUT", "LONG_BINPUT", "NONE", "NEWTRUE", "NEWFALSE", "BININT", "BININT1", "BININT2",
  "LONG1", "BINUNICODE", "SHORT_BINSTRING",
];

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

const CURRENT_REBUILDS = [
  "_rebuild_parameter", "_rebuild_parameter_with_state", "_rebuild_qtensor", "_rebuild_tensor", "_rebuild_tensor_v2",
  "_rebuild_tensor_v3", "_rebuild_sparse_tensor", "_rebuild_meta_tensor_no_storage", "_rebuild_wrapper_subclass",
  "_rebuild_device_tensor_from_numpy", "_rebuild_device_tensor_from_cpu_tensor",
];

const CURRENT_GLOBALS: ReadonlySet<string> = new Set([
  "collections.OrderedDict", "collections.Counter", "torch.nn.parameter.Parameter", "torch.serialization._get_layout",
  "torch.Size", "torch.Tensor", "torch.device", "_codecs.encode", "builtins.bytearray", "builtins.set", "builtins.complex",
  // Every dtype: _dtype_to_storage_type_map, _new_dtypes, uint1..7, int1..7 (our dtype table has them all).
  ...DTYPES.map((d) => `torch.${d.name}`),
  ...tensorClasses(),
  ...storageClasses(),
  // torch >= 2.0 pickles the untyped storage class under the top-level name.
  "torch.UntypedStorage", "torch.TypedStorage",
  ...QSCHEMES.map((q) => `torch.${q}`),
  ...CURRENT_REBUILDS.map((f) => `torch._utils.${f}`),
  "torch._tensor._rebuild_from_type_v2",
]);

/** Read from torch 1.13's `_get_allowed_globals()` (Debian's torch 1.13.0a0 build). */
const V1_13_GLOBALS: ReadonlySet<string> = new Set([
  "collections.OrderedDict", "torch.nn.parameter.Parameter", "torch.serialization._get_layout", "torch.Size", "torch.Tensor",
  ...["complex32", "complex64", "complex128", "float16", "float32", "float64", "int8", "int16", "int32", "int64"].map((d) => `torch.${d}`),
  ...tensorClasses(),
  ...storageClasses(),
  ...["_rebuild_parameter", "_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_sparse_tensor", "_rebuild_meta_tensor_no_storage",
    "_rebuild_sparse_csr_tensor"].map((f) => `torch._utils.${f}`),
]);

/** The models, by version. */
export const WEIGHTS_ONLY_POLICIES: Readonly<Record<WeightsOnlyVersion, WeightsOnlyPolicy>> = {
  current: {
    version: "current",
    opcodes: new Set([...BASE_OPCODES, "BINFLOAT"]),
    globals: CURRENT_GLOBALS,
    blockedModules: new Set(["sys", "os", "posix", "nt"]),
    mapsPython2Names: true,
    newobjAnyAllowed: true,
    checksSetItemTarget: true,
    buildAnyAllowed: true,
    intPersistentId: true,
    torchscript: "refuse",
  },
  "1.13": {
    version: "1.13",
    opcodes: new Set(BASE_OPCODES),
    globals: V1_13_GLOBALS,
    blockedModules: new Set(),
    mapsPython2Names: false,
    newobjAnyAllowed: false,
    checksSetItemTarget: false,
    buildAnyAllowed: false,
    intPersistentId: false,
    torchscript: "jit-load",
  },
};

/** The allow-list of the current torch: what the validator classifies as "allowed". */
export const WEIGHTS_ONLY_ALLOWED: ReadonlySet<string> = CURRENT_GLOBALS;
