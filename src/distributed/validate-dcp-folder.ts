/**
 * The DCP checks of {@link validateFolder}: `.metadata` scanned (torch 2.6 reads it with
 * `pickle.load`) and read; every file it names present; every `storage_data` item inside its file,
 * items of one file not overlapping and covering it (bytes no item claims are dead or hidden);
 * every tensor's chunks tiling it; every item validated as the `torch.save` archive it is, and a
 * tensor item's archive holding the dtype and chunk size the metadata says. The safetensors-based
 * variant: every `.safetensors` file validated, the headers' sharding info read, chunks tiling.
 */
import type { ByteSource } from "../bytes/source.js";
import { isTorchsaveError } from "../errors.js";
import type { KeyPath } from "../errors.js";
import { isTensor, openCheckpoint, openCheckpointSync } from "../torch/index.js";
import type { ReadOptions, TorchValue } from "../torch/index.js";
import { checkTiling } from "./assemble.js";
import { readDcpMetadata, type DcpEntry, type DcpMetadata } from "./dcp-metadata.js";
import { readDcpSafetensorsMetadata, readSafetensorsHeader, type SafetensorsFileHeader } from "./dcp-safetensors.js";
import type { CheckpointFolder } from "./folder.js";
import { sliceSource } from "../bytes/slice-source.js";
import type { FolderCheck } from "./validate-folder.js";

interface Item {
  readonly file: string;
  readonly offset: number;
  readonly length: number;
  readonly label: string;
  readonly entry: DcpEntry;
  readonly sizes?: readonly number[];
}

const why = (e: unknown): string => (isTorchsaveError(e) ? `${e.code}: ${e.reason}` : String((e as Error)?.message ?? e));

/** Opens a file the checkpoint needs; a failure is a `folder-file-missing` finding. */
export async function openPart(folder: CheckpointFolder, file: string, check: FolderCheck, what = "the checkpoint names it"): Promise<ByteSource | undefined> {
  try {
    return await folder.open(file);
  } catch (e) {
    check.add("folder-file-missing", `${file} cannot be opened (${what}): ${why(e)}`, { record: file });
    return undefined;
  }
}

async function whole(source: ByteSource): Promise<Uint8Array> {
  return source.bytes ?? (source.readSync !== undefined ? source.readSync(0, source.size) : await source.read(0, source.size));
}

export async function validateDcpFolder(folder: CheckpointFolder, check: FolderCheck): Promise<void> {
  let metaSource: ByteSource;
  try {
    metaSource = await folder.open(".metadata");
  } catch (e) {
    check.unreadable(`.metadata cannot be opened: ${why(e)}`);
    return;
  }
  await check.part(metaSource, ".metadata", false, []);
  let metadata: DcpMetadata;
  try {
    metadata = readDcpMetadata(await whole(metaSource), ".metadata");
  } catch (e) {
    check.add("dcp-metadata-invalid", why(e), { record: ".metadata", ...(isTorchsaveError(e) && e.path !== undefined ? { keyPath: e.path } : {}) });
    return;
  }
  const items: Item[] = [];
  for (const e of metadata.entries) {
    if (e.kind === "bytes") items.push({ file: e.file, offset: e.offset, length: e.length, label: `${e.file}[${e.fqn}]`, entry: e });
    else for (const c of e.chunks) items.push({ file: c.file, offset: c.offset, length: c.length, label: `${c.file}[${e.fqn}@${c.offsets.join(",")}]`, entry: e, sizes: c.sizes });
    if (e.kind === "tensor") tiling(check, e, e.fqn);
  }
  const sources = new Map<string, ByteSource>();
  for (const file of metadata.files) {
    const s = await openPart(folder, file, check);
    if (s !== undefined) sources.set(file, s);
  }
  for (const file of folder.list ?? []) {
    if (file.endsWith(".distcp") && !metadata.files.includes(file)) check.add("folder-file-unreferenced", `${file} is not named by .metadata: torch never reads it`, { record: file });
  }
  const inRange = coverage(check, items, sources);
  const read = check.options.limits === undefined ? {} : { limits: check.options.limits };
  for (const item of items) {
    const parent = sources.get(item.file);
    if (parent === undefined || !inRange.has(item)) continue;
    const slice = sliceSource(parent, item.offset, item.length, item.label);
    const path: KeyPath = metadata.paths.get(item.entry.fqn) ?? [item.entry.fqn];
    const report = await check.part(slice, item.label, true, path);
    if (item.entry.kind === "tensor" && report.layout !== undefined) await matches(check, item, slice, read);
  }
}

