import { describe, expect, it } from "vitest";
import { expectCode } from "../../helpers/errors.js";
import { pyTuple } from "../../../src/pickle/value.js";
import type { PyObject } from "../../../src/pickle/value.js";
import { parameter, stateDict, tensor, tensorView, toTorchValue } from "../../../src/torch/builder.js";
import { mapLocation } from "../../../src/torch/map-location.js";
import type { Tensor, TorchHost } from "../../../src/torch/model.js";
import { readCheckpoint } from "../../../src/torch/read/read-checkpoint.js";
import { walkTensors } from "../../../src/torch/walk.js";
import { writeCheckpoint } from "../../../src/torch/write/write-checkpoint.js";


function gpuCheckpoint() {
  const a = tensor(new Float32Array([1, 2]), { device: "cuda:0" });
  const b = parameter(new Float32Array([3]), { device: "cuda:1" });
  const view = tensorView(a, [1], { offset: 1 });
  const inert: PyObject<TorchHost> = { kind: "object", via: "reduce", callable: { kind: "global", module: "x", name: "y" }, args: pyTuple([tensor(new Float32Array([4]), { device: "cuda:1" })]) };
  return { root: toTorchValue({ model: stateDict({ a, b, view }), other: inert }), a, b, view };
}

describe("mapLocation", () => {
  it("moves every storage and tensor to one device", () => {
    const { root, a, b, view } = gpuCheckpoint();
    const r = mapLocation(root, "cpu");
    expect(r.value).toBe(root);
    expect(r.storages).toBe(3);
    expect(r.tensors).toBe(4);
    for (const t of [a, b, view]) {
      expect(t.device).toBe("cpu");
      expect(t.storage!.location).toBe("cpu");
    }
    const all = walkTensors(root, { into: "all" });
    expect(all.every((e) => e.tensor.device === "cpu")).toBe(true);
  });

  it("maps by table, leaving other locations alone, and by function", () => {
    const { root, a, b } = gpuCheckpoint();
    mapLocation(root, { "cuda:1": "cuda:0" });
    expect(a.device).toBe("cuda:0");
    expect(b.device).toBe("cuda:0");
    const { root: r2, a: a2, b: b2 } = gpuCheckpoint();
    mapLocation(r2, (loc) => (loc === "cuda:0" ? "mps" : loc));
    expect(a2.storage!.location).toBe("mps");
    expect(b2.storage!.location).toBe("cuda:1");
  });

  it("writes files that name the new location", () => {
    const { root } = gpuCheckpoint();
    mapLocation(root, "cpu");
    const ck = readCheckpoint(writeCheckpoint(root, { weightsOnly: false }));
    expect(ck.storages.map((s) => s.location)).toEqual(["cpu", "cpu", "cpu"]);
  });

  it("maps a read checkpoint, kept rebuild calls included", () => {
    const { root } = gpuCheckpoint();
    const ck = readCheckpoint(writeCheckpoint(root, { weightsOnly: false }));
    expect(ck.storages.map((s) => s.location)).toEqual(["cuda:0", "cuda:1", "cuda:1"]);
    mapLocation(ck.root, "cpu");
    const again = readCheckpoint(writeCheckpoint(ck.root, { weightsOnly: false }));
    expect(again.storages.map((s) => s.location)).toEqual(["cpu", "cpu", "cpu"]);
    const param = walkTensors(again.root).find((e) => e.path.join(".") === "model.b")!.tensor;
    expect(param).toMatchObject({ isParameter: true, device: "cpu" });
  });

  it("keeps the device of storage-less tensors and of tensors saved through a CPU copy", () => {
    const meta: Tensor = {
      kind: "tensor", dtype: "float32", shape: [2], stride: [1], storageOffset: 0, device: "meta", requiresGrad: false, isParameter: false, layout: "strided",
    };
    const base = tensor(new Float32Array([1]));
    const xla: Tensor = { ...base, device: "xla:0" };
    mapLocation(toTorchValue({ meta, xla }), "cuda:0");
    expect(meta.device).toBe("meta");
    expect(xla.device).toBe("xla:0");
    expect(xla.storage!.location).toBe("cuda:0");
  });

  it("refuses maps that do not give device strings", () => {
    const { root } = gpuCheckpoint();
    expectCode(() => mapLocation(root, ""), "invalid-argument");
    expectCode(() => mapLocation(root, { "cuda:0": "a b" }), "invalid-argument");
    expectCode(() => mapLocation(root, () => 3 as never), "invalid-argument");
    expectCode(() => mapLocation(root, 5 as never), "invalid-argument");
  });
});
