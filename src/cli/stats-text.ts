/** `torchsave stats` terminal output: findings first, then series as sparklines, then a table of the groups per step. */
import type { RunStep, RunSummary, TensorGroup, TensorStepStats } from "../analyze/index.js";
import { num, pathText } from "./diff-format.js";

const BARS = "▁▂▃▄▅▆▇█";

/**
 * A sparkline of `xs`: one bar per value (NaN/Inf as "×", missing as " "), on a log scale when the
 * positive values span more than two decades. At most `width` bars (values are sampled evenly).
 */
export function sparkline(xs: readonly (number | null)[], width = 60): { line: string; log: boolean } {
  const picked = xs.length <= width ? xs : Array.from({ length: width }, (_, i) => xs[Math.floor((i * xs.length) / width)]!);
  const finite = picked.filter((x): x is number => x !== null && Number.isFinite(x));
  const pos = finite.filter((x) => x > 0);
  const log = pos.length === finite.length && pos.length > 1 && Math.max(...pos) / Math.min(...pos) > 100;
  const f = (x: number) => (log ? Math.log10(x) : x);
  const lo = finite.length ? Math.min(...finite.map(f)) : 0;
  const hi = finite.length ? Math.max(...finite.map(f)) : 0;
  const line = picked
    .map((x) => {
      if (x === null) return " ";
      if (!Number.isFinite(x)) return "×";
      const t = hi > lo ? (f(x) - lo) / (hi - lo) : 0.5;
      return BARS[Math.min(7, Math.max(0, Math.round(t * 7)))]!;
    })
    .join("");
  return { line, log };
}

function range(xs: readonly (number | null)[]): string {
  const f = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  if (f.length === 0) return xs.some((x) => x !== null) ? "non-finite" : "-";
  return `${num(Math.min(...f))} … ${num(Math.max(...f))}`;
}

const groupNorm = (s: RunStep, g: TensorGroup) => s.groups[g]?.norm ?? null;
const groupUpdate = (s: RunStep, g: TensorGroup) => s.groups[g]?.update ?? null;

/** The series shown for a run: name → value per step. */
export function runSeries(steps: readonly RunStep[]): [string, (number | null)[]][] {
  const series: [string, (number | null)[]][] = [];
  const add = (name: string, xs: (number | null)[]) => {
    if (xs.some((x) => x !== null)) series.push([name, xs]);
  };
  add("loss", steps.map((s) => s.loss));
  add("grad norm", steps.map((s) => s.gradNorm));
  add("param norm", steps.map((s) => groupNorm(s, "param")));
  add("param update", steps.map((s) => groupUpdate(s, "param")));
  add("update/param", steps.map((s) => {
    const u = groupUpdate(s, "param");
    const i = steps.indexOf(s);
    const prev = i > 0 ? groupNorm(steps[i - 1]!, "param") : null;
    return u !== null && prev !== null && prev > 0 ? u / prev : null;
  }));
  add("optimizer norm", steps.map((s) => groupNorm(s, "optimizer")));
  add("buffer norm", steps.map((s) => groupNorm(s, "buffer")));
  return series;
}

const nonFinite = (s: RunStep): number => Object.values(s.groups).reduce((a, g) => a + (g?.nan ?? 0) + (g?.inf ?? 0), 0);

/** The run report. */
export function runText(steps: readonly RunStep[], summary: RunSummary, maxRows: number): string[] {
  const lines: string[] = [];
  const first = steps[0];
  const last = steps[steps.length - 1];
  lines.push(`run: ${summary.steps} step${summary.steps === 1 ? "" : "s"}${first && last ? ` (${first.step} … ${last.step}: ${first.file} … ${last.file})` : ""}`);
  for (const n of summary.notes) lines.push(`note: ${n}`);
  lines.push("", summary.findings.length === 0 ? "findings: none" : "findings:");
  for (const f of summary.findings) lines.push(`  ${f.severity.padEnd(7)} ${f.message}`);
  lines.push(`  last healthy step: ${summary.lastHealthyStep ?? "none"}${summary.firstNonFinite ? `, first non-finite: ${summary.firstNonFinite.step}` : ""}`);
  const series = runSeries(steps);
  if (series.length > 0 && steps.length > 1) {
    lines.push("", "series over steps (× = NaN/Inf):");
    const w = Math.max(...series.map(([n]) => n.length));
    for (const [name, xs] of series) {
      const { line, log } = sparkline(xs);
      lines.push(`  ${name.padEnd(w)}  ${line}  ${range(xs)}${log ? " (log)" : ""}`);
    }
  }
  lines.push("");
  const head = ["step", "loss", "grad norm", "param norm", "update", "optim norm", "nan/inf", "file"];
  const rows = steps.map((s) => [String(s.step), num(s.loss), num(s.gradNorm), num(groupNorm(s, "param")), num(groupUpdate(s, "param")), num(groupNorm(s, "optimizer")), String(nonFinite(s)), s.file]);
  const shown = rows.length <= maxRows ? rows : [...rows.slice(0, Math.ceil(maxRows / 2)), null, ...rows.slice(rows.length - Math.floor(maxRows / 2))];
  // Columns with no value at any step (no optimizer state in the dumps, say) are left out.
  const keep = head.map((_, i) => i === 0 || i === head.length - 1 || rows.some((r) => r[i] !== "-"));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padStart(widths[i]!))).filter((_, i) => keep[i]).join("  ");
  lines.push(fmt(head));
  for (const r of shown) lines.push(r === null ? `  … ${rows.length - maxRows} steps (--top N shows more; --csv/--json all)` : fmt(r));
  return lines;
}

/** One file: a table of its tensors. */
export function fileText(step: RunStep, summary: RunSummary, maxRows: number): string[] {
  const lines: string[] = [`${step.file}: ${step.tensors.length} tensors${step.loss !== null ? `, loss ${num(step.loss)}` : ""}${step.gradNorm !== null ? `, grad norm ${num(step.gradNorm)}` : ""}`];
  // One file has no steps to compare: say which tensors hold NaN/Inf, the rest of the findings as they are.
  const bad = step.tensors.filter((t) => t.nan + t.posinf + t.neginf > 0).map((t) => pathText(t.path));
  if (bad.length > 0) lines.push(`NaN/Inf in ${bad.length} tensor${bad.length === 1 ? "" : "s"}: ${bad.slice(0, 10).join(", ")}${bad.length > 10 ? ", …" : ""}`);
  else if (step.loss !== null && !Number.isFinite(step.loss)) lines.push("NaN/Inf in the loss");
  for (const f of summary.findings) if (f.kind !== "non-finite") lines.push(`${f.severity}: ${f.message}`);
  lines.push("");
  const head = ["group", "dtype", "shape", "numel", "min", "max", "mean", "std", "norm", "nan", "inf", "zeros", "path"];
  const cell = (t: TensorStepStats) => [
    t.group, t.dtype, `[${t.shape.join(",")}]`, String(t.numel), num(t.min), num(t.max), num(t.mean), num(t.std), num(t.norm),
    String(t.nan), String(t.posinf + t.neginf), String(t.zeros), pathText(t.path) + (t.unsupported ? `  (${t.unsupported}: no statistics)` : ""),
  ];
  const rows = step.tensors.slice(0, maxRows).map(cell);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  lines.push(fmt(head));
  for (const r of rows) lines.push(fmt(r));
  if (step.tensors.length > maxRows) lines.push(`… ${step.tensors.length - maxRows} more tensors (--top N shows more; --csv/--json all)`);
  return lines;
}
