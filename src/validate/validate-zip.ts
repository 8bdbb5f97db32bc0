/**
 * Zip containers: torch.save archives, TorchScript archives, numpy .npz files and any other zip.
 * Checks the end records and central directory (through the reader, which records every
 * irregularity torch tolerates as a quirk), local headers, each record's CRC-32 (streamed, in the
 * same pass as the NaN scan), the text records torch writes, storage records against data.pkl's
 * persistent ids, and scans every pickle in the archive. A zip whose directory cannot be followed
 * is searched for local headers so that what is still readable is still checked.
 */
import type { ByteSource } from "../bytes/source.js";
import { decodeLatin1 } from "../bytes/text.js";
import { isTorchsaveError, type TorchsaveError } from "../errors.js";
import type { ZipQuirkCode } from "../containers/zip/zip-quirks.js";
import { dtypeByStorageClass, entryDataOffsetSync, openZipSync, readEntrySync, type ZipArchive, type ZipEntry } from "../torch/index.js";
import { scanLocalHeadersSync } from "../containers/zip/zip-reader.js";
import { report, type Ctx } from "./context.js";
import type { FindingCode } from "./rules.js";
import { carve, MAX_CARVE_BYTES, scanStream } from "./report-scan.js";
import { looksLikePickle, type StorageRef } from "./scan-pickle.js";
import { inspectNpyBytes } from "./validate-npy.js";
import { reportTorchScript } from "./validate-torchscript.js";
import { recoverFromLocalHeaders } from "./validate-zip-recover.js";

export { streamZipRecords } from "./validate-zip-stream.js";

/** Each zip quirk's finding code. */
export const QUIRK_FINDINGS: Readonly<Record<ZipQuirkCode, FindingCode>> = {
  "empty-archive": "zip-empty-archive",
  "no-prefix": "zip-no-prefix",
  "prefix-mismatch": "zip-prefix-mismatch",
  "duplicate-name": "zip-duplicate-name",
  "case-duplicate": "zip-case-duplicate",
  "encrypted-flag": "zip-encrypted-flag",
  "strong-encryption-flag": "zip-strong-encryption-flag",
  "patch-flag": "zip-patch-flag",
  "masked-local-header": "zip-masked-local-header",
  "unknown-flags": "zip-unknown-flags",
  "compressed-entry": "zip-compressed-entry",
  "unsupported-method": "zip-unsupported-method",
  "stored-size-mismatch": "zip-stored-size-mismatch",
  "missing-compressed-data": "zip-missing-compressed-data",
  "invalid-utf8-name": "zip-invalid-utf8-name",
  "entry-comment": "zip-entry-comment",
  "multi-disk": "zip-multi-disk",
  "eocd-count-mismatch": "zip-eocd-count-mismatch",
  "zip64-eocd-mismatch": "zip64-eocd-mismatch",
  "zip64-locator-invalid": "zip64-locator-invalid",
  "comment": "zip-comment",
  "comment-length-mismatch": "zip-comment-length-mismatch",
  "data-before-archive": "zip-data-before-archive",
  "data-after-archive": "zip-data-after-archive",
  "unreferenced-data": "zip-unreferenced-data",
  "directory-gap": "zip-directory-gap",
  "directory-overlap": "zip-directory-overlap",
  "overlapping-entries": "zip-overlapping-entries",
  "local-name-mismatch": "zip-local-name-mismatch",
  "local-size-mismatch": "zip-local-size-mismatch",
  "local-crc-mismatch": "zip-local-crc-mismatch",
  "local-header-mismatch": "zip-local-header-mismatch",
  "quirks-omitted": "zip-quirks-omitted",
};

/** torch's PyTorchStreamReader accepts file format versions 1..kMaxSupportedFileFormatVersion (0xa). */
const MAX_FILE_FORMAT_VERSION = 10;
/** Records torch.save (and the C++ writer) put beside data.pkl and data/. */
const TORCH_RECORDS = new Set(["data.pkl", "version", ".data/version", ".format_version", ".storage_alignment", "byteorder", ".data/serialization_id"]);
/** Largest record read whole to be scanned for pickles. */
const MAX_SCANNED_RECORD = 512 * 2 ** 20;
const PICKLE_NAME = /\.(pkl|pickle|debug_pkl|pk|joblib|dat|data)$/i;

/** An opened archive and what kind of zip it is. */
export interface ZipInspection {
  readonly zip: ZipArchive;
  /** "torch" when data.pkl exists, "torchscript" with constants.pkl too, "npz" for numpy, else "other". */
  readonly kind: "torch" | "torchscript" | "npz" | "other";
}

