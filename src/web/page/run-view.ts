/**
 * A run of per-step dumps as charts (uPlot, bundled): loss, global grad norm, each group's norm and
 * update (log scale where norms span decades), one chosen tensor's series, and the run's findings
 * (analyze's runStats, as `torchsave stats` reports them).
 */
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { RunView, Series } from "../run-model.js";
import { h } from "./dom.js";

const css = (name: string): string => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
const PALETTE = ["--accent", "--bad", "--ok", "--warn", "--muted"];

/** Short axis labels: 0, 0.25, 120, 1e7, 3e-5. */
function tickLabel(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(0).replace("e+", "e");
  return String(Number(v.toPrecision(3)));
}

interface Line { readonly label: string; readonly values: Series }

/** A line chart over steps; `log` drops values ≤ 0 (they have no place on a log axis). */
function chart(title: string, steps: number[], lines: readonly Line[], log: boolean, width: number): HTMLElement {
  const holder = h("figure", { class: "run-chart", "data-chart": title });
  const data: uPlot.AlignedData = [steps, ...lines.map((l) => l.values.map((v) => (v === null || (log && v <= 0) ? null : v)))];
  const fg = css("--fg");
  const grid = css("--line");
  const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  const opts: uPlot.Options = {
    title, width, height: 200,
    scales: { x: { time: false }, y: log ? { distr: 3 } : {} },
    axes: [{ ...axis, label: "step" }, { ...axis, values: (_u, ticks) => ticks.map((t) => (log && !Number.isInteger(Math.round(Math.log10(t) * 1e6) / 1e6) ? "" : tickLabel(t))), size: 56 }],
    series: [{ label: "step" }, ...lines.map((l, i) => ({ label: l.label, stroke: css(PALETTE[i % PALETTE.length]!), width: 1.5, points: { show: steps.length <= 60 }, spanGaps: false }))],
    legend: { live: true },
  };
  new uPlot(opts, data, holder);
  return holder;
}

export function runView(run: RunView, container: HTMLElement): HTMLElement {
  const width = Math.max(280, Math.min(620, (container.clientWidth || 1200) / 2 - 40));
  const s = run.summary;
  const findings = s.findings.length === 0 ? h("p", { class: "ok" }, "No findings: every step finite, no spikes, no frozen parameters.") : h("ul", { class: "findings" },
    ...s.findings.map((f) => h("li", { class: `finding ${f.severity}`, "data-kind": f.kind }, h("span", { class: `sev ${f.severity}` }, f.severity), ` ${f.message}`)));
  const head = h("div", { class: `run-head card wide${s.firstNonFinite !== null ? " has-bad" : ""}` },
    h("h2", {}, `A run of ${run.steps.length} steps`),
    h("p", {}, s.firstNonFinite === null ? "All steps finite." : h("span", { class: "bad", "data-first-non-finite": s.firstNonFinite.step }, `First NaN/Inf at step ${s.firstNonFinite.step} (${s.firstNonFinite.paths.slice(0, 5).join(", ")}${s.firstNonFinite.paths.length > 5 ? ", …" : ""}); last healthy step ${s.lastHealthyStep ?? "–"}.`)),
    findings,
    ...s.notes.map((n) => h("p", { class: "small muted" }, n)));
  const charts = h("div", { class: "run-charts" });
  const losses = run.loss.filter((v): v is number => v !== null && Number.isFinite(v));
  // A loss that spans decades (a blow-up) reads better on a log axis.
  const logLoss = losses.length > 0 && losses.every((v) => v > 0) && Math.max(...losses) / Math.min(...losses) > 100;
  if (losses.length > 0) charts.append(chart(logLoss ? "loss (log)" : "loss", run.steps, [{ label: "loss", values: run.loss }], logLoss, width));
  if (run.gradNorm.some((v) => v !== null)) charts.append(chart("global grad norm", run.steps, [{ label: "‖g‖₂", values: run.gradNorm }], true, width));
  const groups = Object.entries(run.groups);
  if (groups.length > 0) {
    charts.append(chart("norm by group", run.steps, groups.map(([g, v]) => ({ label: g, values: v.norm })), true, width));
    if (groups.some(([, v]) => v.update.some((x) => x !== null))) charts.append(chart("update by group ‖xₜ − xₜ₋₁‖", run.steps, groups.map(([g, v]) => ({ label: g, values: v.update })), true, width));
  }
  const select = h("select", { id: "run-tensor", "aria-label": "Tensor" }, ...run.tensors.map((t, i) => h("option", { value: i }, `${t.group}: ${t.name}`)));
  const tensorCharts = h("div", { class: "run-charts" });
  const showTensor = () => {
    const t = run.tensors[Number(select.value)];
    if (t === undefined) return;
    tensorCharts.replaceChildren(
      chart(`${t.name}: norm`, run.steps, [{ label: "‖x‖₂", values: t.norm }], true, width),
      chart(`${t.name}: mean and std`, run.steps, [{ label: "mean", values: t.mean }, { label: "std", values: t.std }], false, width),
      ...(t.ratio.some((v) => v !== null) ? [chart(`${t.name}: update / norm`, run.steps, [{ label: "ratio", values: t.ratio }], true, width)] : []),
      ...(t.nonFinite.some((v) => v !== null && v > 0) ? [chart(`${t.name}: NaN + Inf count`, run.steps, [{ label: "non-finite", values: t.nonFinite }], false, width)] : []),
    );
  };
  select.addEventListener("change", showTensor);
  const view = h("section", { class: "run-view", "aria-label": "Run" },
    head, charts,
    h("div", { class: "card wide" }, h("label", { for: "run-tensor" }, "Tensor "), select, tensorCharts),
    h("details", { class: "small muted" }, h("summary", {}, "Files in step order"), h("ol", {}, ...run.files.map((f, i) => h("li", {}, `step ${run.steps[i]}: ${f}`)))));
  queueMicrotask(showTensor);
  return view;
}
