/** `torchsave diff` output: the terminal table and the --json object. */
import type { DiffEntry, DiffReport } from "../analyze/index.js";
import { formatKeyPath } from "../errors.js";
import type { KeyPath } from "../errors.js";

/** A number in 9 columns: fixed when readable, exponent otherwise; "-" for null. */
export function num(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined) return "-";
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return "0";
  const a = Math.abs(x);
  return a >= 0.1 && a < 1e5 ? String(Number(x.toPrecision(digits))) : x.toExponential(digits - 1);
}

/** A key path for people: `model.fc1.weight`, `optimizer.state.3.exp_avg` (--json keeps the exact list). */
export const pathText = (p: KeyPath): string => (p.length === 0 ? "(root)" : p.every((k) => typeof k === "number" || !/[\s"[\]]/.test(k)) ? p.join(".") : formatKeyPath(p));

function nameOf(e: DiffEntry): string {
  const base = pathText(e.path);
  return e.param === undefined ? base : `${base} (${e.param.slot} of ${e.param.name})`;
}

const pad = (s: string, n: number): string => (s.length >= n ? s : s + " ".repeat(n - s.length));
const lpad = (s: string, n: number): string => (s.length >= n ? s : " ".repeat(n - s.length) + s);

/** The human report: a summary, the notes, the table (largest relL2 first, `top` rows), values, keys on one side. */
export function diffText(r: DiffReport, a: string, b: string, top: number): string[] {
  const lines: string[] = [];
  const changed = r.changed.filter((e) => !e.identical);
  const identical = r.changed.length - changed.length;
  const beyond = changed.filter((e) => e.differing !== 0 || e.note !== undefined || e.dtype[0] !== e.dtype[1]);
  lines.push(`A: ${a}`, `B: ${b}`);
  lines.push(`${r.changed.length} tensors in both: ${identical} bit-identical, ${changed.length} changed (${beyond.length} beyond tolerance); ${r.onlyA.length} keys only in A, ${r.onlyB.length} only in B; ${r.values.length} values differ`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  if (changed.length > 0) {
    lines.push("");
    const rows = changed.slice(0, top).map((e) => [
      num(e.relL2), num(e.maxAbs), num(e.meanAbs), e.cosine === null ? "-" : e.cosine.toFixed(6),
      e.differing === null ? "-" : `${e.differing}`,
      e.dtype[0] === e.dtype[1] ? e.dtype[0] : `${e.dtype[0]}→${e.dtype[1]}`,
      sameShape(e) ? `[${e.shape[0].join(",")}]` : `[${e.shape[0].join(",")}]→[${e.shape[1].join(",")}]`,
      nameOf(e) + (e.note !== undefined && e.note !== "shape changed" && !e.note.startsWith("values compared") ? `  (${e.note})` : "")
        + nanNote(e),
    ]);
    const head = ["relL2", "maxAbs", "meanAbs", "cosine", "differing", "dtype", "shape", "path"];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => (i < 5 ? lpad(c, widths[i]!) : i === cells.length - 1 ? c : pad(c, widths[i]!))).join("  ");
    lines.push(line(head));
    for (const row of rows) lines.push(line(row));
    if (changed.length > top) lines.push(`… ${changed.length - top} more changed tensors (--top N shows more, --json all)`);
  }
  if (r.values.length > 0) {
    lines.push("", "values:");
    for (const v of r.values.slice(0, top)) lines.push(`  ${pathText(v.path)}: ${JSON.stringify(v.a)} → ${JSON.stringify(v.b)}`);
    if (r.values.length > top) lines.push(`  … ${r.values.length - top} more`);
  }
  for (const [label, keys] of [["only in A", r.onlyA], ["only in B", r.onlyB]] as const) {
    if (keys.length === 0) continue;
    lines.push("", `${label} (${keys.length}):`);
    for (const k of keys.slice(0, top)) lines.push(`  ${pathText(k)}`);
    if (keys.length > top) lines.push(`  … ${keys.length - top} more`);
  }
  const why: string[] = [];
  if (beyond.length > 0) why.push(`${beyond.length} tensor${beyond.length === 1 ? "" : "s"} beyond tolerance`);
  if (r.values.length > 0) why.push(`${r.values.length} value${r.values.length === 1 ? "" : "s"}`);
  if (r.onlyA.length + r.onlyB.length > 0) why.push(`${r.onlyA.length + r.onlyB.length} keys on one side only`);
  if (r.prefix !== null && why.length === 0) why.push("only the key prefix differs (--ignore-prefix treats that as equal)");
  else if (r.prefix !== null) why.push("the key prefix");
  lines.push("", r.equal ? "EQUAL" : `DIFFERENT: ${why.join(", ")}`);
  return lines;
}

const sameShape = (e: DiffEntry): boolean => e.shape[0].length === e.shape[1].length && e.shape[0].every((d, i) => d === e.shape[1][i]);

function nanNote(e: DiffEntry): string {
  const [na, nb] = e.nan;
  const [ia, ib] = e.inf;
  if (!na && !nb && !ia && !ib) return "";
  return `  NaN ${na}/${nb}, Inf ${ia}/${ib}`;
}

/** The --json object, exactly the documented fields (plus `param` on named optimizer state). */
export function diffJson(r: DiffReport): string {
  return JSON.stringify({
    equal: r.equal,
    onlyA: r.onlyA,
    onlyB: r.onlyB,
    prefix: r.prefix,
    changed: r.changed.map((e) => ({
      path: e.path, dtype: e.dtype, shape: e.shape, identical: e.identical, maxAbs: e.maxAbs, meanAbs: e.meanAbs, relL2: e.relL2,
      cosine: e.cosine, differing: e.differing, nan: e.nan, inf: e.inf, ...(e.param === undefined ? {} : { param: e.param }),
    })),
    values: r.values,
  });
}
