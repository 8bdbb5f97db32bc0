// `torchsave diff` and `torchsave stats` as a user runs them: every output and every exit status.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { REPO } from "../helpers/corpus.js";

const train = (name: string) => join(REPO, "fixtures/train", name);
const expected = JSON.parse(readFileSync(train("expected.json"), "utf8")) as { nanRun: { nanStep: number; spikeStep: number } };

describe("torchsave diff", () => {
  it("exit 0 and EQUAL for a file against itself", () => {
    const r = runCli(["diff", train("pairs/base.pt"), train("pairs/base.pt")]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/35 tensors in both: 35 bit-identical/);
    expect(r.stdout.trim().split("\n").at(-1)).toBe("EQUAL");
  });

  it("exit 0 across formats: a JSON dump of nested lists equals the gzip'd numpy pickle of the same step", () => {
    const r = runCli(["diff", train("run-json/3.json"), train("run-pklgz/dump-3.pkl.gz")]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/EQUAL$/m);
  });

  it("exit 1 with the changed tensor first, the changed value, and why", () => {
    const r = runCli(["diff", train("pairs/base.pt"), train("pairs/perturbed.pt")]);
    expect(r.status).toBe(1);
    const lines = r.stdout.split("\n");
    const head = lines.findIndex((l) => /relL2\s+maxAbs\s+meanAbs\s+cosine\s+differing\s+dtype\s+shape\s+path/.test(l));
    expect(head).toBeGreaterThan(0);
    expect(lines[head + 1]).toMatch(/^3\.55e-3\s+2\.47e-3\s+1\.00e-3\s+0\.999994\s+32\s+float32\s+\[8,4\]\s+model\.fc1\.weight$/);
    expect(r.stdout).toMatch(/^ {2}epoch: 3 → 4$/m);
    expect(r.stdout).toMatch(/^DIFFERENT: 1 tensor beyond tolerance, 1 value$/m);
  });

  it("prints what the README shows", () => {
    const readme = readFileSync(join(REPO, "README.md"), "utf8");
    const block = /\$ torchsave diff (\S+) (\S+)\n([\s\S]*?)\n```/.exec(readme)!;
    const r = runCli(["diff", block[1]!, block[2]!]);
    expect(r.stdout.trimEnd()).toBe(block[3]);
  });

  it("says a renamed prefix once; --ignore-prefix makes it equal, --exact-keys lists the keys", () => {
    const r = runCli(["diff", train("pairs/base.pt"), train("pairs/renamed.pt")]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/A has "" where B has "module\." \(11 keys/);
    expect(r.stdout).toMatch(/only the key prefix differs/);
    expect(runCli(["diff", train("pairs/base.pt"), train("pairs/renamed.pt"), "--ignore-prefix"]).status).toBe(0);
    const exact = runCli(["diff", train("pairs/base.pt"), train("pairs/renamed.pt"), "--exact-keys", "--top", "3"]);
    expect(exact.stdout).toMatch(/only in A \(11\):/);
    expect(exact.stdout).toMatch(/… 8 more/);
  });

  it("--json prints exactly the documented object, paths as `tensors --json` spells them", () => {
    const r = runCli(["diff", train("run-pt/ckpt_10.pt"), train("run-pt/ckpt_20.pt"), "--json"]);
    expect(r.status).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j)).toEqual(["equal", "onlyA", "onlyB", "prefix", "changed", "values"]);
    expect(j.equal).toBe(false);
    expect(j.prefix).toBeNull();
    expect(j.values).toEqual([{ path: ["global_step"], a: 1, b: 2 }, { path: ["loss"], a: expect.any(Number), b: expect.any(Number) }]);
    const keys = ["path", "dtype", "shape", "identical", "maxAbs", "meanAbs", "relL2", "cosine", "differing", "nan", "inf"];
    for (const e of j.changed) expect(Object.keys(e)).toEqual(e.param ? [...keys, "param"] : keys);
    const moment = j.changed.find((e: { path: unknown[] }) => JSON.stringify(e.path) === '["optimizer_state_dict","state",0,"exp_avg"]');
    expect(moment.param).toEqual({ name: "fc1.weight", slot: "exp_avg" });
    expect(moment.dtype).toEqual(["float32", "float32"]);
    expect(moment.nan).toEqual([0, 0]);
    const rel = j.changed.map((e: { relL2: number | null }) => e.relL2).filter((x: number | null) => x !== null);
    expect(rel).toEqual([...rel].sort((a: number, b: number) => b - a));
    // The same path spelling as `tensors --json`.
    const listed = runCli(["tensors", train("run-pt/ckpt_10.pt"), "--json"]).stdout.trim().split("\n").map((l) => JSON.stringify(JSON.parse(l).path));
    expect(new Set(listed)).toEqual(new Set(j.changed.map((e: { path: unknown }) => JSON.stringify(e.path))));
  });

  it("--atol/--rtol decide what differs", () => {
    const strict = JSON.parse(runCli(["diff", train("pairs/base.pt"), train("pairs/perturbed.pt"), "--json"]).stdout);
    const loose = JSON.parse(runCli(["diff", train("pairs/base.pt"), train("pairs/perturbed.pt"), "--json", "--atol", "1e-2"]).stdout);
    expect(strict.changed[0].differing).toBe(32);
    expect(loose.changed[0].differing).toBe(0);
    expect(JSON.parse(runCli(["diff", train("pairs/base.pt"), train("pairs/perturbed.pt"), "--json", "--rtol", "0.5"]).stdout).changed[0].differing).toBeLessThan(32);
  });

  it("exit 2 on a missing file, a bad option value, or one argument", () => {
    const missing = runCli(["diff", train("pairs/base.pt"), train("pairs/nope.pt")]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^torchsave: .*nope\.pt: io: /);
    const bad = runCli(["diff", train("pairs/base.pt"), train("pairs/base.pt"), "--atol=-1"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--atol needs a number ≥ 0/);
    expect(runCli(["diff", train("pairs/base.pt")]).status).toBe(2);
  });
});

describe("torchsave stats", () => {
  it("one file: a table of its tensors; exit 1 when it holds NaN/Inf, 0 when not", () => {
    const r = runCli(["stats", train("dtypes.pt")]);
    expect(r.status).toBe(1); // dtypes.pt holds NaN and Inf on purpose
    expect(r.stdout).toMatch(/^NaN\/Inf in 5 tensors: float64, float32, float16, bfloat16, strided$/m);
    expect(r.stdout).toMatch(/^group\s+dtype\s+shape\s+numel\s+min\s+max\s+mean\s+std\s+norm\s+nan\s+inf\s+zeros\s+path$/m);
    expect(r.stdout).toMatch(/^param\s+bfloat16\s+\[64\]\s+64\s+-6\.19\s+9\s+0\.342\s+3\.1\s+24\.2\s+1\s+2\s+1\s+bfloat16$/m);
    const clean = runCli(["stats", train("pairs/base.pt")]);
    expect(clean.status).toBe(0);
    expect(clean.stdout).toMatch(/^param\s+float32\s+\[8,4\]\s+32 /m);
  });

  it("a run directory: findings first, sparklines, the steps table; exit 0 when finite", () => {
    const r = runCli(["stats", train("run-pkl")]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const out = r.stdout;
    expect(out.indexOf("findings:")).toBeLessThan(out.indexOf("series over steps"));
    expect(out).toMatch(/note: steps ordered by the step value inside each dump/);
    expect(out).toMatch(/^ {2}grad norm\s+[▁▂▃▄▅▆▇█]{12}\s+/m);
    expect(out).toMatch(/2 parameters never change: dead\.weight, dead\.bias/);
    expect(out).toMatch(/^\s+12\s+\S+\s+\S+.*run-pkl\/step_12\.pkl$/m);
  });

  it("the NaN run: exit 1, the first non-finite step and the spike named", () => {
    const r = runCli(["stats", train("nan-run")]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`error +step ${expected.nanRun.nanStep} .* is the first with NaN/Inf`));
    expect(r.stdout).toMatch(new RegExp(`grad norm spike at step ${expected.nanRun.spikeStep}`));
    expect(r.stdout).toMatch(new RegExp(`last healthy step: ${expected.nanRun.nanStep - 1}`));
  });

  it("--json: one line per step × tensor with the documented fields, then the summary line", () => {
    const r = runCli(["stats", train("nan-run"), "--json"]);
    expect(r.status).toBe(1);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const summary = lines.pop();
    expect(lines.length).toBe(10 * 16);
    for (const k of ["file", "step", "path", "dtype", "shape", "numel", "min", "max", "mean", "std", "norm", "nan", "posinf", "neginf", "zeros", "update", "ratio"]) {
      expect(lines[0]).toHaveProperty(k);
    }
    expect(lines[0]).toMatchObject({ step: 1, path: ["model_params", "fc1.weight"], dtype: "float32", shape: [8, 4], update: null });
    expect(summary.summary).toMatchObject({ steps: 10, lastHealthyStep: expected.nanRun.nanStep - 1 });
    expect(summary.summary.firstNonFinite.step).toBe(expected.nanRun.nanStep);
    expect(summary.summary.firstNonFinite.paths).toContainEqual(["model_grads", "fc1.weight"]);
    expect(summary.summary.findings.map((f: { kind: string }) => f.kind)).toContain("grad-norm-spike");
  });

  it("--csv: a header and one row per step × tensor", () => {
    const r = runCli(["stats", train("run-pklgz"), "--csv"]);
    expect(r.status).toBe(0);
    const rows = r.stdout.trim().split("\n");
    expect(rows[0]).toBe("file,step,group,name,path,dtype,shape,numel,min,max,mean,std,norm,nan,posinf,neginf,zeros,update,ratio,loss,grad_norm");
    expect(rows.length).toBe(1 + 12 * 16);
    expect(rows[1]).toMatch(/^[^,]+dump-1\.pkl\.gz,1,param,fc1\.weight,"\[""params"",""fc1\.weight""\]",float32,8x4,32,/);
  });

  it("--html writes one self-contained page (no network) and still prints the summary", () => {
    const dir = mkdtempSync(join(tmpdir(), "torchsave-stats-"));
    const out = join(dir, "report.html");
    const r = runCli(["stats", train("nan-run"), "--html", out]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`wrote ${out}\n`);
    const html = readFileSync(out, "utf8");
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/\b(src|href)=["']?(https?:)?\/\//);
    expect(html).toMatch(/Content-Security-Policy" content="default-src 'none'/);
    const data = JSON.parse(/<script type="application\/json" id="data">([\s\S]*?)<\/script>/.exec(html)![1]!);
    expect(data.steps.length).toBe(10);
    expect(data.series.length).toBe(16);
    expect(data.series[0].hist[0].counts.length).toBe(40);
  });

  it("orders by the number in file names with --order name; exit 2 on bad options and empty folders", () => {
    const r = runCli(["stats", train("run-pt"), "--order", "name", "--json"]);
    const steps = r.stdout.trim().split("\n").slice(0, -1).map((l) => JSON.parse(l).step);
    expect([...new Set(steps)]).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(runCli(["stats", train("run-pt"), "--order", "sideways"]).status).toBe(2);
    expect(runCli(["stats", train("run-pt"), "--json", "--csv"]).status).toBe(2);
    expect(runCli(["stats", train("run-pt"), "--ratio-band", "1,0"]).status).toBe(2);
    const empty = mkdtempSync(join(tmpdir(), "torchsave-empty-"));
    mkdirSync(join(empty, "sub"));
    writeFileSync(join(empty, "notes.txt"), "hello");
    const e = runCli(["stats", empty]);
    expect(e.status).toBe(2);
    expect(e.stderr).toMatch(/holds no dump files/);
    expect(runCli(["stats", join(empty, "missing.pt")]).status).toBe(2);
  });
});
