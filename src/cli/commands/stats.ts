/**
 * `torchsave stats FILE... | DIR [--json | --csv] [--html report.html] [--order auto|name|given]
 * [--spike-z Z] [--ratio-band LO,HI] [--bins N] [--top N]`: per-tensor statistics of one dump, or of
 * a run of dumps with updates, groups, findings. Exit status 1 when a NaN/Inf is found, 0 otherwise,
 * 2 when a file cannot be read or the command line is wrong.
 */
import { runStats } from "../../analyze/index.js";
import type { RunStatsOptions, RunStep, RunSummary } from "../../analyze/index.js";
import { writeFileAtomicSync } from "../../node/index.js";
import type { Command } from "../command.js";
import { fileRunSources, runFiles } from "../analyze-input.js";
import { EXIT_FINDINGS, EXIT_OK, UsageError } from "../errors.js";
import { statsHtml } from "../stats-html.js";
import { CSV_HEADER, statsCsvRow, statsJsonLine, summaryJsonLine } from "../stats-lines.js";
import { fileText, runText } from "../stats-text.js";
import { numberOption } from "./diff.js";

/** Histogram bins in the HTML report. */
const HTML_BINS = 40;

function ratioBand(v: unknown): readonly [number, number] | undefined {
  if (v === undefined) return undefined;
  const m = typeof v === "string" ? /^\s*([^,]+),([^,]+)\s*$/.exec(v) : null;
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2]) : NaN;
  if (!(lo >= 0 && hi > lo)) throw new UsageError(`--ratio-band needs LO,HI with 0 ≤ LO < HI (like 1e-5,1e-1), not ${JSON.stringify(v)}`);
  return [lo, hi];
}

export const statsCommand: Command = {
  name: "stats",
  summary: "tensor statistics of a dump, or of a run of dumps (updates, grad norm, NaN finder, findings; --html report)",
  usage: "torchsave stats FILE... | DIR [--json | --csv] [--html report.html] [--order auto|name|given] [--spike-z Z] [--ratio-band LO,HI] [--bins N] [--top N]",
  options: {
    json: { type: "boolean", doc: "one JSON line per step × tensor, then one summary line {summary: {steps, firstNonFinite, lastHealthyStep, findings}}." },
    csv: { type: "boolean", doc: "one CSV row per step × tensor (with a header row)." },
    html: { type: "string", arg: "FILE", doc: "also write a self-contained HTML report (charts over steps, per-tensor selector, histograms, findings; no network)." },
    order: { type: "string", arg: "auto|name|given", doc: "step order: auto (default: the step/global_step/epoch value inside each file, else the number in its name), name (the number in the file name), given (as listed)." },
    "spike-z": { type: "string", arg: "Z", doc: "robust z-score above which a global grad norm is reported as a spike (default 3.5)." },
    "ratio-band": { type: "string", arg: "LO,HI", doc: "update/norm ratios whose median lies outside [LO, HI] are reported (default 1e-5,1e-1)." },
    bins: { type: "string", arg: "N", doc: "histogram bins per tensor and step (default: none, or 40 with --html; at most 4096)." },
    top: { type: "string", arg: "N", doc: "rows per table in the terminal summary (default 40)." },
  },
  examples: [
    "torchsave stats ckpt.pt                          # per-tensor numel, min, max, mean, std, norm, NaN/Inf, zeros",
    "torchsave stats dumps/ --html report.html        # a run: NaN finder, grad-norm spikes, update ratios, charts",
    "torchsave stats dumps/step_*.pt --json > run.jsonl   # machine-readable; exit 1 when a NaN/Inf is found",
  ],
  minPositionals: 1,
  maxPositionals: Number.MAX_SAFE_INTEGER,
  async run({ positionals, values, out, err }) {
    if (values.json && values.csv) throw new UsageError("--json and --csv both print to stdout: pick one");
    const order = values.order ?? "auto";
    if (order !== "auto" && order !== "name" && order !== "given") throw new UsageError(`--order is auto, name or given, not ${JSON.stringify(order)}`);
    const html = typeof values.html === "string" ? values.html : undefined;
    const band = ratioBand(values["ratio-band"]);
    const bins = numberOption(values, "bins", html === undefined ? 0 : HTML_BINS, true);
    const options: RunStatsOptions = {
      order,
      histogramBins: Math.min(bins, 4096),
      ...(values["spike-z"] === undefined ? {} : { spikeZ: numberOption(values, "spike-z", 0) }),
      ...(band === undefined ? {} : { ratioBand: band }),
    };
    const top = numberOption(values, "top", 40, true);
    const files = runFiles(positionals);
    const steps: RunStep[] = [];
    let summary: RunSummary | undefined;
    if (values.csv) out(CSV_HEADER);
    for await (const record of runStats(fileRunSources(files), options)) {
      if (record.kind === "summary") {
        summary = record;
        break;
      }
      // Lines stream out as steps come; the terminal and HTML reports need the whole run.
      if (values.json) out(record.tensors.map((t) => statsJsonLine(record, t)).join("\n"));
      else if (values.csv) out(record.tensors.map((t) => statsCsvRow(record, t)).join("\n"));
      steps.push(html === undefined ? { ...record, tensors: record.tensors.map(({ histogram: _h, ...t }) => t) } : record);
    }
    if (summary === undefined) throw new Error("runStats ended without a summary");
    if (values.json) out(summaryJsonLine(steps, summary));
    else if (!values.csv) out((steps.length === 1 ? fileText(steps[0]!, summary, top) : runText(steps, summary, top)).join("\n"));
    if (html !== undefined) {
      writeFileAtomicSync(html, new TextEncoder().encode(statsHtml(steps, summary)));
      err(`wrote ${html}`);
    }
    return summary.firstNonFinite === null ? EXIT_OK : EXIT_FINDINGS;
  },
};
