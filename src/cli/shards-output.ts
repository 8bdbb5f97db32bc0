/**
 * `convert IN OUT_DIR --max-shard-size 5GB [--to safetensors|pt]`: writes Hugging Face shards
 * (`model-00001-of-00003.safetensors` ... or `pytorch_model-00001-of-00003.bin` ...) and their
 * index into OUT_DIR, one shard at a time, each file atomically; the index is written last, so a
 * folder with an index always has all its shards.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { ConvertOptions } from "../convert/index.js";
import { planConversion } from "../convert/index.js";
import { parseShardSize, planShards } from "../distributed/index.js";
import { isTorchsaveError } from "../errors.js";
import { writeFileAtomic } from "../node/index.js";
import type { TorchValue } from "../torch/index.js";
import type { CommandContext } from "./command.js";
import { UsageError } from "./errors.js";
import { loadAllStorages, openInput } from "./input.js";

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
  const opened = await openInput(inPath);
  try {
    await loadAllStorages(opened);
    const plan = planShards(opened.input.root, maxBytes, to);
    try {
      mkdirSync(outDir, { recursive: true });
    } catch (e) {
      throw new UsageError(`cannot create the folder ${outDir}: ${(e as Error).message}`);
    }
    for (const f of plan.files) {
      const root = { kind: "dict", entries: f.keys.map((k) => [k, plan.tensors.get(k)!]) } as unknown as TorchValue;
      const path = join(outDir, f.name);
      const conversion = planConversion({ root, format: opened.input.format, gzip: false }, optionsFor(path));
      await writeFileAtomic(path, conversion.chunks);
      if (!quiet) ctx.err(`torchsave: wrote ${path} (${f.keys.length} tensors)`);
    }
    if (plan.index !== undefined) {
      const path = join(outDir, plan.index.name);
      await writeFileAtomic(path, new TextEncoder().encode(plan.index.text));
      if (!quiet) ctx.err(`torchsave: wrote ${path}`);
    }
  } finally {
    opened.close();
  }
  return 0;
}
