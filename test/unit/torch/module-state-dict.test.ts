// model.state_dict() of a whole pickled module, against the answer torch 1.13 computed for the same
// files (fixtures/issue14/whole-module.expected.json, from fixtures/gen_issue14.py).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tensorLine } from "../../../src/cli/commands/tensors.js";
import { convertBytes } from "../../../src/convert/index.js";
import { dictGet, pyDict } from "../../../src/pickle/value.js";
import type { PyDict } from "../../../src/pickle/value.js";
import { moduleStateDict, readCheckpoint, walkTensors } from "../../../src/torch/index.js";
import type { TorchHost, TorchValue } from "../../../src/torch/index.js";
import { REPO } from "../../helpers/corpus.js";

interface Expected {
  readonly keys: string[];
  readonly metadata: Record<string, { version: number }>;
  readonly tensors: unknown[];
}
const answers = (JSON.parse(readFileSync(join(REPO, "fixtures/issue14/whole-module.expected.json"), "utf8")) as { modules: Record<string, Expected> }).modules;
const read = (name: string) => new Uint8Array(readFileSync(join(REPO, "fixtures/torch", name)));

/** The state_dict's keys, _metadata and tensor lines, in the answer's shape. */
function summary(sd: TorchValue): Expected {
  const d = sd as PyDict<TorchHost>;
  const meta = dictGet(d.state as PyDict<TorchHost>, "_metadata") as PyDict<TorchHost>;
  return {
    keys: d.entries.map(([k]) => k as string),
    metadata: Object.fromEntries(meta.entries.map(([k, v]) => [k as string, { version: dictGet(v as PyDict<TorchHost>, "version") as number }])),
    tensors: walkTensors(sd).map((e) => JSON.parse(tensorLine(e))),
  };
}

describe("moduleStateDict", () => {
  for (const name of ["whole-module.pt", "whole-module.legacy.pt"]) {
    it(`${name}: exactly torch's model.state_dict() (names, order, buffers, _metadata, bytes)`, () => {
      const r = moduleStateDict(readCheckpoint(read(name)).root);
      expect(summary(r.value)).toEqual(answers[name]);
      expect(walkTensors(r.value).every((e) => !e.tensor.isParameter && !e.tensor.requiresGrad)).toBe(true);
      expect(r.notes[0]).toMatch(/^state_dict of torch_models\.TinyNet: 9 tensors from 4 modules; _metadata versions: BatchNorm1d 2, others 1$/);
      expect(r.notes[1]).toMatch(/_metadata version 1 assumed for torch_models\.TinyNet/);
      // Through convert: the written .pt reads back to the same state_dict.
      const back = readCheckpoint(convertBytes(read(name), { to: "pt", stateDict: true })).root;
      expect(summary(back)).toEqual(answers[name]);
    });
  }

  it("refuses what is no module", () => {
    expect(() => moduleStateDict(pyDict<TorchHost>([["a", 1]]))).toThrow(/not a whole pickled nn\.Module/);
    expect(() => convertBytes(read("state-dict-metadata.pt"), { to: "pt", stateDict: true })).toThrow(/--state-dict needs a whole pickled nn\.Module/);
  });
});
