/**
 * `runStats`: a run of training dumps, one step at a time. Each dump is opened, its tensors grouped
 * and measured, updates taken against the previous dump, and the previous dump released: about two
 * dumps are resident at any moment. The findings come last, from the per-step numbers alone.
 */
import { ConvertError } from "../errors.js";
import type { NdArray, Tensor, TorchValue } from "../torch/index.js";
import { compareArrays } from "./compare-arrays.js";
import { describeArray, elementBytes, unsupportedReason } from "./elements.js";
import { findingsOf } from "./findings.js";
import type { GroupedArray, TensorGroup } from "./groups.js";
import { groupDump, numberOf, stepOf } from "./groups.js";
import type { GroupStepStats, RunRecord, RunSource, RunStatsOptions, RunStep, TensorStepStats } from "./run-types.js";
import { histogramOfBytes, statsOfBytes } from "./tensor-stats.js";

/** The number in a file name that orders it (the last run of digits: `step_000120.pt` → 120). */
export function numberInName(name: string): number | undefined {
  const base = name.slice(Math.max(name.lastIndexOf("/"), name.lastIndexOf("\\")) + 1);
  const runs = base.match(/\d+/g);
  return runs === null ? undefined : Number(runs[runs.length - 1]);
}

interface Ordered {
  readonly source: RunSource;
  readonly step: number | undefined;
}

async function orderSources(sources: readonly RunSource[], options: RunStatsOptions, notes: string[]): Promise<Ordered[]> {
  const order = options.order ?? "auto";
  const given = sources.map((source) => ({ source, step: undefined as number | undefined }));
  if (order === "given") {
    notes.push("steps in the order given");
    return given;
  }
  const byName = (): Ordered[] | undefined => {
    const nums = sources.map((s) => numberInName(s.name));
    if (nums.some((n) => n === undefined)) return undefined;
    return given.map((g, i) => ({ g, n: nums[i]! })).sort((x, y) => x.n - y.n).map((x) => x.g);
  };
  if (order === "auto") {
    const steps: (number | undefined)[] = [];
    for (const s of sources) {
      const opened = await s.open();
      try {
        steps.push(stepOf(opened.root));
      } finally {
        opened.close?.();
      }
    }
    if (steps.every((n) => n !== undefined)) {
      notes.push("steps ordered by the step value inside each dump");
      return sources.map((source, i) => ({ source, step: steps[i] })).sort((x, y) => x.step! - y.step!);
    }
  }
  const named = byName();
  if (named !== undefined) {
    notes.push("steps ordered by the number in each file name");
    return named;
  }
  notes.push("steps in the order given (no step values inside the dumps and no numbers in the file names)");
  return given;
}

/** Bytes kept from the previous step for updates: series key → its array and bytes. */
type Previous = Map<string, { readonly dtype: string; readonly shape: readonly number[]; readonly bytes: Uint8Array; readonly norm: number | null }>;

const seriesKey = (a: GroupedArray): string => `${a.group}:${a.name}`;

/**
 * Statistics over a run of training dumps, as an async iterator: one `{kind: "step"}` record per
 * dump in step order, then one `{kind: "summary"}` with the findings (first non-finite step, last
 * healthy step, grad-norm spikes, all-zero grads, parameters that never change, update/param ratios
 * far from ~1e-3). Works on any source torchsave reads; lazy sources are read one dump at a time.
 * @throws ConvertError `invalid-argument` for bad options or no sources; the readers' errors for bad dumps.
 */
export async function* runStats(sources: Iterable<RunSource>, options: RunStatsOptions = {}): AsyncGenerator<RunRecord, void, undefined> {
  const list = [...sources];
  if (list.length === 0) throw new ConvertError("invalid-argument", "runStats needs at least one dump");
  const bins = options.histogramBins ?? 0;
  if (!Number.isInteger(bins) || bins < 0 || bins > 4096) throw new ConvertError("invalid-argument", `histogramBins must be an integer in 0..4096, not ${bins}`);
  const notes: string[] = [];
  const ordered = await orderSources(list, options, notes);
  const steps: RunStep[] = [];
  let previous: Previous = new Map();
  let closePrevious: (() => void) | undefined;
  for (let index = 0; index < ordered.length; index++) {
    const { source } = ordered[index]!;
    const opened = await source.open();
    const dump = groupDump(opened.root);
    if (index === 0 && dump.optimizer !== undefined) notes.push(dump.optimizer.note);
    const current: Previous = new Map();
    const tensors: TensorStepStats[] = [];
    for (const a of dump.arrays) {
      const t = await measure(a, previous, current, bins);
      tensors.push(t);
    }
    const step = dump.step ?? numberInName(source.name) ?? index;
    const record: RunStep = {
      kind: "step", index, file: source.name, step, loss: await lossOf(dump.loss), gradNorm: gradNorm(tensors), groups: groupTotals(tensors), tensors,
    };
    // The previous dump's bytes are no longer needed: release its source.
    closePrevious?.();
    previous = current;
    closePrevious = opened.close === undefined ? undefined : () => opened.close!();
    steps.push(record);
    yield record;
  }
  closePrevious?.();
  yield findingsOf(steps, options, notes);
}

