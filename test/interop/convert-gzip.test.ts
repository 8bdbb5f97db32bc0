// gzip both ways with real torch 1.13 (/usr/bin/python3; when it is missing these tests fail, they
// never skip). torch writes an 80 MiB state_dict with `torch.save` into `gzip.open` and with
// `pickle.dump` into `gzip.open`: past the 64 MiB that `convert` inflates in memory, so each is
// inflated (node:zlib) into a temp file and read in place there (the pickle's payloads left in
// it). `torchsave convert` turns each into a .pt and a .pt.gz (node:zlib), and torch finds the
// .pt (torch.load) and the .pt.gz (gzip.open + torch.load) deep-equal to its own load of the
// original; so is a small fixture's .pt.gz. No temp file is left beside the outputs.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { REPO } from "../helpers/corpus.js";

const PYTHON = "/usr/bin/python3";
const CHECK = join(REPO, "fixtures/interop/torch_check.py");
const tmp = mkdtempSync(join(tmpdir(), "torchsave-gzip-interop-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const WRITE = `
import gzip, pickle, sys, torch
g = torch.Generator().manual_seed(16)
state = {
  "embed.weight": torch.randn(4096, 4096, generator=g),            # 64 MiB
  "lm_head.weight": torch.randn(1024, 2048, generator=g).half(),   # 4 MiB
  "steps": torch.arange(1_500_000, dtype=torch.int64),              # 12 MiB
  "norm.bias": torch.randn(7, generator=g),
  "epoch": 3, "note": "gzip",
}
state["tied"] = state["embed.weight"]                                # one storage, two names
with gzip.open(sys.argv[1], "wb", compresslevel=1) as f:
    torch.save(state, f)
with gzip.open(sys.argv[2], "wb", compresslevel=1) as f:
    pickle.dump(state, f, protocol=4)
`;

/** Loads each original with its loader and each of ours (.pt: torch.load; .pt.gz: gzip.open + torch.load); prints the mismatches. */
const COMPARE = `
import gzip, json, pickle, sys, torch
sys.path.insert(0, ${JSON.stringify(dirname(CHECK))})
import torch_check
def load(path, how):
    if how == "gzip-torch":
        with gzip.open(path, "rb") as f: return torch.load(f, map_location="cpu")
    if how == "gzip-pickle":
        with gzip.open(path, "rb") as f: return pickle.load(f)
    return torch.load(path, map_location="cpu")
bad = []
for item in json.load(sys.stdin):
    try:
        original = load(item["original"], item["loader"])
        ours = load(item["ours"], "gzip-torch" if item["ours"].endswith(".gz") else "torch")
        torch_check.Comparer().value(original, ours)
    except Exception as e: bad.append(f"{item['ours']}: {type(e).__name__}: {e}")
print(json.dumps(bad))
`;

function compare(pairs: { original: string; ours: string; loader: string }[]): string[] {
  const r = spawnSync(PYTHON, ["-c", COMPARE], { input: JSON.stringify(pairs), encoding: "utf8", maxBuffer: 1 << 26, timeout: 600_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as string[];
}

describe("gzip with torch 1.13: torch.save / pickle.dump into gzip.open, and our .pt.gz", () => {
  it("reads torch's 80 MiB gzip files through a temp file, and torch loads what convert wrote", () => {
    const ptGz = join(tmp, "torch.pt.gz");
    const pklGz = join(tmp, "torch.pkl.gz");
    const wrote = spawnSync(PYTHON, ["-c", WRITE, ptGz, pklGz], { encoding: "utf8", timeout: 600_000 });
    expect(wrote.status, wrote.stderr).toBe(0);
    const pairs: { original: string; ours: string; loader: string }[] = [];
    for (const [original, loader] of [[ptGz, "gzip-torch"], [pklGz, "gzip-pickle"]] as const) {
      const out = join(tmp, `from-${loader}`);
      mkdirSync(out);
      for (const name of ["back.pt", "back.pt.gz"]) {
        const r = runCli(["convert", original, join(out, name), "--json"]);
        expect(r.status, r.stderr).toBe(0);
        const report = JSON.parse(r.stdout) as { from: string; to: string };
        expect(report.from).toBe(loader === "gzip-torch" ? "gzip+zip" : "gzip+pickle");
        expect(report.to).toBe(name.endsWith(".gz") ? "gzip+pt" : "pt");
        pairs.push({ original, ours: join(out, name), loader });
      }
      expect(readdirSync(out).sort()).toEqual(["back.pt", "back.pt.gz"]);
      // Inflated, it is past the size `convert` keeps in memory.
      expect(statSync(join(out, "back.pt")).size).toBeGreaterThan(64 * 2 ** 20);
    }
    const fixture = join(REPO, "fixtures/torch/full-checkpoint.pt");
    const small = join(tmp, "full-checkpoint.pt.gz");
    expect(runCli(["convert", fixture, small, "-q"]).status).toBe(0);
    pairs.push({ original: fixture, ours: small, loader: "torch" });
    expect(compare(pairs)).toEqual([]);
  }, 600_000);
});
