/** A tiny element builder and formatting helpers for the page. */
export { formatBytes } from "../../bytes/format.js";

type Child = Node | string | number | null | undefined | false;

/** `h("div", { class: "x", onclick }, child, ...)`: attributes starting with "on" become listeners. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, unknown> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v as EventListener);
    else if (k === "text") el.textContent = String(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === "number" ? String(c) : c);
  return el;
}


/** A statistic for a table cell: 6 significant digits, nan/inf as torch prints them. */
export function formatStat(v: number | undefined): string {
  if (v === undefined) return "–";
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-4 || a >= 1e6) ? v.toExponential(5) : String(Number(v.toPrecision(6)));
}

export const ms = (t: number): string => (t < 10 ? `${t.toFixed(1)} ms` : `${Math.round(t)} ms`);
