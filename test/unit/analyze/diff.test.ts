import { describe, expect, it } from "vitest";
import { diffCheckpoints, diffCheckpointsSync } from "../../../src/analyze/index.js";
import type { DiffReport } from "../../../src/analyze/index.js";
import { isTorchsaveError } from "../../../src/errors.js";
import { close, expected, readFixture } from "./train-fixtures.js";
import { pyDict } from "../../../src/pickle/value.js";
import type { PyDict } from "../../../src/pickle/value.js";
import type { TorchHost } from "../../../src/torch/index.js";

const pair = (b: string, options = {}): DiffReport => diffCheckpointsSync(readFixture("pairs/base.pt"), readFixture(`pairs/${b}.pt`), options);

describe("diffCheckpoints on pairs with known changes (torch's numbers)", () => {
  it("a file equals itself: every tensor identical, nothing only on one side", async () => {
    const r = await diffCheckpoints(readFixture("pairs/base.pt"), readFixture("pairs/base.pt"));
    expect(r.equal).toBe(true);
    expect(r.onlyA).toEqual([]);
    expect(r.values).toEqual([]);
    expect(r.changed.length).toBeGreaterThan(20);
    expect(r.changed.every((e) => e.identical && e.differing === 0 && e.relL2 === 0)).toBe(true);
  });

  it("a renamed prefix is matched and said once, not listed key by key", () => {
    const r = pair("renamed");
    expect(r.prefix).toEqual({ a: "", b: "module.", keys: 11 });
    expect(r.onlyA).toEqual([]);
    expect(r.onlyB).toEqual([]);
    expect(r.changed.every((e) => e.identical)).toBe(true);
    expect(r.equal).toBe(false);
    expect(pair("renamed", { ignorePrefix: true }).equal).toBe(true);
    expect(pair("renamed", { prefixes: [] }).onlyB.length).toBe(11);
    expect(r.notes.join("\n")).toMatch(/A has "" where B has "module\."/);
  });

  it("a changed shape has no metrics and comes first", () => {
    const r = pair("reshaped");
    const e = r.changed[0]!;
    expect(e.path).toEqual(["model", "fc2.weight"]);
    expect(e.shape).toEqual([[2, 8], [3, 8]]);
    expect([e.relL2, e.maxAbs, e.identical, e.note]).toEqual([null, null, false, "shape changed"]);
    expect(r.equal).toBe(false);
  });

  it("one perturbed layer: maxAbs, meanAbs, relL2, cosine, differing as torch computed; the epoch value listed", () => {
    const want = expected().pairs.perturbed;
    const r = pair("perturbed");
    const e = r.changed[0]!;
    expect(e.path).toEqual(want.path);
    close(e.maxAbs, want.maxAbs, 0, "maxAbs");
    close(e.meanAbs, want.meanAbs, 0, "meanAbs");
    close(e.relL2, want.relL2, 0, "relL2");
    close(e.cosine, want.cosine, 0, "cosine");
    expect(e.differing).toBe(want.differing);
    expect(e.nan).toEqual([0, 0]);
    expect(r.changed.slice(1).every((x) => x.identical)).toBe(true);
    expect(r.values).toEqual([{ path: ["epoch"], a: 3, b: 4 }]);
    expect(r.equal).toBe(false);
    // Tolerances decide: within atol 0.01 the tensors are equal (the epoch still differs).
    const loose = pair("perturbed", { atol: 0.01 });
    expect(loose.changed[0]!.differing).toBe(0);
    expect(loose.changed[0]!.identical).toBe(false);
    expect(loose.equal).toBe(false);
    expect(loose.notes.join("\n")).toMatch(/atol 0\.01/);
  });

  it("float32 → bfloat16: values compared across dtypes in float64", () => {
    const want = expected().pairs.bf16;
    const r = pair("bf16");
    for (const [name, w] of Object.entries(want)) {
      const e = r.changed.find((x) => x.path[1] === name)!;
      expect(e.dtype).toEqual(["float32", "bfloat16"]);
      close(e.relL2, w.relL2, 0, `${name} relL2`);
      close(e.maxAbs, w.maxAbs, 0, `${name} maxAbs`);
      expect(e.differing, name).toBe(w.differing);
    }
    expect(r.equal).toBe(false);
  });

  it("optimizer state is named by parameter (exp_avg of fc1.weight)", () => {
    const r = pair("perturbed");
    const names = expected().pairs.names;
    const moments = r.changed.filter((e) => e.path[0] === "optimizer");
    expect(moments.length).toBe(names.length * 3);
    for (const e of moments) {
      const id = e.path[2] as number;
      expect(e.param).toEqual({ name: names[id], slot: e.path[3] });
    }
    expect(r.notes.join("\n")).toMatch(/named by parameter \(8 parameters/);
  });

  it("says why optimizer state cannot be named when the counts disagree", () => {
    const r = diffCheckpointsSync(readFixture("pairs/base.pt"), readFixture("pairs/reshaped.pt"));
    expect(r.notes.some((n) => n.includes("named by parameter"))).toBe(true);
    // A per-step dump: its model_params dict names the optimizer state (findParts takes it as the model).
    const dump = readFixture("run-pkl/step_3.pkl") as PyDict<TorchHost>;
    expect(diffCheckpointsSync(dump, dump).notes.join("\n")).toMatch(/named by parameter \(8 parameters/);
    // The same optimizer state alone: nothing to name it by.
    const alone = pyDict<TorchHost>(dump.entries.filter(([k]) => k === "optimizer_state"));
    const s = diffCheckpointsSync(alone, alone);
    expect(s.notes.join("\n")).toMatch(/no model state_dict to name it by/);
  });

  it("refuses a negative tolerance with a typed error", () => {
    try {
      pair("base", { rtol: -1 });
      expect.unreachable();
    } catch (e) {
      expect(isTorchsaveError(e) && e.code).toBe("invalid-argument");
    }
  });
});
