/** `torchsave stats --json` lines and `--csv` rows: one per step × tensor, then (JSON) one summary line. */
import type { RunStep, RunSummary, TensorStepStats } from "../analyze/index.js";

/** The JSON line of one tensor at one step (NaN/Inf numbers become null, as JSON has none). */
export function statsJsonLine(s: RunStep, t: TensorStepStats): string {
  return JSON.stringify({
    file: s.file, step: s.step, path: t.path, group: t.group, name: t.name, dtype: t.dtype, shape: t.shape,
    numel: t.numel, min: t.min, max: t.max, mean: t.mean, std: t.std, norm: t.norm,
    nan: t.nan, posinf: t.posinf, neginf: t.neginf, zeros: t.zeros, update: t.update, ratio: t.ratio,
    ...(t.unsupported === undefined ? {} : { unsupported: t.unsupported }),
  });
}

/** The final JSON line: `{summary: {steps, firstNonFinite, lastHealthyStep, findings, notes, perStep}}`. */
export function summaryJsonLine(steps: readonly RunStep[], summary: RunSummary): string {
  return JSON.stringify({
    summary: {
      steps: summary.steps,
      firstNonFinite: summary.firstNonFinite,
      lastHealthyStep: summary.lastHealthyStep,
      findings: summary.findings,
      notes: summary.notes,
      perStep: steps.map((s) => ({ step: s.step, file: s.file, loss: s.loss, gradNorm: s.gradNorm })),
    },
  });
}

export const CSV_HEADER = "file,step,group,name,path,dtype,shape,numel,min,max,mean,std,norm,nan,posinf,neginf,zeros,update,ratio,loss,grad_norm";

/** A CSV field: quoted when it holds a comma, quote or line break. */
function field(v: string | number | null): string {
  if (v === null) return "";
  if (typeof v === "number") return Number.isNaN(v) ? "nan" : v === Infinity ? "inf" : v === -Infinity ? "-inf" : String(v);
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function statsCsvRow(s: RunStep, t: TensorStepStats): string {
  return [
    s.file, s.step, t.group, t.name, JSON.stringify(t.path), t.dtype, t.shape.join("x"), t.numel, t.min, t.max, t.mean, t.std, t.norm,
    t.nan, t.posinf, t.neginf, t.zeros, t.update, t.ratio, s.loss, s.gradNorm,
  ].map(field).join(",");
}
