/**
 * Training-state sanity: which parts a resume needs are present (model, optimizer, LR scheduler,
 * GradScaler, RNG states, epoch/step, loss), whether the optimizer's state matches the model's
 * parameters in count and shape, and whether the model was saved with a "module." prefix.
 */
import type { KeyPath } from "../errors.js";
import { dictGet, pyKind, type PyDict, type PyList } from "../pickle/value.js";
import { dtypeByName, findParts, isOptimizerState, isTensor } from "../torch/index.js";
import type { CheckpointPart, Tensor, TorchHost, TorchValue } from "../torch/index.js";
import { report, type Ctx } from "./context.js";

/**
 * Optimizer state entries shaped like their parameter (torch.optim's per-parameter buffers).
 * Others (LBFGS's flat d/prev_flat_grad, scalars like step, eta, mu) have their own shapes.
 */
const PER_PARAM_STATE = new Set([
  "exp_avg", "exp_avg_sq", "max_exp_avg_sq", "momentum_buffer", "square_avg", "acc_delta", "sum", "exp_inf", "ax",
  "prev", "step_size", "grad_avg",
]);

/** State_dict entries that are buffers, not parameters (BatchNorm's running statistics). */
const BUFFER_NAME = /(^|\.)(running_mean|running_var|num_batches_tracked)$/;

/**
 * Reports the resume parts found and missing, optimizer/model mismatches and the "module." prefix
 * of a checkpoint's root value. Silent for values that are not training checkpoints.
 */
export function checkTrainingState(ctx: Ctx, root: TorchValue): void {
  const parts = findParts(root);
  const wholeModule = parts.model === undefined && pyKind(root) === "object";
  if (wholeModule) return; // a whole pickled nn.Module: its parts are object attributes, not a training checkpoint
  const looksLikeTraining = parts.model !== undefined || parts.optimizer !== undefined;
  if (!looksLikeTraining) return;

  const listed: [string, CheckpointPart | undefined][] = [
    ["model state_dict", parts.model], ["optimizer state", parts.optimizer], ["LR scheduler state", parts.scheduler],
    ["GradScaler state", parts.scaler], ["torch RNG state", parts.rng.torch], ["CUDA RNG state", parts.rng.cuda],
    ["numpy RNG state", parts.rng.numpy], ["Python RNG state", parts.rng.python], ["epoch", parts.epoch], ["step", parts.step],
    ["loss", parts.loss],
  ];
  for (const [what, part] of listed) {
    if (part !== undefined) report(ctx, "resume-part-found", `${what} at ${part.path.length === 0 ? "the root" : formatPath(part.path)}`, { keyPath: part.path });
  }
  const missing = listed.filter(([, part]) => part === undefined).map(([what]) => what);
  if (missing.length > 0) report(ctx, "resume-part-missing", `resuming from this file loses: ${missing.join(", ")}`);

  const model = parts.model === undefined ? undefined : stateDictOf(parts.model.value);
  if (model !== undefined && parts.model !== undefined) {
    const keys = model.entries.map(([k]) => k).filter((k): k is string => typeof k === "string");
    if (keys.length > 0 && keys.every((k) => k.startsWith("module."))) {
      report(ctx, "module-prefix", `all ${keys.length} keys start with "module." (saved from DataParallel/DistributedDataParallel)`, { keyPath: parts.model.path });
    }
  }
  if (model !== undefined && parts.optimizer !== undefined) {
    const optimizers = optimizerStates(parts.optimizer);
    const params = model.entries.filter(([k, v]) => typeof k === "string" && isTensor(v) && isTrainable(k, v)) as [string, Tensor][];
    for (const { path, state } of optimizers) checkOptimizer(ctx, path, state, params, optimizers.length);
  }
}

function formatPath(path: KeyPath): string {
  return path.map((k) => (typeof k === "number" ? `[${k}]` : `[${JSON.stringify(k)}]`)).join("");
}

/** A dict of tensors (possibly wrapped: Lightning's "state_dict", a whole-model dict). */
function stateDictOf(v: TorchValue): PyDict<TorchHost> | undefined {
  if (pyKind(v) !== "dict") return undefined;
  const d = v as PyDict<TorchHost>;
  return d.entries.some(([, x]) => isTensor(x)) ? d : undefined;
}

