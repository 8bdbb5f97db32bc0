/** The findings of a run, from its per-step numbers: what went wrong, where, and since when. */
import type { KeyPath } from "../errors.js";
import type { RunFinding, RunStatsOptions, RunStep, RunSummary } from "./run-types.js";
import { DEFAULT_RATIO_BAND, DEFAULT_SPIKE_Z } from "./run-types.js";

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * Robust z-scores (Iglewicz and Hoaglin): 0.6745·(x − median)/MAD, with the mean absolute
 * deviation (×1.2533) standing in when the MAD is 0. All zeros when every value is the same.
 */
export function robustZ(xs: readonly number[]): number[] {
  if (xs.length === 0) return [];
  const med = median(xs);
  const dev = xs.map((x) => Math.abs(x - med));
  const mad = median(dev);
  if (mad > 0) return xs.map((x) => (0.6745 * (x - med)) / mad);
  const meanDev = dev.reduce((a, b) => a + b, 0) / dev.length;
  if (meanDev === 0) return xs.map(() => 0);
  return xs.map((x) => (x - med) / (1.2533 * meanDev));
}

const fmt = (x: number): string => (x === 0 ? "0" : Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3 ? x.toExponential(2) : x.toPrecision(3));

const nonFinite = (t: { nan: number; posinf: number; neginf: number }): boolean => t.nan + t.posinf + t.neginf > 0;

/** The summary record of a run. */
export function findingsOf(steps: readonly RunStep[], options: RunStatsOptions, notes: readonly string[]): RunSummary {
  const findings: RunFinding[] = [];
  const zCut = options.spikeZ ?? DEFAULT_SPIKE_Z;
  const [lo, hi] = options.ratioBand ?? DEFAULT_RATIO_BAND;

  // 1. The first non-finite step and the last healthy one.
  let firstNonFinite: RunSummary["firstNonFinite"] = null;
  let lastHealthyStep: number | null = null;
  for (const s of steps) {
    const bad: KeyPath[] = s.tensors.filter(nonFinite).map((t) => t.path);
    const lossBad = s.loss !== null && !Number.isFinite(s.loss);
    if (bad.length > 0 || lossBad) {
      firstNonFinite = { step: s.step, paths: bad };
      const names = s.tensors.filter(nonFinite).map((t) => `${t.group}:${t.name}`);
      const what = names.length > 0 ? `${names.length} tensor${names.length === 1 ? "" : "s"} (${names.slice(0, 5).join(", ")}${names.length > 5 ? ", …" : ""})` : "the loss";
      findings.push({
        kind: "non-finite", severity: "error", step: s.step, names,
        message: `step ${s.step} (${s.file}) is the first with NaN/Inf: ${what}${lossBad && names.length > 0 ? " and the loss" : ""}; last healthy step: ${lastHealthyStep ?? "none"}`,
      });
      break;
    }
    lastHealthyStep = s.step;
  }

  // 2. Grad-norm spikes, on log10 of the finite global grad norms (norms fall over decades as training goes).
  const gn = steps.filter((s) => s.gradNorm !== null && Number.isFinite(s.gradNorm) && s.gradNorm > 0);
  if (gn.length >= 5) {
    const z = robustZ(gn.map((s) => Math.log10(s.gradNorm!)));
    gn.forEach((s, i) => {
      if (z[i]! > zCut) {
        findings.push({ kind: "grad-norm-spike", severity: "warning", step: s.step, value: s.gradNorm!, message: `grad norm spike at step ${s.step}: ${fmt(s.gradNorm!)} (robust z ${z[i]!.toFixed(1)} > ${zCut})` });
      }
    });
  }

  // 3. Gradients that are all zero.
  const zeroGrad = new Map<string, number[]>();
  for (const s of steps) {
    for (const t of s.tensors) if (t.group === "grad" && t.numel > 0 && t.zeros === t.numel) (zeroGrad.get(t.name) ?? zeroGrad.set(t.name, []).get(t.name)!).push(s.step);
  }
  for (const [name, at] of zeroGrad) {
    const all = at.length === steps.length;
    findings.push({ kind: "zero-grad", severity: "warning", names: [`grad:${name}`], step: at[0]!, message: `gradient of ${name} is all zeros ${all ? "at every step" : `at ${at.length} of ${steps.length} steps (first ${at[0]})`}` });
  }

  // 4. Parameters that never change, and update/param ratios far from ~1e-3.
  if (steps.length >= 2) {
    const updates = new Map<string, number[]>();
    const ratios = new Map<string, number[]>();
    const healthy = firstNonFinite === null ? steps : steps.filter((s) => s.step < firstNonFinite!.step);
    for (const s of healthy) {
      for (const t of s.tensors) {
        if (t.group !== "param") continue;
        if (t.update !== null) (updates.get(t.name) ?? updates.set(t.name, []).get(t.name)!).push(t.update);
        if (t.ratio !== null && Number.isFinite(t.ratio)) (ratios.get(t.name) ?? ratios.set(t.name, []).get(t.name)!).push(t.ratio);
      }
    }
    const frozen = [...updates].filter(([, u]) => u.length > 0 && u.every((x) => x === 0)).map(([n]) => n);
    if (frozen.length > 0) {
      findings.push({ kind: "frozen-param", severity: "warning", names: frozen, message: `${frozen.length} parameter${frozen.length === 1 ? " never changes" : "s never change"}: ${frozen.slice(0, 8).join(", ")}${frozen.length > 8 ? ", …" : ""}` });
    }
    for (const [name, r] of ratios) {
      if (frozen.includes(name) || r.length === 0) continue;
      const m = median(r);
      if (m < lo || m > hi) {
        findings.push({ kind: "update-ratio", severity: "info", names: [name], value: m, message: `${name}: median update/param ratio ${fmt(m)} is ${m < lo ? "below" : "above"} [${fmt(lo)}, ${fmt(hi)}] (usual ~1e-3)` });
      }
    }
  }
  return { kind: "summary", steps: steps.length, firstNonFinite, lastHealthyStep, findings, notes: [...notes] };
}
