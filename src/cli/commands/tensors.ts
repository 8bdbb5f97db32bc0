/** `torchsave tensors FILE [--json]`: one line per tensor with its key path, dtype, geometry and sha256. */
import { createHash } from "node:crypto";
import type { Tensor, TensorEntry } from "../../torch/index.js";
import { tensorBytes, walkTensors } from "../../torch/index.js";
import { openCheckpointFile } from "../../node/index.js";
import { formatKeyPath } from "../../errors.js";
import { pyJsonDumps } from "../py-json.js";
import type { Command } from "../command.js";

/** The line `torch_tensor_lines.py` prints for a tensor: same keys, same order, same JSON spacing. */
export function tensorLine(entry: TensorEntry): string {
  const t = entry.tensor;
  return pyJsonDumps({
    path: entry.path as (string | number)[],
    dtype: t.dtype,
    shape: t.shape,
    stride: t.stride,
    offset: t.storageOffset,
    sha256: sha256(t),
  });
}

function sha256(t: Tensor): string {
  return createHash("sha256").update(tensorBytes(t)).digest("hex");
}

export const tensorsCommand: Command = {
  name: "tensors",
  summary: "list every tensor: key path, dtype, shape, stride, offset, sha256 of its bytes",
  usage: "torchsave tensors FILE [--json]",
  options: { json: { type: "boolean" } },
  run({ positionals, values, out }) {
    const [file] = positionals;
    const { checkpoint, close } = openCheckpointFile(file!);
    try {
      // Strided tensors with storage, as torch's reference walk lists them (sparse/nested/meta are skipped).
      const entries = walkTensors(checkpoint.root).filter((e) => e.tensor.layout === "strided" && e.tensor.storage !== undefined);
      for (const entry of entries) {
        if (values.json) out(tensorLine(entry));
        else {
          const t = entry.tensor;
          out(`${formatKeyPath(entry.path) || "(root)"}  ${t.dtype}  [${t.shape.join(", ")}]  stride [${t.stride.join(", ")}]  offset ${t.storageOffset}  sha256 ${sha256(t).slice(0, 16)}`);
        }
      }
    } finally {
      close();
    }
    return 0;
  },
};
