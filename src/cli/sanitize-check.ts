/**
 * `convert --sanitize [--torch TARGET]` never leaves a file its target cannot load: the output is
 * written under a temporary name beside OUT, checked with the validator's weights_only model of
 * TARGET, and renamed to OUT only when that torch accepts it. Otherwise it is removed and the
 * command fails with every reason (each with its key path or offset).
 */
import { rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { ConvertError } from "../errors.js";
import { openFileSource, writeFileAtomic } from "../node/index.js";
import { validateCheckpoint, type TorchTarget } from "../validate/index.js";

/** Writes `chunks` to `outPath` only if `torch.load(weights_only=True)` of `target` accepts the result. */
export async function writeCheckedForTarget(
  outPath: string, chunks: Parameters<typeof writeFileAtomic>[1], target: TorchTarget,
): Promise<void> {
  const checkPath = join(dirname(outPath), `.${basename(outPath)}.torchsave-sanitize-${process.pid}.tmp`);
  await writeFileAtomic(checkPath, chunks);
  let accepted = false;
  try {
    const source = openFileSource(checkPath);
    let reasons: string[];
    try {
      const verdict = validateCheckpoint(source, { name: outPath, weightsOnly: target, scanValues: false, training: false }).weightsOnly!;
      accepted = verdict.accepted;
      reasons = verdict.blockers.map((b) => `${b.message}${b.record === undefined ? "" : ` (in ${b.record}${b.byteOffset === undefined ? "" : ` at byte ${b.byteOffset}`})`}`);
    } finally {
      source.close();
    }
    if (!accepted) {
      const shown = reasons.slice(0, 8).join("; ") + (reasons.length > 8 ? `; and ${reasons.length - 8} more` : "");
      throw new ConvertError("unencodable", `not written: torch ${target}'s torch.load(weights_only=True) would refuse the sanitized file: ${shown}` +
        `${target === "1.13" ? " (torch 1.13 cannot load Python floats or newer dtypes with weights_only; --torch 2.6 or current can)" : ""}`, { file: outPath });
    }
    await rename(checkPath, outPath);
  } finally {
    if (!accepted) await unlink(checkPath).catch(() => undefined);
  }
}
