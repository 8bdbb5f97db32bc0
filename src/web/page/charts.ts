/** The histogram and the heat map, drawn on canvases with the page's colours (light or dark). */
import type { HeatMap, Histogram } from "../protocol.js";
import { formatStat, h } from "./dom.js";

const css = (name: string): string => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";

function canvas(width: number, height: number, label: string): [HTMLCanvasElement, CanvasRenderingContext2D] {
  const c = h("canvas", { role: "img", "aria-label": label, class: "chart" });
  const ratio = Math.min(2, globalThis.devicePixelRatio || 1);
  c.width = Math.round(width * ratio);
  c.height = Math.round(height * ratio);
  c.style.width = "100%";
  c.style.maxWidth = `${width}px`;
  c.style.aspectRatio = `${width} / ${height}`;
  const ctx = c.getContext("2d")!;
  ctx.scale(ratio, ratio);
  return [c, ctx];
}

/** Bars of the value counts, a log-count toggle, the range on the axis. */
export function histogramChart(hist: Histogram, log: boolean): HTMLCanvasElement {
  const W = 520;
  const H = 180;
  const counts = hist.counts;
  const total = counts.reduce((a, b) => a + b, 0);
  const [c, ctx] = canvas(W, H, `Histogram of ${total} finite values from ${formatStat(hist.lo)} to ${formatStat(hist.hi)}`);
  const pad = { l: 8, r: 8, t: 8, b: 22 };
  const scale = (n: number) => (log ? Math.log10(1 + n) : n);
  const top = Math.max(1e-9, ...counts.map(scale));
  const bw = (W - pad.l - pad.r) / counts.length;
  ctx.fillStyle = css("--accent");
  counts.forEach((n, i) => {
    if (n === 0) return;
    const bh = Math.max(1, (scale(n) / top) * (H - pad.t - pad.b));
    ctx.fillRect(pad.l + i * bw, H - pad.b - bh, Math.max(1, bw - 1), bh);
  });
  ctx.strokeStyle = css("--muted");
  ctx.beginPath();
  ctx.moveTo(pad.l, H - pad.b + 0.5);
  ctx.lineTo(W - pad.r, H - pad.b + 0.5);
  ctx.stroke();
  ctx.fillStyle = css("--fg");
  ctx.font = "12px system-ui, sans-serif";
  ctx.textBaseline = "top";
  ctx.textAlign = "left";
  ctx.fillText(formatStat(hist.lo), pad.l, H - pad.b + 5);
  ctx.textAlign = "right";
  ctx.fillText(formatStat(hist.hi), W - pad.r, H - pad.b + 5);
  if (hist.lo < 0 && hist.hi > 0) {
    const x = pad.l + ((0 - hist.lo) / (hist.hi - hist.lo)) * (W - pad.l - pad.r);
    ctx.textAlign = "center";
    ctx.fillText("0", x, H - pad.b + 5);
    ctx.strokeStyle = css("--muted");
    ctx.setLineDash([3, 3]);
    ctx.beginPath();
    ctx.moveTo(x + 0.5, pad.t);
    ctx.lineTo(x + 0.5, H - pad.b);
    ctx.stroke();
  }
  return c;
}

/** A diverging blue–white–red map around 0 (symmetric scale); NaN cells are drawn in the warning colour. */
export function heatMapChart(heat: HeatMap): { canvas: HTMLCanvasElement; range: number } {
  let range = 0;
  for (const v of heat.values) if (v === v && Math.abs(v) > range) range = Math.abs(v);
  const cell = Math.max(2, Math.min(8, Math.floor(384 / Math.max(heat.rows, heat.cols))));
  const W = heat.cols * cell;
  const H = heat.rows * cell;
  const [c, ctx] = canvas(W, H, `Heat map of ${heat.sourceRows} × ${heat.sourceCols} values as ${heat.rows} × ${heat.cols} cells, scale ±${formatStat(range)}`);
  const bad = css("--bad");
  for (let r = 0; r < heat.rows; r++) {
    for (let k = 0; k < heat.cols; k++) {
      const v = heat.values[r * heat.cols + k]!;
      if (v !== v) ctx.fillStyle = bad;
      else {
        const t = range > 0 ? v / range : 0;
        const a = Math.round(255 * (1 - Math.abs(t)));
        ctx.fillStyle = t >= 0 ? `rgb(255,${a},${a})` : `rgb(${a},${a},255)`;
      }
      ctx.fillRect(k * cell, r * cell, cell, cell);
    }
  }
  return { canvas: c, range };
}
