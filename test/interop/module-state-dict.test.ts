// convert --state-dict of a whole pickled module: real torch 1.13 loads what we wrote with
// weights_only=True, and model.load_state_dict(strict=True) gives the module's own tensors.
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
const tmp = mkdtempSync(join(tmpdir(), "torchsave-module-sd-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const CHECK = `
import sys, torch
sys.path.insert(0, sys.argv[3])
import torch_models
ours = torch.load(sys.argv[1], weights_only=True)
module = torch.load(sys.argv[2])  # our own fixture (fixtures/torch, gen_torch.py)
theirs = module.state_dict()
assert list(ours.keys()) == list(theirs.keys()), (list(ours.keys()), list(theirs.keys()))
assert dict(ours._metadata) == dict(theirs._metadata), (ours._metadata, theirs._metadata)
assert all(torch.equal(ours[k], theirs[k]) and type(ours[k]) is torch.Tensor for k in theirs)
fresh = torch_models.TinyNet()
fresh.load_state_dict(ours, strict=True)
assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), theirs.values()))
print("ok")
`;

describe.runIf(hasTorch)("convert --state-dict, loaded by torch", () => {
  for (const name of ["whole-module.pt", "whole-module.legacy.pt"]) {
    it(`${name}: keys, _metadata and tensors equal model.state_dict(); load_state_dict(strict=True) works`, () => {
      const out = join(tmp, `${name}.sd.pt`);
      writeFileSync(out, convertBytes(new Uint8Array(readFileSync(join(REPO, "fixtures/torch", name))), { to: "pt", stateDict: true }));
      const r = spawnSync(PYTHON, ["-c", CHECK, out, join(REPO, "fixtures/torch", name), join(REPO, "fixtures")], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      expect(r.stdout.trim()).toBe("ok");
    });
  }
});
