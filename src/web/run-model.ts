/**
 * A run of per-step dumps as chart series: analyze's runStats over the inputs, folded into one
 * number per step per series (loss, global grad norm, each group's norm and update, each tensor's
 * norm, mean, std, update ratio, NaN/Inf count) plus the run's findings. DOM-free.
 */
import { runStats, TENSOR_GROUPS, type RunSource, type RunSummary } from "../analyze/index.js";
import { formatKeyPath } from "../errors.js";
import type { OpenInput } from "./protocol.js";

/** One value per step (null where the step has none). */
export type Series = (number | null)[];

export interface RunTensorSeries {
  readonly name: string;
  readonly group: string;
  readonly norm: Series;
  readonly mean: Series;
  readonly std: Series;
  readonly ratio: Series;
  readonly nonFinite: Series;
}

export interface RunView {
  readonly files: string[];
  readonly steps: number[];
  readonly loss: Series;
  readonly gradNorm: Series;
  /** Per group: the group's norm and update at each step. */
  readonly groups: Readonly<Record<string, { readonly norm: Series; readonly update: Series }>>;
  readonly tensors: RunTensorSeries[];
  readonly summary: Omit<RunSummary, "firstNonFinite"> & { readonly firstNonFinite: { readonly step: number; readonly paths: string[] } | null };
}

/** Most tensor series kept (the rest are summed in their groups only). */
export const MAX_RUN_SERIES = 2000;

const num = (v: number | null | undefined): number | null => (v === null || v === undefined || Number.isNaN(v) ? null : v);

/** Runs runStats over the inputs; `progress` is called after each step. */
export async function runView(inputs: readonly OpenInput[], open: (input: OpenInput) => Promise<RunSource["open"] extends () => Promise<infer R> ? R : never>, progress?: (done: number, total: number) => void): Promise<RunView> {
  const sources: RunSource[] = inputs.map((input) => ({ name: input.name, open: () => open(input) }));
  const files: string[] = [];
  const steps: number[] = [];
  const loss: Series = [];
  const gradNorm: Series = [];
  const groups: Record<string, { norm: Series; update: Series }> = {};
  const byName = new Map<string, RunTensorSeries>();
  let summary: RunSummary | undefined;
  for await (const rec of runStats(sources, {})) {
    if (rec.kind === "summary") {
      summary = rec;
      continue;
    }
    const i = steps.length;
    files.push(rec.file);
    steps.push(rec.step);
    loss.push(num(rec.loss));
    gradNorm.push(num(rec.gradNorm));
    for (const g of TENSOR_GROUPS) {
      const s = rec.groups[g];
      if (s === undefined) continue;
      const slot = (groups[g] ??= { norm: [], update: [] });
      slot.norm[i] = num(s.norm);
      slot.update[i] = num(s.update);
    }
    for (const t of rec.tensors) {
      const key = `${t.group}:${t.name}`;
      let series = byName.get(key);
      if (series === undefined) {
        if (byName.size >= MAX_RUN_SERIES) continue;
        series = { name: t.name, group: t.group, norm: [], mean: [], std: [], ratio: [], nonFinite: [] };
        byName.set(key, series);
      }
      series.norm[i] = num(t.norm);
      series.mean[i] = num(t.mean);
      series.std[i] = num(t.std);
      series.ratio[i] = num(t.ratio);
      series.nonFinite[i] = t.nan + t.posinf + t.neginf;
    }
    progress?.(i + 1, inputs.length);
  }
  // Fill holes (a series missing at a step) with null, so every series has one value per step.
  const fill = (s: Series) => {
    for (let k = 0; k < steps.length; k++) if (s[k] === undefined) s[k] = null;
  };
  for (const g of Object.values(groups)) {
    fill(g.norm);
    fill(g.update);
  }
  for (const t of byName.values()) for (const s of [t.norm, t.mean, t.std, t.ratio, t.nonFinite]) fill(s);
  const s = summary ?? { kind: "summary" as const, steps: steps.length, firstNonFinite: null, lastHealthyStep: null, findings: [], notes: [] };
  return {
    files, steps, loss, gradNorm, groups, tensors: [...byName.values()],
    summary: { ...s, firstNonFinite: s.firstNonFinite === null ? null : { step: s.firstNonFinite.step, paths: s.firstNonFinite.paths.map(formatKeyPath) } },
  };
}
