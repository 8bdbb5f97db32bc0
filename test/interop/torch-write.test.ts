// What torchsave writes, loaded by real PyTorch (torch 1.13 through /usr/bin/python3):
// every fixture torch can load → our reader → our writer (zip and legacy) → torch.load deep-equals
// torch.load of the original; what torch 1.13's weights_only loads of the original it loads of ours;
// state_dicts and optimizer checkpoints written with the defaults pass current PyTorch's
// weights-only rules; checkpoints built in JS load with the values we meant.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { bytesSource } from "../../src/bytes/source.js";
import { isTorchsaveError } from "../../src/errors.js";
import { asFloat, parameter, stateDict, tensor, toTorchValue } from "../../src/torch/builder.js";
import type { BuildInput } from "../../src/torch/builder.js";
import type { DTypeName } from "../../src/torch/dtypes.js";
import { readCheckpoint } from "../../src/torch/read/read-checkpoint.js";
import { writeCheckpoint } from "../../src/torch/write/write-checkpoint.js";
import type { WriteOptions } from "../../src/torch/write/write-options.js";
import { openZipSync, readEntrySync } from "../../src/containers/zip/zip-reader.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const FIXTURES = join(REPO, "fixtures/torch");
const CHECK = join(REPO, "fixtures/interop/torch_check.py");
const PYTHON = "/usr/bin/python3";

const hasTorch = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8" }).status === 0;
if (!hasTorch) console.warn(`torch-write interop tests skipped: ${PYTHON} cannot import torch`);

interface Fixture {
  readonly file: string;
  readonly layout: string;
  readonly weights_only: boolean;
  readonly torch_loadable: boolean;
  readonly features: readonly string[];
}

interface Answer {
  readonly ok: boolean;
  readonly error: string;
}

