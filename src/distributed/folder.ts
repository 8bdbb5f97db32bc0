/**
 * A checkpoint folder as a set of named files, and which distributed layout it holds. Browser-safe:
 * the files are `ByteSource`s (a dropped folder's Files through `blobSource`, a local folder through
 * `torchsave/node`'s `checkpointFolder`, a URL prefix through `urlSource`).
 */
import type { ByteSource } from "../bytes/source.js";
import { CheckpointError } from "../errors.js";
import type { DirectoryFiles } from "./dcp-read.js";
import { SHARD_INDEX_NAMES } from "./shard-index.js";
import { ZERO_MODEL_FILE, zero3ModelFile } from "./zero-layout.js";

/** The files of a checkpoint folder. */
export interface CheckpointFolder extends DirectoryFiles {
  /**
   * Every file's name relative to the folder (`__0_0.distcp`, `global_step3/mp_rank_00_model_states.pt`),
   * when the folder can be listed; undefined for a URL prefix, whose layout is then found by
   * opening the files each layout must have.
   */
  readonly list?: readonly string[];
}

/** The layouts a folder can hold. */
export type FolderLayout = "dcp" | "dcp-safetensors" | "shards" | "deepspeed";

/** A folder from named sources (`{"__0_0.distcp": source, ...}`, names relative to the folder). */
export function folderFromSources(name: string, sources: ReadonlyMap<string, ByteSource> | Readonly<Record<string, ByteSource>>): CheckpointFolder {
  const map = sources instanceof Map ? (sources as ReadonlyMap<string, ByteSource>) : new Map(Object.entries(sources));
  return {
    name,
    list: [...map.keys()].sort(),
    open(file: string): ByteSource {
      const s = map.get(file);
      if (s === undefined) throw new CheckpointError("missing-record", `${file} is not in the folder`, { file: `${name}/${file}` });
      return s;
    },
  };
}

/** What {@link detectFolderLayout} found: the layout, and for shards the index file's name. */
export interface DetectedLayout {
  readonly layout: FolderLayout;
  readonly index?: string;
}

/** True for a name DeepSpeed gives its rank files (`*_model_states.pt`, `*_optim_states.pt`). */
export function isZeroFileName(name: string): boolean {
  return /_(model|optim)_states\.pt$/.test(name);
}

/**
 * Which layout a folder holds: `.metadata` → DCP; a shard index → shards; `latest` or DeepSpeed
 * rank files → DeepSpeed; `.safetensors` files and nothing else of the above → safetensors-based
 * DCP. Unlisted folders (URLs) are probed in that order by opening `.metadata`, the index names,
 * `latest` and DeepSpeed's model file names (a tag folder).
 * @throws CheckpointError `io` when none matches.
 */
export async function detectFolderLayout(folder: CheckpointFolder): Promise<DetectedLayout> {
  const list = folder.list;
  if (list !== undefined) {
    const has = new Set(list);
    if (has.has(".metadata")) return { layout: "dcp" };
    const index = SHARD_INDEX_NAMES.find((n) => has.has(n)) ?? list.find((n) => !n.includes("/") && /\.index\.json$/i.test(n));
    if (index !== undefined) return { layout: "shards", index };
    if (has.has("latest") || list.some(isZeroFileName)) return { layout: "deepspeed" };
    if (list.some((n) => !n.includes("/") && n.endsWith(".safetensors"))) return { layout: "dcp-safetensors" };
  } else {
    if (await canOpen(folder, ".metadata")) return { layout: "dcp" };
    for (const n of SHARD_INDEX_NAMES) if (await canOpen(folder, n)) return { layout: "shards", index: n };
    if (await canOpen(folder, "latest")) return { layout: "deepspeed" };
    if ((await canOpen(folder, ZERO_MODEL_FILE)) || (await canOpen(folder, zero3ModelFile(0)))) return { layout: "deepspeed" };
  }
  throw new CheckpointError("io", "this folder is not a checkpoint torchsave reads (a DCP directory has a .metadata file or safetensors files with DCP_SHARDING_INFO; Hugging Face shards a model.safetensors.index.json or pytorch_model.bin.index.json; a DeepSpeed folder a latest file or *_model_states.pt and *_optim_states.pt)", { file: folder.name });
}

/** True when `dir` can open `file` (a probe: for a URL, one request). */
export async function canOpen(dir: DirectoryFiles, file: string): Promise<boolean> {
  try {
    await dir.open(file);
    return true;
  } catch {
    return false;
  }
}
