// convert of plain JSON from the command line: what was inferred goes to stderr, and --tensors /
// --keep-list give the library's control over which lists become tensors.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { REPO } from "../helpers/corpus.js";

const dir = mkdtempSync(join(tmpdir(), "torchsave-plain-cli-"));

describe("convert plain JSON", () => {
  it("says on stderr which state_dicts it recognized", () => {
    const out = join(dir, "optim.pt");
    const r = runCli(["convert", join(REPO, "fixtures/issue14/optim-state.json"), out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^torchsave: adam: optimizer state_dict \(Adam\/AdamW\/RAdam-like\), 6 params in 1 group\(s\): state keys → ints/m);
    expect(r.stderr).toMatch(/^torchsave: multisteplr: LR scheduler state_dict: milestones/m);
    const t = runCli(["inspect", out, "--depth", "5", "--items", "100"]);
    expect(t.stdout).toMatch(/"betas": tuple 2 items/);
    expect(t.stdout).toMatch(/"params": list 6 items/);
    const j = JSON.parse(runCli(["convert", join(REPO, "fixtures/issue14/optim-state.json"), out, "--json", "-q"]).stdout);
    expect(j.notes).toEqual(expect.arrayContaining([expect.stringMatching(/^sgd: optimizer state_dict/)]));
  });

  it("--tensors none|all and --keep-list", () => {
    const p = join(dir, "run.json");
    writeFileSync(p, '{"w": [[1.0, 2.0]], "history": {"loss": [0.5, 0.25], "acc": [0.1, 0.2]}}');
    const tensors = (args: string[]) => {
      const out = join(dir, `run-${args.join("_").replace(/\W/g, "")}.pt`);
      const c = runCli(["convert", p, out, "-q", ...args]);
      expect(c.status, c.stderr).toBe(0);
      return runCli(["tensors", out]).stdout.trim().split("\n").filter((l) => l).map((l) => l.split("  ")[0]);
    };
    expect(tensors([])).toEqual(['["w"]', '["history"]["loss"]', '["history"]["acc"]']);
    expect(tensors(["--keep-list", "history.*"])).toEqual(['["w"]']);
    expect(tensors(["--keep-list", "history.loss"])).toEqual(['["w"]', '["history"]["acc"]']);
    expect(tensors(["--tensors", "none"])).toEqual([]);
    const bad = runCli(["convert", p, join(dir, "x.pt"), "--tensors", "some"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--tensors must be auto, all or none/);
    const note = runCli(["convert", join(REPO, "fixtures/torch/full-checkpoint.pt"), join(dir, "y.json"), "--tensors", "none"]);
    expect(note.stderr).toMatch(/--tensors applies to plain JSON input only/);
  });
});
