/**
 * Two files compared (analyze's diffCheckpoints, as `torchsave diff`): keys only in one, the
 * wrapper-prefix case, dtype and shape changes, tensors sorted by ‖a−b‖/‖a‖, values that differ.
 */
import type { DiffResult } from "../protocol.js";
import { formatStat, h, ms } from "./dom.js";

const MAX_LISTED = 200;

function keyList(title: string, keys: readonly string[], cls: string): HTMLElement | null {
  if (keys.length === 0) return null;
  return h("details", { class: `keys ${cls}`, open: keys.length <= 20 ? true : undefined },
    h("summary", {}, `${title}: ${keys.length}`),
    h("ul", {}, ...keys.slice(0, MAX_LISTED).map((k) => h("li", {}, h("code", {}, k))), keys.length > MAX_LISTED ? h("li", { class: "muted" }, `… ${keys.length - MAX_LISTED} more`) : null));
}

const num = (v: number | null | undefined): string => (v === null || v === undefined ? "–" : formatStat(v));
const same = (x: readonly number[], y: readonly number[]) => x.length === y.length && x.every((n, i) => n === y[i]);

export function diffView(d: DiffResult, took: number): HTMLElement {
  const r = d.report;
  const changed = r.changed.filter((e) => !e.identical);
  const identical = r.changed.length - changed.length;
  const head = h("div", { class: `diff-head ${r.equal ? "same" : "differ"}`, "data-equal": String(r.equal) },
    h("h2", {}, r.equal ? "Same tensors and values" : "The files differ"),
    h("p", {}, h("code", {}, d.a), " → ", h("code", {}, d.b), ` · ${r.changed.length} tensors in both: ${identical} identical, ${changed.length} changed · only in A: ${r.onlyA.length}, only in B: ${r.onlyB.length} · ${ms(took)}`),
    r.prefix === null ? null : h("p", { class: "prefix", "data-prefix-a": r.prefix.a, "data-prefix-b": r.prefix.b },
      `${r.prefix.keys} keys match once the wrapper prefix is set aside: `, h("code", {}, r.prefix.a === "" ? "(none)" : r.prefix.a), " in A, ", h("code", {}, r.prefix.b === "" ? "(none)" : r.prefix.b), " in B."),
    ...r.notes.map((n) => h("p", { class: "small" }, n)));
  const rows = changed.slice(0, MAX_LISTED).map((e) => {
    const kind = e.dtype[0] !== e.dtype[1] ? "dtype" : !same(e.shape[0], e.shape[1]) ? "shape" : "changed";
    return h("tr", { "data-path": e.path, class: kind },
      h("td", {}, h("code", {}, e.path), e.param === undefined ? null : h("div", { class: "small muted" }, `${e.param.slot} of ${e.param.name}`)),
      h("td", {}, kind),
      h("td", {}, e.dtype[0] === e.dtype[1] ? e.dtype[0] : `${e.dtype[0]} → ${e.dtype[1]}`),
      h("td", {}, same(e.shape[0], e.shape[1]) ? `[${e.shape[0].join(", ")}]` : `[${e.shape[0].join(", ")}] → [${e.shape[1].join(", ")}]`),
      h("td", { class: "num" }, num(e.relL2)),
      h("td", { class: "num" }, num(e.maxAbs)),
      h("td", { class: "num" }, num(e.cosine)),
      h("td", { class: "num" }, e.differing === null ? "–" : e.differing.toLocaleString("en-US")));
  });
  const table = changed.length === 0 ? h("p", { class: "muted" }, "No tensor present in both files changed.") : h("table", { class: "diff" },
    h("thead", {}, h("tr", {}, ...["key", "change", "dtype", "shape", "‖a−b‖/‖a‖", "max |a−b|", "cosine", "elements differing"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, ...rows));
  const values = r.values.length === 0 ? null : h("div", { class: "values-diff" },
    h("h3", {}, `Values that differ: ${r.values.length}`),
    h("table", { class: "diff" }, h("thead", {}, h("tr", {}, ...["key", "A", "B"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, ...r.values.slice(0, MAX_LISTED).map((v) => h("tr", { "data-path": v.path }, h("td", {}, h("code", {}, v.path)), h("td", {}, JSON.stringify(v.a)), h("td", {}, JSON.stringify(v.b)))))));
  return h("section", { class: "diff-view", "aria-label": "Diff" },
    head,
    h("h3", {}, `Changed tensors, largest change first${changed.length > MAX_LISTED ? ` (first ${MAX_LISTED} of ${changed.length})` : ""}`),
    h("div", { class: "scroll-x" }, table),
    values,
    keyList("Only in A", r.onlyA, "only-a"),
    keyList("Only in B", r.onlyB, "only-b"));
}
