/**
 * `torchsave validate FILE... [--json] [--weights-only] [--strict] [--torch VERSION] [--allow PATTERN]...
 * [--allow-file FILE]...`: integrity, security and training-state findings, one line each, then a
 * summary per file. The security verdict is an allow-list: a global outside it is an error. Exit status 0
 * when clean, 1 when a finding reaches the failing severity ("error", or "warning" with --strict),
 * 2 when a file cannot be read or the command line is wrong. Never prints a stack trace.
 */
import { readFileSync } from "node:fs";
import * as zlib from "node:zlib";
import type { Crc32Fn } from "../../bytes/crc32.js";
import { formatKeyPath } from "../../errors.js";
import { openFileSource } from "../../node/index.js";
import { hasFindingsAtOrAbove, validateCheckpoint } from "../../validate/index.js";
import { isTorchsaveError } from "../../errors.js";
import { parseAllowFile, parseAllowRule } from "../../validate/index.js";
import type { AllowRule, Finding, Severity, ValidateOptions, ValidationReport } from "../../validate/index.js";
import type { Command } from "../command.js";
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, UsageError } from "../errors.js";
import { parseTorchTarget } from "../torch-target.js";
import { needsInputHelper } from "../input.js";
import { folderSummaryLine, isFileUrl, validateFolderArg, validateUrlFile } from "../validate-folder.js";
import type { FolderValidationReport } from "../../distributed/index.js";

/** Node's zlib.crc32 (Node >= 20.15), much faster than the portable one, when present. */
function nodeCrc32(): Crc32Fn | undefined {
  const fn = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
  return typeof fn === "function" ? (bytes, previous = 0) => fn(bytes, previous) >>> 0 : undefined;
}

/** One finding as a line: `model.pt: error crc-mismatch in archive/data/0: CRC-32 ...`. */
export function findingLine(file: string, f: Finding): string {
  const where: string[] = [];
  if (f.where.byteOffset !== undefined) where.push(`at byte ${f.where.byteOffset}`);
  if (f.where.record !== undefined) where.push(`in ${f.where.record}`);
  if (f.where.keyPath !== undefined && f.where.keyPath.length > 0) where.push(`at ${formatKeyPath(f.where.keyPath)}`);
  return `${file}: ${f.severity} ${f.code}${where.length > 0 ? ` ${where.join(" ")}` : ""}: ${f.message}`;
}

/** The summary line of one file. */
export function summaryLine(report: ValidationReport, threshold: Severity): string {
  const c = report.counts;
  const status = !report.readable ? "unreadable" : hasFindingsAtOrAbove(report.findings, threshold) ? "FAILED" : "ok";
  const what = [report.compression === "gzip" ? "gzip" : "", report.layout ?? report.container].filter((s) => s).join("+");
  return `${report.file ?? "input"}: ${status} (${what}, ${report.bytes} bytes): ${c.error} error(s), ${c.warning} warning(s), ${c.info} info`;
}

/** Every import with its class and, when admitted, the allow-list rule that admitted it. */
function importsLine(report: ValidationReport | FolderValidationReport): string | undefined {
  if (report.imports.length === 0) return undefined;
  const seen = new Map<string, string>();
  for (const i of report.imports) {
    if (seen.has(i.key)) continue;
    const label = i.class === "unknown" ? "not on the allow-list" : i.rule === undefined || i.rule === i.class ? i.class : `${i.class} by ${i.rule}`;
    seen.set(i.key, label);
  }
  return `${report.file ?? "input"}: imports ${[...seen].map(([k, c]) => `${k} (${c})`).join(", ")}`;
}

/** The user's allow-list rules from --allow and --allow-file (a malformed one is a usage error). */
function allowRules(values: Record<string, unknown>): AllowRule[] {
  const list = (v: unknown): string[] => Array.isArray(v) ? v.map(String) : typeof v === "string" ? [v] : [];
  try {
    const rules = list(values.allow).map((p) => parseAllowRule(p, "--allow"));
    for (const file of list(values["allow-file"])) {
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch (e) {
        throw new UsageError(`--allow-file ${file}: cannot be read (${(e as { code?: string }).code ?? String(e)})`);
      }
      rules.push(...parseAllowFile(text, file));
    }
    return rules;
  } catch (e) {
    if (isTorchsaveError(e)) throw new UsageError(e.reason);
    throw e;
  }
}