/** Checks the archive's structure, records and pickles. Returns undefined when the directory is unusable. */
export function inspectZip(ctx: Ctx, source: ByteSource): ZipInspection | undefined {
  let zip: ZipArchive;
  try {
    zip = openZipSync(source);
  } catch (e) {
    if (!isTorchsaveError(e)) throw e;
    const code: FindingCode = e.code === "truncated" ? "zip-truncated" : e.code === "limit-exceeded" ? "validation-limit" : "zip-damaged";
    report(ctx, code, e.reason, located(e));
    recoverFromLocalHeaders(ctx, source);
    return undefined;
  }
  try {
    scanLocalHeadersSync(zip);
  } catch (e) {
    if (!isTorchsaveError(e)) throw e;
    report(ctx, "zip-local-header-unreadable", e.reason, located(e));
  }
  const dataPkl = zip.get("data.pkl");
  const kind: ZipInspection["kind"] = dataPkl !== undefined
    ? (zip.get("constants.pkl") !== undefined ? "torchscript" : "torch")
    : zip.entries.length > 0 && zip.entries.every((e) => e.name.endsWith(".npy")) ? "npz" : "other";

  reportQuirks(ctx, zip, source, kind === "torch" || kind === "torchscript");
  if (kind === "torch" || kind === "torchscript") checkTextRecords(ctx, zip);
  if (kind === "torchscript") reportTorchScript(ctx, zip);
  const refs = scanRecords(ctx, zip, kind);
  if (kind === "torch" || kind === "torchscript") checkStorageRecords(ctx, zip, refs, kind);
  if (kind === "other" && zip.entries.length > 0) {
    // Torch's own records without data.pkl: a checkpoint that lost its pickle, not some other zip.
    const torchLike = zip.prefix !== "" && zip.entries.some((e) => /^(version|\.data\/version|byteorder|data\/[^/]+)$/.test(relative(zip, e)));
    if (torchLike) report(ctx, "record-missing", `${zip.prefix}data.pkl is missing: torch.load cannot read this archive`, { record: `${zip.prefix}data.pkl` });
    else report(ctx, "not-a-checkpoint", "a zip archive without data.pkl (not a torch.save file); its pickle-like members were scanned");
  }
  return { zip, kind };
}

function located(e: TorchsaveError): { byteOffset?: number; record?: string } {
  return { ...(e.offset === undefined ? {} : { byteOffset: e.offset }), ...(e.entry === undefined ? {} : { record: e.entry }) };
}

/** Quirks about the archive folder only matter to torch's reader. */
const TORCH_ONLY_QUIRKS = new Set<ZipQuirkCode>(["no-prefix", "prefix-mismatch"]);

function reportQuirks(ctx: Ctx, zip: ZipArchive, source: ByteSource, torch: boolean): void {
  const starts = zip.entries.map((e) => e.localHeaderOffset).sort((a, b) => a - b);
  const nextStart = (after: number): number => starts.find((s) => s > after) ?? zip.centralDirectoryOffset;
  for (const q of zip.quirks) {
    if (!torch && TORCH_ONLY_QUIRKS.has(q.code)) continue;
    report(ctx, QUIRK_FINDINGS[q.code], q.message, { byteOffset: q.offset, ...(q.entry === undefined ? {} : { record: q.entry }) });
    // Bytes no entry claims are where polyglots hide their payload.
    let region: [number, number] | undefined;
    if (q.code === "data-before-archive") region = [0, starts[0] ?? 0];
    else if (q.code === "data-after-archive") region = [q.offset, source.size];
    else if (q.code === "unreferenced-data") region = [q.offset, nextStart(q.offset)];
    else if (q.code === "directory-gap") region = [q.offset, zip.eocdOffset];
    if (region !== undefined && region[1] > region[0]) carveRegion(ctx, source, region[0], region[1]);
  }
}

/** Carves a byte range of the file for embedded pickles (reading at most MAX_CARVE_BYTES). */
export function carveRegion(ctx: Ctx, source: ByteSource, from: number, to: number): void {
  const end = Math.min(to, from + MAX_CARVE_BYTES);
  let bytes: Uint8Array;
  try {
    bytes = source.bytes?.subarray(from, end) ?? source.readSync!(from, end - from);
  } catch (e) {
    if (isTorchsaveError(e)) return;
    throw e;
  }
  carve(ctx, bytes, 0, bytes.length, undefined, from);
  if (to > end) report(ctx, "validation-limit", `only the first ${MAX_CARVE_BYTES} of ${to - from} unclaimed bytes were searched for pickles`, { byteOffset: from });
}