/** Floating-point tensors that are not known buffers: what an optimizer's param_groups list. */
function isTrainable(key: string, t: Tensor): boolean {
  const kind = dtypeByName(t.dtype)?.kind;
  return (kind === "float" || kind === "complex") && !BUFFER_NAME.test(key);
}

/** The optimizer state dict(s): one dict, or a list of them (Lightning's "optimizer_states"). */
function optimizerStates(part: CheckpointPart): { path: KeyPath; state: PyDict<TorchHost> }[] {
  if (isOptimizerState(part.value)) return [{ path: part.path, state: part.value as PyDict<TorchHost> }];
  if (pyKind(part.value) === "list" || pyKind(part.value) === "tuple") {
    return (part.value as PyList<TorchHost>).items
      .map((v, i) => ({ path: [...part.path, i], state: v as PyDict<TorchHost> }))
      .filter((o) => isOptimizerState(o.state));
  }
  return [];
}

function checkOptimizer(ctx: Ctx, path: KeyPath, opt: PyDict<TorchHost>, params: [string, Tensor][], optimizerCount: number): void {
  const groups = dictGet(opt, "param_groups");
  const ids: (number | bigint)[] = [];
  if (pyKind(groups) === "list") {
    for (const g of (groups as PyList<TorchHost>).items) {
      if (pyKind(g) !== "dict") continue;
      const list = dictGet(g as PyDict<TorchHost>, "params");
      if (pyKind(list) !== "list") continue;
      for (const id of (list as PyList<TorchHost>).items) if (typeof id === "number" || typeof id === "bigint") ids.push(id);
    }
  }
  const listed = new Set(ids.map(String));
  // With several optimizers each owns a part of the model; only a single optimizer must cover it all.
  if (optimizerCount === 1 && ids.length !== params.length) {
    report(ctx, "optimizer-param-count", `param_groups list ${ids.length} parameters; the model state_dict has ${params.length} floating-point tensors that are not BatchNorm buffers`, { keyPath: [...path, "param_groups"] });
  } else if (optimizerCount > 1 && ids.length > params.length) {
    report(ctx, "optimizer-param-count", `param_groups list ${ids.length} parameters, more than the model's ${params.length}`, { keyPath: [...path, "param_groups"] });
  }
  const state = dictGet(opt, "state");
  if (pyKind(state) !== "dict") return;
  const shapes = new Set(params.map(([, t]) => t.shape.join("x")));
  const inOrder = optimizerCount === 1 && ids.length === params.length;
  const position = new Map(ids.map((id, i) => [String(id), i]));
  for (const [id, entry] of (state as PyDict<TorchHost>).entries) {
    if ((typeof id === "number" || typeof id === "bigint") && !listed.has(String(id))) {
      report(ctx, "optimizer-state-orphan", `state is kept for parameter ${String(id)}, which no param_group lists`, { keyPath: [...path, "state", Number(id)] });
    }
    if (pyKind(entry) !== "dict") continue;
    const index = position.get(String(id));
    const expected = inOrder && index !== undefined ? params[index] : undefined;
    for (const [name, value] of (entry as PyDict<TorchHost>).entries) {
      if (!isTensor(value) || value.shape.length === 0 || typeof name !== "string" || !PER_PARAM_STATE.has(name)) continue;
      const shape = value.shape.join("x");
      const keyPath: KeyPath = [...path, "state", typeof id === "bigint" ? Number(id) : (id as number), name];
      if (expected !== undefined) {
        if (shape !== expected[1].shape.join("x")) {
          report(ctx, "optimizer-shape-mismatch", `${name} has shape [${value.shape.join(", ")}]; parameter ${String(id)} (${expected[0]}) has [${expected[1].shape.join(", ")}]`, { keyPath });
        }
      } else if (!shapes.has(shape)) {
        report(ctx, "optimizer-shape-mismatch", `${name} has shape [${value.shape.join(", ")}], which no model parameter has`, { keyPath });
      }
    }
  }
}
