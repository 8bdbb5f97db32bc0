import { describe, expect, it } from "vitest";
import { openDcpSync, planDcp, readDcpMetadata, DCP_DATA_FILE } from "../../../src/distributed/index.js";
import { bytesSource } from "../../../src/bytes/source.js";
import { concatBytes } from "../../../src/bytes/concat.js";
import { asTuple, stateDict, tensor, tensorView, walkTensors } from "../../../src/torch/index.js";
import type { TorchValue } from "../../../src/torch/index.js";
import { pyFloat } from "../../../src/pickle/index.js";
import { tensorLines } from "../../helpers/tensor-lines.js";
import { thrown } from "../../helpers/errors.js";

function roundTrip(root: TorchValue) {
  const plan = planDcp(root);
  const data = concatBytes([...plan.data]);
  const meta = plan.metadata();
  const files = new Map([[DCP_DATA_FILE, data], [".metadata", meta]]);
  return { plan, meta, ckpt: openDcpSync({ name: "mem", open: (f) => bytesSource(files.get(f)!, f) }) };
}

describe("planDcp", () => {
  const w = tensor(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3] });
  const root = stateDict({
    model: stateDict({ w, v: tensorView(w, [3], { offset: 3 }) }),
    optim: { kind: "dict", entries: [["state", { kind: "dict", entries: [[0, stateDict({ step: tensor(new Float32Array([3])) })]] }], ["lrs", { kind: "list", items: [pyFloat(0.1), 2] }], ["empty", { kind: "dict", entries: [] }]] } as TorchValue,
    groups: { kind: "list", items: [stateDict({ p: tensor(new Int32Array([7])) }), 5] } as TorchValue,
    pair: asTuple([1, 2]),
  });

  it("flattens as torch 2.6 does: str(key), lists only when they hold tensors or dicts, empty dicts vanish", () => {
    expect(planDcp(root).keys).toEqual(["model.w", "model.v", "optim.state.0.step", "optim.lrs", "groups.0.p", "groups.1", "pair"]);
  });

  it("reads back through openDcp: the same tensors (views as their own contiguous tensors) at torch's key paths", () => {
    const { ckpt } = roundTrip(root);
    const paths = walkTensors(ckpt.root).map((e) => e.path);
    expect(paths).toEqual([["model", "w"], ["model", "v"], ["optim", "state", "0", "step"], ["groups", 0, "p"]]);
    const lines = tensorLines({ root: ckpt.root } as never);
    const want = tensorLines({ root: stateDict({ a: w, b: tensor(new Float32Array([4, 5, 6])) }) } as never);
    expect(lines[0]!.replace('["model", "w"]', '["a"]')).toBe(want[0]);
    expect(lines[1]!.replace('["model", "v"]', '["b"]')).toBe(want[1]);
  });

  it(".metadata names one chunk per tensor at the data file's byte ranges", () => {
    const { meta, plan } = roundTrip(root);
    const m = readDcpMetadata(meta);
    expect(m.entries.map((e) => e.fqn)).toEqual(plan.keys);
    const t = m.entries.find((e) => e.fqn === "model.w")!;
    expect(t.kind === "tensor" && t.chunks).toMatchObject([{ offsets: [0, 0], sizes: [2, 3], file: DCP_DATA_FILE }]);
    expect(m.paths.get("groups.0.p")).toEqual(["groups", 0, "p"]);
  });

  it("refuses a root that is not a dict and keys that collide", () => {
    expect(thrown(() => planDcp(tensor(new Float32Array([1]))))).toMatchObject({ code: "invalid-argument" });
    const clash = stateDict({ "a.b": 1, a: stateDict({ b: 2 }) });
    expect(String(thrown(() => planDcp(clash)))).toMatch(/flatten to the key "a\.b"/);
  });

  it("metadata() before the data file is written is an error", () => {
    expect(thrown(() => planDcp(root).metadata())).toMatchObject({ code: "invalid-argument" });
  });
});
