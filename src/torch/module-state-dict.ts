/**
 * `model.state_dict()` of a whole pickled module (`torch.save(model)`), computed from the inert
 * object graph the way `nn.Module.state_dict` walks it: per module, first its `_metadata` entry
 * (`{"version": cls._version}`), then its non-None `_parameters`, then its non-None persistent
 * `_buffers` (those not in `_non_persistent_buffers_set`), then its `_modules` in order, with
 * "name." prefixes. Tensors come out detached (plain tensors sharing the storage).
 */
import { CheckpointError } from "../errors.js";
import type { PyDict, PyGlobal, PyObject } from "../pickle/value.js";
import { dictGet, ORDERED_DICT, pyDict, pyKind } from "../pickle/value.js";
import type { Tensor, TorchHost, TorchValue } from "./model.js";
import { isTensor } from "./model.js";

/**
 * `_version` of torch's module classes that override nn.Module's 1 (a class attribute, so it is
 * not in the pickle): the normalization layers built on `_NormBase`.
 */
export const MODULE_VERSIONS: Readonly<Record<string, number>> = {
  BatchNorm1d: 2, BatchNorm2d: 2, BatchNorm3d: 2, SyncBatchNorm: 2, LazyBatchNorm1d: 2, LazyBatchNorm2d: 2, LazyBatchNorm3d: 2,
  InstanceNorm1d: 2, InstanceNorm2d: 2, InstanceNorm3d: 2, LazyInstanceNorm1d: 2, LazyInstanceNorm2d: 2, LazyInstanceNorm3d: 2,
};

/** A module object: its BUILD state is a dict with `_parameters`, `_buffers` and `_modules`. */
export function isModuleObject(v: TorchValue | undefined): v is PyObject<TorchHost> {
  if (pyKind(v) !== "object") return false;
  const state = (v as PyObject<TorchHost>).state;
  if (pyKind(state) !== "dict") return false;
  const d = state as PyDict<TorchHost>;
  return ["_parameters", "_buffers", "_modules"].every((k) => pyKind(dictGet(d, k)) === "dict");
}

/** The state_dict and what the caller should know about how it was made. */
export interface ModuleStateDict {
  /** An OrderedDict with `_metadata` in its state, as torch returns it. */
  readonly value: PyDict<TorchHost>;
  readonly notes: string[];
}

const className = (o: PyObject<TorchHost>): string => (pyKind(o.callable) === "global" ? (o.callable as PyGlobal).name : "?");
const qualified = (o: PyObject<TorchHost>): string => (pyKind(o.callable) === "global" ? `${(o.callable as PyGlobal).module}.${(o.callable as PyGlobal).name}` : "?");

/** A detached copy: a plain tensor on the same storage (`param.detach()`). */
function detached(t: Tensor): Tensor {
  const { origin: _origin, ...rest } = t;
  return { ...rest, isParameter: false, requiresGrad: false };
}

/**
 * Computes `module.state_dict()` from a pickled module object.
 * @throws CheckpointError `invalid-argument` when `root` is not a module (no `_parameters`,
 *   `_buffers`, `_modules` state), `invalid-data` for a module state of the wrong shape.
 */
export function moduleStateDict(root: TorchValue): ModuleStateDict {
  if (!isModuleObject(root)) {
    throw new CheckpointError("invalid-argument", "not a whole pickled nn.Module (torch.save(model)): no object with _parameters, _buffers and _modules");
  }
  const entries: [TorchValue, TorchValue][] = [];
  const metadata: [TorchValue, TorchValue][] = [];
  const versioned = new Set<string>();
  const custom = new Set<string>();
  // Pre-order, children in their order: a stack of (module, prefix), pushed in reverse.
  const stack: { m: PyObject<TorchHost>; prefix: string; depth: number }[] = [{ m: root, prefix: "", depth: 0 }];
  const onPath = new Set<object>();
  while (stack.length > 0) {
    const { m, prefix, depth } = stack.pop()!;
    if (depth > 1_000 || onPath.has(m)) throw new CheckpointError("invalid-data", `module nesting at ${JSON.stringify(prefix)} is cyclic or deeper than 1000`);
    onPath.add(m);
    const state = m.state as PyDict<TorchHost>;
    const name = className(m);
    const version = MODULE_VERSIONS[name] ?? 1;
    if (version !== 1) versioned.add(name);
    if (!qualified(m).startsWith("torch.")) custom.add(qualified(m));
    metadata.push([prefix.slice(0, -1), pyDict<TorchHost>([["version", version]])]);
    const dictOf = (key: string): PyDict<TorchHost> => dictGet(state, key) as PyDict<TorchHost>;
    for (const [k, p] of dictOf("_parameters").entries) {
      if (p === null) continue;
      if (!isTensor(p)) throw new CheckpointError("invalid-data", `parameter ${prefix}${String(k)} is not a tensor`);
      entries.push([`${prefix}${String(k)}`, detached(p)]);
    }
    const nonPersistent = new Set<TorchValue>();
    const np = dictGet(state, "_non_persistent_buffers_set");
    if (np !== undefined && np !== null && "items" in (np as object)) for (const x of (np as { items: TorchValue[] }).items) nonPersistent.add(x);
    for (const [k, b] of dictOf("_buffers").entries) {
      if (b === null || nonPersistent.has(k)) continue;
      if (!isTensor(b)) throw new CheckpointError("invalid-data", `buffer ${prefix}${String(k)} is not a tensor`);
      entries.push([`${prefix}${String(k)}`, detached(b)]);
    }
    const children = dictOf("_modules").entries.filter(([, c]) => c !== null);
    for (let i = children.length - 1; i >= 0; i--) {
      const [k, c] = children[i]!;
      if (!isModuleObject(c)) throw new CheckpointError("invalid-data", `submodule ${prefix}${String(k)} is not a module object`);
      stack.push({ m: c, prefix: `${prefix}${String(k)}.`, depth: depth + 1 });
    }
  }
  const value = pyDict<TorchHost>(entries, ORDERED_DICT);
  value.state = pyDict<TorchHost>([["_metadata", pyDict<TorchHost>(metadata, ORDERED_DICT)]]);
  const notes = [
    `state_dict of ${qualified(root)}: ${entries.length} tensors from ${metadata.length} modules` +
      (versioned.size > 0 ? `; _metadata versions: ${[...versioned].join(", ")} 2, others 1` : "; _metadata versions 1"),
  ];
  if (custom.size > 0) notes.push(`_metadata version 1 assumed for ${[...custom].join(", ")} (a _version a class sets is in its code, not in the file)`);
  return { value, notes };
}
