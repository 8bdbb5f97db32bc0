/**
 * A checkpoint spread over several files, dropped or picked together (a folder, or the files of
 * one): a DCP directory (`.metadata` + `*.distcp`, or safetensors files carrying DCP_SHARDING_INFO), Hugging Face shards (an `*.index.json` and its
 * shards) or a DeepSpeed ZeRO folder (`latest` + tag folder, or the tag folder itself), opened as one
 * checkpoint by the distributed readers over the named Blobs (set-kind.ts says which). DOM-free.
 */
import type { ReadAnyResult } from "../convert/index.js";
import type { DirectoryFiles } from "../distributed/index.js";
import { openDcp, openDcpSafetensors, openDcpSync, openShards, openShardsSync, openZero, openZeroSync } from "../distributed/index.js";
import { CheckpointError } from "../errors.js";
import type { ByteSource } from "../bytes/source.js";
import type { SetInput } from "./protocol.js";
import { relativePaths, setKind } from "./set-kind.js";
import { blobInputSource } from "./sources.js";

/** Opens a set as one checkpoint; tensors stay in their files until asked for. */
export async function openSet(input: SetInput): Promise<ReadAnyResult> {
  const rel = relativePaths(input.files.map((f) => f.path));
  const kind = setKind(rel);
  if (kind === undefined) throw new CheckpointError("invalid-argument", "these files are not one checkpoint: a DCP folder has .metadata, Hugging Face shards an *.index.json, a DeepSpeed folder latest or *_model_states.pt and *_optim_states.pt", { file: input.name });
  const blobs = new Map(rel.map((p, i) => [p, input.files[i]!.blob]));
  const opened = new Map<string, ByteSource>();
  const dir: DirectoryFiles = {
    name: input.name,
    open(file) {
      const blob = blobs.get(file);
      if (blob === undefined) throw new CheckpointError("missing-record", `${file} is not among the files given`, { file: `${input.name}/${file}` });
      let s = opened.get(file);
      if (s === undefined) opened.set(file, (s = blobInputSource(blob, `${input.name}/${file}`)));
      return s;
    },
  };
  // In a worker Blobs read synchronously (FileReaderSync): the sync readers, as for a local folder.
  const sync = blobInputSource(input.files[0]!.blob, input.name).readSync !== undefined;
  const read = { name: input.name };
  if (kind.kind === "dcp") return { root: (sync ? openDcpSync(dir, read) : await openDcp(dir, read)).root, format: "dcp", gzip: false };
  if (kind.kind === "dcp-safetensors") return { root: (await openDcpSafetensors(dir, kind.files, read)).root, format: "dcp", gzip: false };
  if (kind.kind === "shards") return { root: (sync ? openShardsSync(dir, kind.index) : await openShards(dir, kind.index)).root, format: "shards", gzip: false };
  return { root: (sync ? openZeroSync(dir, { read }) : await openZero(dir, { read })).root, format: "deepspeed", gzip: false };
}
