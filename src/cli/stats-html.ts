/**
 * `torchsave stats --html`: one self-contained page (no network, no external files): the findings,
 * line charts of the run's series with axes and log scales where norms span decades, a per-tensor
 * selector, and histograms of a chosen step. Charts are SVG drawn by the inline script
 * (`stats-html-script.ts`); the data rides along as JSON.
 */
import type { RunStep, RunSummary, TensorStepStats } from "../analyze/index.js";
import { STATS_PAGE_SCRIPT, STATS_PAGE_STYLE } from "./stats-html-script.js";

/** Per-tensor columns carried to the page (one value per step; null where the tensor is absent). */
const COLUMNS = ["norm", "mean", "std", "min", "max", "update", "ratio", "nan", "inf", "zeros"] as const;

interface PageSeries {
  key: string;
  group: string;
  name: string;
  dtype: string;
  shape: readonly number[];
  cols: Record<(typeof COLUMNS)[number], (number | null)[]>;
  hist: ({ lo: number; hi: number; counts: number[] } | null)[];
}

function columnValue(t: TensorStepStats, c: (typeof COLUMNS)[number]): number | null {
  return c === "inf" ? t.posinf + t.neginf : t[c];
}

/** The page's data: steps, per-tensor series, the summary. */
export function pageData(steps: readonly RunStep[], summary: RunSummary): unknown {
  const series = new Map<string, PageSeries>();
  steps.forEach((s, i) => {
    for (const t of s.tensors) {
      const key = `${t.group}:${t.name}`;
      let p = series.get(key);
      if (p === undefined) {
        const cols = Object.fromEntries(COLUMNS.map((c) => [c, new Array<number | null>(steps.length).fill(null)])) as PageSeries["cols"];
        p = { key, group: t.group, name: t.name, dtype: t.dtype, shape: t.shape, cols, hist: new Array(steps.length).fill(null) };
        series.set(key, p);
      }
      for (const c of COLUMNS) p.cols[c][i] = columnValue(t, c);
      if (t.histogram !== undefined) p.hist[i] = t.histogram;
    }
  });
  return {
    steps: steps.map((s) => ({ step: s.step, file: s.file, loss: s.loss, gradNorm: s.gradNorm, groups: s.groups })),
    series: [...series.values()],
    summary,
  };
}

/** JSON with NaN/±Inf kept (as strings the page turns back into numbers), safe inside a <script>. */
function embed(data: unknown): string {
  const json = JSON.stringify(data, (_k, v: unknown) =>
    typeof v === "number" && !Number.isFinite(v) ? (Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity") : v,
  );
  return json.replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

const escapeHtml = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

export function statsHtml(steps: readonly RunStep[], summary: RunSummary): string {
  const first = steps[0];
  const last = steps[steps.length - 1];
  const title = `torchsave stats: ${summary.steps} step${summary.steps === 1 ? "" : "s"}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
<style>${STATS_PAGE_STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
<p class="sub">${first && last ? `steps ${escapeHtml(String(first.step))} … ${escapeHtml(String(last.step))} · ${escapeHtml(first.file)} … ${escapeHtml(last.file)}` : ""}</p>
</header>
<section id="findings"><h2>Findings</h2><ul id="finding-list"></ul></section>
<section><h2>Run</h2><div class="grid" id="run-charts"></div></section>
<section><h2>Per group</h2><div class="grid" id="group-charts"></div></section>
<section id="tensor-section"><h2>Per tensor</h2>
<div class="controls">
<label>tensor <select id="tensor"></select></label>
<label>statistic <select id="metric"></select></label>
<label>scale <select id="scale"><option value="auto">auto</option><option value="linear">linear</option><option value="log">log</option></select></label>
</div>
<div class="grid" id="tensor-charts"></div>
</section>
<section id="hist-section"><h2>Histogram of a step</h2>
<div class="controls"><label>step <input type="range" id="hist-step" min="0" value="0"></label> <span id="hist-label"></span></div>
<div class="grid" id="hist-charts"></div>
</section>
<footer>Made by torchsave from ${escapeHtml(String(steps.length))} dump${steps.length === 1 ? "" : "s"}. Norms are L2 norms over the finite elements; update = ‖θₜ − θₜ₋₁‖₂; ratio = update / ‖θₜ₋₁‖₂.</footer>
<script type="application/json" id="data">${embed(pageData(steps, summary))}</script>
<script>${STATS_PAGE_SCRIPT}</script>
</body>
</html>
`;
}
