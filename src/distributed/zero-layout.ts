/**
 * What a DeepSpeed checkpoint folder's files hold, read from their decoded pickles
 * (`deepspeed/checkpoint/constants.py` names the keys; `deepspeed/utils/zero_to_fp32.py`
 * `parse_model_states` / `parse_optim_states` read them). Values stay tensors here; the
 * consolidation is in `zero.ts`.
 */
import { CheckpointError } from "../errors.js";
import type { PyDict } from "../pickle/index.js";
import type { Tensor, TorchHost, TorchValue } from "../torch/index.js";
import { isTensor } from "../torch/index.js";
import type { ZeroParam } from "./zero-merge.js";

/** The model-states file of ZeRO-1/2 (one per model-parallel rank) and the ZeRO-3 one per data-parallel rank. */
export const ZERO_MODEL_FILE = "mp_rank_00_model_states.pt";
export const zero3ModelFile = (rank: number): string => `zero_pp_rank_${rank}_mp_rank_00_model_states.pt`;
/** An optimizer-states file; DeepSpeed prefixes `bf16_` when the bf16 optimizer wrote it. */
export const zeroOptimFile = (rank: number, bf16: boolean): string => `${bf16 ? "bf16_" : ""}zero_pp_rank_${rank}_mp_rank_00_optim_states.pt`;

/** The longest data-parallel world size accepted (bounds the rank files probed). */
export const MAX_ZERO_WORLD_SIZE = 65536;

export interface ZeroModelState {
  readonly file: string;
  /** `module` entries named in `buffer_names`, in module order. */
  readonly buffers: readonly (readonly [string, Tensor])[];
  /** `param_shapes`: per param group, its parameters in flat order. */
  readonly paramGroups: readonly (readonly ZeroParam[])[];
  readonly frozen: readonly ZeroParam[];
  /** `frozen_param_fragments`: whole tensors (ZeRO-1/2) or this rank's padded slice (ZeRO-3). */
  readonly frozenFragments: ReadonlyMap<string, Tensor>;
  /** `shared_params` as [tied name, source name]. */
  readonly shared: readonly (readonly [string, string])[];
  readonly dsVersion?: string;
}

export interface ZeroOptimState {
  readonly file: string;
  readonly zeroStage: number;
  /** `partition_count` (its largest value when a list, as zero_to_fp32 takes it). */
  readonly worldSize: number;
  /** The flat fp32 partitions: `single_partition_of_fp32_groups` (ZeRO-1/2) or `fp32_flat_groups` (ZeRO-3). */
  readonly groups: readonly Tensor[];
  /** Optimizer moments over the same partitions, per state key (`exp_avg`, ...), one tensor per group. */
  readonly moments: ReadonlyMap<string, readonly Tensor[]>;
}

type Where = { file: string; path?: (string | number)[] };

function fail(reason: string, where: Where): never {
  throw new CheckpointError("invalid-data", reason, where);
}

function dictOf(v: TorchValue | undefined, where: Where): PyDict<TorchHost> {
  if ((v as { kind?: unknown } | null | undefined)?.kind !== "dict") fail("expected a dict", where);
  return v as PyDict<TorchHost>;
}

function get(d: PyDict<TorchHost>, key: string): TorchValue | undefined {
  for (const [k, v] of d.entries) if (k === key) return v;
  return undefined;
}

function items(v: TorchValue | undefined, where: Where): readonly TorchValue[] {
  const k = (v as { kind?: unknown } | null | undefined)?.kind;
  if (k !== "list" && k !== "tuple") fail("expected a list", where);
  return (v as { items: TorchValue[] }).items;
}

function stringEntries(v: TorchValue | undefined, where: Where): [string, TorchValue][] {
  return dictOf(v, where).entries.map(([k, x]) => {
    if (typeof k !== "string") fail("a key is not a string", where);
    return [k, x];
  });
}

/** A `torch.Size` (pickled as `torch.Size((d0, d1, ...))`), a tuple or a list of ints. */
function shapeOf(v: TorchValue, where: Where): number[] {
  const o = v as { kind?: string; callable?: { kind?: string; module?: string; name?: string }; args?: { items?: TorchValue[] } };
  let dims: TorchValue = v;
  if (o?.kind === "object" && o.callable?.module === "torch" && o.callable.name === "Size" && o.args?.items?.length === 1) dims = o.args.items[0]!;
  const list = items(dims, where);
  return list.map((d) => {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) fail("a shape dimension is not a non-negative int", where);
    return d;
  });
}

function tensorAt(v: TorchValue | undefined, where: Where): Tensor {
  if (!isTensor(v)) fail("expected a tensor", where);
  return v as Tensor;
}

