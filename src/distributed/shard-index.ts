/**
 * Hugging Face sharded checkpoints: `model.safetensors.index.json` / `pytorch_model.bin.index.json`
 * (`{"metadata": {"total_size": N}, "weight_map": {key: shard file}}`) and the shards it names, read
 * as one state dict. The dict holds the shards' tensors shard by shard (in sorted file order), each
 * shard in its own order, as `sd.update(load(shard))` over the files would. Everything must agree:
 * a shard that is missing, a key in two shards, a key the index puts in another shard than the one
 * holding it, or a shard key the index does not list is an error, never a guess.
 */
import type { ByteSource } from "../bytes/source.js";
import type { ReadAnyResult } from "../convert/index.js";
import { readAnySync } from "../convert/index.js";
import { CheckpointError, isTorchsaveError } from "../errors.js";
import type { PyDict } from "../pickle/index.js";
import type { TorchHost, TorchValue } from "../torch/index.js";
import type { DirectoryFiles } from "./dcp-read.js";
import { readAnyAsync } from "./read-any-async.js";

/** The index files Hugging Face writes beside shards, in the order they are looked for. */
export const SHARD_INDEX_NAMES = ["model.safetensors.index.json", "pytorch_model.bin.index.json"] as const;

export interface ShardIndex {
  /** Tensor key → shard file, in the index's order. */
  readonly weightMap: ReadonlyMap<string, string>;
  /** `metadata.total_size` when present (bytes of all tensors, by Hugging Face's convention). */
  readonly totalSize?: number;
  /** The shard files, sorted. */
  readonly files: readonly string[];
  /** Other `metadata` fields, as strings. */
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** Largest index file read (real ones are well under a few MB). */
export const MAX_SHARD_INDEX_BYTES = 64 * 1024 * 1024;

/**
 * Parses an index file's text.
 * @throws CheckpointError `invalid-data` (with `file`) for text that is not such an index or a shard
 *   name with a path separator.
 */
export function parseShardIndex(text: string, file = "index.json"): ShardIndex {
  const fail = (reason: string, path: (string | number)[] = []): never => {
    throw new CheckpointError("invalid-data", reason, { file, path });
  };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return fail(`not JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) fail("not a shard index (a JSON object with weight_map)");
  const wm = (doc as { weight_map?: unknown }).weight_map;
  if (typeof wm !== "object" || wm === null || Array.isArray(wm)) return fail("no weight_map object");
  const weightMap = new Map<string, string>();
  for (const [k, v] of Object.entries(wm as Record<string, unknown>)) {
    if (typeof v !== "string" || !isShardName(v)) fail(`bad shard file name ${JSON.stringify(v)}`, ["weight_map", k]);
    weightMap.set(k, v as string);
  }
  const meta = (doc as { metadata?: unknown }).metadata;
  const metadata = typeof meta === "object" && meta !== null && !Array.isArray(meta) ? (meta as Record<string, unknown>) : {};
  const total = metadata.total_size;
  return {
    weightMap,
    ...(typeof total === "number" && Number.isSafeInteger(total) && total >= 0 ? { totalSize: total } : {}),
    files: [...new Set(weightMap.values())].sort(),
    metadata,
  };
}

function isShardName(s: string): boolean {
  return s.length > 0 && s.length <= 255 && !/[/\\\u0000]/.test(s) && s !== "." && s !== "..";
}

/** A sharded checkpoint read as one. */
export interface ShardedCheckpoint {
  readonly format: "shards";
  readonly name: string;
  readonly index: ShardIndex;
  /** One dict of every shard's tensors. */
  readonly root: TorchValue;
  /** What each shard read as (format, metadata). */
  readonly shards: ReadonlyMap<string, ReadAnyResult>;
}

/**
 * Reads the index `indexFile` of `dir` and its shards (lazily: headers and pickles now, tensor
 * bytes on demand).
 * @throws CheckpointError `missing-record` for a shard that cannot be opened, `invalid-data` for
 *   keys that disagree with the index (named with both files); the shard readers' errors.
 */
export async function openShards(dir: DirectoryFiles, indexFile: string = SHARD_INDEX_NAMES[0]): Promise<ShardedCheckpoint> {
  const index = parseShardIndex(textOf(await readWhole(await opened(dir, indexFile))), `${dir.name}/${indexFile}`);
  const shards = new Map<string, ReadAnyResult>();
  for (const f of index.files) shards.set(f, await located(dir, f, async () => readAnyAsync(await opened(dir, f))));
  return { format: "shards", name: dir.name, index, root: merge(dir.name, index, shards), shards };
}

/** {@link openShards} over files that read synchronously (local folders). */
export function openShardsSync(dir: DirectoryFiles, indexFile: string = SHARD_INDEX_NAMES[0]): ShardedCheckpoint {
  const index = parseShardIndex(textOf(readWholeSync(openedSync(dir, indexFile))), `${dir.name}/${indexFile}`);
  const shards = new Map<string, ReadAnyResult>();
  for (const f of index.files) shards.set(f, locatedSync(dir, f, () => readAnySync(openedSync(dir, f))));
  return { format: "shards", name: dir.name, index, root: merge(dir.name, index, shards), shards };
}

function merge(name: string, index: ShardIndex, shards: ReadonlyMap<string, ReadAnyResult>): TorchValue {
  const entries: [TorchValue, TorchValue][] = [];
  const from = new Map<string, string>();
  for (const [file, shard] of shards) {
    const where = { file: `${name}/${file}` };
    const root = shard.root as PyDict<TorchHost>;
    if ((root as { kind?: unknown } | null)?.kind !== "dict") throw new CheckpointError("invalid-data", "a shard must hold a dict of tensors", where);
    for (const [k, v] of root.entries) {
      if (typeof k !== "string") throw new CheckpointError("invalid-data", "a shard key is not a string", where);
      const listed = index.weightMap.get(k);
      if (listed === undefined) throw new CheckpointError("invalid-data", `${file} holds ${JSON.stringify(k)}, which the index does not list`, { ...where, path: [k] });
      const seen = from.get(k);
      if (seen !== undefined) throw new CheckpointError("invalid-data", `${JSON.stringify(k)} is in two shards: ${seen} and ${file}`, { ...where, path: [k] });
      if (listed !== file) throw new CheckpointError("invalid-data", `the index puts ${JSON.stringify(k)} in ${listed}, but ${file} holds it`, { ...where, path: [k] });
      from.set(k, file);
      entries.push([k, v]);
    }
  }
  for (const [k, f] of index.weightMap) {
    if (!from.has(k)) throw new CheckpointError("missing-record", `the index lists ${JSON.stringify(k)} in ${f}, which does not hold it`, { file: `${name}/${f}`, path: [k] });
  }
  return { kind: "dict", entries } as PyDict<TorchHost>;
}

async function opened(dir: DirectoryFiles, file: string): Promise<ByteSource> {
  try {
    return await dir.open(file);
  } catch (e) {
    throw openError(e, dir.name, file);
  }
}

function openedSync(dir: DirectoryFiles, file: string): ByteSource {
  let got: ByteSource | Promise<ByteSource>;
  try {
    got = dir.open(file);
  } catch (e) {
    throw openError(e, dir.name, file);
  }
  if (got instanceof Promise || (got.bytes === undefined && got.readSync === undefined)) {
    throw new CheckpointError("invalid-argument", "openShardsSync needs files that read synchronously; use openShards", { file: dir.name });
  }
  return got;
}

function openError(e: unknown, dir: string, file: string): unknown {
  if (isTorchsaveError(e)) return e.file === undefined ? e.withLocation({ file: `${dir}/${file}` }) : e;
  return new CheckpointError("missing-record", `cannot open shard ${file}: ${String((e as Error)?.message ?? e)}`, { file: `${dir}/${file}`, cause: e });
}

async function located<T>(dir: DirectoryFiles, file: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw openError(e, dir.name, file);
  }
}

function locatedSync<T>(dir: DirectoryFiles, file: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw openError(e, dir.name, file);
  }
}

async function readWhole(s: ByteSource): Promise<Uint8Array> {
  checkIndexSize(s);
  return s.bytes ?? (await s.read(0, s.size));
}

function readWholeSync(s: ByteSource): Uint8Array {
  checkIndexSize(s);
  return s.bytes ?? s.readSync!(0, s.size);
}

function checkIndexSize(s: ByteSource): void {
  if (s.size > MAX_SHARD_INDEX_BYTES) throw new CheckpointError("limit-exceeded", `a shard index of ${s.size} bytes is over ${MAX_SHARD_INDEX_BYTES}`, s.name === undefined ? {} : { file: s.name });
}

function textOf(b: Uint8Array): string {
  return new TextDecoder("utf-8", { fatal: false }).decode(b);
}
