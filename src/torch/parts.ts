/** Finding the usual parts of a training checkpoint under the key names people use. */
import type { KeyPath } from "../errors.js";
import type { PyDict } from "../pickle/value.js";
import { dictGet, pyKind } from "../pickle/value.js";
import type { TorchHost, TorchValue } from "./model.js";
import { isTensor } from "./model.js";

export interface CheckpointPart {
  readonly path: KeyPath;
  readonly value: TorchValue;
}

/** What a resume needs, each with where it was found (absent when not found). */
export interface CheckpointParts {
  /** The model's state_dict (the root itself when the file is a bare state_dict). */
  model?: CheckpointPart;
  optimizer?: CheckpointPart;
  scheduler?: CheckpointPart;
  scaler?: CheckpointPart;
  rng: { torch?: CheckpointPart; cuda?: CheckpointPart; numpy?: CheckpointPart; python?: CheckpointPart };
  epoch?: CheckpointPart;
  step?: CheckpointPart;
  loss?: CheckpointPart;
  /** Gradients saved beside the parameters (per-step dumps); not needed to resume. */
  grads?: CheckpointPart;
}

/** Key names, most common first. Matching is case-sensitive and exact. */
export const PART_KEYS = {
  model: ["state_dict", "model_state_dict", "model", "model_state", "net", "network", "module", "ema", "weights", "model_params", "params", "parameters"],
  optimizer: ["optimizer", "optimizer_state_dict", "optim", "opt", "optimizer_state", "optimizer_states", "optim_state"],
  scheduler: ["lr_scheduler", "scheduler", "scheduler_state_dict", "lr_scheduler_state_dict", "lr_schedulers", "sched"],
  scaler: ["scaler", "grad_scaler", "amp", "scaler_state_dict", "amp_scaler", "native_amp_scaling_state"],
  rngTorch: ["torch_rng_state", "rng_state", "cpu_rng_state", "torch_rng"],
  rngCuda: ["cuda_rng_state", "cuda_rng_states", "cuda_rng"],
  rngNumpy: ["numpy_rng_state", "np_rng_state", "numpy_random_state", "numpy_rng"],
  rngPython: ["python_rng_state", "py_rng_state", "random_state", "python_random_state", "python_rng"],
  epoch: ["epoch", "epochs", "current_epoch"],
  step: ["global_step", "step", "iteration", "iter", "steps", "num_updates"],
  loss: ["loss", "best_loss", "val_loss", "train_loss", "best_val_loss"],
  grads: ["model_grads", "grads", "gradients"],
} as const;

/** Names of sub-dicts that hold the RNG states of several generators. */
const RNG_HOLDERS = ["rng_states", "rng", "random_states", "rng_state_dict", "rng_state", "rng_states_dict"] as const;

/** A dict whose values are all tensors (a state_dict). */
export function isStateDict(v: TorchValue | undefined): boolean {
  if (pyKind(v) !== "dict") return false;
  const d = v as PyDict<TorchHost>;
  return d.entries.length > 0 && d.entries.every(([k, x]) => typeof k === "string" && isTensor(x));
}

/** An optimizer state_dict: a dict with "state" and "param_groups". */
export function isOptimizerState(v: TorchValue | undefined): boolean {
  return pyKind(v) === "dict" && dictGet(v as PyDict<TorchHost>, "state") !== undefined && dictGet(v as PyDict<TorchHost>, "param_groups") !== undefined;
}

/** Finds the parts of a checkpoint by key name at the top level (and in `rng_states`-style sub-dicts). */
export function findParts(root: TorchValue): CheckpointParts {
  const parts: CheckpointParts = { rng: {} };
  if (isStateDict(root)) {
    parts.model = { path: [], value: root };
    return parts;
  }
  if (pyKind(root) !== "dict") return parts;
  const d = root as PyDict<TorchHost>;
  const find = (names: readonly string[], where: PyDict<TorchHost> = d, base: KeyPath = []): CheckpointPart | undefined => {
    for (const name of names) {
      const v = dictGet(where, name);
      if (v !== undefined) return { path: [...base, name], value: v };
    }
    return undefined;
  };
  const assign = <K extends "model" | "optimizer" | "scheduler" | "scaler" | "epoch" | "step" | "loss" | "grads">(k: K, found: CheckpointPart | undefined) => {
    if (found !== undefined) parts[k] = found;
  };
  assign("model", find(PART_KEYS.model));
  assign("optimizer", find(PART_KEYS.optimizer));
  if (parts.optimizer === undefined) {
    const byShape = d.entries.find(([k, v]) => typeof k === "string" && isOptimizerState(v));
    if (byShape) parts.optimizer = { path: [byShape[0] as string], value: byShape[1] };
  }
  assign("scheduler", find(PART_KEYS.scheduler));
  assign("scaler", find(PART_KEYS.scaler));
  assign("epoch", find(PART_KEYS.epoch));
  assign("step", find(PART_KEYS.step));
  assign("loss", find(PART_KEYS.loss));
  assign("grads", find(PART_KEYS.grads));
  // A sub-dict holding the generators' states ({"torch": ..., "numpy": ..., "python": ..., "cuda": ...}),
  // under any of these names; "rng_state" names the torch generator's state itself when it is not a dict.
  const holders: [PyDict<TorchHost>, KeyPath][] = [];
  for (const name of RNG_HOLDERS) {
    const v = dictGet(d, name);
    if (pyKind(v) === "dict") holders.push([v as PyDict<TorchHost>, [name]]);
  }
  // The file itself may be such a dict (torch/numpy/python/cuda states saved on their own).
  const bare = ["torch", "numpy", "python", "cuda"].filter((k) => dictGet(d, k) !== undefined).length >= 2;
  holders.push([d, []]);
  const rngNames = { torch: PART_KEYS.rngTorch, cuda: PART_KEYS.rngCuda, numpy: PART_KEYS.rngNumpy, python: PART_KEYS.rngPython } as const;
  for (const [where, base] of holders) {
    for (const k of ["torch", "cuda", "numpy", "python"] as const) {
      // Inside an rng sub-dict the bare names ("torch", "numpy") are used too.
      const found = parts.rng[k] ?? find(base.length > 0 || bare ? [...rngNames[k], k] : rngNames[k], where, base);
      // A dict is a holder of states (handled above), not one generator's state.
      if (found !== undefined && pyKind(found.value) !== "dict") parts.rng[k] = found;
    }
  }
  return parts;
}