function readText(zip: ZipArchive, name: string): string | undefined {
  const e = zip.get(name);
  if (e === undefined || e.size > 4096) return undefined;
  try {
    return decodeLatin1(readEntrySync(zip, e)).trim();
  } catch {
    return undefined;
  }
}

function checkTextRecords(ctx: Ctx, zip: ZipArchive): void {
  for (const name of ["version", ".data/version", ".format_version"]) {
    const entry = zip.get(name);
    if (entry === undefined) continue;
    const text = readText(zip, name);
    const n = text === undefined || !/^\d{1,9}$/.test(text) ? undefined : Number(text);
    const max = name === ".format_version" ? Number.MAX_SAFE_INTEGER : MAX_FILE_FORMAT_VERSION;
    if (n === undefined || n < 1 || n > max) {
      const shown = text === undefined ? `${entry.size} bytes` : JSON.stringify(text.slice(0, 40));
      report(ctx, "bad-version-record", `${name} holds ${shown}; torch reads versions 1..${name === ".format_version" ? "" : MAX_FILE_FORMAT_VERSION}`, { record: entry.name });
    }
  }
  if (zip.get("version") === undefined && zip.get(".data/version") === undefined) {
    report(ctx, "bad-version-record", "no version record: torch's reader refuses an archive without one", { record: `${zip.prefix}version` });
  }
  const byteorder = zip.get("byteorder");
  if (byteorder !== undefined) {
    const text = readText(zip, "byteorder");
    if (text !== "little" && text !== "big") {
      report(ctx, "bad-byteorder-record", `byteorder holds ${text === undefined ? `${byteorder.size} bytes` : JSON.stringify(text.slice(0, 40))}`, { record: byteorder.name });
    }
  }
  const alignment = zip.get(".storage_alignment");
  if (alignment !== undefined) {
    const text = readText(zip, ".storage_alignment");
    const a = text !== undefined && /^\d{1,9}$/.test(text) ? Number(text) : 0;
    if (a <= 0 || (a & (a - 1)) !== 0) {
      report(ctx, "bad-alignment-record", `.storage_alignment holds ${JSON.stringify((text ?? "").slice(0, 40))}, not a power of two`, { record: alignment.name });
    } else {
      for (const e of zip.entries) {
        if (!relative(zip, e).startsWith("data/") || e.method !== 0) continue;
        let at: number;
        try {
          at = entryDataOffsetSync(zip, e);
        } catch {
          continue;
        }
        if (at % a !== 0) report(ctx, "bad-alignment-record", `record data starts at ${at}, not a multiple of ${a}`, { record: e.name, byteOffset: 0 });
      }
    }
  }
}

function relative(zip: ZipArchive, e: ZipEntry): string {
  return zip.prefix !== "" && e.name.startsWith(zip.prefix) ? e.name.slice(zip.prefix.length) : e.name;
}

/** Scans every pickle-bearing record; returns the storage ids data.pkl and constants.pkl declare. */
function scanRecords(ctx: Ctx, zip: ZipArchive, kind: ZipInspection["kind"]): { data: StorageRef[]; constants: StorageRef[] } {
  const refs = { data: [] as StorageRef[], constants: [] as StorageRef[] };
  const torch = kind === "torch" || kind === "torchscript";
  for (const e of zip.entries) {
    const rel = relative(zip, e);
    const isMain = torch && (e === zip.get("data.pkl") || e === zip.get("constants.pkl"));
    const storageRecord = torch && (rel.startsWith("data/") || rel.startsWith("constants/"));
    if (storageRecord) continue; // raw tensor bytes; unreferenced ones are checked later
    const npy = rel.toLowerCase().endsWith(".npy");
    const named = isMain || PICKLE_NAME.test(rel) || npy;
    if (torch && !isMain && !TORCH_RECORDS.has(rel) && kind === "torch") {
      report(ctx, "unexpected-record", `torch.save does not write ${JSON.stringify(rel)}`, { record: e.name });
    }
    if (!named && e.size < 3) continue;
    const bytes = readForScan(ctx, zip, e, named ? MAX_SCANNED_RECORD : 16);
    if (bytes === undefined) continue;
    if (!named) {
      if (!looksLikePickle(bytes)) continue;
      const whole = readForScan(ctx, zip, e, MAX_SCANNED_RECORD);
      if (whole === undefined) continue;
      report(ctx, "embedded-pickle", `record ${JSON.stringify(rel)} holds a pickle`, { record: e.name });
      scanStream(ctx, whole, 0, { record: e.name, persistentIds: "any" });
      continue;
    }
    if (npy) {
      inspectNpyBytes(ctx, bytes, e.name);
      continue;
    }
    const isData = isMain && e === zip.get("data.pkl");
    const stream = scanStream(ctx, bytes, 0, { record: e.name, persistentIds: isMain ? "zip" : "any" });
    const first = stream.scans[0];
    if (first === undefined) continue;
    if (isMain) (isData ? refs.data : refs.constants).push(...first.storageRefs);
    if (isData && ctx.depth === 0) ctx.weightsOnlyInputs.push({ scan: first, record: e.name, persistentIds: "zip" });
  }
  return refs;
}

