// NaN/Inf in every format validate reads (plain and gzip'd pickles, JSON, msgpack, safetensors),
// Python float scalars too; JSON, msgpack and safetensors parsed whole (truncated = error).
// fixtures/issue14/step-dump.pkl{,.gz}: torch 1.13's pickle.dump of a per-step dump whose loss is
// NaN and whose model_grads["fc2.bias"] holds one +inf.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { convertBytes } from "../../../src/convert/index.js";
import { pyDict, pyFloat } from "../../../src/pickle/value.js";
import { findParts, readCheckpoint } from "../../../src/torch/index.js";
import type { TorchHost } from "../../../src/torch/index.js";
import { writeCheckpoint } from "../../../src/torch/write/write-checkpoint.js";
import { validateCheckpoint } from "../../../src/validate/index.js";
import type { ValidationReport } from "../../../src/validate/index.js";
import { REPO } from "../../helpers/corpus.js";

const dump = new Uint8Array(readFileSync(join(REPO, "fixtures/issue14/step-dump.pkl")));
const dumpGz = new Uint8Array(readFileSync(join(REPO, "fixtures/issue14/step-dump.pkl.gz")));
const nonFinite = (r: ValidationReport) =>
  r.findings.filter((f) => f.code === "tensor-non-finite" || f.code === "scalar-non-finite").map((f) => [f.code, f.where.keyPath, f.message]);
const EXPECTED = [
  ["tensor-non-finite", ["model_grads", "fc2.bias"], "1 +Inf among 2 float32 values"],
  ["scalar-non-finite", ["loss"], "a Python float is NaN"],
];

describe("NaN/Inf in every format", () => {
  it("plain and gzip'd pickles (per-step dumps): the inf gradient and the NaN loss", () => {
    for (const bytes of [dump, dumpGz]) {
      const r = validateCheckpoint(bytes);
      expect(r.readable).toBe(true);
      expect(nonFinite(r)).toEqual(EXPECTED);
    }
  });

  for (const to of ["json", "json-plain", "msgpack", "safetensors"] as const) {
    it(`${to}: the same findings; parsed whole, so a truncated file is an error`, () => {
      const bytes = convertBytes(dump, { to });
      const r = validateCheckpoint(bytes, { name: `dump.${to}` });
      expect(nonFinite(r)).toEqual(EXPECTED);
      expect(r.counts.error).toBe(0);
      // The last bytes (past a JSON text's closing brace and newline), and half of it.
      for (const cut of [bytes.length - 3, Math.floor(bytes.length / 2)]) {
        const t = validateCheckpoint(bytes.subarray(0, cut));
        const errors = t.findings.filter((f) => f.severity === "error").map((f) => f.code);
        // A safetensors header that runs past the end is no longer detected as safetensors at all.
        expect(errors, `${to} cut at ${cut}`).toEqual([cut < bytes.length / 2 + 1 && to === "safetensors" ? "unknown-format" : "read-failed"]);
      }
    });
  }

  it("a checkpoint's float scalars: NaN anywhere; inf only where it is no best/min/max sentinel", () => {
    const root = pyDict<TorchHost>([
      ["loss", pyFloat(NaN)], ["best_loss", pyFloat(Infinity)], ["minLoss", pyFloat(-Infinity)], ["lr", pyFloat(Infinity)], ["best_acc", pyFloat(NaN)],
    ]);
    const r = validateCheckpoint(writeCheckpoint(root));
    expect(nonFinite(r)).toEqual([
      ["scalar-non-finite", ["loss"], "a Python float is NaN"],
      ["scalar-non-finite", ["lr"], "a Python float is inf"],
      ["scalar-non-finite", ["best_acc"], "a Python float is NaN"],
    ]);
  });
});

describe("parts of per-step dumps and rng_state dicts", () => {
  it("a per-step dump {step, loss, model_params, model_grads, optimizer_state}", () => {
    const p = findParts(readCheckpoint(dump).root);
    expect([p.model?.path, p.optimizer?.path, p.step?.path, p.loss?.path, p.grads?.path]).toEqual([
      ["model_params"], ["optimizer_state"], ["step"], ["loss"], ["model_grads"],
    ]);
  });
  it("an rng_state dict of torch/numpy/python/cuda states, under a key or as the file itself", () => {
    const p = findParts(readCheckpoint(new Uint8Array(readFileSync(join(REPO, "fixtures/issue14/rng-state-dict.pt")))).root);
    expect([p.rng.torch?.path, p.rng.numpy?.path, p.rng.python?.path, p.rng.cuda?.path, p.epoch?.path]).toEqual([
      ["rng_state", "torch"], ["rng_state", "numpy"], ["rng_state", "python"], ["rng_state", "cuda"], ["epoch"],
    ]);
    const bare = findParts(readCheckpoint(new Uint8Array(readFileSync(join(REPO, "fixtures/torch/rng-states.pt")))).root);
    expect([bare.rng.torch?.path, bare.rng.numpy?.path, bare.rng.python?.path]).toEqual([["torch"], ["numpy"], ["python"]]);
  });
});

describe("empty inputs", () => {
  it("say they are empty", () => {
    const r = validateCheckpoint(new Uint8Array(0), { name: "empty.pt" });
    expect(r.findings.map((f) => [f.code, f.message])).toEqual([["unknown-format", "the file is empty (0 bytes)"]]);
  });
});
