/**
 * A set of files (a DCP folder, Hugging Face shards, a DeepSpeed folder) validated as one checkpoint
 * by `distributed/validateFolder` over its named Blobs: the layout's consistency findings (files
 * named but absent, items outside their files, chunks not tiling, a key in two shards, ...) and every
 * part's own findings, each naming its file, and both torch targets' weights_only verdicts from one
 * scan. Small members are read whole once; big ones stay lazy. Structure first (no CRC-32, no NaN/Inf
 * scan), every byte when asked. DOM-free.
 */
import { bytesSource, type ByteSource } from "../bytes/source.js";
import type { KeyPath } from "../errors.js";
import { folderFromSources, validateFolder, type FolderValidateOptions, type FolderValidationReport } from "../distributed/index.js";
import type { SetInput, SetReport } from "./protocol.js";
import { relativePaths, setKind } from "./set-kind.js";
import { blobInputSource } from "./sources.js";

export interface SetValidation {
  readonly report: SetReport;
  /** The torch 1.13 verdict's blockers, each prefixed with its part. */
  readonly weightsOnly13?: { readonly accepted: boolean; readonly blockers: readonly { readonly message: string }[] };
  /** Bytes of every file in the set. */
  readonly bytes: number;
}

/** Members up to this size are read whole up front (one read each, however often the checks look). */
const SMALL_MEMBER = 16 * 2 ** 20;
/** At most this much of a set is held in memory that way; larger members stay lazy. */
const SMALL_TOTAL = 256 * 2 ** 20;

/** Validates `input` as one folder; without `data`, the structural and security pass only. */
export async function validateSet(input: SetInput, data: boolean, progress?: (done: number, total: number) => void): Promise<SetValidation> {
  const rel = relativePaths(input.files.map((f) => f.path));
  const lazy = input.files.map((f, i) => blobInputSource(f.blob, `${input.name}/${rel[i]!}`));
  const bytes = lazy.reduce((n, s) => n + s.size, 0);
  const sources = await smallInMemory(lazy);
  const kind = setKind(rel);
  const options: FolderValidateOptions = {
    name: input.name, weightsOnly: "current", weightsOnlyTargets: ["1.13"], ...(kind?.kind === "dcp-safetensors" ? { layout: "dcp-safetensors" } : {}),
    ...(data ? {} : { checkCrc: false, scanValues: false }),
  };
  const counted = data ? countingSources(sources, bytes, progress) : sources;
  const report = await validateFolder(folderFromSources(input.name, new Map(rel.map((p, i) => [p, counted[i]!]))), options);
  const w = report.readable ? report.weightsOnlyVerdicts?.[0] : undefined;
  return {
    report: setReport(report, kind?.kind === "deepspeed"),
    ...(w === undefined ? {} : { weightsOnly13: { accepted: w.accepted, blockers: w.blockers.map((b) => ({ message: b.record === undefined ? b.message : `${b.record}: ${b.message}` })) } }),
    bytes,
  };
}

/** The sources with the small ones read whole into memory (in parallel), the rest as they were. */
async function smallInMemory(sources: readonly ByteSource[]): Promise<ByteSource[]> {
  let budget = SMALL_TOTAL;
  const small = sources.map((s) => s.size <= SMALL_MEMBER && (budget -= s.size) >= 0);
  return Promise.all(sources.map(async (s, i) => (small[i] ? bytesSource(await s.read(0, s.size), s.name) : s)));
}

/**
 * The report without each part's own (their findings are in it already, prefixed with the part).
 * For DeepSpeed, a rank's `module` tensors take the key path they have in the consolidated tree,
 * so that their NaN/Inf marks land on its rows.
 */
function setReport(r: FolderValidationReport, deepspeed: boolean): SetReport {
  const { parts, ...rest } = r;
  return { ...rest, ...(deepspeed ? { tensors: r.tensors.map((t) => ({ ...t, path: zeroTreePath(t.path) })) } : {}), parts: parts.length };
}

/** `[<tag>/mp_rank_00_model_states.pt, "module", ...key]` → `[...key]`; other paths unchanged. */
export function zeroTreePath(path: KeyPath): KeyPath {
  return typeof path[0] === "string" && path[0].endsWith("_model_states.pt") && path[1] === "module" ? path.slice(2) : path;
}

/** Sources that report the bytes read by all of them together (every 32 MiB). */
export function countingSources(sources: readonly ByteSource[], total: number, progress?: (done: number, total: number) => void): ByteSource[] {
  if (progress === undefined) return [...sources];
  let done = 0;
  let shown = 0;
  const count = (n: number): void => {
    done += n;
    if (done - shown >= 32 * 2 ** 20) progress((shown = done), total);
  };
  return sources.map((s) => {
    const readSync = s.readSync?.bind(s);
    const read = s.read.bind(s);
    return {
      ...s,
      read: async (offset: number, length: number) => {
        const b = await read(offset, length);
        count(length);
        return b;
      },
      ...(readSync === undefined ? {} : {
        readSync: (offset: number, length: number) => {
          const b = readSync(offset, length);
          count(length);
          return b;
        },
      }),
    };
  });
}
