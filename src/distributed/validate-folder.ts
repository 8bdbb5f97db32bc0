/**
 * Validating a checkpoint folder as one: every file (and, for DCP, every `.distcp` item, which is a
 * whole `torch.save` archive of its own) goes through `validateCheckpoint` — integrity, the
 * allow-list security scan, the weights_only emulation, NaN/Inf — and the layout's own consistency
 * is checked on top (DCP: files present, items in range, chunks tiling their tensor; shards: the
 * index against the shards' keys; DeepSpeed: the consolidating reader's checks). The result is one
 * report whose findings name the file, and for a DCP item its `MetadataIndex` (`__0_0.distcp[w@0,0]`).
 * Browser-safe: the folder is a set of named `ByteSource`s; it never throws.
 */
import type { ByteSource } from "../bytes/source.js";
import { isTorchsaveError, type KeyPath } from "../errors.js";
import type { Finding, FindingCode, ImportedGlobal, TensorValueStats, TorchTarget, ValidateOptions, ValidationReport, WeightsOnlyBlocker, WeightsOnlyVerdict } from "../validate/index.js";
import { countSeverities, createFindingSink, DEFAULT_TORCH_TARGET, validateCheckpoint, validateCheckpointAsync } from "../validate/index.js";
import { detectFolderLayout, type CheckpointFolder, type FolderLayout } from "./folder.js";
import { validateDcpFolder, validateDcpSafetensorsFolder } from "./validate-dcp-folder.js";
import { validateShardsFolder, validateZeroFolder } from "./validate-shards-zero.js";

/** Options for {@link validateFolder}: the validator's options for every part, and the layout when known. */
export interface FolderValidateOptions extends ValidateOptions {
  /** The layout, when the caller knows it (default: detected). */
  readonly layout?: FolderLayout;
  /** For shards: the index file's name (default: detected). */
  readonly index?: string;
}

/**
 * The weights_only answer over the folder: accepted when every part torch loads with weights_only
 * is. Absent when the folder is unreadable or holds no such part (safetensors-based DCP).
 */
export interface FolderWeightsOnlyVerdict {
  readonly version: TorchTarget;
  readonly accepted: boolean;
  /** Every part's blockers, their record prefixed with the part. */
  readonly blockers: readonly WeightsOnlyBlocker[];
  /** How many parts were judged. */
  readonly parts: number;
}

/**
 * One report over a checkpoint folder: `ValidationReport`'s `readable`, `bytes` (of every part),
 * `findings` (the folder's own, then every part's with `where.record` = `part > record`), `counts`,
 * `imports` (records prefixed likewise) and `tensors` (key paths in the checkpoint: a DCP item's key).
 */
export interface FolderValidationReport extends Pick<ValidationReport, "readable" | "bytes" | "findings" | "counts" | "imports" | "tensors"> {
  readonly kind: "folder";
  /** The folder's name (path or URL). */
  readonly file: string;
  readonly layout?: FolderLayout;
  readonly weightsOnly?: FolderWeightsOnlyVerdict;
  /** The answers for the `weightsOnlyTargets` option's targets, in its order (from the same scans). */
  readonly weightsOnlyVerdicts?: readonly FolderWeightsOnlyVerdict[];
  /** Each part's own report (`file` = its label). */
  readonly parts: readonly ValidationReport[];
}

/** What a layout's checks hand back to {@link validateFolder}. */
export interface FolderCheck {
  /** Adds a folder-level finding. */
  add(code: FindingCode, message: string, where?: { record?: string; keyPath?: KeyPath; byteOffset?: number }): void;
  /**
   * Validates one part: `label` names it in findings; `judge` says whether torch loads it with
   * weights_only (the verdict is then asked for); `keyPath` places its tensors in the checkpoint.
   */
  part(source: ByteSource, label: string, judge: boolean, keyPath?: KeyPath): Promise<ValidationReport>;
  /** Marks the folder unreadable (its key file is missing or unusable). */
  unreadable(reason: string): void;
  readonly options: FolderValidateOptions;
}

/**
 * Validates a checkpoint folder (DCP, safetensors-based DCP, Hugging Face shards, DeepSpeed ZeRO).
 * Never rejects: every failure is a finding.
 */
