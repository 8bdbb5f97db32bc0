/** The details of one tensor: geometry, statistics, histogram, heat map and first values. */
import type { TensorDetail } from "../protocol.js";
import { heatMapChart, histogramChart } from "./charts.js";
import { formatBytes, formatStat, h, ms } from "./dom.js";

function table(rows: [string, string | Node][], cls = "kv"): HTMLTableElement {
  return h("table", { class: cls }, h("tbody", {}, ...rows.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, v)))));
}

/** `onStream` is called when the person asks for the statistics of a tensor too large to read whole. */
export function tensorView(d: TensorDetail, onStream?: () => void): HTMLElement {
  const geometry = table([
    ["dtype", d.dtype],
    ["shape", `[${d.shape.join(", ")}]`],
    ["strides", `[${d.stride.join(", ")}]`],
    ["storage offset", String(d.storageOffset)],
    ["bytes", `${formatBytes(d.bytes)} (${d.bytes.toLocaleString("en-US")})`],
    ["device", d.device],
    ["kind", [d.isParameter ? "Parameter" : "Tensor", d.layout, d.requiresGrad ? "requires_grad" : ""].filter((s) => s).join(", ")],
  ]);
  const parts: (HTMLElement | null)[] = [
    h("h2", { class: "path", id: "tensor-title", tabindex: -1 }, d.path === "" ? "(root)" : d.path),
    h("div", { class: "cards" }, h("div", { class: "card" }, h("h3", {}, "Geometry"), geometry), d.stats === undefined ? null : statsCard(d)),
  ];
  if (d.note !== undefined) parts.push(h("p", { class: "note" }, d.note));
  if (d.streamable === true && onStream !== undefined) {
    const go = h("button", { type: "button", class: "button primary", "data-action": "stream" }, `Compute statistics (reads ${formatBytes(d.bytes)} twice)`);
    go.addEventListener("click", () => {
      go.disabled = true;
      onStream();
    });
    parts.push(h("p", {}, go));
  }
  if (d.histogram !== undefined) {
    let log = false;
    const holder = h("div", { class: "chart-holder", "data-chart": "histogram" }, histogramChart(d.histogram, log));
    const toggle = h("button", { type: "button", class: "small-button", "aria-pressed": "false" }, "log counts");
    toggle.addEventListener("click", () => {
      log = !log;
      toggle.setAttribute("aria-pressed", String(log));
      holder.replaceChildren(histogramChart(d.histogram!, log));
    });
    parts.push(h("div", { class: "card wide" }, h("h3", {}, `Histogram (${d.histogram.counts.length} bins, finite values) `, toggle), holder));
  }
  if (d.heat !== undefined) {
    const { canvas, range } = heatMapChart(d.heat);
    const asShape = d.shape.length > 2 ? ` (as [${d.heat.sourceRows}, ${d.heat.sourceCols}])` : "";
    parts.push(h("div", { class: "card wide" },
      h("h3", {}, `Heat map${asShape}`),
      h("p", { class: "small muted" }, `${d.heat.rows} × ${d.heat.cols} cells, each the mean of its block; blue −${formatStat(range)} … white 0 … red +${formatStat(range)}`),
      h("div", { class: "chart-holder", "data-chart": "heat" }, canvas)));
  }
  if (d.first.length > 0) {
    const total = d.stats?.numel ?? d.shape.reduce((a, b) => a * b, 1);
    parts.push(h("div", { class: "card wide" },
      h("h3", {}, `First ${d.first.length} of ${total.toLocaleString("en-US")} values`),
      h("div", { class: "values", "data-values": "" }, ...d.first.map((v) => h("span", { class: /nan|inf/.test(v) ? "v bad" : "v" }, v)))));
  }
  parts.push(h("p", { class: "small muted" }, `read and computed in ${ms(d.ms)}`));
  return h("article", { class: "tensor", "aria-labelledby": "tensor-title" }, ...parts);
}

function statsCard(d: TensorDetail): HTMLElement {
  const s = d.stats!;
  const bad = s.nan + s.posinf + s.neginf > 0;
  const cell = (v: number, warn = false) => h("span", { class: warn && v > 0 ? "bad" : "" }, formatStat(v));
  const num = (v: number | null) => (v === null ? "–" : formatStat(v));
  return h("div", { class: `card${bad ? " has-bad" : ""}`, "data-stats": JSON.stringify(s) },
    h("h3", {}, "Statistics", h("span", { class: "small muted" }, " (float64, finite values)")),
    table([
      ["numel", s.numel.toLocaleString("en-US")],
      ["min", num(s.min)],
      ["max", num(s.max)],
      ["mean", num(s.mean)],
      ["std", num(s.std)],
      ["L2 norm", num(s.norm)],
      ["zeros", s.zeros.toLocaleString("en-US")],
      ["NaN", cell(s.nan, true)],
      ["+Inf", cell(s.posinf, true)],
      ["−Inf", cell(s.neginf, true)],
    ], "kv stats"));
}
