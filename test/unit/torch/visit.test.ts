import { describe, expect, it } from "vitest";
import { pyDict, pyList } from "../../../src/pickle/value.js";
import { tensor } from "../../../src/torch/build-tensor.js";
import type { TorchValue } from "../../../src/torch/model.js";
import { isStorage, isTensor } from "../../../src/torch/model.js";
import { visitGraph } from "../../../src/torch/visit.js";

describe("visitGraph", () => {
  const t = tensor(new Float32Array([1, 2]));
  const u = tensor(new Float32Array([3]));
  const shared = pyDict<never>([["k", 1]]) as TorchValue;
  const root = pyList([t, t, u, shared, shared]) as TorchValue;
  const cyclic = pyList<never>([]) as unknown as { items: TorchValue[] };
  cyclic.items.push(cyclic as unknown as TorchValue, t);

  const visits = (r: TorchValue, revisitTensors: boolean) => {
    const seen = { tensors: 0, storages: 0, dicts: 0 };
    visitGraph(r, (v) => {
      if (isTensor(v)) seen.tensors++;
      else if (isStorage(v)) seen.storages++;
      else if (typeof v === "object" && v !== null && (v as { kind?: string }).kind === "dict") seen.dicts++;
    }, { revisitTensors });
    return seen;
  };

  it("visits each object once by default", () => {
    expect(visits(root, false)).toEqual({ tensors: 2, storages: 2, dicts: 1 });
  });

  it("with revisitTensors, visits tensors and plain storages once per reference, other objects once", () => {
    expect(visits(root, true)).toEqual({ tensors: 3, storages: 3, dicts: 1 });
  });

  it("still ends on cycles through containers", () => {
    expect(visits(cyclic as unknown as TorchValue, true)).toEqual({ tensors: 1, storages: 1, dicts: 0 });
  });
});
