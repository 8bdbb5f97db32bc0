/**
 * What `torch.load(..., weights_only=True)` accepts, as of current PyTorch
 * (`torch/_weights_only_unpickler.py`): an allow-list of globals, REDUCE/NEWOBJ only on those,
 * BUILD only on tensors, Parameters, OrderedDicts and allow-listed types, APPEND only on lists,
 * SETITEM only on dict/OrderedDict/Counter, persistent ids only for storages. The opcode subset
 * itself is the pickle encoder's business (`weightsOnly` in `encodePickle`); this checks the value
 * graph before anything is written, so the error can name the key path that breaks the rules.
 */
import type { KeyPath } from "../../errors.js";
import { PickleEncodeError } from "../../errors.js";
import type { PyDict, PyGlobal, PyObject, PyPersistentId, PyTuple } from "../../pickle/value.js";
import { pyKind } from "../../pickle/value.js";
import { DTYPES } from "../dtypes.js";
import type { TorchHost, TorchValue } from "../model.js";
import { isNdArray, isStorage, isTensor } from "../model.js";
import { visitGraph } from "../visit.js";

const LEGACY_TYPES = ["Double", "Float", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool"];
const STORAGE_ONLY = ["ComplexDouble", "ComplexFloat", "QInt8", "QUInt8", "QInt32", "QUInt4x2", "QUInt2x4"];

/** The globals torch's weights-only unpickler resolves, as `module.name` (Python 3 spelling). */
export const WEIGHTS_ONLY_GLOBALS: ReadonlySet<string> = new Set([
  "collections.OrderedDict",
  "collections.Counter",
  "torch.nn.parameter.Parameter",
  "torch.serialization._get_layout",
  "torch.Size",
  "torch.Tensor",
  "torch.device",
  "_codecs.encode",
  "builtins.bytearray",
  "builtins.set",
  "builtins.complex",
  "torch._tensor._rebuild_from_type_v2",
  ...DTYPES.map((d) => `torch.${d.name}`),
  ...LEGACY_TYPES.flatMap((t) => [`torch.${t}Tensor`, `torch.cuda.${t}Tensor`]),
  ...LEGACY_TYPES.filter((t) => t !== "Bool").flatMap((t) => [`torch.sparse.${t}Tensor`, `torch.cuda.sparse.${t}Tensor`]),
  ...[...LEGACY_TYPES, ...STORAGE_ONLY].flatMap((t) => [`torch.${t}Storage`, `torch.cuda.${t}Storage`]),
  "torch.storage.TypedStorage",
  "torch.storage.UntypedStorage",
  "torch.per_tensor_affine",
  "torch.per_tensor_symmetric",
  "torch.per_channel_affine",
  "torch.per_channel_symmetric",
  "torch.per_channel_affine_float_qparams",
  ...[
    "_rebuild_parameter", "_rebuild_parameter_with_state", "_rebuild_qtensor", "_rebuild_tensor", "_rebuild_tensor_v2",
    "_rebuild_tensor_v3", "_rebuild_sparse_tensor", "_rebuild_meta_tensor_no_storage", "_rebuild_wrapper_subclass",
    "_rebuild_device_tensor_from_numpy", "_rebuild_device_tensor_from_cpu_tensor",
  ].map((f) => `torch._utils.${f}`),
]);

/** Python 2 module names torch maps back on load (`_compat_pickle.IMPORT_MAPPING`, the part that matters here). */
const PY2_MODULES: Readonly<Record<string, string>> = { __builtin__: "builtins", copy_reg: "copyreg" };

/** True when torch's weights-only unpickler resolves this global. */
export function isWeightsOnlyGlobal(g: PyGlobal): boolean {
  let allowed = allowedCache.get(g);
  if (allowed === undefined) {
    allowed = WEIGHTS_ONLY_GLOBALS.has(`${PY2_MODULES[g.module] ?? g.module}.${g.name}`);
    allowedCache.set(g, allowed);
  }
  return allowed;
}

/** Verdicts per global object (the writer shares one object per global; module and name never change). */
const allowedCache = new WeakMap<PyGlobal, boolean>();

const DICT_TYPES = new Set(["collections.OrderedDict", "collections.Counter"]);
/** LONG1 holds at most 255 bytes of two's complement; longer ints need LONG4, which is refused. */
const LONG1_MAX_BITS = 255 * 8 - 1;

/**
 * Checks that `root` can be written as a pickle torch loads with `weights_only=True`. Host values
 * (tensors, storages, arrays) are checked through `lower`, the call the writer will pickle for
 * them, except those `allowed` vouches for (the plain tensors the writer writes directly, whose
 * call names only allowed globals).
 * @throws PickleEncodeError `unencodable` with the key path of the first value that breaks a rule.
 */
export function checkWeightsOnly(root: TorchValue, lower: (host: TorchHost) => TorchValue, allowed?: (host: TorchHost) => boolean): void {
  const lowered = new Map<object, TorchValue>();
  const fail = (path: () => KeyPath, why: string): never => {
    throw new PickleEncodeError("unencodable", `torch.load(weights_only=True) would refuse this: ${why}`, { path: path() });
  };
  const check = (value: TorchValue, path: () => KeyPath): boolean | void => {
    if (isStorage(value)) return false; // a persistent id ("storage", ...): always allowed
    if (isTensor(value) || isNdArray(value)) {
      // Check the call the writer emits instead of the host value's own fields.
      if (allowed?.(value) !== true && !lowered.has(value)) {
        const l = lower(value);
        lowered.set(value, l);
        // Most calls are plainly fine (a rebuild call of ints, tuples, a storage, an OrderedDict):
        // only the others get the full walk, which can name the path of what breaks a rule.
        if (!plainlyAllowed(l, lower, 0)) visitGraph(l, (v, p) => check(v, () => [...path(), ...p()]));
      }
      return false;
    }
    if (typeof value === "bigint") {
      const bits = (value < 0n ? -value - 1n : value).toString(2).length;
      if (bits > LONG1_MAX_BITS) fail(path, "an int too large for LONG1");
      return;
    }
    switch (pyKind(value)) {
      case "global":
        if (!isWeightsOnlyGlobal(value as PyGlobal)) fail(path, `global ${describeGlobal(value as PyGlobal)} is not on its allow-list`);
        return;
      case "frozenset":
        return fail(path, "a frozenset (builtins.frozenset is not on its allow-list)");
      case "buffer":
        return fail(path, "an out-of-band buffer");
      case "ext":
        return fail(path, "an extension-registry code");
      case "persid": {
        const pid = (value as PyPersistentId<TorchHost>).pid;
        const first = pyKind(pid) === "tuple" ? (pid as PyTuple<TorchHost>).items[0] : undefined;
        if (first !== "storage" && typeof pid !== "number") fail(path, "a persistent id that is not a storage");
        return;
      }
      case "dict": {
        const d = value as PyDict<TorchHost>;
        const type = d.type === undefined ? undefined : `${d.type.module}.${d.type.name}`;
        if (type !== undefined && !DICT_TYPES.has(type)) fail(path, `a dict of type ${type}`);
        if (d.state !== undefined && type === undefined) fail(path, "attributes (BUILD) on a plain dict");
        return;
      }
      case "object":
        checkObject(value as PyObject<TorchHost>, path, fail);
        return;
      default:
        return;
    }
  };
  // Tensors and storages are checked idempotently (the lowered map), so they need no seen-set entry.
  visitGraph(root, check, { revisitTensors: true });
}

/** Nesting {@link plainlyAllowed} looks into before leaving a value to the full walk. */
const PLAIN_DEPTH = 12;

/**
 * True when `v` certainly passes every rule of the full check: plain scalars, storages, tuples
 * and lists, allowed globals, plain or ordered dicts without state, and REDUCE/NEWOBJ calls of
 * allowed globals without items or state, nested at most {@link PLAIN_DEPTH} deep. False means
 * "not sure", never "refused": the caller then runs the full walk.
 */
function plainlyAllowed(v: TorchValue, lower: (host: TorchHost) => TorchValue, depth: number): boolean {
  if (v === null) return true;
  switch (typeof v) {
    case "string":
    case "number":
    case "boolean":
      return true;
    case "object":
      break;
    default:
      return false;
  }
  if (depth > PLAIN_DEPTH) return false;
  if (isStorage(v)) return true;
  if (isTensor(v) || isNdArray(v)) return plainlyAllowed(lower(v), lower, depth + 1);
  switch (pyKind(v)) {
    case "tuple":
    case "list":
      return (v as { items: TorchValue[] }).items.every((x) => plainlyAllowed(x, lower, depth + 1));
    case "global":
      return isWeightsOnlyGlobal(v as PyGlobal);
    case "float":
      return true;
    case "dict": {
      const d = v as PyDict<TorchHost>;
      if (d.state !== undefined || (d.type !== undefined && !(d.type.module === "collections" && d.type.name === "OrderedDict"))) return false;
      return d.entries.every(([k, x]) => plainlyAllowed(k, lower, depth + 1) && plainlyAllowed(x, lower, depth + 1));
    }
    case "object": {
      const o = v as PyObject<TorchHost>;
      if (o.via !== "reduce" && o.via !== "newobj") return false;
      if (pyKind(o.callable) !== "global" || !isWeightsOnlyGlobal(o.callable as PyGlobal)) return false;
      if (o.kwargs !== undefined || o.state !== undefined || o.listItems !== undefined || o.dictItems !== undefined || o.setItems !== undefined) return false;
      return plainlyAllowed(o.args, lower, depth + 1);
    }
    default:
      return false;
  }
}

function checkObject(o: PyObject<TorchHost>, path: () => KeyPath, fail: (path: () => KeyPath, why: string) => never): void {
  if (o.via !== "reduce" && o.via !== "newobj") fail(path, `an object built by ${o.via.toUpperCase()}`);
  if (pyKind(o.callable) !== "global") fail(path, "a call of something that is not a global");
  const g = o.callable as PyGlobal;
  if (!isWeightsOnlyGlobal(g)) fail(path, `a call of ${describeGlobal(g)}, which is not on its allow-list`);
  if (o.listItems !== undefined && o.listItems.length > 0) fail(path, `APPENDs to a ${describeGlobal(g)} object (only lists take them)`);
  if (o.setItems !== undefined && o.setItems.length > 0) fail(path, "ADDITEMS");
  if (o.dictItems !== undefined && o.dictItems.length > 0 && !DICT_TYPES.has(`${g.module}.${g.name}`)) {
    fail(path, `SETITEMs on a ${describeGlobal(g)} object`);
  }
}

function describeGlobal(g: PyGlobal): string {
  return `${g.module}.${g.name}`;
}