function tiling(check: FolderCheck, e: Extract<DcpEntry, { kind: "tensor" }>, fqn: string): void {
  try {
    checkTiling(e.shape, e.chunks, [fqn]);
  } catch (err) {
    check.add("dcp-chunks-invalid", `${fqn}: ${isTorchsaveError(err) ? err.reason : String(err)}`, { record: ".metadata", keyPath: [fqn] });
  }
}

/** Items inside their files, not overlapping; bytes no item claims reported. Returns the items in range. */
function coverage(check: FolderCheck, items: readonly Item[], sources: ReadonlyMap<string, ByteSource>): Set<Item> {
  const ok = new Set<Item>();
  const byFile = new Map<string, Item[]>();
  for (const item of items) {
    const s = sources.get(item.file);
    if (s === undefined) continue;
    if (item.offset + item.length > s.size) {
      check.add("dcp-slice-out-of-range", `${item.label}: bytes [${item.offset}, ${item.offset + item.length}) reach past the file's ${s.size} bytes`, { record: item.file, byteOffset: item.offset });
      continue;
    }
    ok.add(item);
    const list = byFile.get(item.file) ?? [];
    list.push(item);
    byFile.set(item.file, list);
  }
  for (const [file, list] of byFile) {
    list.sort((a, b) => a.offset - b.offset);
    let end = 0;
    let prev: Item | undefined;
    for (const item of list) {
      if (item.offset < end && prev !== undefined) {
        check.add("dcp-slices-overlap", `${item.label} starts at byte ${item.offset}, inside ${prev.label} (which ends at ${end})`, { record: file, byteOffset: item.offset });
      } else if (item.offset > end) {
        check.add("dcp-bytes-unreferenced", `bytes [${end}, ${item.offset}) belong to no item`, { record: file, byteOffset: end });
      }
      if (item.offset + item.length >= end) {
        end = item.offset + item.length;
        prev = item;
      }
    }
    const size = sources.get(file)!.size;
    if (end < size) check.add("dcp-bytes-unreferenced", `bytes [${end}, ${size}) after the last item belong to no item`, { record: file, byteOffset: end });
  }
  return ok;
}

/** A tensor item's archive holds a tensor of the metadata's dtype and chunk size. */
async function matches(check: FolderCheck, item: Item, slice: ByteSource, read: ReadOptions): Promise<void> {
  let root: TorchValue;
  try {
    root = slice.bytes !== undefined || slice.readSync !== undefined ? openCheckpointSync(slice, read).root : (await openCheckpoint(slice, read)).root;
  } catch {
    return; // the part's report already says why it cannot be read
  }
  const e = item.entry as Extract<DcpEntry, { kind: "tensor" }>;
  const sizes = item.sizes ?? [];
  if (!isTensor(root)) {
    check.add("dcp-item-mismatch", `${item.label}: the archive holds no tensor`, { record: item.file, byteOffset: item.offset, keyPath: [e.fqn] });
  } else if (root.dtype !== e.dtype || root.shape.length !== sizes.length || root.shape.some((n, d) => n !== sizes[d])) {
    check.add("dcp-item-mismatch", `${item.label}: the archive holds ${root.dtype} [${root.shape.join(", ")}], .metadata says ${e.dtype} [${sizes.join(", ")}]`, { record: item.file, byteOffset: item.offset, keyPath: [e.fqn] });
  }
}

/** The safetensors-based variant: each file validated, the sharding info read, chunks tiling. */
export async function validateDcpSafetensorsFolder(folder: CheckpointFolder, check: FolderCheck): Promise<void> {
  const files = (folder.list ?? []).filter((n) => !n.includes("/") && n.endsWith(".safetensors"));
  const headers: SafetensorsFileHeader[] = [];
  for (const file of files) {
    const s = await openPart(folder, file, check, "it is in the folder");
    if (s === undefined) continue;
    await check.part(s, file, false);
    try {
      headers.push({ file, header: await readSafetensorsHeader(s) });
    } catch {
      // the part's report says why
    }
  }
  let metadata: DcpMetadata;
  try {
    metadata = readDcpSafetensorsMetadata(headers, folder.name);
  } catch (e) {
    check.add("folder-layout-invalid", why(e), { ...(isTorchsaveError(e) && e.file !== undefined ? { record: e.file.slice(folder.name.length + 1) } : {}), ...(isTorchsaveError(e) && e.path !== undefined ? { keyPath: e.path } : {}) });
    return;
  }
  for (const e of metadata.entries) if (e.kind === "tensor") tiling(check, e, e.fqn);
}
