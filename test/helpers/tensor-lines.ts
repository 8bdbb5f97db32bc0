/** What `torchsave tensors FILE --json` prints, computed in-process for tests. */
import { tensorLine } from "../../src/cli/commands/tensors.js";
import type { Checkpoint } from "../../src/torch/index.js";
import { walkTensors } from "../../src/torch/index.js";

export function tensorLines(ckpt: Checkpoint): string[] {
  return walkTensors(ckpt.root)
    .filter((e) => e.tensor.layout === "strided" && e.tensor.storage !== undefined)
    .map(tensorLine);
}
