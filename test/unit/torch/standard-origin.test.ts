// The reader keeps no `origin` for the rebuild call torch.save writes for a plain tensor or
// Parameter when nothing else in the pickle references its parts: the writer makes the identical
// call from the tensor's fields. Anything more (shared parts, hooks, metadata) keeps its origin.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ORDERED_DICT, pyDict, pyList, pyTuple, type PyObject, type PyTuple } from "../../../src/pickle/value.js";
import type { Tensor, TorchHost, TorchValue } from "../../../src/torch/index.js";
import { readCheckpoint, readEntrySync, walkTensors } from "../../../src/torch/index.js";
import { writeCheckpoint } from "../../../src/torch/write/write-checkpoint.js";
import { f32, storage, tensor } from "../convert/values.js";

const FIXTURES = join(import.meta.dirname, "../../../fixtures/torch");
const dataPkl = (file: Uint8Array): Uint8Array => {
  const ck = readCheckpoint(file);
  return readEntrySync(ck.zip!, ck.zip!.get("data.pkl")!);
};

describe("standard rebuild calls", () => {
  for (const name of ["dataparallel-state-dict.pt", "parameters.pt", "optim-adamw.pt", "tied-weights.pt"]) {
    it(`${name}: tensors keep no origin, and writing them back gives torch's data.pkl byte for byte`, () => {
      const file = new Uint8Array(readFileSync(join(FIXTURES, name)));
      const ck = readCheckpoint(file);
      const tensors = walkTensors(ck.root).map((e) => e.tensor);
      expect(tensors.length).toBeGreaterThan(0);
      for (const t of tensors) expect(t.origin).toBeUndefined();
      expect(Buffer.from(dataPkl(writeCheckpoint(ck.root, { weightsOnly: false }))).equals(Buffer.from(dataPkl(file)))).toBe(true);
    });
  }

  it("reads Parameters as marked tensors", () => {
    const ck = readCheckpoint(new Uint8Array(readFileSync(join(FIXTURES, "parameters.pt"))));
    const params = walkTensors(ck.root).map((e) => e.tensor).filter((t) => t.isParameter);
    expect(params.length).toBeGreaterThan(0);
    for (const p of params) expect(p.origin).toBeUndefined();
  });
});

describe("calls that say more keep their origin", () => {
  const s = storage("float32", f32(1, 2, 3, 4));

  it("when the size tuple is also referenced elsewhere, and the sharing survives a rewrite", () => {
    const t = tensor(s, [2, 2]);
    const size = (t.origin!.args as PyTuple<TorchHost>).items[2]!;
    const back = readCheckpoint(writeCheckpoint(pyList<TorchHost>([t, size]), { weightsOnly: false })).root as { items: TorchValue[] };
    const read = back.items[0] as Tensor;
    expect(read.origin).toBeDefined();
    expect((read.origin!.args as PyTuple<TorchHost>).items[2]).toBe(back.items[1]);
    expect(read.shape).toEqual([2, 2]);
    expect(read.shape).not.toBe((back.items[1] as PyTuple<TorchHost>).items); // shape is never the shared tuple's array
  });

  it("when the backward hooks are not empty", () => {
    const t = tensor(s, [4]);
    const args = [...(t.origin!.args as PyTuple<TorchHost>).items];
    args[5] = pyDict<TorchHost>([["hook", 1]], ORDERED_DICT);
    const withHooks: Tensor = { ...t, origin: { ...t.origin!, args: pyTuple(args) } as PyObject<TorchHost> };
    const read = walkTensors(readCheckpoint(writeCheckpoint(pyList<TorchHost>([withHooks]), { weightsOnly: false })).root)[0]!.tensor;
    expect(read.origin).toBeDefined();
    expect(((read.origin!.args as PyTuple<TorchHost>).items[5] as { entries: unknown[] }).entries).toHaveLength(1);
  });

  it("when the same tensor is reached twice, the one object is returned twice", () => {
    const t = tensor(s, [4]);
    const back = readCheckpoint(writeCheckpoint(pyList<TorchHost>([t, t]), { weightsOnly: false })).root as { items: TorchValue[] };
    expect(back.items[0]).toBe(back.items[1]);
  });
});
