/**
 * `convert IN OUT_DIR --to dcp`: writes a one-process DCP directory (`__0_0.distcp` streamed one
 * item at a time, then `.metadata`), which `torch.distributed.checkpoint.load` and
 * `dcp_to_torch_save` read. Each file is written atomically; `.metadata` last.
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { DCP_DATA_FILE, planDcp } from "../distributed/index.js";
import { writeFileAtomic } from "../node/index.js";
import { nodeCrc32 } from "../node/write-checkpoint.js";
import type { CommandContext } from "./command.js";
import { UsageError } from "./errors.js";
import { loadAllStorages, openInput } from "./input.js";

export async function writeDcpOutput(ctx: CommandContext, inPath: string, outDir: string): Promise<number> {
  const opened = await openInput(inPath);
  try {
    await loadAllStorages(opened);
    const plan = planDcp(opened.input.root, { checkpointId: resolve(outDir), ...(nodeCrc32 === undefined ? {} : { write: { crc32: nodeCrc32 } }) });
    try {
      mkdirSync(outDir, { recursive: true });
    } catch (e) {
      throw new UsageError(`cannot create the folder ${outDir}: ${(e as Error).message}`);
    }
    await writeFileAtomic(join(outDir, DCP_DATA_FILE), plan.data);
    await writeFileAtomic(join(outDir, ".metadata"), plan.metadata());
    if (ctx.values.quiet !== true) ctx.err(`torchsave: ${opened.input.format} → dcp: wrote ${outDir} (${plan.keys.length} items)`);
  } finally {
    opened.close();
  }
  return 0;
}
