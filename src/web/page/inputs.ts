/**
 * What the person gave the page, as inputs: files picked or dropped (each its own input), a folder
 * picked (`<input webkitdirectory>`) or dropped (walked with `webkitGetAsEntry`), and loose files that
 * together spell one checkpoint (`.metadata` + `*.distcp`, an `*.index.json` + its shards, a DeepSpeed
 * tag folder's files): a set, opened as one checkpoint.
 */
import { relativePaths, setKind } from "../set-kind.js";
import type { OpenInput, SetInput } from "../protocol.js";

type Named = { path: string; blob: File };

/** Most files taken from one dropped folder. */
const MAX_FOLDER_FILES = 10_000;

/** One set when the files spell a checkpoint together, else one input per file. */
function group(files: Named[], name: string): OpenInput[] {
  if (files.length > 1 && setKind(relativePaths(files.map((f) => f.path))) !== undefined) return [{ kind: "set", name, files } satisfies SetInput];
  return files.map((f) => ({ kind: "blob", blob: f.blob, name: f.blob.name }));
}

/** Files from the pickers: a folder picked gives paths (webkitRelativePath). */
export function pickedInputs(list: FileList): OpenInput[] {
  const files = [...list].map((f) => ({ path: f.webkitRelativePath || f.name, blob: f }));
  const folder = files[0]?.path.includes("/") === true ? files[0].path.split("/")[0]! : `${files.length} files`;
  return group(files, folder);
}

/** A drop: each folder a set (when it is one), loose files grouped as above. */
export async function droppedInputs(dt: DataTransfer): Promise<OpenInput[]> {
  // Entries must be taken while the drop event runs; reading them may wait.
  const entries = [...dt.items].map((i) => i.webkitGetAsEntry?.() ?? null);
  if (entries.every((e) => e === null || e.isFile)) return group([...dt.files].map((f) => ({ path: f.name, blob: f })), `${dt.files.length} files`);
  const inputs: OpenInput[] = [];
  const loose: Named[] = [];
  for (const e of entries) {
    if (e === null) continue;
    if (e.isFile) loose.push({ path: e.name, blob: await fileOf(e as FileSystemFileEntry) });
    else {
      const files: Named[] = [];
      await walk(e as FileSystemDirectoryEntry, files);
      inputs.push(...group(files, e.name));
    }
  }
  return [...inputs, ...group(loose, `${loose.length} files`)];
}

const fileOf = (e: FileSystemFileEntry): Promise<File> => new Promise((resolve, reject) => e.file(resolve, reject));

async function walk(dir: FileSystemDirectoryEntry, out: Named[]): Promise<void> {
  const reader = dir.createReader();
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return;
    for (const e of batch) {
      if (out.length >= MAX_FOLDER_FILES) return;
      if (e.isFile) out.push({ path: e.fullPath.replace(/^\//, ""), blob: await fileOf(e as FileSystemFileEntry) });
      else await walk(e as FileSystemDirectoryEntry, out);
    }
  }
}
