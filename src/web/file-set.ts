/**
 * A checkpoint spread over several files, dropped or picked together (a folder, or the files of
 * one): a DCP directory (`.metadata` + `*.distcp`), Hugging Face shards (an `*.index.json` and its
 * shards) or a DeepSpeed ZeRO folder (`latest` + tag folder, or the tag folder itself), opened as one
 * checkpoint by the distributed readers over the named Blobs. DOM-free; the page uses `setKind` to
 * decide whether files dropped together form a set.
 */
import type { ReadAnyResult } from "../convert/index.js";
import type { DirectoryFiles } from "../distributed/index.js";
import { openDcp, openDcpSync, openShards, openShardsSync, openZero, openZeroSync } from "../distributed/index.js";
import { CheckpointError } from "../errors.js";
import type { ByteSource } from "../bytes/source.js";
import type { SetInput } from "./protocol.js";
import { blobInputSource } from "./sources.js";

export type SetKind = { readonly kind: "dcp" } | { readonly kind: "shards"; readonly index: string } | { readonly kind: "deepspeed" };

/** Paths without the folder every one of them sits in (`ckpt/.metadata` → `.metadata`). */
export function relativePaths(paths: readonly string[]): string[] {
  let out = paths.map((p) => p.replace(/^\/+/, ""));
  for (;;) {
    const first = out[0]?.split("/")[0];
    if (first === undefined || out.some((p) => !p.startsWith(`${first}/`))) return out;
    out = out.map((p) => p.slice(first.length + 1));
  }
}

/** The layout the relative paths spell, or undefined when they are not one checkpoint. */
export function setKind(paths: readonly string[]): SetKind | undefined {
  const names = new Set(paths);
  if (names.has(".metadata")) return { kind: "dcp" };
  const index = paths.find((p) => !p.includes("/") && /\.index\.json$/i.test(p));
  if (index !== undefined) return { kind: "shards", index };
  if (names.has("latest") || (paths.some((p) => p.endsWith("_model_states.pt")) && paths.some((p) => p.endsWith("_optim_states.pt")))) return { kind: "deepspeed" };
  return undefined;
}

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
  if (kind.kind === "shards") return { root: (sync ? openShardsSync(dir, kind.index) : await openShards(dir, kind.index)).root, format: "shards", gzip: false };
  return { root: (sync ? openZeroSync(dir, { read }) : await openZero(dir, { read })).root, format: "deepspeed", gzip: false };
}

/** Members worth validating on their own: torch and safetensors files, and DCP's `.metadata` pickle. */
export function validatedMembers(input: SetInput): SetInput["files"] {
  const rel = relativePaths(input.files.map((f) => f.path));
  return input.files.filter((_, i) => rel[i] === ".metadata" || /\.(pt|pth|bin|ckpt|safetensors)$/i.test(rel[i]!));
}
