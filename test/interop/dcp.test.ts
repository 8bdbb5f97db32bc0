// DCP directories torchsave writes (`convert in.pt out --to dcp`), read by torch 2.6
// (../shared/tools/torch2): they consolidate (dcp_to_torch_save) to what torch's own
// torch_save_to_dcp gives for the same file, and dcp.load fills a state dict from them.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO } from "../helpers/corpus.js";
import { runCli } from "../helpers/cli.js";

const TORCH2 = join(REPO, "../shared/tools/torch2");
const CHECK = join(REPO, "fixtures/interop/dcp_check.py");
const has = existsSync(TORCH2) && spawnSync(TORCH2, ["python3", "-c", "import torch.distributed.checkpoint"], { encoding: "utf8", cwd: REPO }).status === 0;

const tmp = mkdtempSync(join(tmpdir(), "torchsave-dcp-interop-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const manifest = JSON.parse(readFileSync(join(REPO, "fixtures/torch/manifest.json"), "utf8")) as { fixtures: { file: string; layout: string; weights_only: boolean }[] };
// torch_save_to_dcp loads its input with weights_only=True in torch 2.6: those fixtures, zip layout.
// Each case starts torch 2.6 once (~30 s on the busy CI machine): a handful that cover dtypes, NaN bits, views, tied weights, Parameters.
const WANTED = ["dtypes.pt", "special-floats.pt", "views.pt", "tied-weights.pt", "parameters.pt"];
const inputs = manifest.fixtures.filter((f) => f.weights_only && f.layout === "zip" && WANTED.includes(f.file)).map((f) => f.file);

describe("DCP written by torchsave, read by torch 2.6", () => {
  it("torch 2.6 with torch.distributed.checkpoint is there (.ci/run sets up ../shared/tools/torch2; never skipped)", () => {
    expect(has, `${TORCH2} cannot import torch.distributed.checkpoint`).toBe(true);
  });

  for (const file of inputs) {
    it(`${file}: consolidates like torch_save_to_dcp's directory, and dcp.load reads it`, () => {
      const out = join(tmp, `${file}.dcp`);
      const c = runCli(["convert", join(REPO, "fixtures/torch", file), out, "--to", "dcp", "--quiet"]);
      if (c.status !== 0) {
        // A root that is no dict is refused by DCP itself; say so and make sure the refusal is clear.
        expect(c.stderr).toMatch(/DCP checkpoint is a dict/);
        return;
      }
      const scratch = join(tmp, `${file}.scratch`);
      mkdirSync(scratch);
      const r = spawnSync(TORCH2, ["python3", CHECK, join(REPO, "fixtures/torch", file), out, scratch], { encoding: "utf8", cwd: REPO });
      expect(r.status, r.stderr).toBe(0);
      const answer = JSON.parse(r.stdout.trim().split("\n").pop()!) as { consolidated_same: boolean; loaded_same: boolean };
      expect(answer).toMatchObject({ consolidated_same: true, loaded_same: true });
    }, 120_000);
  }
});