function python(mode: string, request: unknown[]): Answer[] {
  const r = spawnSync(PYTHON, [CHECK, mode], { input: JSON.stringify(request), encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`torch_check.py ${mode} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Answer[];
}

const tmp = mkdtempSync(join(tmpdir(), "torchsave-write-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const manifest = JSON.parse(readFileSync(join(FIXTURES, "manifest.json"), "utf8")) as { fixtures: Fixture[] };
// TorchScript archives load through torch.jit.load into ScriptModules, which torch.save cannot write.
const loadable = manifest.fixtures.filter((f) => f.torch_loadable && f.layout !== "torchscript");
const loaderOf = (f: Fixture): string => (f.layout === "pickle" ? "pickle" : f.layout === "gzip+pickle" ? "gzip-pickle" : "torch");

function rewrite(f: Fixture, options: WriteOptions, suffix: string): string {
  const ck = readCheckpoint(new Uint8Array(readFileSync(join(FIXTURES, f.file))), { name: f.file });
  const out = join(tmp, `${f.file}.${suffix}.pt`);
  writeFileSync(out, writeCheckpoint(ck.root, options));
  return out;
}

function dataPkl(file: string): Uint8Array {
  const zip = openZipSync(bytesSource(new Uint8Array(readFileSync(file))));
  return readEntrySync(zip, zip.get("data.pkl")!);
}

describe.skipIf(!hasTorch)("torch.load reads what we write", () => {
  it("has fixtures to rewrite", () => {
    expect(loadable.length).toBeGreaterThan(40);
  });

  it("rewrites every loadable fixture in the zip layout, equal to the original in torch", () => {
    const pairs = loadable.map((f) => ({ original: join(FIXTURES, f.file), ours: rewrite(f, { weightsOnly: false }, "zip"), loader: loaderOf(f) }));
    const answers = python("compare", pairs);
    const failures = answers.flatMap((a, i) => (a.ok ? [] : [`${loadable[i]!.file}: ${a.error}`]));
    expect(failures).toEqual([]);
  });

  it("rewrites every loadable fixture in the legacy layout, equal to the original in torch", () => {
    const pairs = loadable.map((f) => ({ original: join(FIXTURES, f.file), ours: rewrite(f, { layout: "legacy", weightsOnly: false }, "legacy"), loader: loaderOf(f) }));
    const answers = python("compare", pairs);
    const failures = answers.flatMap((a, i) => (a.ok ? [] : [`${loadable[i]!.file}: ${a.error}`]));
    expect(failures).toEqual([]);
  });

  it("writes torch 1.13's state_dict pickles back byte for byte", () => {
    const same = loadable.filter((f) => f.layout === "zip" && f.features.includes("state-dict") && f.features.includes("protocol-2") && !f.features.includes("hand-built"));
    expect(same.length).toBeGreaterThan(5);
    for (const f of same) {
      const ours = rewrite(f, { weightsOnly: false }, "same");
      expect(Buffer.from(dataPkl(ours)).equals(Buffer.from(dataPkl(join(FIXTURES, f.file)))), f.file).toBe(true);
    }
  });

  it("writes state_dicts and optimizer checkpoints inside current PyTorch's weights-only rules by default", () => {
    const picked = loadable.filter((f) => f.weights_only || (f.features.includes("optimizer") && !f.features.includes("scheduler")));
    expect(picked.length).toBeGreaterThan(20);
    const files = picked.map((f) => ({ file: rewrite(f, {}, "safe") }));
    const answers = python("weights-only", files);
    expect(answers.flatMap((a, i) => (a.ok ? [] : [`${picked[i]!.file}: ${a.error}`]))).toEqual([]);
    // And torch 1.13's own weights_only loader takes every one whose original it takes, except sparse
    // CSR: current PyTorch allows only `_rebuild_sparse_tensor` for it, which torch 1.13 cannot rebuild
    // CSR with (1.13 wrote `_rebuild_sparse_csr_tensor`, which current PyTorch refuses). We follow
    // current PyTorch; `weightsOnly: false` keeps 1.13's call (checked in the tests above).
    const old = picked.filter((f) => !f.features.includes("sparse-csr"));
    const pairs = old.map((f) => ({ original: join(FIXTURES, f.file), ours: files[picked.indexOf(f)]!.file, loader: loaderOf(f) }));
    expect(python("compare", pairs).flatMap((a, i) => (a.ok ? [] : [`${old[i]!.file}: ${a.error}`]))).toEqual([]);
  });

  it("refuses, naming the key, what the weights-only rules forbid", () => {
    const module = manifest.fixtures.find((f) => f.file === "whole-module.pt")!;
    let error: unknown;
    try {
      rewrite(module, {}, "refused");
    } catch (e) {
      error = e;
    }
    expect(isTorchsaveError(error) && error.code === "unencodable", String(error)).toBe(true);
  });
});

/** Values per dtype, exactly representable, as torch's `tolist()` gives them back. */
const DTYPE_VALUES: Record<string, { data: () => BuildInput; values: (number | string | boolean)[]; dtype: DTypeName }> = {
  float64: { dtype: "float64", data: () => new Float64Array([0, 1.5, -2.25, 1e300]), values: [0, 1.5, -2.25, 1e300] },
  float32: { dtype: "float32", data: () => new Float32Array([0, 1.5, -2.25, 3e38]), values: [0, 1.5, -2.25, Math.fround(3e38)] },
  float16: { dtype: "float16", data: () => tensor(new Float32Array([0, 1.5, -2.25, 65504]), { dtype: "float16" }), values: [0, 1.5, -2.25, 65504] },
  bfloat16: { dtype: "bfloat16", data: () => tensor(new Float32Array([0, 1.5, -2.25, 256]), { dtype: "bfloat16" }), values: [0, 1.5, -2.25, 256] },
  complex64: { dtype: "complex64", data: () => tensor(new Float32Array([1, -2, 0.5, 4]), { dtype: "complex64" }), values: [1, -2, 0.5, 4] },
  complex128: { dtype: "complex128", data: () => tensor(new Float64Array([1, -2, 0.5, 4]), { dtype: "complex128" }), values: [1, -2, 0.5, 4] },
  int8: { dtype: "int8", data: () => new Int8Array([-128, 0, 127]), values: [-128, 0, 127] },
  int16: { dtype: "int16", data: () => new Int16Array([-32768, 1, 32767]), values: [-32768, 1, 32767] },
  int32: { dtype: "int32", data: () => new Int32Array([-(2 ** 31), 1, 2 ** 31 - 1]), values: [-(2 ** 31), 1, 2 ** 31 - 1] },
  int64: { dtype: "int64", data: () => new BigInt64Array([-(2n ** 63n), 1n, 2n ** 63n - 1n]), values: [String(-(2n ** 63n)), "1", String(2n ** 63n - 1n)] },
  uint8: { dtype: "uint8", data: () => new Uint8Array([0, 1, 255]), values: [0, 1, 255] },
  bool: { dtype: "bool", data: () => tensor([true, false, true]), values: [true, false, true] },
};

describe.skipIf(!hasTorch)("checkpoints built in JavaScript", () => {
  for (const layout of ["zip", "legacy"] as const) {
    it(`load in torch with the values we meant (${layout} layout)`, () => {
      const entries: Record<string, BuildInput> = {};
      const tensors: Record<string, unknown> = {};
      for (const [name, spec] of Object.entries(DTYPE_VALUES)) {
        entries[name] = spec.data();
        const n = spec.dtype.startsWith("complex") ? spec.values.length / 2 : spec.values.length;
        tensors[name] = { dtype: spec.dtype, shape: [n], values: spec.values };
      }
      entries.param = parameter(new Float32Array([1, 2, 3, 4]), { shape: [2, 2] });
      tensors.param = { dtype: "float32", shape: [2, 2], values: [1, 2, 3, 4], requires_grad: true, parameter: true };
      entries.grad = tensor([[0.5]], { requiresGrad: true });
      tensors.grad = { dtype: "float32", shape: [1, 1], values: [0.5], requires_grad: true };
      const file = join(tmp, `built.${layout}.pt`);
      writeFileSync(file, writeCheckpoint(stateDict(entries), { layout }));
      const answers = python("values", [{ file, tensors }]);
      expect(answers[0]).toEqual({ ok: true, error: "" });
    });
  }

  it("loads a training checkpoint built in JavaScript with weights_only=True", () => {
    const file = join(tmp, "built-training.pt");
    const w = parameter(new Float32Array([1, 2]));
    const root = toTorchValue({
      model: stateDict({ w }),
      optimizer: { state: new Map([[0, { step: 3, exp_avg: tensor(new Float32Array([0.5, 0.25])) }]]), param_groups: [{ lr: asFloat(0.001), params: [0] }] },
      epoch: 7,
    });
    writeFileSync(file, writeCheckpoint(root));
    expect(python("weights-only", [{ file }])[0]).toEqual({ ok: true, error: "" });
    const r = spawnSync(PYTHON, ["-c", `import torch; c = torch.load(${JSON.stringify(file)}); print(c["epoch"], c["model"]["w"].tolist(), type(c["model"]["w"]).__name__, c["optimizer"]["param_groups"][0]["lr"])`], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("7 [1.0, 2.0] Parameter 0.001");
  });
});
