/**
 * A set of files (a DCP folder, Hugging Face shards, a DeepSpeed folder) validated as one checkpoint
 * by `distributed/validateFolder` over its named Blobs: the layout's consistency findings (files
 * named but absent, items outside their files, chunks not tiling, a key in two shards, ...) and every
 * part's own findings, each naming its file. Structure first (no CRC-32, no NaN/Inf scan), every
 * byte when asked. DOM-free.
 */
import type { ByteSource } from "../bytes/source.js";
import { folderFromSources, validateFolder, type FolderValidateOptions, type FolderValidationReport } from "../distributed/index.js";
import type { SetInput, SetReport } from "./protocol.js";
import { relativePaths } from "./set-kind.js";
import { blobInputSource } from "./sources.js";

export interface SetValidation {
  readonly report: SetReport;
  /** The torch 1.13 verdict's blockers, each prefixed with its part. */
  readonly weightsOnly13?: { readonly accepted: boolean; readonly blockers: readonly { readonly message: string }[] };
  /** Bytes of every file in the set. */
  readonly bytes: number;
}

/** Validates `input` as one folder; without `data`, the structural and security pass only. */
export async function validateSet(input: SetInput, data: boolean, progress?: (done: number, total: number) => void): Promise<SetValidation> {
  const rel = relativePaths(input.files.map((f) => f.path));
  const plain = input.files.map((f, i) => blobInputSource(f.blob, `${input.name}/${rel[i]!}`));
  const bytes = plain.reduce((n, s) => n + s.size, 0);
  const folder = (sources: readonly ByteSource[]) => folderFromSources(input.name, new Map(rel.map((p, i) => [p, sources[i]!])));
  const options: FolderValidateOptions = { name: input.name, weightsOnly: "current", ...(data ? {} : { checkCrc: false, scanValues: false }) };
  const report = await validateFolder(folder(data ? countingSources(plain, bytes, progress) : plain), options);
  // The torch 1.13 verdict needs the pickles only.
  const old = report.readable && report.weightsOnly !== undefined ? await validateFolder(folder(plain), { name: input.name, weightsOnly: "1.13", checkCrc: false, scanValues: false, training: false }) : undefined;
  const w = old?.weightsOnly;
  return {
    report: setReport(report),
    ...(w === undefined ? {} : { weightsOnly13: { accepted: w.accepted, blockers: w.blockers.map((b) => ({ message: b.record === undefined ? b.message : `${b.record}: ${b.message}` })) } }),
    bytes,
  };
}

/** The report without each part's own (their findings are in it already, prefixed with the part). */
function setReport(r: FolderValidationReport): SetReport {
  const { parts, ...rest } = r;
  return { ...rest, parts: parts.length };
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
