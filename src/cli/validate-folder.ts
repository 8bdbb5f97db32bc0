/**
 * `validate` on checkpoint folders: a local folder (DCP, safetensors-based DCP, shards, DeepSpeed),
 * a shard index file, or an `http(s)://` URL (a folder URL ending in `/`, probed for `.metadata`,
 * a shard index and `latest`; or the URL of a `*.index.json`), validated as one set.
 */
import { basename, dirname } from "node:path";
import { urlSource } from "../bytes/url-source.js";
import { validateFolder } from "../distributed/index.js";
import type { CheckpointFolder, FolderValidateOptions, FolderValidationReport } from "../distributed/index.js";
import { checkpointFolder } from "../node/index.js";
import { hasFindingsAtOrAbove, validateCheckpointAsync } from "../validate/index.js";
import type { Severity, ValidateOptions, ValidationReport } from "../validate/index.js";
import { isRemote } from "./input.js";

/** True for a URL `validate` reads as one file (not a folder, a shard index or a DeepSpeed `latest`). */
export function isFileUrl(arg: string): boolean {
  const path = arg.replace(/[?#].*$/, "");
  return isRemote(arg) && !path.endsWith("/") && !/\.index\.json$/i.test(path) && !path.endsWith("/latest");
}

/** Validates one file behind a URL (buffered whole, as validateCheckpointAsync does for asynchronous sources). Never throws. */
export async function validateUrlFile(url: string, options: ValidateOptions): Promise<ValidationReport> {
  try {
    return await validateCheckpointAsync(await urlSource(url), options);
  } catch (e) {
    // The URL could not be opened: the validator's own unreadable report, with the reason.
    return validateCheckpointAsync({ size: 1, read: () => Promise.reject(e) }, options);
  }
}

/** Validates the folder, index file or URL `arg` as one checkpoint. Never throws. */
export async function validateFolderArg(arg: string, options: FolderValidateOptions): Promise<FolderValidationReport> {
  if (isRemote(arg)) {
    const path = arg.replace(/[?#].*$/, "");
    const index = /\.index\.json$/i.test(path);
    const cut = index || path.endsWith("/latest");
    const base = cut ? arg.slice(0, arg.lastIndexOf("/", path.length - 1) + 1) : arg.endsWith("/") ? arg : `${arg}/`;
    const folder: CheckpointFolder = { name: base.slice(0, -1), open: (f) => urlSource(base + f) };
    return validateFolder(folder, index ? { ...options, layout: "shards", index: path.slice(path.lastIndexOf("/") + 1) } : options);
  }
  const index = /\.index\.json$/i.test(arg);
  let folder: ReturnType<typeof checkpointFolder>;
  try {
    folder = checkpointFolder(index ? dirname(arg) : arg);
  } catch (e) {
    return validateFolder({ name: arg, list: [], open: () => Promise.reject(e) }, options);
  }
  try {
    return await validateFolder(folder, index ? { ...options, layout: "shards", index: basename(arg) } : options);
  } finally {
    folder.close();
  }
}

/** The summary line of a folder: `ckpt/: ok (dcp folder, 9 parts, 12345 bytes): 0 error(s), ...`. */
export function folderSummaryLine(report: FolderValidationReport, threshold: Severity): string {
  const c = report.counts;
  const status = !report.readable ? "unreadable" : hasFindingsAtOrAbove(report.findings, threshold) ? "FAILED" : "ok";
  return `${report.file}: ${status} (${report.layout ?? "unknown"} folder, ${report.parts.length} part${report.parts.length === 1 ? "" : "s"}, ${report.bytes} bytes): ${c.error} error(s), ${c.warning} warning(s), ${c.info} info`;
}
