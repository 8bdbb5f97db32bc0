// weightsOnlyTargets: the verdicts of several torch targets from one scan equal one run per target
// (torch files, TorchScript, the tar format, gzip, hostile files: every container-level rule).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TORCH_TARGETS, validateCheckpoint } from "../../../src/validate/index.js";

const root = join(import.meta.dirname, "../../../fixtures");
const files = ["torch", "torch2", "hostile"].flatMap((d) => readdirSync(join(root, d))
  .map((f) => join(root, d, f))
  .filter((f) => statSync(f).isFile() && statSync(f).size < 2 ** 20 && !/\.(jsonl|json|py|md)$/.test(f)));

describe("weights_only verdicts for several targets from one scan", () => {
  it("has fixtures of every container kind", () => {
    expect(files.some((f) => f.endsWith("torchscript.pt"))).toBe(true);
    expect(files.some((f) => f.endsWith("tar-format.tar"))).toBe(true);
    expect(files.some((f) => f.endsWith(".gz"))).toBe(true);
    expect(files.length).toBeGreaterThan(50);
  });

  it("equals one validation per target, for every fixture", () => {
    const differ: string[] = [];
    let refusedSomewhere = 0;
    for (const f of files) {
      const bytes = readFileSync(f);
      const quick = { checkCrc: false, scanValues: false, training: false } as const;
      const one = validateCheckpoint(bytes, { ...quick, weightsOnly: "current", weightsOnlyTargets: TORCH_TARGETS });
      expect(one.weightsOnlyVerdicts?.map((v) => v.version)).toEqual(TORCH_TARGETS);
      TORCH_TARGETS.forEach((t, i) => {
        const alone = validateCheckpoint(bytes, { ...quick, weightsOnly: t }).weightsOnly;
        if (JSON.stringify(alone) !== JSON.stringify(one.weightsOnlyVerdicts![i])) differ.push(`${f} ${t}`);
        if (alone?.accepted === false) refusedSomewhere++;
      });
      expect(one.weightsOnly).toEqual(one.weightsOnlyVerdicts![2]);
    }
    expect(differ).toEqual([]);
    expect(refusedSomewhere).toBeGreaterThan(10);
  });

  it("answers TorchScript per target: 1.13 hands it to torch.jit.load, newer torch refuses it", () => {
    const r = validateCheckpoint(readFileSync(join(root, "torch/torchscript.pt")), { weightsOnly: "current", weightsOnlyTargets: ["1.13", "2.6"] });
    expect(r.weightsOnlyVerdicts!.map((v) => v.accepted)).toEqual([true, false]);
    expect(r.weightsOnlyVerdicts![1]!.blockers[0]!.message).toMatch(/TorchScript/);
  });
});
