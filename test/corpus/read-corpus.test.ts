// Every file of the shared corpus either reads completely or is refused with a typed error whose
// reason the README's support table names. Torch checkpoints must read, and their tensor lines must
// equal what real torch printed for them (fixtures/corpus-expected, made by fixtures/gen_torch.py).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isTorchsaveError } from "../../src/errors.js";
import { readCheckpoint } from "../../src/torch/index.js";
import { corpusFiles, REPO } from "../helpers/corpus.js";
import { tensorLines } from "../helpers/tensor-lines.js";

/** Files torch itself printed tensor lines for (weights_only=True); others it refused, so there is nothing to compare. */
const expectedByFile = new Map<string, { expected: string; exit_status: number }>(
  (JSON.parse(readFileSync(join(REPO, "fixtures/corpus-expected/manifest.json"), "utf8")).files as { file: string; expected: string; exit_status: number }[]).map((f) => [f.file, f]),
);

const MUST_READ = new Set([
  "torch-zip-newest(.format_version)", "torch-zip-byteorder", "torch-zip-version-only", "torch-legacy-nonzip",
  "hf-pytorch_model.bin", "lightning-ckpt", "tar-format", "torchscript", "plain-pickle", "numpy-npy/npz",
]);

/** Files the reader refuses, and the error code it must give (documented in the README). */
const REFUSED: Record<string, string> = {
  "modelscan/password_protected.zip": "unsupported",
  "picklescan/not_a_pickle.bin": "unsupported",
  "picklescan/malicious1.7z": "unsupported",
};

describe("shared corpus", () => {
  for (const f of corpusFiles()) {
    it(`${f.file} (${f.kind})`, () => {
      const bytes = new Uint8Array(readFileSync(f.path));
      let error: unknown;
      let ckpt;
      try {
        ckpt = readCheckpoint(bytes, { name: f.file });
      } catch (e) {
        error = e;
      }
      if (error !== undefined && !isTorchsaveError(error)) throw error;
      const refused = REFUSED[f.file];
      if (refused !== undefined) {
        expect(error, "must be refused").toBeDefined();
        expect((error as { code: string }).code).toBe(refused);
        return;
      }
      if (MUST_READ.has(f.kind)) {
        if (error !== undefined) throw error;
        expect(ckpt).toBeDefined();
      }
      const reference = expectedByFile.get(f.file);
      if (reference !== undefined && reference.exit_status === 0) {
        expect(ckpt, "torch read it, so must we").toBeDefined();
        const expectedFile = join(REPO, "fixtures/corpus-expected", reference.expected);
        const expected = readFileSync(expectedFile, "utf8").split("\n").filter((l) => l.length > 0);
        expect(tensorLines(ckpt!)).toEqual(expected);
      }
    });
  }
});
