// A json.dump'd optimizer/scheduler/GradScaler state (written by torch 1.13), converted by
// torchsave to .pt, loads into real torch optimizers with every moment intact
// (fixtures/interop/optim_json_check.py compares with torch's own save of the same state).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { convertBytes } from "../../src/convert/index.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const PYTHON = "/usr/bin/python3";
const hasTorch = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8" }).status === 0;
if (!hasTorch) console.warn(`plain JSON optimizer interop skipped: ${PYTHON} cannot import torch`);
const tmp = mkdtempSync(join(tmpdir(), "torchsave-optim-json-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.runIf(hasTorch)("json.dump'd optimizer state → .pt → torch optimizers", () => {
  it("load_state_dict keeps every moment; a step from it equals a step from torch's own save", () => {
    const json = readFileSync(join(REPO, "fixtures/issue14/optim-state.json"));
    const out = join(tmp, "optim.pt");
    writeFileSync(out, convertBytes(new Uint8Array(json), { to: "pt" }));
    const r = spawnSync(PYTHON, [join(REPO, "fixtures/interop/optim_json_check.py"), out, join(REPO, "fixtures/issue14/optim-state.pt")], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const answer = JSON.parse(r.stdout) as { ok: boolean; checks: string[]; error: string };
    expect(answer.error).toBe("");
    expect(answer.checks).toEqual(["adam", "adamw", "sgd", "steplr", "multisteplr", "scaler"]);
  });

  it("the naive import (stateDicts: false) loses the moments, as the check notices", () => {
    const json = readFileSync(join(REPO, "fixtures/issue14/optim-state.json"));
    const out = join(tmp, "naive.pt");
    writeFileSync(out, convertBytes(new Uint8Array(json), { to: "pt", plain: { stateDicts: false } }));
    const r = spawnSync(PYTHON, [join(REPO, "fixtures/interop/optim_json_check.py"), out, join(REPO, "fixtures/issue14/optim-state.pt")], { encoding: "utf8" });
    const answer = JSON.parse(r.stdout) as { ok: boolean; error: string };
    expect(answer.ok).toBe(false);
  });
});
