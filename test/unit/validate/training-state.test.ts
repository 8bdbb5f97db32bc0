import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Tensor, TorchValue } from "../../../src/torch/model.js";
import { createContext } from "../../../src/validate/context.js";
import { validateCheckpoint } from "../../../src/validate/index.js";
import { checkTrainingState } from "../../../src/validate/training-state.js";
import { REPO } from "../../helpers/corpus.js";

const fixture = (name: string) => new Uint8Array(readFileSync(join(REPO, "fixtures/torch", name)));

function tensor(shape: number[], dtype: Tensor["dtype"] = "float32"): Tensor {
  return { kind: "tensor", dtype, shape, stride: shape.map(() => 1), storageOffset: 0, device: "cpu", requiresGrad: false, isParameter: false, layout: "strided" };
}

const dict = (entries: [TorchValue, TorchValue][]): TorchValue => ({ kind: "dict", entries });
const list = (items: TorchValue[]): TorchValue => ({ kind: "list", items });

function findings(root: TorchValue) {
  const ctx = createContext({}, () => undefined);
  checkTrainingState(ctx, root);
  return ctx.sink.items;
}

describe("training state", () => {
  it("lists what a real training checkpoint holds for a resume", () => {
    const r = validateCheckpoint(fixture("full-checkpoint.pt"));
    const found = r.findings.filter((f) => f.code === "resume-part-found").map((f) => f.message.split(" at ")[0]);
    expect(found).toEqual(expect.arrayContaining(["model state_dict", "optimizer state", "LR scheduler state", "GradScaler state", "epoch"]));
    expect(r.findings.filter((f) => f.severity !== "info")).toEqual([]);
  });

  it("notes the module. prefix of DataParallel saves", () => {
    const r = validateCheckpoint(fixture("dataparallel-state-dict.pt"));
    expect(r.findings.find((f) => f.code === "module-prefix")?.message).toMatch(/start with "module\."/);
  });

  it("checks every torch.optim optimizer fixture without false alarms", () => {
    for (const name of ["optim-sgd-momentum.pt", "optim-adam.pt", "optim-adamw-amsgrad.pt", "optim-rmsprop.pt", "optim-adagrad.pt",
      "optim-adadelta.pt", "optim-adamax.pt", "optim-nadam.pt", "optim-radam.pt", "optim-asgd.pt", "optim-rprop.pt", "optim-lbfgs.pt"]) {
      const r = validateCheckpoint(fixture(name));
      expect(r.findings.filter((f) => f.severity !== "info"), name).toEqual([]);
      expect(r.findings.some((f) => f.code === "resume-part-found" && f.message.startsWith("optimizer")), name).toBe(true);
    }
  });

  it("reports optimizer state that does not match the model", () => {
    const model = dict([["fc.weight", tensor([3, 4])], ["fc.bias", tensor([3])], ["bn.running_mean", tensor([3])]]);
    const opt = dict([
      ["state", dict([[0, dict([["exp_avg", tensor([4, 3])], ["step", tensor([])]])], [5, dict([["exp_avg", tensor([7])]])]])],
      ["param_groups", list([dict([["params", list([0, 1, 2])], ["lr", { kind: "float", value: 0.1 }]])])],
    ]);
    const out = findings(dict([["model", model], ["optimizer", opt], ["epoch", 3]]));
    const by = (code: string) => out.filter((f) => f.code === code);
    expect(by("optimizer-param-count")[0]?.message).toMatch(/list 3 parameters; the model state_dict has 2/);
    expect(by("optimizer-shape-mismatch").map((f) => f.where.keyPath)).toEqual([["optimizer", "state", 0, "exp_avg"], ["optimizer", "state", 5, "exp_avg"]]);
    expect(by("optimizer-state-orphan")[0]?.where.keyPath).toEqual(["optimizer", "state", 5]);
    expect(by("resume-part-missing")[0]?.message).toMatch(/LR scheduler state.*step.*loss/);
  });

  it("matches a consistent optimizer in order", () => {
    const model = dict([["a", tensor([2, 2])], ["b", tensor([2])], ["n", tensor([], "int64")]]);
    const opt = dict([
      ["state", dict([[0, dict([["momentum_buffer", tensor([2, 2])]])], [1, dict([["momentum_buffer", tensor([2])]])]])],
      ["param_groups", list([dict([["params", list([0, 1])]])])],
    ]);
    expect(findings(dict([["model_state_dict", model], ["optimizer_state_dict", opt]])).filter((f) => f.severity !== "info")).toEqual([]);
  });

  it("says nothing about values that are not training checkpoints", () => {
    expect(findings(list([1, 2]))).toEqual([]);
    expect(findings(tensor([2]))).toEqual([]);
  });
});