export async function validateFolder(folder: CheckpointFolder, options: FolderValidateOptions = {}): Promise<FolderValidationReport> {
  const sink = createFindingSink(options.maxFindingsPerCode);
  const parts: { report: ValidationReport; judged: boolean; keyPath: KeyPath }[] = [];
  let readable = true;
  const check: FolderCheck = {
    options,
    add: (code, message, where = {}) => sink.add(code, message, where),
    unreadable(reason) {
      readable = false;
      sink.add("unreadable", reason);
    },
    async part(source, label, judge, keyPath = [label]) {
      const { layout: _l, index: _i, weightsOnly, weightsOnlyTargets, name: _n, ...rest } = options;
      const judged = judge && weightsOnly !== undefined && weightsOnly !== false;
      const o: ValidateOptions = { ...rest, name: label, training: options.training === true, ...(judged ? { weightsOnly, ...(weightsOnlyTargets === undefined ? {} : { weightsOnlyTargets }) } : {}) };
      const report = source.bytes !== undefined || source.readSync !== undefined ? validateCheckpoint(source, o) : await validateCheckpointAsync(source, o);
      parts.push({ report, judged: judge && o.weightsOnly !== undefined, keyPath });
      return report;
    },
  };
  let layout: FolderLayout | undefined = options.layout;
  try {
    let index = options.index;
    if (layout === undefined) {
      const found = await detectFolderLayout(folder);
      layout = found.layout;
      index ??= found.index;
    }
    if (layout === "dcp") await validateDcpFolder(folder, check);
    else if (layout === "dcp-safetensors") await validateDcpSafetensorsFolder(folder, check);
    else if (layout === "shards") await validateShardsFolder(folder, index, check);
    else await validateZeroFolder(folder, check);
  } catch (e) {
    if (isTorchsaveError(e) && e.code === "io" && layout === undefined) check.unreadable(e.reason);
    else sink.add("internal-error", `folder validation stopped: ${isTorchsaveError(e) ? `${e.code}: ${e.reason}` : String(e)}`);
  }
  return merge(folder.name, readable, layout, sink.items, parts, options);
}

function merge(
  name: string,
  readable: boolean,
  layout: FolderLayout | undefined,
  own: readonly Finding[],
  parts: readonly { report: ValidationReport; judged: boolean; keyPath: KeyPath }[],
  options: FolderValidateOptions,
): FolderValidationReport {
  const findings: Finding[] = [...own];
  const imports: ImportedGlobal[] = [];
  const tensors: TensorValueStats[] = [];
  let bytes = 0;
  const judgedParts: { report: ValidationReport; under: (record: string | undefined) => string }[] = [];
  let allReadable = true;
  for (const { report, judged: j, keyPath } of parts) {
    const label = report.file ?? "?";
    const under = (record: string | undefined): string => (record === undefined ? label : `${label} > ${record}`);
    bytes += report.bytes;
    for (const f of report.findings) {
      if (f.code === "weights-only-accepted") continue; // one folder-level line instead
      findings.push({ ...f, where: { ...f.where, record: under(f.where.record) } });
    }
    for (const i of report.imports) imports.push({ ...i, where: { ...i.where, record: under(i.where.record) } });
    for (const t of report.tensors) tensors.push({ ...t, path: [...keyPath, ...t.path] });
    if (j && report.weightsOnly !== undefined) judgedParts.push({ report, under });
    if (!report.readable) allReadable = false;
  }
  const wo = options.weightsOnly;
  // No verdict for a folder that could not be read, or one torch loads nothing of with weights_only (safetensors).
  const judge = wo !== undefined && wo !== false && readable && judgedParts.length > 0;
  /** The folder's verdict from each judged part's (`pick` chooses which of its verdicts). */
  const over = (version: TorchTarget, pick: (r: ValidationReport) => WeightsOnlyVerdict | undefined): FolderWeightsOnlyVerdict => {
    const blockers: WeightsOnlyBlocker[] = [];
    let accepted = allReadable;
    for (const { report, under } of judgedParts) {
      const v = pick(report);
      accepted &&= v?.accepted === true;
      for (const b of v?.blockers ?? []) blockers.push({ ...b, record: under(b.record) });
    }
    return { version, accepted, blockers, parts: judgedParts.length };
  };
  let weightsOnly: FolderWeightsOnlyVerdict | undefined;
  let weightsOnlyVerdicts: FolderWeightsOnlyVerdict[] | undefined;
  if (judge) {
    const version: TorchTarget = wo === true ? DEFAULT_TORCH_TARGET : wo;
    weightsOnly = over(version, (r) => r.weightsOnly);
    if (weightsOnly.accepted) {
      findings.push({ severity: "info", code: "weights-only-accepted", message: `torch.load(weights_only=True) (torch ${version}) accepts every one of the ${judgedParts.length} parts it loads`, where: {} });
    }
    weightsOnlyVerdicts = options.weightsOnlyTargets?.map((t, i) => over(t, (r) => r.weightsOnlyVerdicts?.[i]));
  }
  return {
    kind: "folder", file: name, readable, ...(layout === undefined ? {} : { layout }), bytes,
    findings, counts: countSeverities(findings), imports, tensors, ...(weightsOnly === undefined ? {} : { weightsOnly }),
    ...(weightsOnlyVerdicts === undefined ? {} : { weightsOnlyVerdicts }), parts: parts.map((p) => p.report),
  };
}