/** Reads a model-states file's root (`parse_model_states`). */
export function parseModelState(root: TorchValue, file: string): ZeroModelState {
  const top = dictOf(root, { file });
  const at = (path: (string | number)[]): Where => ({ file, path });
  const namesV = get(top, "buffer_names");
  if (namesV === undefined) fail("not a DeepSpeed model-states file (no buffer_names)", { file });
  const bufferNames = new Set(items(namesV, at(["buffer_names"])).map((n) => String(n)));
  const buffers = stringEntries(get(top, "module"), at(["module"]))
    .filter(([k]) => bufferNames.has(k))
    .map(([k, t]) => [k, tensorAt(t, at(["module", k]))] as const);
  const paramGroups = items(get(top, "param_shapes"), at(["param_shapes"])).map((g, i) =>
    stringEntries(g, at(["param_shapes", i])).map(([name, s]) => ({ name, shape: shapeOf(s, at(["param_shapes", i, name])) })),
  );
  const frozenV = get(top, "frozen_param_shapes");
  const frozen = frozenV === undefined || frozenV === null ? [] : stringEntries(frozenV, at(["frozen_param_shapes"])).map(([name, s]) => ({ name, shape: shapeOf(s, at(["frozen_param_shapes", name])) }));
  const fragV = get(top, "frozen_param_fragments");
  const frozenFragments = new Map<string, Tensor>(
    fragV === undefined || fragV === null ? [] : stringEntries(fragV, at(["frozen_param_fragments"])).map(([k, t]) => [k, tensorAt(t, at(["frozen_param_fragments", k]))]),
  );
  const sharedV = get(top, "shared_params");
  const shared = sharedV === undefined || sharedV === null ? [] : stringEntries(sharedV, at(["shared_params"])).map(([k, s]) => {
    if (typeof s !== "string") fail("a shared param's source is not a name", at(["shared_params", k]));
    return [k, s] as const;
  });
  const ds = get(top, "ds_version");
  return { file, buffers, paramGroups, frozen, frozenFragments, shared, ...(typeof ds === "string" ? { dsVersion: ds } : {}) };
}

/** Reads an optimizer-states file's root (`parse_optim_states`, plus the moments). */
export function parseOptimState(root: TorchValue, file: string): ZeroOptimState {
  const top = dictOf(root, { file });
  const osd = dictOf(get(top, "optimizer_state_dict"), { file, path: ["optimizer_state_dict"] });
  const at = (...path: (string | number)[]): Where => ({ file, path: ["optimizer_state_dict", ...path] });
  const stage = get(osd, "zero_stage");
  if (stage === undefined) fail("not a ZeRO checkpoint (no zero_stage)", at());
  if (typeof stage !== "number" || !Number.isSafeInteger(stage) || stage < 0 || stage > 3) fail(`unknown zero stage ${String(stage)}`, at("zero_stage"));
  const pc = get(osd, "partition_count");
  const counts = typeof pc === "number" ? [pc] : items(pc, at("partition_count"));
  const worldSize = Math.max(...counts.map((c) => (typeof c === "number" && Number.isSafeInteger(c) ? c : NaN)));
  if (!(worldSize >= 1 && worldSize <= MAX_ZERO_WORLD_SIZE)) fail(`partition_count ${String(pc)} is not a world size from 1 to ${MAX_ZERO_WORLD_SIZE}`, at("partition_count"));
  const key = stage <= 2 ? "single_partition_of_fp32_groups" : "fp32_flat_groups";
  const groups = items(get(osd, key), at(key)).map((t, i) => tensorAt(t, at(key, i)));
  return { file, zeroStage: stage, worldSize, groups, moments: momentsOf(osd, stage, groups, at) };
}

/**
 * The optimizer state over the flat partitions, per group: ZeRO-1/2 `base_optimizer_state` (a list of
 * per-group state dicts), ZeRO-3 the inner `optimizer_state_dict` (torch's `{state: {i: {...}}}`).
 * A key is kept when every group has a tensor of that group's partition size under it.
 */
function momentsOf(osd: PyDict<TorchHost>, stage: number, groups: readonly Tensor[], at: (...p: (string | number)[]) => Where): Map<string, Tensor[]> {
  const key = stage <= 2 ? "base_optimizer_state" : "optimizer_state_dict";
  const v = get(osd, key);
  if (v === undefined || v === null) return new Map();
  let perGroup: TorchValue[];
  const kind = (v as { kind?: unknown }).kind;
  if (kind === "list" || kind === "tuple") perGroup = [...items(v, at(key))];
  else {
    const state = get(dictOf(v, at(key)), "state");
    if (state === undefined) return new Map();
    perGroup = dictOf(state, at(key, "state")).entries.map(([, s]) => s);
  }
  if (perGroup.length !== groups.length) fail(`${key} has ${perGroup.length} groups, the fp32 partitions ${groups.length}`, at(key));
  const dicts = perGroup.map((s, i) => dictOf(s, at(key, i)));
  const out = new Map<string, Tensor[]>();
  for (const [k] of dicts[0]?.entries ?? []) {
    if (typeof k !== "string") continue;
    const ts = dicts.map((d) => get(d, k));
    if (ts.every((t, i) => isTensor(t) && numel(t as Tensor) === numel(groups[i]!))) out.set(k, ts as Tensor[]);
  }
  return out;
}

const numel = (t: Tensor): number => t.shape.reduce((a, b) => a * b, 1);

/** The tag a `latest` file names: one folder name. */
export function parseLatest(text: string, file: string): string {
  const tag = text.trim();
  if (tag.length === 0 || tag.length > 255 || /[/\\\u0000]/.test(tag) || tag === "." || tag === "..") {
    fail(`the tag ${JSON.stringify(tag.slice(0, 80))} is not a folder name`, { file });
  }
  return tag;
}
