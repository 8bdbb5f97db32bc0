/**
 * The validation report: shown open at the top when anything is wrong (errors, warnings, an import
 * torch would refuse), folded to one line when the file is clean. Findings, every import with its
 * classification, and the weights_only verdict for torch 2.6+ and for torch 1.13. A set of files has
 * one report (distributed/validateFolder's): its consistency findings and every part's, by file.
 */
import type { ValidationView } from "../protocol.js";
import { formatBytes, h, ms } from "./dom.js";

const where = (w: { byteOffset?: number; record?: string; keyPath?: readonly (string | number)[] }): string => {
  const parts: string[] = [];
  if (w.byteOffset !== undefined) parts.push(`at byte ${w.byteOffset}`);
  if (w.record !== undefined) parts.push(`in ${w.record}`);
  if (w.keyPath !== undefined && w.keyPath.length > 0) parts.push(`at ${w.keyPath.map((k) => (typeof k === "number" ? `[${k}]` : `[${JSON.stringify(k)}]`)).join("")}`);
  return parts.join(" ");
};

/** The report; a set's (validated as one folder) says its layout and parts, and its findings name their file. */
export function validationView(v: ValidationView): HTMLElement {
  const r = v.report;
  const set = "kind" in r && r.kind === "folder" ? r : undefined;
  const c = r.counts;
  const dangerous = r.imports.filter((i) => i.class === "unknown" || i.class === "dangerous");
  const w = r.weightsOnly;
  const rejected = (w !== undefined && !w.accepted) || (v.weightsOnly13 !== undefined && !v.weightsOnly13.accepted);
  const wrong = !r.readable || c.error > 0 || c.warning > 0 || rejected || v.nonFinite.length > 0;
  const verdict = !r.readable ? "unreadable" : c.error > 0 ? "errors" : c.warning > 0 ? "warnings" : "clean";
  const summary = h("summary", {},
    h("span", { class: `verdict ${verdict}` }, verdict === "clean" ? "✓ valid" : verdict === "unreadable" ? "✗ unreadable" : verdict === "errors" ? `✗ ${c.error} error${c.error === 1 ? "" : "s"}` : `! ${c.warning} warning${c.warning === 1 ? "" : "s"}`),
    ` ${c.error} error(s), ${c.warning} warning(s), ${c.info} info · `,
    weightsLine("torch ≥ 2.6", w?.accepted),
    " · ",
    weightsLine("torch 1.13", v.weightsOnly13?.accepted),
    v.nonFinite.length > 0 ? h("span", { class: "chip nonfinite" }, `${v.nonFinite.length} tensor${v.nonFinite.length === 1 ? "" : "s"} with NaN/Inf`) : null,
    set === undefined ? null : h("span", { class: "small muted", "data-parts": set.parts }, ` · ${set.layout ?? "set"} of ${set.parts} part${set.parts === 1 ? "" : "s"}`),
    h("span", { class: "small muted" }, ` · ${v.offer === undefined ? "all data" : "structure"} checked in ${ms(v.ms)}${v.fetched === undefined ? "" : `, ${formatBytes(v.fetched)} read`}`),
  );
  const findings = r.findings.length === 0 ? h("p", { class: "muted" }, "No findings.") : h("ul", { class: "findings" }, ...r.findings.map((f) =>
    h("li", { class: `finding ${f.severity}`, "data-code": f.code },
      h("span", { class: `sev ${f.severity}` }, f.severity), " ", h("code", {}, f.code), where(f.where) === "" ? "" : ` ${where(f.where)}`, ": ", f.message)));
  const blockers = [
    ...(w !== undefined && !w.accepted ? w.blockers.map((b) => `torch ≥ 2.6: ${set !== undefined && b.record !== undefined ? `${b.record}: ` : ""}${b.message}`) : []),
    ...(v.weightsOnly13 !== undefined && !v.weightsOnly13.accepted ? v.weightsOnly13.blockers.map((b) => `torch 1.13: ${b.message}`) : []),
  ];
  const imports = r.imports.length === 0 ? null : h("details", { class: "imports" },
    h("summary", {}, `${new Set(r.imports.map((i) => i.key)).size} imported globals${dangerous.length > 0 ? ` (${dangerous.length} not torch or plain data)` : ""}`),
    h("ul", {}, ...[...new Map(r.imports.map((i) => [i.key, i])).values()].map((i) =>
      h("li", { class: `import ${i.class}` }, h("code", {}, i.key), ` — ${i.class}: ${i.reason}`))));
  return h("details", { class: `validation ${verdict}`, open: wrong ? true : undefined, "data-verdict": verdict, "aria-label": "Validation report" },
    summary,
    findings,
    blockers.length > 0 ? h("div", { class: "blockers" }, h("h3", {}, "Why torch.load(weights_only=True) refuses it"), h("ul", {}, ...blockers.map((b) => h("li", {}, b)))) : null,
    imports,
    h("p", { class: "small muted" }, "The page never executes anything a file asks for: imports are read as names and classified."),
  );
}

function weightsLine(label: string, accepted: boolean | undefined): HTMLElement {
  if (accepted === undefined) return h("span", { class: "muted" }, `${label}: –`);
  return h("span", { class: accepted ? "ok" : "bad", "data-weights-only": label }, `weights_only ${label}: ${accepted ? "loads" : "refused"}`);
}

/**
 * Under a structural report: the check of every byte (CRC-32, NaN/Inf), started by `check` (now,
 * when `auto`, or by the button). `progress` on the returned element shows how far it got.
 */
export function dataCheckLine(v: ValidationView, check: () => void, auto: boolean): HTMLElement & { progress?: (done: number, total: number) => void } {
  const offer = v.offer!;
  const label = `Check all data (CRC-32, NaN/Inf; reads ${formatBytes(offer.bytes)})`;
  const button = h("button", { type: "button", class: "small-button", "data-action": "check-data", disabled: offer.refused !== undefined || auto }, auto ? "Checking all data when the page is idle…" : label);
  const bar = h("progress", { max: 1, value: 0, hidden: true });
  const line: HTMLElement & { progress?: (done: number, total: number) => void } = h("p", { class: "data-check small muted" },
    "Structure and security checked; the data is not checked yet. ", button, offer.refused === undefined ? null : ` (${offer.refused})`, " ", bar);
  const start = (): void => {
    button.disabled = true;
    button.textContent = "Checking all data…";
    check();
  };
  button.addEventListener("click", start);
  line.progress = (done, total) => {
    bar.hidden = false;
    bar.max = total;
    bar.value = done;
    button.textContent = `Checking all data… ${Math.round((100 * done) / total)}%`;
  };
  if (auto) check();
  return line;
}
