/**
 * `convert IN OUT_DIR --max-shard-size 5GB [--to safetensors|pt]`: writes Hugging Face shards
 * (`model-00001-of-00003.safetensors` ... or `pytorch_model-00001-of-00003.bin` ...) and their
 * index into OUT_DIR, one shard at a time, as one set (see `writeFileSetAtomic`): the shards
 * appear, then the index, only once all are written. Each storage record of the input is checked
 * (CRC-32) as its shard's writer reads it; a damaged one leaves nothing behind.
 */
import { join } from "node:path";
import type { ConvertOptions } from "../convert/index.js";
import { parseShardSize, shardOutputFiles } from "../distributed/index.js";
import { isTorchsaveError } from "../errors.js";
import { writeFileSetAtomic } from "../node/atomic-file-set.js";
import type { CommandContext } from "./command.js";
import { UsageError } from "./errors.js";
import { conversionInputOptions, loadAllStorages, openInput, tempDirFor } from "./input.js";

/** Writes the shards; `optionsFor(file)` gives the convert options for one output file. */
export async function writeShardedOutput(
  ctx: CommandContext,
  inPath: string,
  outDir: string,
  sizeText: string,
  optionsFor: (file: string) => ConvertOptions,
): Promise<number> {
  let maxBytes: number;
  try {
    maxBytes = parseShardSize(sizeText);
  } catch (e) {
    throw new UsageError(`--max-shard-size: ${isTorchsaveError(e) ? e.reason : String(e)}`);
  }
  const to = typeof ctx.values.to === "string" ? ctx.values.to : "safetensors";
  if (to !== "safetensors" && to !== "pt") throw new UsageError(`--max-shard-size writes safetensors or pt shards, not ${JSON.stringify(to)}`);
  const quiet = ctx.values.quiet === true;
  const opened = await openInput(inPath, conversionInputOptions(ctx), { conversion: true, tempDir: tempDirFor(outDir) });
  try {
    await loadAllStorages(opened);
    const files = shardOutputFiles(opened.input, maxBytes, to, (name) => optionsFor(join(outDir, name)));
    const tensors = new Map(files.map((f) => [join(outDir, f.name), f.keys.length] as const));
    await writeFileSetAtomic(outDir, files, {
      onWritten: (path) => {
        if (!quiet) ctx.err(`torchsave: wrote ${path}${tensors.get(path)! > 0 ? ` (${tensors.get(path)} tensors)` : ""}`);
      },
    });
  } finally {
    opened.close();
  }
  return 0;
}
