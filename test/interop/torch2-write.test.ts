// What torchsave writes, loaded by real torch 2.6 (Python 3.13, numpy 2) through
// ../shared/tools/torch2 (.ci/run sets it up; when it is missing these tests fail, they never skip):
// every torch 2.6 fixture → our reader → our writer (zip and legacy) → torch 2.6's torch.load
// deep-equals torch.load of the original, and torch 2.6's weights_only loads ours whenever it loads
// the original; `convert --sanitize --torch T` output loads in torch T (2.6 here, 1.13 through
// /usr/bin/python3), and what T cannot load is refused with no file written.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readCheckpoint } from "../../src/torch/read/read-checkpoint.js";
import { writeCheckpoint } from "../../src/torch/write/write-checkpoint.js";
import type { WriteOptions } from "../../src/torch/write/write-options.js";
import { REPO } from "../helpers/corpus.js";
import { runCli } from "../helpers/cli.js";

const TORCH2 = join(REPO, "../shared/tools/torch2");
const CHECK = join(REPO, "fixtures/interop/torch_check.py");
const FIXTURES = join(REPO, "fixtures/torch2");
const FIXTURES_113 = join(REPO, "fixtures/torch");
const PYTHON_113 = "/usr/bin/python3";

interface Answer {
  readonly ok: boolean;
  readonly error: string;
}

