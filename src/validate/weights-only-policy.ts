/**
 * What `torch.load(weights_only=True)` accepts, per torch target, as data: the opcodes its
 * restricted unpickler implements, the `module.name` globals it allows (`weights-only-globals.ts`)
 * and how it treats each operation and file format. Targets (`--torch`):
 * - "1.13": torch 1.13, the first release with weights_only (read from the installed torch and
 *   checked against it: `fixtures/torch2/verdicts-1.13.json`);
 * - "2.6": torch 2.6, the first release where weights_only=True is the default (read from the
 *   installed torch and checked against it: `fixtures/torch2/verdicts-2.6.json`);
 * - "current": the newest rules modelled, `torch/_weights_only_unpickler.py` on pytorch/pytorch
 *   main. It differs from 2.6 only where upstream changed: SETITEM(S) must target a dict,
 *   OrderedDict or Counter; an int persistent id passes the unpickler (2.6 refuses it by a bug);
 *   the sub-byte dtypes are allowed; `_rebuild_nested_tensor` is not. It is the default target.
 * 1.13 and later differ a lot: 1.13 has no BINFLOAT (a float anywhere is refused), no `torch.device`,
 * `_codecs.encode`, `_rebuild_tensor_v3`, `_rebuild_qtensor` or `_rebuild_from_type_v2`.
 */
import { python3Name } from "./compat-names.js";
import { CURRENT_GLOBALS, V1_13_GLOBALS, V2_6_GLOBALS } from "./weights-only-globals.js";

/** A torch release whose weights_only unpickler is modelled (`--torch`). */
export type TorchTarget = "1.13" | "2.6" | "current";
/** The former name of {@link TorchTarget}. */
export type WeightsOnlyVersion = TorchTarget;

/** Every target, oldest first. */
export const TORCH_TARGETS: readonly TorchTarget[] = ["1.13", "2.6", "current"];
/** The target used when none is named: the newest rules modelled. */
export const DEFAULT_TORCH_TARGET: TorchTarget = "current";

/** One torch version's weights_only unpickler, as data. */
export interface WeightsOnlyPolicy {
  readonly version: TorchTarget;
  /** Opcode names the restricted unpickler implements. */
  readonly opcodes: ReadonlySet<string>;
  /** Allowed globals as "module.name" (after Python 2 name mapping, when `mapsPython2Names`). */
  readonly globals: ReadonlySet<string>;
  /** Modules refused even when allowlisted. */
  readonly blockedModules: ReadonlySet<string>;
  /** GLOBAL names go through CPython's _compat_pickle mapping first (torch >= 2.4). */
  readonly mapsPython2Names: boolean;
  /** NEWOBJ accepts any allowed class (2.x), or only torch.nn.Parameter (1.13). */
  readonly newobjAnyAllowed: boolean;
  /** SETITEM/SETITEMS check their target is a dict, OrderedDict or Counter (current). */
  readonly checksSetItemTarget: boolean;
  /** BUILD accepts instances of any allowed class (2.x), or only Tensor/Parameter/OrderedDict (1.13). */
  readonly buildAnyAllowed: boolean;
  /** An int persistent id passes the unpickler's own check (current); 1.13 and 2.6 refuse ints (a bug). */
  readonly intPersistentId: boolean;
  /** TorchScript archives: 1.13 hands them to torch.jit.load; newer torch refuses weights_only. */
  readonly torchscript: "jit-load" | "refuse";
  /** torch <= 0.1.9 tar files: 1.13 unpickles them restrictedly; 2.x refuses weights_only outright. */
  readonly tar: "unpickle" | "refuse";
  /** The dtypes a tensor may have for this torch to rebuild it (`undefined`: every dtype torchsave knows). */
  readonly dtypes: ReadonlySet<string> | undefined;
  /** `_rebuild_sparse_tensor` takes only COO's (indices, values, size) (1.13); 2.x also takes its 4-part forms. */
  readonly sparseCooOnly: boolean;
  /** The rebuild functions this torch has at all (weights_only or not), as "module.name". */
  readonly rebuilds: ReadonlySet<string>;
}

/** Opcodes every version implements. */
const BASE_OPCODES = [
  "PROTO", "STOP", "MARK", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "EMPTY_TUPLE", "EMPTY_LIST", "EMPTY_DICT",
  "EMPTY_SET", "APPEND", "APPENDS", "SETITEM", "SETITEMS", "BUILD", "GLOBAL", "NEWOBJ", "REDUCE", "BINPERSID",
  "BINGET", "LONG_BINGET", "BINPUT", "LONG_BINPUT", "NONE", "NEWTRUE", "NEWFALSE", "BININT", "BININT1", "BININT2",
  "LONG1", "BINUNICODE", "SHORT_BINSTRING",
];

const BLOCKED_2X = new Set(["sys", "os", "posix", "nt"]);

