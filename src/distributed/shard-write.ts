/**
 * The files of a sharded conversion (Hugging Face shards, then their index), each as chunks made
 * when asked for: a shard's storages are read, checked (CRC-32, when the input was read by
 * `readAnyForConversion`) and written as its chunks are iterated, one storage at a time.
 */
import type { ConvertOptions, ReadAnyResult } from "../convert/index.js";
import { planConversion } from "../convert/index.js";
import type { TorchValue } from "../torch/index.js";
import { planShards } from "./shard-plan.js";

/** One output file: its name in the folder, and its bytes, produced as they are iterated. */
export interface ShardOutputFile {
  readonly name: string;
  /** The state dict keys it holds (none for the index). */
  readonly keys: readonly string[];
  chunks(): Iterable<Uint8Array>;
}

/**
 * Plans the shards of `input` (a flat state dict) at most `maxBytes` each, as safetensors or
 * `.bin` files; the index, when there is more than one shard, comes last. `optionsFor(name)` gives
 * the convert options of one shard (its `to` should match `format`).
 * @throws as `planShards`; the writers' errors (`crc-mismatch` for a damaged input record) as the chunks are iterated.
 */
export function shardOutputFiles(input: ReadAnyResult, maxBytes: number, format: "safetensors" | "pt", optionsFor: (name: string) => ConvertOptions): ShardOutputFile[] {
  const plan = planShards(input.root, maxBytes, format);
  const files: ShardOutputFile[] = plan.files.map((f) => ({
    name: f.name,
    keys: f.keys,
    chunks: () => {
      const root = { kind: "dict", entries: f.keys.map((k) => [k, plan.tensors.get(k)!]) } as unknown as TorchValue;
      return planConversion({ root, format: input.format, gzip: false }, optionsFor(f.name)).chunks;
    },
  }));
  const index = plan.index;
  if (index !== undefined) files.push({ name: index.name, keys: [], chunks: () => [new TextEncoder().encode(index.text)] });
  return files;
}
