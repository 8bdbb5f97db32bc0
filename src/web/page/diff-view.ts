/** Two files side by side: keys only in one, the prefix case, dtype/shape changes, changes sorted by size. */
import type { DiffResult } from "../protocol.js";
import { formatStat, h, ms } from "./dom.js";

const MAX_LISTED = 200;

function keyList(title: string, keys: readonly string[], cls: string): HTMLElement | null {
  if (keys.length === 0) return null;
  return h("details", { class: `keys ${cls}`, open: keys.length <= 20 ? true : undefined },
    h("summary", {}, `${title}: ${keys.length}`),
    h("ul", {}, ...keys.slice(0, MAX_LISTED).map((k) => h("li", {}, h("code", {}, k))), keys.length > MAX_LISTED ? h("li", { class: "muted" }, `… ${keys.length - MAX_LISTED} more`) : null));
}

export function diffView(d: DiffResult, took: number): HTMLElement {
  const changed = d.rows.filter((r) => r.status !== "identical");
  const identical = d.rows.length - changed.length;
  const head = h("div", { class: `diff-head ${d.equal ? "ok" : "bad"}`, "data-equal": String(d.equal) },
    h("h2", {}, d.equal ? "Same tensors" : "The files differ"),
    h("p", {}, h("code", {}, d.a), " → ", h("code", {}, d.b), ` · ${d.rows.length} tensors matched, ${identical} identical, ${changed.length} changed · only in A: ${d.onlyA.length}, only in B: ${d.onlyB.length} · ${ms(took)}`),
    d.prefix === undefined ? null : h("p", { class: "prefix", "data-prefix": d.prefix.prefix },
      `Keys match once the prefix `, h("code", {}, d.prefix.prefix), ` is removed from ${d.prefix.side === "a" ? "A" : "B"}'s keys (DataParallel, Lightning or torch.compile wrappers add it).`));
  const rows = changed.slice(0, MAX_LISTED).map((r) => h("tr", { "data-path": r.path, class: r.status },
    h("td", {}, h("code", {}, r.path)),
    h("td", {}, r.status),
    h("td", {}, r.dtype[0] === r.dtype[1] ? r.dtype[0] : `${r.dtype[0]} → ${r.dtype[1]}`),
    h("td", {}, r.shape[0].join("×") === r.shape[1].join("×") ? `[${r.shape[0].join(", ")}]` : `[${r.shape[0].join(", ")}] → [${r.shape[1].join(", ")}]`),
    h("td", { class: "num" }, formatStat(r.relL2)),
    h("td", { class: "num" }, formatStat(r.maxAbs)),
    h("td", { class: "num" }, r.differing === undefined ? "–" : r.differing.toLocaleString("en-US"))));
  const table = changed.length === 0 ? h("p", { class: "muted" }, "No tensor present in both files changed.") : h("table", { class: "diff" },
    h("thead", {}, h("tr", {}, ...["key", "change", "dtype", "shape", "‖a−b‖/‖a‖", "max |a−b|", "elements differing"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, ...rows));
  return h("section", { class: "diff-view", "aria-label": "Diff" },
    head,
    h("h3", {}, `Changed tensors, largest change first${changed.length > MAX_LISTED ? ` (first ${MAX_LISTED} of ${changed.length})` : ""}`),
    h("div", { class: "scroll-x" }, table),
    keyList("Only in A", d.onlyA, "only-a"),
    keyList("Only in B", d.onlyB, "only-b"));
}