async function measure(a: GroupedArray, previous: Previous, current: Previous, bins: number): Promise<TensorStepStats> {
  const d = describeArray(a.array);
  const base = { path: a.path, group: a.group, name: a.name, dtype: d.dtype, shape: d.shape };
  const why = unsupportedReason(a.array);
  if (why !== undefined) {
    return { ...base, numel: d.numel, min: null, max: null, mean: null, std: null, norm: null, nan: 0, posinf: 0, neginf: 0, zeros: 0, update: null, ratio: null, unsupported: why };
  }
  const bytes = await elementBytes(a.array);
  const stats = statsOfBytes(bytes, d.dtype);
  const key = seriesKey(a);
  const prev = previous.get(key);
  let update: number | null = null;
  let ratio: number | null = null;
  if (prev !== undefined && prev.shape.length === d.shape.length && prev.shape.every((x, i) => x === d.shape[i])) {
    const cmp = compareArrays(prev.bytes, prev.dtype as typeof d.dtype, bytes, d.dtype, { atol: 0, rtol: 0 });
    // A NaN/Inf on either side makes the update itself non-finite (NaN), as θₜ − θₜ₋₁ would be.
    const broken = cmp.nan[0] + cmp.nan[1] + cmp.inf[0] + cmp.inf[1] > 0;
    update = broken ? NaN : cmp.l2;
    ratio = prev.norm !== null && prev.norm > 0 ? update / prev.norm : null;
  }
  current.set(key, { dtype: d.dtype, shape: d.shape, bytes, norm: stats.norm });
  const histogram = bins > 0 && stats.min !== null && stats.max !== null ? histogramOfBytes(bytes, d.dtype, stats.min, stats.max, bins) : undefined;
  return { ...base, ...stats, update, ratio, ...(histogram === undefined ? {} : { histogram }) };
}

async function lossOf(v: TorchValue | undefined): Promise<number | null> {
  const n = numberOf(v);
  if (n !== undefined) return n;
  if (typeof v === "object" && v !== null && (v as { kind?: string }).kind === "tensor" || (v as { kind?: string } | null)?.kind === "ndarray") {
    const arr = v as Tensor | NdArray;
    if (describeArray(arr).numel !== 1 || unsupportedReason(arr) !== undefined) return null;
    const s = statsOfBytes(await elementBytes(arr), describeArray(arr).dtype);
    return s.nan > 0 ? NaN : s.posinf > 0 ? Infinity : s.neginf > 0 ? -Infinity : s.mean;
  }
  return null;
}

function gradNorm(tensors: readonly TensorStepStats[]): number | null {
  let sq = 0;
  let any = false;
  let bad = false;
  for (const t of tensors) {
    if (t.group !== "grad") continue;
    any = true;
    if (t.nan > 0 || t.posinf > 0 || t.neginf > 0) bad = true;
    if (t.norm !== null) sq += t.norm * t.norm;
  }
  return any ? (bad ? NaN : Math.sqrt(sq)) : null;
}

function groupTotals(tensors: readonly TensorStepStats[]): Partial<Record<TensorGroup, GroupStepStats>> {
  const out: Partial<Record<TensorGroup, { tensors: number; numel: number; sq: number; up: number; hasUp: boolean; nan: number; inf: number }>> = {};
  for (const t of tensors) {
    const g = (out[t.group] ??= { tensors: 0, numel: 0, sq: 0, up: 0, hasUp: false, nan: 0, inf: 0 });
    g.tensors++;
    g.numel += t.numel;
    if (t.norm !== null) g.sq += t.norm * t.norm;
    if (t.update !== null) {
      g.up += t.update * t.update;
      g.hasUp = true;
    }
    g.nan += t.nan;
    g.inf += t.posinf + t.neginf;
  }
  const result: Partial<Record<TensorGroup, GroupStepStats>> = {};
  for (const [k, g] of Object.entries(out) as [TensorGroup, NonNullable<(typeof out)[TensorGroup]>][]) {
    result[k] = { tensors: g.tensors, numel: g.numel, norm: Math.sqrt(g.sq), update: g.hasUp ? Math.sqrt(g.up) : null, nan: g.nan, inf: g.inf };
  }
  return result;
}
