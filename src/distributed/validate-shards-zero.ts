/**
 * The shard and DeepSpeed checks of {@link validateFolder}. Shards: the index parsed, every shard it
 * names validated, and the index against the shards' keys (a shard missing, a key in two shards or
 * in another shard than the index says, a shard key the index does not list, an index key no shard
 * holds). DeepSpeed: every `.pt` file of the tag folder validated, and the consolidating reader run
 * for its layout checks (every rank present, stages and world sizes agreeing, partitions adding up).
 */
import type { ByteSource } from "../bytes/source.js";
import { readAnySync } from "../convert/index.js";
import type { ReadAnyResult } from "../convert/index.js";
import { isTorchsaveError } from "../errors.js";
import { parseShardIndex, type ShardIndex } from "./shard-index.js";
import type { CheckpointFolder } from "./folder.js";
import { isZeroFileName } from "./folder.js";
import { readAnyAsync } from "./read-any-async.js";
import { openPart } from "./validate-dcp-folder.js";
import type { FolderCheck } from "./validate-folder.js";
import { openZero } from "./zero.js";
import { MAX_ZERO_WORLD_SIZE, parseLatest, ZERO_MODEL_FILE, zero3ModelFile, zeroOptimFile } from "./zero-layout.js";

const why = (e: unknown): string => (isTorchsaveError(e) ? `${e.code}: ${e.reason}` : String((e as Error)?.message ?? e));

async function text(source: ByteSource, max: number): Promise<string> {
  if (source.size > max) throw new Error(`${source.size} bytes is over the ${max} read`);
  const b = source.bytes ?? (source.readSync !== undefined ? source.readSync(0, source.size) : await source.read(0, source.size));
  return new TextDecoder("utf-8", { fatal: false }).decode(b);
}

export async function validateShardsFolder(folder: CheckpointFolder, indexFile: string | undefined, check: FolderCheck): Promise<void> {
  const name = indexFile ?? "model.safetensors.index.json";
  let index: ShardIndex;
  try {
    index = parseShardIndex(await text(await folder.open(name), 64 * 2 ** 20), name);
  } catch (e) {
    if (isTorchsaveError(e) && e.code === "invalid-data") check.add("shard-index-invalid", why(e), { record: name });
    else check.unreadable(`${name} cannot be read: ${why(e)}`);
    return;
  }
  const holder = new Map<string, string>();
  for (const file of index.files) {
    const s = await openPart(folder, file, check, `the index lists ${countFor(index, file)} keys in it`);
    if (s === undefined) continue;
    const report = await check.part(s, file, !file.endsWith(".safetensors"), []);
    if (!report.readable) continue;
    let read: ReadAnyResult;
    try {
      read = s.bytes !== undefined || s.readSync !== undefined ? readAnySync(s) : await readAnyAsync(s);
    } catch {
      continue; // the part's report says why
    }
    const root = read.root as { kind?: unknown; entries?: [unknown, unknown][] } | null;
    if (root?.kind !== "dict") {
      check.add("folder-layout-invalid", `${file} holds no dict of tensors`, { record: file });
      continue;
    }
    for (const [k] of root.entries!) {
      if (typeof k !== "string") continue;
      const listed = index.weightMap.get(k);
      const seen = holder.get(k);
      if (seen !== undefined) check.add("shard-key-conflict", `${JSON.stringify(k)} is in two shards: ${seen} and ${file}`, { record: file, keyPath: [k] });
      else if (listed === undefined) check.add("shard-key-unlisted", `${file} holds ${JSON.stringify(k)}, which the index does not list`, { record: file, keyPath: [k] });
      else if (listed !== file) check.add("shard-key-conflict", `the index puts ${JSON.stringify(k)} in ${listed}, but ${file} holds it`, { record: file, keyPath: [k] });
      if (seen === undefined) holder.set(k, file);
    }
  }
  for (const [k, f] of index.weightMap) {
    if (!holder.has(k)) check.add("shard-key-absent", `the index lists ${JSON.stringify(k)} in ${f}, which does not hold it`, { record: f, keyPath: [k] });
  }
  const named = new Set(index.files);
  for (const file of folder.list ?? []) {
    if (!file.includes("/") && /\.(safetensors|bin)$/.test(file) && !named.has(file)) check.add("folder-file-unreferenced", `${file} is not named by ${name}: loaders never read it`, { record: file });
  }
}

function countFor(index: ShardIndex, file: string): number {
  let n = 0;
  for (const f of index.weightMap.values()) if (f === file) n++;
  return n;
}

export async function validateZeroFolder(folder: CheckpointFolder, check: FolderCheck): Promise<void> {
  let tag = "";
  try {
    const latest = await folder.open("latest");
    tag = parseLatest(await text(latest, 4096), "latest");
  } catch (e) {
    if (folder.list === undefined || folder.list.includes("latest")) {
      if (isTorchsaveError(e) && e.code === "invalid-data") check.add("folder-layout-invalid", why(e), { record: "latest" });
      else if (folder.list !== undefined) check.add("folder-file-missing", `latest cannot be read: ${why(e)}`, { record: "latest" });
    }
  }
  const prefix = tag === "" ? "" : `${tag}/`;
  const files = folder.list !== undefined ? folder.list.filter((n) => n.startsWith(prefix) && !n.slice(prefix.length).includes("/") && n.endsWith(".pt")) : await probeZeroFiles(folder, prefix);
  if (files.length === 0) check.add("folder-file-missing", `no DeepSpeed rank files (${ZERO_MODEL_FILE}, ${zeroOptimFile(0, false)}, ...) in ${tag === "" ? "the folder" : tag}`, { record: tag === "" ? "." : tag });
  for (const file of files) {
    const s = await openPart(folder, file, check, "it is in the tag folder");
    if (s !== undefined) await check.part(s, file, isZeroFileName(file), [file]);
  }
  try {
    await openZero(folder, { ...(check.options.limits === undefined ? {} : { read: { limits: check.options.limits } }), ...(tag === "" ? {} : { tag }) });
  } catch (e) {
    const record = isTorchsaveError(e) && e.file !== undefined && e.file.startsWith(`${folder.name}/`) ? e.file.slice(folder.name.length + 1) : undefined;
    check.add("folder-layout-invalid", `DeepSpeed layout: ${why(e)}`, { ...(record === undefined ? {} : { record }), ...(isTorchsaveError(e) && e.path !== undefined ? { keyPath: e.path } : {}) });
  }
}

/** The rank files of a tag folder that cannot be listed (a URL), found by DeepSpeed's names. */
async function probeZeroFiles(folder: CheckpointFolder, prefix: string): Promise<string[]> {
  const found: string[] = [];
  const tryOpen = async (f: string): Promise<boolean> => {
    try {
      await folder.open(prefix + f);
      found.push(prefix + f);
      return true;
    } catch {
      return false;
    }
  };
  const ranks = async (file: (r: number) => string): Promise<number> => {
    let r = 0;
    while (r < MAX_ZERO_WORLD_SIZE && (await tryOpen(file(r)))) r++;
    return r;
  };
  await tryOpen(ZERO_MODEL_FILE);
  await ranks(zero3ModelFile);
  if ((await ranks((r) => zeroOptimFile(r, true))) === 0) await ranks((r) => zeroOptimFile(r, false));
  return found;
}