/** Tensor dtypes torch 1.13 has (no uint16-64, no float8, no bits types). */
const V1_13_DTYPES = new Set([
  "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64", "complex32", "complex64", "complex128", "bool",
  "qint8", "quint8", "qint32", "bfloat16", "quint4x2", "quint2x4",
]);
/** torch 2.6 adds the bits types, float8 and uint16-64 (float8_e8m0fnu and float4 came later). */
const V2_6_DTYPES = new Set([
  ...V1_13_DTYPES, "bits1x8", "bits2x4", "bits4x2", "bits8", "bits16", "float8_e5m2", "float8_e4m3fn", "float8_e5m2fnuz",
  "float8_e4m3fnuz", "uint16", "uint32", "uint64",
]);

const rebuilds = (names: string[]): ReadonlySet<string> => new Set(names.map((n) => `torch._utils.${n}`));
const V1_13_REBUILDS = rebuilds([
  "_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_parameter", "_rebuild_qtensor", "_rebuild_sparse_tensor",
  "_rebuild_sparse_csr_tensor", "_rebuild_meta_tensor_no_storage", "_rebuild_device_tensor_from_numpy", "_rebuild_wrapper_subclass",
  "_rebuild_xla_tensor",
]);
/** torch 2.x folded `_rebuild_sparse_csr_tensor` into `_rebuild_sparse_tensor` (and dropped the name), and added v3. */
const V2_REBUILDS = rebuilds([
  "_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter", "_rebuild_parameter_with_state",
  "_rebuild_qtensor", "_rebuild_sparse_tensor", "_rebuild_meta_tensor_no_storage", "_rebuild_device_tensor_from_numpy",
  "_rebuild_device_tensor_from_cpu_tensor", "_rebuild_wrapper_subclass", "_rebuild_nested_tensor", "_rebuild_xla_tensor",
]);

/** The models, by target. */
export const WEIGHTS_ONLY_POLICIES: Readonly<Record<TorchTarget, WeightsOnlyPolicy>> = {
  current: {
    version: "current",
    opcodes: new Set([...BASE_OPCODES, "BINFLOAT"]),
    globals: CURRENT_GLOBALS,
    blockedModules: BLOCKED_2X,
    mapsPython2Names: true,
    newobjAnyAllowed: true,
    checksSetItemTarget: true,
    buildAnyAllowed: true,
    intPersistentId: true,
    torchscript: "refuse",
    tar: "refuse",
    dtypes: undefined,
    rebuilds: V2_REBUILDS,
    sparseCooOnly: false,
  },
  "2.6": {
    version: "2.6",
    opcodes: new Set([...BASE_OPCODES, "BINFLOAT"]),
    globals: V2_6_GLOBALS,
    blockedModules: BLOCKED_2X,
    mapsPython2Names: true,
    newobjAnyAllowed: true,
    checksSetItemTarget: false,
    buildAnyAllowed: true,
    intPersistentId: false,
    torchscript: "refuse",
    tar: "refuse",
    dtypes: V2_6_DTYPES,
    rebuilds: V2_REBUILDS,
    sparseCooOnly: false,
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
    tar: "unpickle",
    dtypes: V1_13_DTYPES,
    rebuilds: V1_13_REBUILDS,
    sparseCooOnly: true,
  },
};

/**
 * What the security classification calls "allowed": the current torch's allow-list plus the
 * top-level names `torch.UntypedStorage`/`torch.TypedStorage`, the very classes torch allows as
 * `torch.storage.*` (harmless; but weights_only refuses them under these names, so they are not in
 * any {@link WeightsOnlyPolicy}).
 */
export const WEIGHTS_ONLY_ALLOWED: ReadonlySet<string> = new Set([...CURRENT_GLOBALS, "torch.UntypedStorage", "torch.TypedStorage"]);

/** Is this string a {@link TorchTarget}? */
export function isTorchTarget(s: string): s is TorchTarget {
  return (TORCH_TARGETS as readonly string[]).includes(s);
}

/**
 * Does `torch.load(weights_only=True)` of this target accept GLOBAL `module name` (as written in
 * the pickle: Python 2 names are mapped first where the target does)? Blocked modules never are.
 */
export function weightsOnlyAllows(module: string, name: string, target: TorchTarget = DEFAULT_TORCH_TARGET): boolean {
  const policy = WEIGHTS_ONLY_POLICIES[target];
  const { module: m, name: n } = policy.mapsPython2Names ? python3Name(module, name) : { module, name };
  return !policy.blockedModules.has(m) && policy.globals.has(`${m}.${n}`);
}

/** Can this target's torch hold a tensor of this dtype at all (load or not)? */
export function torchHasDtype(dtype: string, target: TorchTarget): boolean {
  const d = WEIGHTS_ONLY_POLICIES[target].dtypes;
  return d === undefined || d.has(dtype);
}

/**
 * The policy with `torch.serialization.add_safe_globals` applied: `keys` ("module.name") join the
 * allow-list for GLOBAL, REDUCE, NEWOBJ and BUILD. torch 1.13 has no such function, so its policy
 * is returned unchanged; blocked modules stay blocked (torch checks them first).
 */
export function withSafeGlobals(policy: WeightsOnlyPolicy, keys: readonly string[]): WeightsOnlyPolicy {
  if (keys.length === 0 || policy.version === "1.13") return policy;
  return { ...policy, globals: new Set([...policy.globals, ...keys]) };
}
