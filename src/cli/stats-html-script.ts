/**
 * The inline style and script of the `stats --html` page: SVG line charts with axes (linear or log,
 * chosen by the data's span), the tensor selector and the step histogram. Plain ES2017, no
 * dependencies, no network; it reads the JSON in <script id="data">.
 */

export const STATS_PAGE_STYLE = `
:root { --fg: #1d2330; --muted: #5b6475; --line: #d9dee7; --bg: #fbfcfe; --err: #c62828; --warn: #b26a00; --info: #2f5fb3; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header, section, footer { max-width: 1240px; margin: 0 auto; padding: 8px 20px; }
h1 { font-size: 20px; margin: 12px 0 2px; } h2 { font-size: 16px; margin: 14px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.sub, footer { color: var(--muted); font-size: 12px; }
#finding-list { list-style: none; padding: 0; margin: 0; }
#finding-list li { padding: 5px 10px; margin: 3px 0; border-left: 4px solid var(--info); background: #fff; border-radius: 3px; }
#finding-list li.error { border-color: var(--err); } #finding-list li.warning { border-color: var(--warn); }
#finding-list .sev { font-weight: 600; text-transform: uppercase; font-size: 11px; margin-right: 8px; }
li.error .sev { color: var(--err); } li.warning .sev { color: var(--warn); } li.info .sev { color: var(--info); }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 12px; }
.chart { background: #fff; border: 1px solid var(--line); border-radius: 4px; padding: 4px; }
.chart svg { display: block; width: 100%; height: auto; }
.controls { display: flex; gap: 16px; align-items: center; margin: 6px 0 10px; flex-wrap: wrap; }
select { max-width: 460px; font: inherit; }
svg text { font: 11px system-ui, sans-serif; fill: #3a4254; }
svg .title { font-size: 13px; font-weight: 600; fill: var(--fg); }
svg .axis { stroke: #8a93a5; } svg .grid line { stroke: #eceff4; }
svg .bad { fill: var(--err); font-weight: 700; }
`;

