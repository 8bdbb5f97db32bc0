import { describe, expect, it } from "vitest";
import { numberInName, robustZ, runStats } from "../../../src/analyze/index.js";
import type { RunRecord, RunStep, RunSummary } from "../../../src/analyze/index.js";
import { close, expectStats, expected, runSources } from "./train-fixtures.js";
import type { ExpectedStep } from "./train-fixtures.js";

async function collect(dir: string, options = {}): Promise<{ steps: RunStep[]; summary: RunSummary }> {
  const all: RunRecord[] = [];
  for await (const r of runStats(runSources(dir), options)) all.push(r);
  const summary = all.pop() as RunSummary;
  expect(summary.kind).toBe("summary");
  return { steps: all as RunStep[], summary };
}

function expectRun(steps: RunStep[], want: ExpectedStep[]): void {
  expect(steps.map((s) => s.step)).toEqual(want.map((w) => w.step));
  steps.forEach((s, i) => {
    const w = want[i]!;
    expect(s.file).toBe(w.file);
    close(s.loss, w.loss, 0, `loss at ${s.step}`);
    close(s.gradNorm, w.gradNorm, 0, `grad norm at ${s.step}`);
    const got = new Map(s.tensors.map((t) => [`${t.group}:${t.name}`, t]));
    expect([...got.keys()].sort(), `keys at ${s.step}`).toEqual(w.tensors.map((t) => t.key).sort());
    for (const wt of w.tensors) {
      const t = got.get(wt.key)!;
      expect(t.path).toEqual(wt.path);
      expectStats(t, wt, `${wt.key} at ${s.step}`);
      close(t.update, wt.update, 0, `${wt.key} update at ${s.step}`);
      close(t.ratio, wt.ratio, 0, `${wt.key} ratio at ${s.step}`);
    }
  });
}

describe("runStats over the fixture runs (torch's numbers)", () => {
  for (const [fmt, dir] of [["pt", "run-pt"], ["pkl", "run-pkl"], ["pklgz", "run-pklgz"], ["json", "run-json"]] as const) {
    it(`${dir}: every step, tensor, group, update and ratio`, async () => {
      const { steps, summary } = await collect(dir);
      expectRun(steps, expected().runs[fmt]!);
      expect(summary.steps).toBe(12);
      expect(summary.firstNonFinite).toBeNull();
      expect(summary.lastHealthyStep).toBe(12);
    });
  }

  it("orders by the step inside the dumps, not the file names' text order (step_10 after step_9)", async () => {
    const { steps, summary } = await collect("run-pkl");
    expect(steps.map((s) => s.file.replace("run-pkl/", ""))).toEqual(Array.from({ length: 12 }, (_, i) => `step_${i + 1}.pkl`));
    expect(summary.notes[0]).toMatch(/step value inside/);
    const byName = await collect("run-pkl", { order: "name" });
    expect(byName.steps.map((s) => s.step)).toEqual(steps.map((s) => s.step));
    expect(byName.summary.notes[0]).toMatch(/number in each file name/);
    const given = await collect("run-pkl", { order: "given" });
    expect(given.steps.map((s) => s.step)).toEqual([1, 10, 11, 12, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("groups params, grads, optimizer moments (named by parameter) and buffers", async () => {
    const { steps } = await collect("run-pt");
    const s = steps[3]!;
    expect(Object.keys(s.groups).sort()).toEqual(["buffer", "optimizer", "other", "param"]);
    expect(s.groups.param!.tensors).toBe(8);
    expect(s.groups.buffer!.tensors).toBe(3);
    expect(s.tensors.find((t) => t.name === "fc1.weight.exp_avg_sq")?.group).toBe("optimizer");
    const pkl = (await collect("run-pkl")).steps[0]!;
    expect(Object.keys(pkl.groups).sort()).toEqual(["grad", "optimizer", "other", "param"]);
  });

  it("the NaN run: first non-finite step and its tensors, the last healthy step, the grad spike, zero grads, a frozen layer", async () => {
    const e = expected().nanRun;
    const { steps, summary } = await collect("nan-run", { histogramBins: 8 });
    expectRun(steps, e.steps);
    expect(summary.firstNonFinite?.step).toBe(e.nanStep);
    expect(summary.lastHealthyStep).toBe(e.nanStep - 1);
    const firstBad = e.steps.find((s) => s.step === e.nanStep)!;
    const badPaths = firstBad.tensors.filter((t) => t.nan + t.posinf + t.neginf > 0).map((t) => t.path);
    expect(summary.firstNonFinite?.paths).toEqual(badPaths);
    const kinds = (k: string) => summary.findings.filter((f) => f.kind === k);
    expect(kinds("non-finite")[0]!.severity).toBe("error");
    expect(kinds("grad-norm-spike").map((f) => f.step)).toEqual([e.spikeStep]);
    expect(kinds("zero-grad").flatMap((f) => f.names)).toEqual(["grad:dead.weight", "grad:dead.bias"]);
    expect(kinds("frozen-param")[0]!.names).toEqual(["dead.weight", "dead.bias"]);
    // Histograms: counts add up to the finite elements.
    const t = steps[0]!.tensors[0]!;
    expect(t.histogram!.counts.length).toBe(8);
    expect(t.histogram!.counts.reduce((a, b) => a + b, 0)).toBe(t.numel - t.nan - t.posinf - t.neginf);
    // A stricter spike threshold finds nothing.
    const strict = await collect("nan-run", { spikeZ: 1e6 });
    expect(strict.summary.findings.some((f) => f.kind === "grad-norm-spike")).toBe(false);
  });

  it("update/param ratio findings follow the band", async () => {
    const narrow = await collect("run-pt", { ratioBand: [0.5, 1] });
    expect(narrow.summary.findings.filter((f) => f.kind === "update-ratio").length).toBeGreaterThan(0);
    const wide = await collect("run-pt", { ratioBand: [0, Infinity] });
    expect(wide.summary.findings.filter((f) => f.kind === "update-ratio")).toEqual([]);
  });
});

describe("helpers", () => {
  it("numberInName takes the last number of the base name", () => {
    expect(numberInName("a/run3/step_000120.pt")).toBe(120);
    expect(numberInName("x/dump-7.pkl.gz")).toBe(7);
    expect(numberInName("final.pt")).toBeUndefined();
  });
  it("robustZ flags the outlier only", () => {
    const z = robustZ([1, 1.1, 0.9, 1.05, 0.95, 10]);
    expect(z.findIndex((x) => x > 3.5)).toBe(5);
    expect(z.filter((x) => x > 3.5).length).toBe(1);
    expect(robustZ([2, 2, 2])).toEqual([0, 0, 0]);
  });
});
