/**
 * `convert IN OUT_DIR --to dcp`: writes a one-process DCP directory (`__0_0.distcp` streamed one
 * item at a time, then `.metadata`), which `torch.distributed.checkpoint.load` and
 * `dcp_to_torch_save` read. The two files are written as one set (see `writeFileSetAtomic`),
 * `.metadata` last. Each storage record of the input is checked (CRC-32) as its item is written;
 * a damaged one leaves nothing behind.
 */
import { resolve } from "node:path";
import { DCP_DATA_FILE, planDcp } from "../distributed/index.js";
import { writeFileSetAtomic } from "../node/atomic-file-set.js";
import { nodeCrc32 } from "../node/write-checkpoint.js";
import type { CommandContext } from "./command.js";
import { conversionInputOptions, loadAllStorages, openInput, tempDirFor } from "./input.js";

export async function writeDcpOutput(ctx: CommandContext, inPath: string, outDir: string): Promise<number> {
  const opened = await openInput(inPath, conversionInputOptions(ctx), { conversion: true, tempDir: tempDirFor(outDir) });
  try {
    await loadAllStorages(opened);
    const plan = planDcp(opened.input.root, { checkpointId: resolve(outDir), ...(nodeCrc32 === undefined ? {} : { write: { crc32: nodeCrc32 } }) });
    await writeFileSetAtomic(outDir, [
      { name: DCP_DATA_FILE, chunks: () => plan.data },
      { name: ".metadata", chunks: () => plan.metadata() },
    ]);
    if (ctx.values.quiet !== true) ctx.err(`torchsave: ${opened.input.format} → dcp: wrote ${outDir} (${plan.keys.length} items)`);
  } finally {
    opened.close();
  }
  return 0;
}
