// The helpers users ask for: walking tensors with key paths, the DDP `module.` prefix, finding the
// parts of a training checkpoint.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dictGet, pyDict, pyList } from "../../../src/pickle/value.js";
import type { PyDict, PyList } from "../../../src/pickle/value.js";
import { addPrefix, findParts, readCheckpoint, stripPrefix, walkTensors } from "../../../src/torch/index.js";
import type { TorchHost, TorchValue } from "../../../src/torch/index.js";
import { REPO } from "../../helpers/corpus.js";

const load = (name: string) => readCheckpoint(new Uint8Array(readFileSync(join(REPO, "fixtures/torch", name))));

describe("walkTensors", () => {
  it("gives key paths from the root, in insertion order", () => {
    const paths = walkTensors(load("full-checkpoint.pt").root).map((e) => e.path);
    expect(paths[0]).toEqual(["loss_tensor"]);
    expect(paths).toContainEqual(["model_state_dict", "fc1.weight"]);
    expect(paths.some((p) => p[0] === "optimizer_state_dict" && p[1] === "state" && typeof p[2] === "number")).toBe(true);
  });
  it("cuts cycles instead of looping", () => {
    const t = walkTensors(load("parameters.pt").root)[0]!.tensor;
    const list: PyList<TorchHost> = pyList<TorchHost>([t]);
    list.items.push(list);
    expect(walkTensors(list).map((e) => e.path)).toEqual([[0]]);
  });
  it('"all" also enters inert objects (a whole pickled nn.Module)', () => {
    const root = load("whole-module.pt").root;
    expect(walkTensors(root)).toHaveLength(0);
    const inside = walkTensors(root, { into: "all" });
    expect(inside.length).toBeGreaterThan(0);
    expect(inside[0]!.path).toContain("$state");
  });
});

describe("module. prefix", () => {
  it("strips DataParallel's prefix and adds it back", () => {
    const root = load("dataparallel-state-dict.pt").root as PyDict<TorchHost>;
    const stripped = stripPrefix(root);
    const keys = (stripped.value as PyDict<TorchHost>).entries.map(([k]) => k);
    expect(keys[0]).toBe("fc1.weight");
    expect(stripped.keys).toBe(root.entries.length);
    expect(root.entries[0]![0]).toBe("module.fc1.weight"); // the input is not modified
    const back = addPrefix(stripped.value);
    expect((back.value as PyDict<TorchHost>).entries.map(([k]) => k)).toEqual(root.entries.map(([k]) => k));
  });
  it("leaves dicts alone unless every key has the prefix", () => {
    const d = pyDict<TorchHost>([["module.a", 1], ["b", 2]]);
    expect(stripPrefix(d).dicts).toBe(0);
  });
});

describe("findParts", () => {
  it("finds everything a resume needs in a full training checkpoint", () => {
    const root = load("full-checkpoint.pt").root;
    const p = findParts(root);
    expect(p.model?.path).toEqual(["model_state_dict"]);
    expect(p.optimizer?.path).toEqual(["optimizer_state_dict"]);
    expect(p.scheduler?.path).toEqual(["scheduler_state_dict"]);
    expect(p.scaler?.path).toEqual(["scaler_state_dict"]);
    expect(p.epoch?.path).toEqual(["epoch"]);
    expect(p.step?.path).toEqual(["global_step"]);
    expect(p.loss?.path).toEqual(["loss"]);
    expect(p.rng.torch?.path[0]).toBe("rng");
  });
  it("a bare state_dict is the model", () => {
    expect(findParts(load("tied-weights.pt").root).model?.path).toEqual([]);
  });
  it("an optimizer is found by shape when its key is unusual", () => {
    const opt = dictGet(load("optim-adam.pt").root as PyDict<TorchHost>, "optimizer") as TorchValue;
    const root = pyDict<TorchHost>([["weird_name", opt]]);
    expect(findParts(root).optimizer?.path).toEqual(["weird_name"]);
  });
});