export const STATS_PAGE_SCRIPT = `
(function () {
  "use strict";
  var raw = document.getElementById("data").textContent;
  var DATA = JSON.parse(raw, function (k, v) { return v === "NaN" ? NaN : v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : v; });
  var NS = "http://www.w3.org/2000/svg";
  var COLORS = ["#2f5fb3", "#d9730d", "#2e8b57", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d"];
  var steps = DATA.steps.map(function (s) { return s.step; });
  var firstBad = DATA.summary.firstNonFinite ? DATA.summary.firstNonFinite.step : null;

  function el(name, attrs, parent, text) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function fmt(x) {
    if (x === null || x === undefined) return "-";
    if (x !== x) return "NaN";
    if (!isFinite(x)) return x > 0 ? "Inf" : "-Inf";
    if (x === 0) return "0";
    var a = Math.abs(x);
    if (a >= 1e4 || a < 1e-2) return x.toExponential(1).replace("e+", "e");
    return String(Number(x.toPrecision(3)));
  }
  /** A tick label with as many decimals as the tick spacing needs (so close ticks never print alike). */
  function tickLabel(t, step) {
    if (t === 0) return "0";
    var a = Math.abs(t);
    if (a >= 1e5 || step < 1e-4) {
      var digits = Math.max(0, Math.min(8, Math.ceil(Math.log10(a / step))));
      return t.toExponential(digits).replace("e+", "e");
    }
    return t.toFixed(Math.max(0, Math.min(8, -Math.floor(Math.log10(step) + 1e-9))));
  }
  function powLabel(e) { return e >= -2 && e <= 4 ? String(Number(Math.pow(10, e).toPrecision(1))) : "1e" + e; }
  function niceTicks(lo, hi, n) {
    if (hi <= lo) { hi = lo + 1; lo = lo - 1; }
    var raw = (hi - lo) / n, mag = Math.pow(10, Math.floor(Math.log10(raw))), r = raw / mag;
    var step = (r >= 5 ? 10 : r >= 2 ? 5 : r >= 1 ? 2 : 1) * mag;
    var out = [];
    // From the tick at or below lo to the tick at or above hi, so no point sits on the frame.
    var first = Math.floor(lo / step + 1e-9), last = Math.ceil(hi / step - 1e-9);
    for (var k = first; k <= last; k++) out.push(Math.abs(k * step) < step * 1e-9 ? 0 : Number((k * step).toPrecision(12)));
    return out;
  }
  function logTicks(lo, hi) {
    var out = [], a = Math.floor(lo), b = Math.ceil(hi);
    var every = Math.max(1, Math.ceil((b - a) / 8));
    for (var e = a; e <= b; e += every) out.push(e);
    return out;
  }
  /** spec: {title, ylabel, xlabel, series: [{name, xs, ys}], scale: auto|linear|log, markers: [{x, label}]} */
  function lineChart(parent, spec) {
    var W = 560, H = 270, L = 66, R = 14, T = 26, B = 42;
    var box = document.createElement("div"); box.className = "chart"; parent.appendChild(box);
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": spec.title }, box);
    el("text", { x: L, y: 16, "class": "title" }, svg, spec.title);
    var fin = [];
    spec.series.forEach(function (s) { s.ys.forEach(function (y) { if (y !== null && isFinite(y)) fin.push(y); }); });
    var pos = fin.filter(function (y) { return y > 0; });
    var log = spec.scale === "log" ? pos.length > 0 : spec.scale === "linear" ? false :
      (pos.length === fin.length && pos.length > 1 && Math.max.apply(null, pos) / Math.min.apply(null, pos) > 100);
    var f = log ? function (y) { return Math.log10(y); } : function (y) { return y; };
    var used = log ? pos : fin;
    var lo = used.length ? Math.min.apply(null, used.map(f)) : 0, hi = used.length ? Math.max.apply(null, used.map(f)) : 1;
    if (hi === lo) { hi += log ? 0.5 : (Math.abs(hi) || 1) * 0.1; lo -= log ? 0.5 : (Math.abs(lo) || 1) * 0.1; }
    var ticks = log ? logTicks(lo, hi) : niceTicks(lo, hi, 5);
    lo = Math.min(lo, ticks[0]); hi = Math.max(hi, ticks[ticks.length - 1]);
    var xs0 = spec.series.length ? spec.series[0].xs : [0, 1];
    var xlo = Math.min.apply(null, xs0), xhi = Math.max.apply(null, xs0);
    if (xhi === xlo) { xhi += 1; xlo -= 1; }
    var X = function (x) { return L + (x - xlo) / (xhi - xlo) * (W - L - R); };
    var Y = function (v) { return T + (1 - (v - lo) / (hi - lo)) * (H - T - B); };
    var g = el("g", { "class": "grid" }, svg);
    ticks.forEach(function (t) {
      el("line", { x1: L, x2: W - R, y1: Y(t), y2: Y(t) }, g);
      el("text", { x: L - 6, y: Y(t) + 4, "text-anchor": "end" }, svg, log ? powLabel(t) : tickLabel(t, ticks.length > 1 ? ticks[1] - ticks[0] : 1));
    });
    var xt = niceTicks(xlo, xhi, 6).filter(function (t) { return t >= xlo && t <= xhi && Math.round(t) === t; });
    xt.forEach(function (t) {
      el("line", { x1: X(t), x2: X(t), y1: H - B, y2: H - B + 4, "class": "axis" }, svg);
      el("text", { x: X(t), y: H - B + 16, "text-anchor": "middle" }, svg, String(t));
    });
    el("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, "class": "axis" }, svg);
    el("line", { x1: L, x2: L, y1: T, y2: H - B, "class": "axis" }, svg);
    el("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle" }, svg, spec.xlabel || "step");
    el("text", { x: 14, y: (T + H - B) / 2, "text-anchor": "middle", transform: "rotate(-90 14 " + ((T + H - B) / 2) + ")" }, svg,
      (spec.ylabel || "") + (log ? " (log scale)" : ""));
    (spec.markers || []).forEach(function (m) {
      if (m.x < xlo || m.x > xhi) return;
      el("line", { x1: X(m.x), x2: X(m.x), y1: T, y2: H - B, stroke: m.color || "#c62828", "stroke-dasharray": "4 3" }, svg);
      el("text", { x: X(m.x) + 3, y: T + 22, fill: m.color || "#c62828" }, svg, m.label);
    });
    spec.series.forEach(function (s, si) {
      var color = s.color || COLORS[si % COLORS.length], d = "", pen = false;
      s.ys.forEach(function (y, i) {
        var ok = y !== null && isFinite(y) && (!log || y > 0);
        if (!ok) {
          pen = false;
          if (y !== null && !isFinite(y)) {
            var bad = el("text", { x: X(s.xs[i]), y: T + 4, "text-anchor": "middle", "class": "bad" }, svg, "×");
            el("title", {}, bad, s.name + " at step " + s.xs[i] + ": " + fmt(y));
          }
          return;
        }
        d += (pen ? "L" : "M") + X(s.xs[i]).toFixed(1) + " " + Y(f(y)).toFixed(1);
        pen = true;
      });
      el("path", { d: d, fill: "none", stroke: color, "stroke-width": 1.8 }, svg);
      if (s.ys.length <= 200) s.ys.forEach(function (y, i) {
        if (y === null || !isFinite(y) || (log && y <= 0)) return;
        var c = el("circle", { cx: X(s.xs[i]), cy: Y(f(y)), r: 2.4, fill: color }, svg);
        el("title", {}, c, s.name + " at step " + s.xs[i] + ": " + fmt(y));
      });
      if (spec.series.length > 1) {
        var lx = W - R - 150, ly = T + 6 + si * 14;
        el("line", { x1: lx, x2: lx + 16, y1: ly, y2: ly, stroke: color, "stroke-width": 2 }, svg);
        el("text", { x: lx + 20, y: ly + 4 }, svg, s.name);
      }
    });
    if (!used.length) el("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, svg, "no finite values");
  }
  function barChart(parent, title, h, xlabel) {
    var W = 560, H = 270, L = 66, R = 14, T = 26, B = 42;
    var box = document.createElement("div"); box.className = "chart"; parent.appendChild(box);
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": title }, box);
    el("text", { x: L, y: 16, "class": "title" }, svg, title);
    if (!h) { el("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, svg, "no finite values at this step"); return; }
    var max = Math.max.apply(null, h.counts) || 1, n = h.counts.length, bw = (W - L - R) / n;
    var yt = niceTicks(0, max, 4);
    var top = Math.max(max, yt[yt.length - 1]);
    var Y = function (c) { return T + (1 - c / top) * (H - T - B); };
    var g = el("g", { "class": "grid" }, svg);
    yt.forEach(function (t) { el("line", { x1: L, x2: W - R, y1: Y(t), y2: Y(t) }, g); el("text", { x: L - 6, y: Y(t) + 4, "text-anchor": "end" }, svg, tickLabel(t, yt.length > 1 ? yt[1] - yt[0] : 1)); });
    h.counts.forEach(function (c, i) {
      var r = el("rect", { x: L + i * bw + 0.5, y: Y(c), width: Math.max(1, bw - 1), height: Math.max(0, H - B - Y(c)), fill: "#2f5fb3" }, svg);
      var a = h.lo + (h.hi - h.lo) * i / n, b = h.lo + (h.hi - h.lo) * (i + 1) / n;
      el("title", {}, r, "[" + fmt(a) + ", " + fmt(b) + "): " + c);
    });
    [0, 0.25, 0.5, 0.75, 1].forEach(function (q) {
      var x = L + q * (W - L - R);
      el("line", { x1: x, x2: x, y1: H - B, y2: H - B + 4, "class": "axis" }, svg);
      el("text", { x: x, y: H - B + 16, "text-anchor": "middle" }, svg, fmt(h.lo + q * (h.hi - h.lo)));
    });
    el("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, "class": "axis" }, svg);
    el("line", { x1: L, x2: L, y1: T, y2: H - B, "class": "axis" }, svg);
    el("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle" }, svg, xlabel);
    el("text", { x: 14, y: (T + H - B) / 2, "text-anchor": "middle", transform: "rotate(-90 14 " + ((T + H - B) / 2) + ")" }, svg, "elements");
  }
  function markers() {
    var m = [];
    if (firstBad !== null) m.push({ x: firstBad, label: "first NaN/Inf" });
    DATA.summary.findings.forEach(function (f) { if (f.kind === "grad-norm-spike") m.push({ x: f.step, label: "spike", color: "#b26a00" }); });
    return m;
  }
  function group(g, field) { return DATA.steps.map(function (s) { return s.groups[g] ? s.groups[g][field] : null; }); }

  // Findings.
  var list = document.getElementById("finding-list");
  var fs = DATA.summary.findings.slice();
  if (!fs.length) fs.push({ severity: "info", message: "no findings: every value finite, no grad-norm spikes, no all-zero gradients, no frozen parameters" });
  fs.push({ severity: "info", message: "last healthy step: " + (DATA.summary.lastHealthyStep === null ? "none" : DATA.summary.lastHealthyStep) });
  DATA.summary.notes.forEach(function (n) { fs.push({ severity: "info", message: n }); });
  fs.forEach(function (f) {
    var li = document.createElement("li"); li.className = f.severity;
    var s = document.createElement("span"); s.className = "sev"; s.textContent = f.severity; li.appendChild(s);
    li.appendChild(document.createTextNode(f.message)); list.appendChild(li);
  });

  // Run charts.
  var run = document.getElementById("run-charts");
  var loss = DATA.steps.map(function (s) { return s.loss; });
  if (loss.some(function (x) { return x !== null; })) lineChart(run, { title: "Loss", ylabel: "loss", series: [{ name: "loss", xs: steps, ys: loss }], scale: "auto", markers: markers() });
  var gn = DATA.steps.map(function (s) { return s.gradNorm; });
  if (gn.some(function (x) { return x !== null; })) lineChart(run, { title: "Global gradient norm", ylabel: "‖g‖₂", series: [{ name: "grad norm", xs: steps, ys: gn }], scale: "auto", markers: markers() });
  var pu = group("param", "update"), pn = group("param", "norm");
  var ratio = pu.map(function (u, i) { return u !== null && i > 0 && pn[i - 1] > 0 ? u / pn[i - 1] : null; });
  if (pu.some(function (x) { return x !== null; })) lineChart(run, { title: "Parameter update", ylabel: "‖θₜ − θₜ₋₁‖₂", series: [{ name: "update", xs: steps, ys: pu }], scale: "auto", markers: markers() });
  if (ratio.some(function (x) { return x !== null; })) lineChart(run, { title: "Update / parameter norm (usual ~1e-3)", ylabel: "ratio", series: [{ name: "update/param", xs: steps, ys: ratio }], scale: "log", markers: markers() });

  // Per group norms.
  var gc = document.getElementById("group-charts");
  ["param", "grad", "optimizer", "buffer"].forEach(function (g) {
    var ys = group(g, "norm");
    if (ys.some(function (x) { return x !== null; })) lineChart(gc, { title: g + " norm (√Σ‖x‖₂² over the group)", ylabel: "L2 norm", series: [{ name: g, xs: steps, ys: ys }], scale: "auto", markers: markers() });
  });

  // Per tensor.
  var sel = document.getElementById("tensor"), met = document.getElementById("metric"), scale = document.getElementById("scale");
  DATA.series.forEach(function (s, i) {
    var o = document.createElement("option"); o.value = String(i);
    o.textContent = s.group + ": " + s.name + "  " + s.dtype + " [" + s.shape.join(", ") + "]"; sel.appendChild(o);
  });
  var METRICS = { norm: "L2 norm", "min/mean/max": "value", std: "standard deviation", update: "‖xₜ − xₜ₋₁‖₂", ratio: "update / norm", "nan/inf": "count", zeros: "zero elements" };
  Object.keys(METRICS).forEach(function (m) { var o = document.createElement("option"); o.value = m; o.textContent = m; met.appendChild(o); });
  function drawTensor() {
    var box = document.getElementById("tensor-charts"); box.innerHTML = "";
    var s = DATA.series[Number(sel.value)]; if (!s) return;
    var m = met.value, series;
    if (m === "min/mean/max") series = [{ name: "max", xs: steps, ys: s.cols.max }, { name: "mean", xs: steps, ys: s.cols.mean }, { name: "min", xs: steps, ys: s.cols.min }];
    else if (m === "nan/inf") series = [{ name: "NaN", xs: steps, ys: s.cols.nan }, { name: "±Inf", xs: steps, ys: s.cols.inf }];
    else series = [{ name: m, xs: steps, ys: s.cols[m] }];
    lineChart(box, { title: s.group + ": " + s.name + " — " + m, ylabel: METRICS[m], series: series, scale: scale.value, markers: markers() });
    drawHist();
  }
  // Histogram of a chosen step for the selected tensor.
  var hs = document.getElementById("hist-step"), hl = document.getElementById("hist-label");
  hs.max = String(Math.max(0, DATA.steps.length - 1));
  function drawHist() {
    var box = document.getElementById("hist-charts"); box.innerHTML = "";
    var s = DATA.series[Number(sel.value)]; if (!s) return;
    var i = Number(hs.value), st = DATA.steps[i];
    hl.textContent = "step " + st.step + " (" + st.file + ")";
    var h = s.hist[i];
    barChart(box, s.group + ": " + s.name + " at step " + st.step + (h ? "" : ""), h, "value (finite elements; NaN " + fmt(s.cols.nan[i]) + ", ±Inf " + fmt(s.cols.inf[i]) + ")");
  }
  sel.onchange = drawTensor; met.onchange = drawTensor; scale.onchange = drawTensor; hs.oninput = drawHist;
  if (DATA.series.length) drawTensor();
})();
`;