/** The `validate` command (registered in src/cli/main.ts). */
export const validateCommand: Command = {
  name: "validate",
  summary: "check integrity (zip, CRCs, storages), security (every import, nested pickles), NaN/Inf and training state",
  usage: "torchsave validate FILE|FOLDER|URL... [--json] [--weights-only] [--strict] [--torch 1.13|2.6|current] [--safe-global MODULE.NAME]... [--allow module.name|glob]... [--allow-file FILE]...",
  options: {
    json: { type: "boolean", doc: "print every file's report as JSON (findings with severity, code, where; imports; tensors) instead of lines." },
    "weights-only": { type: "boolean", doc: "also say whether torch.load(weights_only=True) would accept the file, with every reason it would not." },
    strict: { type: "boolean", doc: "fail (exit 1) on warnings too, not only on errors." },
    torch: { type: "string", arg: "1.13|2.6|current", doc: "the torch whose weights_only rules --weights-only applies: current (default, the newest rules modelled), 2.6 or 1.13 (each checked against the real torch)." },
    "safe-global": { type: "string", multiple: true, arg: "MODULE.NAME", doc: "a global the loading code passes to torch.serialization.add_safe_globals (torch 2.6 and current); repeatable." },
    allow: { type: "string", multiple: true, arg: "RULE", doc: "admit globals to the security allow-list: module.name, or a glob such as 'mypkg.models.*'; repeatable. The report names the rule that admitted each global." },
    "allow-file": { type: "string", multiple: true, arg: "FILE", doc: "read allow rules from FILE, one module.name or glob per line (# comments); repeatable." },
  },
  examples: [
    "torchsave validate ckpt.pt                       # integrity, security, NaN/Inf, training state",
    "torchsave validate ckpt.pt --weights-only --torch 1.13   # would torch 1.13's torch.load(weights_only=True) accept it?",
    "torchsave validate runs/*.pt --strict --json     # CI: warnings fail too, machine-readable",
    "torchsave validate full.pt --allow 'mypkg.models.*'   # admit your own classes; anything else off the allow-list fails",
    "torchsave validate ckpt_dir/ --weights-only      # a DCP, shard or DeepSpeed folder as one report: every file and .distcp item, plus the set's consistency",
  ],
  minPositionals: 1,
  maxPositionals: Number.MAX_SAFE_INTEGER,
  async run({ positionals, values, out }) {
    const version = parseTorchTarget(values.torch);
    const safeGlobals = (values["safe-global"] as string[] | undefined) ?? [];
    for (const g of safeGlobals) if (!/^[\w.]+\.\w+$/.test(g)) throw new UsageError(`--safe-global takes MODULE.NAME (as add_safe_globals would allow it), not ${JSON.stringify(g)}`);
    if (safeGlobals.length > 0 && version === "1.13") throw new UsageError("--safe-global: torch 1.13 has no add_safe_globals");
    const allow = allowRules(values);
    const threshold: Severity = values.strict ? "warning" : "error";
    const crc32 = nodeCrc32();
    const reports: (ValidationReport | FolderValidationReport)[] = [];
    for (const file of positionals) {
      const options: ValidateOptions = {
        name: file,
        ...(values["weights-only"] ? { weightsOnly: version, safeGlobals } : {}),
        allowTarget: version, allow,
        ...(crc32 === undefined ? {} : { crc32 }),
      };
      reports.push(isFileUrl(file) ? await validateUrlFile(file, options) : needsInputHelper(file) ? await validateFolderArg(file, options) : validateFile(file, options));
    }
    if (values.json) {
      out(JSON.stringify({ failOn: threshold, files: reports }, null, 2));
    } else {
      for (const r of reports) {
        for (const f of r.findings) out(findingLine(r.file ?? "input", f));
        const imports = importsLine(r);
        if (imports !== undefined) out(imports);
        if (r.weightsOnly !== undefined) {
          const n = r.weightsOnly.blockers.length;
          out(`${r.file ?? "input"}: torch.load(weights_only=True) (torch ${r.weightsOnly.version}): ${r.weightsOnly.accepted ? "accepted" : `rejected (${n} reason${n === 1 ? "" : "s"} above)`}`);
        }
        out("kind" in r ? folderSummaryLine(r, threshold) : summaryLine(r, threshold));
      }
      if (reports.length > 1) {
        const failed = reports.filter((r) => !r.readable || hasFindingsAtOrAbove(r.findings, threshold)).length;
        out(`${reports.length} files: ${failed} failed, ${reports.length - failed} ok`);
      }
    }
    if (reports.some((r) => !r.readable)) return EXIT_USAGE;
    if (reports.some((r) => hasFindingsAtOrAbove(r.findings, threshold))) return EXIT_FINDINGS;
    return EXIT_OK;
  },
};

/** Validates one file through a random-access source (a 20 GB file is never read whole). */
function validateFile(file: string, options: ValidateOptions): ValidationReport {
  let source;
  try {
    source = openFileSource(file);
  } catch (e) {
    const reason = (e as { reason?: string }).reason ?? String(e);
    return validateCheckpointUnreadable(file, reason);
  }
  try {
    return validateCheckpoint(source, options);
  } finally {
    source.close();
  }
}

function validateCheckpointUnreadable(file: string, reason: string): ValidationReport {
  const findings: Finding[] = [{ severity: "error", code: "unreadable", message: reason, where: {} }];
  return {
    file, readable: false, container: "unknown", compression: "none", bytes: 0, findings,
    counts: { error: 1, warning: 0, info: 0 }, imports: [], tensors: [],
  };
}
