/**
 * What a training dump holds, recognized from its shape: parameters, gradients, optimizer moments,
 * buffers, the step and the loss. Dumps come as `{model_params, model_grads, optimizer_state}`,
 * `{model_state_dict, optimizer_state_dict, global_step}`, a bare state_dict, or any mix of those.
 */
import type { KeyPath } from "../errors.js";
import type { PyDict } from "../pickle/index.js";
import { dictGet, pyKind } from "../pickle/index.js";
import type { NdArray, Tensor, TorchHost, TorchValue } from "../torch/index.js";
import { findParts, isOptimizerState, PART_KEYS } from "../torch/index.js";
import { isArray, leavesOf } from "./leaves.js";
import type { OptimizerNames, ParamInfo } from "./names.js";
import { isBufferName, nameOptimizerState, optimizerSlot } from "./names.js";

/** The groups a dump's tensors fall in. */
export type TensorGroup = "param" | "grad" | "optimizer" | "buffer" | "other";

export const TENSOR_GROUPS: readonly TensorGroup[] = ["param", "grad", "optimizer", "buffer", "other"];

/** One tensor of a dump with its group and the name series are keyed by. */
export interface GroupedArray {
  readonly path: KeyPath;
  readonly array: Tensor | NdArray;
  readonly group: TensorGroup;
  /** `fc1.weight` for params, grads and buffers; `fc1.weight.exp_avg` for named optimizer state. */
  readonly name: string;
}

/** A dump taken apart. */
export interface DumpContents {
  readonly arrays: GroupedArray[];
  /** The step the dump says it is (`step`, `global_step`, `iteration`, …, else `epoch`). */
  readonly step: number | undefined;
  /** The loss value (a number or a one-element tensor), when the dump has one. */
  readonly loss: TorchValue | undefined;
  readonly optimizer: OptimizerNames | undefined;
}

/** Top-level keys that hold gradients. */
const GRAD_KEY = /(^|_)grads?($|_)|gradients?/i;
/** Top-level keys that hold parameters (beside the PART_KEYS model names). */
const PARAM_KEY = /param|weights?$|state_dict|^model|^net/i;
const BUFFER_KEY = /buffers?/i;

/** The number a plain value or a one-element tensor holds, when it is a plain number. */
export function numberOf(v: TorchValue | undefined): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (pyKind(v) === "float") return (v as { value: number }).value;
  return undefined;
}

/** The step value of a dump: the first of PART_KEYS.step, then epoch, that holds a number. */
export function stepOf(root: TorchValue): number | undefined {
  if (pyKind(root) !== "dict") return undefined;
  for (const k of [...PART_KEYS.step, ...PART_KEYS.epoch]) {
    const n = numberOf(dictGet(root as PyDict<TorchHost>, k));
    if (n !== undefined && Number.isFinite(n)) return n;
  }
  return undefined;
}

/** Reads a dump: every array with its group and name, the step, the loss and the optimizer naming. */
export function groupDump(root: TorchValue): DumpContents {
  const leaves = leavesOf(root).filter((l) => l.kind === "array") as { path: KeyPath; array: Tensor | NdArray }[];
  const parts = findParts(root);
  const optPath = parts.optimizer?.path ?? (isOptimizerState(root) ? [] : undefined);
  const modelPath = parts.model?.path;
  const under = (p: KeyPath, base: KeyPath | undefined) => base !== undefined && p.length > base.length && base.every((k, i) => p[i] === k);
  const first: GroupedArray[] = [];
  for (const { path, array } of leaves) {
    const top = path[0];
    const rest = (n: number) => path.slice(n).join(".");
    let group: TensorGroup;
    let name: string;
    if (optPath !== undefined && under(path, optPath)) {
      group = "optimizer";
      name = rest(optPath.length);
    } else if (modelPath !== undefined && under(path, modelPath)) {
      name = rest(modelPath.length);
      group = isBufferName(name, array.dtype) ? "buffer" : "param";
    } else if (modelPath !== undefined && modelPath.length === 0) {
      name = rest(0);
      group = isBufferName(name, array.dtype) ? "buffer" : "param";
    } else if (typeof top === "string" && path.length > 1 && GRAD_KEY.test(top)) {
      group = "grad";
      name = rest(1);
    } else if (typeof top === "string" && path.length > 1 && BUFFER_KEY.test(top)) {
      group = "buffer";
      name = rest(1);
    } else if (typeof top === "string" && path.length > 1 && PARAM_KEY.test(top) && isParamDict(root, top)) {
      name = rest(1);
      group = isBufferName(name, array.dtype) ? "buffer" : "param";
    } else {
      group = "other";
      name = rest(0) || "(root)";
    }
    first.push({ path, array, group, name });
  }
  const params: ParamInfo[] = first.filter((a) => a.group === "param").map((a) => ({ name: a.name, shape: a.array.shape }));
  const optimizer = optPath === undefined ? undefined : nameOptimizerState(root, params.length > 0 ? params : undefined);
  const arrays = first.map((a): GroupedArray => {
    if (a.group !== "optimizer") return a;
    const slot = optimizerSlot(a.path, optimizer);
    if (slot === undefined) return a;
    // Adam's per-parameter `step` counter is bookkeeping, not a moment.
    return { ...a, group: slot.slot === "step" && a.array.shape.length === 0 ? "other" : "optimizer", name: `${slot.param}.${slot.slot}` };
  });
  const loss = parts.loss?.value;
  return { arrays, step: stepOf(root), loss, optimizer };
}

/** True when `root[key]` is a dict whose values are all tensors (a state_dict or named_parameters). */
function isParamDict(root: TorchValue, key: string): boolean {
  const v = pyKind(root) === "dict" ? dictGet(root as PyDict<TorchHost>, key) : undefined;
  return pyKind(v) === "dict" && (v as PyDict<TorchHost>).entries.every(([, x]) => isArray(x));
}