/** The entry's bytes for scanning, or undefined (with a finding) when unreadable or larger than `max`. */
function readForScan(ctx: Ctx, zip: ZipArchive, e: ZipEntry, max: number): Uint8Array | undefined {
  if (e.size > max && max >= MAX_SCANNED_RECORD) {
    report(ctx, "validation-limit", `record of ${e.size} bytes is larger than the ${MAX_SCANNED_RECORD} scanned for pickles`, { record: e.name });
    return undefined;
  }
  try {
    if (e.size > max && e.method === 0) {
      const at = entryDataOffsetSync(zip, e);
      return zip.source.bytes?.subarray(at, at + max) ?? zip.source.readSync!(at, max);
    }
    return readEntrySync(zip, e, { maxInflatedSize: Math.min(ctx.options.maxInflatedBytes, MAX_SCANNED_RECORD) });
  } catch (err) {
    if (!isTorchsaveError(err)) throw err;
    report(ctx, err.code === "limit-exceeded" ? "validation-limit" : "zip-record-unreadable", err.reason, { record: e.name });
    return undefined;
  }
}

function checkStorageRecords(ctx: Ctx, zip: ZipArchive, refs: { data: StorageRef[]; constants: StorageRef[] }, kind: ZipInspection["kind"]): void {
  const referenced = new Set<string>();
  for (const [dir, list, pickle] of [["data", refs.data, "data.pkl"], ["constants", refs.constants, "constants.pkl"]] as const) {
    const byKey = new Map<string, StorageRef>();
    const pickleRecord = `${zip.prefix}${pickle}`;
    for (const ref of list) {
      const earlier = byKey.get(ref.key);
      if (earlier !== undefined) {
        if (earlier.storageClass !== ref.storageClass || earlier.numel !== ref.numel) {
          report(ctx, "storage-conflict", `storage ${ref.key} is declared as ${earlier.storageClass}×${earlier.numel} and as ${ref.storageClass}×${ref.numel}`, { record: pickleRecord, byteOffset: ref.offset });
        }
        continue;
      }
      byKey.set(ref.key, ref);
      const name = `${dir}/${ref.key}`;
      referenced.add(name);
      const entry = zip.get(name);
      if (entry === undefined) {
        report(ctx, "storage-record-missing", `storage ${JSON.stringify(ref.key)} (${ref.storageClass}) is referenced but ${zip.prefix}${name} does not exist`, { record: pickleRecord, byteOffset: ref.offset });
        continue;
      }
      const untyped = ref.storageClass.endsWith("UntypedStorage");
      const itemSize = untyped ? 1 : dtypeByStorageClass(ref.storageClass)?.itemSize;
      if (itemSize === undefined || ref.numel === undefined) continue;
      const expected = ref.numel * itemSize;
      if (entry.size < expected) {
        report(ctx, "storage-record-short", `record holds ${entry.size} bytes; ${ref.numel} × ${itemSize}-byte elements need ${expected}`, { record: entry.name });
      } else if (entry.size > expected) {
        report(ctx, "storage-record-long", `record holds ${entry.size} bytes; ${ref.numel} × ${itemSize}-byte elements need only ${expected}`, { record: entry.name });
      }
    }
  }
  for (const e of zip.entries) {
    const rel = relative(zip, e);
    if (!(rel.startsWith("data/") || (kind === "torchscript" && rel.startsWith("constants/")))) continue;
    if (referenced.has(rel)) continue;
    // Records under data/ that are not storages, in TorchScript archives, belong to the module.
    if (kind === "torchscript" && rel.startsWith("data/") && rel.includes("/", 5)) continue;
    report(ctx, "storage-record-unreferenced", `no persistent id refers to ${JSON.stringify(rel)}`, { record: e.name });
    const head = readForScan(ctx, zip, e, 16);
    if (head !== undefined && looksLikePickle(head)) {
      const whole = readForScan(ctx, zip, e, MAX_SCANNED_RECORD);
      if (whole !== undefined) {
        report(ctx, "embedded-pickle", "an unreferenced storage record holds a pickle", { record: e.name });
        scanStream(ctx, whole, 0, { record: e.name, persistentIds: "any" });
      }
    }
  }
}