function check(python: "2.6" | "1.13", mode: string, request: unknown[]): Answer[] {
  const [cmd, args] = python === "2.6" ? [TORCH2, ["python3", CHECK, mode]] : [PYTHON_113, [CHECK, mode]];
  const r = spawnSync(cmd, args, { input: JSON.stringify(request), encoding: "utf8", maxBuffer: 1 << 28, cwd: REPO, timeout: 600_000 });
  if (r.status !== 0) throw new Error(`torch_check.py ${mode} under torch ${python} failed (status ${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Answer[];
}

/** torch.load(weights_only=True) of each file in the given torch: accepted, or the error. */
function weightsOnlyLoads(python: "2.6" | "1.13", files: string[]): Answer[] {
  const script = "import json,sys,torch\nout=[]\nfor p in sys.argv[1:]:\n  try:\n    torch.load(p, map_location='cpu', weights_only=True); out.append({'ok': True, 'error': ''})\n" +
    "  except Exception as e:\n    out.append({'ok': False, 'error': (type(e).__name__ + ': ' + str(e))[:400]})\nprint(json.dumps(out))\n";
  const [cmd, args] = python === "2.6" ? [TORCH2, ["python3", "-c", script, ...files]] : [PYTHON_113, ["-c", script, ...files]];
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 26, cwd: REPO, timeout: 600_000 });
  if (r.status !== 0) throw new Error(`torch ${python} failed (status ${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Answer[];
}

const tmp = mkdtempSync(join(tmpdir(), "torchsave-write2-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Fixture {
  readonly file: string;
  readonly layout: string;
  readonly features: readonly string[];
}
const manifest = JSON.parse(readFileSync(join(FIXTURES, "manifest.json"), "utf8")) as { fixtures: Fixture[] };
const verdicts = JSON.parse(readFileSync(join(FIXTURES, "verdicts-2.6.json"), "utf8")) as { results: Record<string, { accepted: boolean }> };
// TorchScript archives load into ScriptModules, which torch.save cannot write.
const rewritable = manifest.fixtures.filter((f) => f.layout !== "torchscript");
const loaderOf = (f: Fixture): string => (f.layout === "pickle" ? "pickle" : f.layout === "gzip+pickle" ? "gzip-pickle" : "torch");

function rewrite(file: string, options: WriteOptions, suffix: string): string {
  const ck = readCheckpoint(new Uint8Array(readFileSync(join(FIXTURES, file))), { name: file });
  const out = join(tmp, `${file}.${suffix}.pt`);
  writeFileSync(out, writeCheckpoint(ck.root, options));
  return out;
}

describe("torch 2.6 reads what we write", () => {
  it("the torch2 tool is set up (.ci/run runs `../shared/tools/torch2 --setup`)", () => {
    expect(existsSync(TORCH2), `${TORCH2} is missing`).toBe(true);
    const r = spawnSync(TORCH2, ["python3", "-c", "import torch; print(torch.__version__)"], { encoding: "utf8", cwd: REPO, timeout: 600_000 });
    expect(r.stdout.trim()).toMatch(/^2\.6/);
  });

  for (const layout of ["zip", "legacy"] as const) {
    it(`rewrites every torch 2.6 fixture in the ${layout} layout, equal to the original in torch 2.6`, () => {
      // The legacy layout has no untyped storages, so no dtype torch writes with _rebuild_tensor_v3
      // (torchsave refuses those with a clear error, as torch 2.6 itself cannot save them there).
      const files = layout === "zip" ? rewritable : rewritable.filter((f) => !f.features.includes("v3"));
      expect(files.length).toBeGreaterThan(30);
      const pairs = files.map((f) => ({ original: join(FIXTURES, f.file), ours: rewrite(f.file, { layout, weightsOnly: false }, layout), loader: loaderOf(f) }));
      const answers = check("2.6", "compare", pairs);
      expect(answers.flatMap((a, i) => (a.ok ? [] : [`${files[i]!.file}: ${a.error}`]))).toEqual([]);
    });
  }

  it("writes with the default weights-only rules what torch 2.6's weights_only loads", () => {
    const picked = rewritable.filter((f) => verdicts.results[`torch2/${f.file}`]?.accepted === true);
    expect(picked.length).toBeGreaterThan(20);
    const files = picked.map((f) => rewrite(f.file, {}, "safe"));
    const answers = weightsOnlyLoads("2.6", files);
    expect(answers.flatMap((a, i) => (a.ok ? [] : [`${picked[i]!.file}: ${a.error}`]))).toEqual([]);
  });
});

describe("convert --sanitize --torch T writes only what torch T loads", () => {
  const sanitize = (input: string, target: string, name: string) => {
    const out = join(tmp, name);
    const r = runCli(["convert", input, out, "--sanitize", "--torch", target]);
    return { ...r, out, written: existsSync(out) };
  };

  it("2.6: a torch 1.13 full checkpoint (numpy, Namespace, sparse CSR) loads in torch 2.6 with weights_only", () => {
    const a = sanitize(join(FIXTURES_113, "full-checkpoint.pt"), "2.6", "full-113-for-26.pt");
    const b = sanitize(join(FIXTURES_113, "sparse.pt"), "2.6", "sparse-113-for-26.pt");
    const c = sanitize(join(FIXTURES, "full-checkpoint.pt"), "2.6", "full-26-for-26.pt");
    for (const r of [a, b, c]) expect(r.written, r.stderr).toBe(true);
    expect(b.stderr).toMatch(/sparse_csr written with _rebuild_sparse_tensor/);
    expect(weightsOnlyLoads("2.6", [a.out, b.out, c.out])).toEqual([{ ok: true, error: "" }, { ok: true, error: "" }, { ok: true, error: "" }]);
  });

  it("1.13: a sparse CSR tensor read from a torch 1.13 file is written so torch 1.13 loads it", () => {
    const r = sanitize(join(FIXTURES_113, "sparse.pt"), "1.13", "sparse-113-for-113.pt");
    expect(r.written, r.stderr).toBe(true);
    expect(weightsOnlyLoads("1.13", [r.out])).toEqual([{ ok: true, error: "" }]);
    // And the values are torch 1.13's own.
    expect(check("1.13", "compare", [{ original: join(FIXTURES_113, "sparse.pt"), ours: r.out, loader: "torch" }])).toEqual([{ ok: true, error: "" }]);
  });

  it("1.13: uint32 / float8 tensors and torch 2.x sparse forms are refused, saying why, and nothing is written", () => {
    const d = sanitize(join(FIXTURES, "uint-limits.pt"), "1.13", "uint-for-113.pt");
    expect(d.written).toBe(false);
    expect(d.status).toBe(2);
    expect(d.stderr).toMatch(/torch 1\.13 has no uint32 dtype/);
    expect(d.stderr).toMatch(/_rebuild_tensor_v3/);
    const s = sanitize(join(FIXTURES, "sparse.pt"), "1.13", "sparse-26-for-113.pt");
    expect(s.written).toBe(false);
    expect(s.stderr).toMatch(/sparse_csc/);
    expect(readdirSync(tmp).filter((f) => f.includes("torchsave-sanitize"))).toEqual([]);
  });

  it("1.13: a torch 2.6 state_dict sanitized for 1.13 loads in torch 1.13", () => {
    const r = sanitize(join(FIXTURES, "state-dict-metadata.pt"), "1.13", "sd-26-for-113.pt");
    expect(r.written, r.stderr).toBe(true);
    expect(weightsOnlyLoads("1.13", [r.out])).toEqual([{ ok: true, error: "" }]);
  });
});
