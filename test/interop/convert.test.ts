// Conversions checked by real PyTorch (torch 1.13 through /usr/bin/python3): every fixture torch
// can load → JSON → .pt, → msgpack → .pt, → safetensors → .pt and → plain pickle loads deep-equal
// to the original (fixtures/interop/torch_check.py compare); the safetensors files we write parse
// in Python with only json + numpy (no safetensors package) to the same arrays torch loads; and
// what `convert --to pt` writes for a state_dict loads with weights_only=True.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { convertBytes, fromJson, fromMsgpack, fromSafetensors, toJson, toMsgpack, toPickle, toSafetensors } from "../../src/convert/index.js";
import type { TorchValue } from "../../src/torch/index.js";
import { readCheckpoint } from "../../src/torch/index.js";
import { writeCheckpoint } from "../../src/torch/write/write-checkpoint.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const FIXTURES = join(REPO, "fixtures/torch");
const CHECK = join(REPO, "fixtures/interop/torch_check.py");
const PYTHON = "/usr/bin/python3";

const hasTorch = spawnSync(PYTHON, ["-c", "import torch, numpy"], { encoding: "utf8" }).status === 0;
if (!hasTorch) console.warn(`convert interop tests skipped: ${PYTHON} cannot import torch and numpy`);
/** A Python with the jsonschema package for the schema check (Debian's python3 may lack it; another on PATH may have it). */
const SCHEMA_PYTHON = [PYTHON, "python3"].find((p) => spawnSync(p, ["-c", "import jsonschema"], { encoding: "utf8" }).status === 0);
if (SCHEMA_PYTHON === undefined) console.warn("JSON schema check skipped: no python3 with the jsonschema package");

interface Fixture {
  readonly file: string;
  readonly layout: string;
  readonly weights_only: boolean;
  readonly torch_loadable: boolean;
}

interface Answer {
  readonly ok: boolean;
  readonly error: string;
}

const tmp = mkdtempSync(join(tmpdir(), "torchsave-convert-interop-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const manifest = JSON.parse(readFileSync(join(FIXTURES, "manifest.json"), "utf8")) as { fixtures: Fixture[] };
const loadable = manifest.fixtures.filter((f) => f.torch_loadable && f.layout !== "torchscript");
const loaderOf = (f: Fixture): string => (f.layout === "pickle" ? "pickle" : f.layout === "gzip+pickle" ? "gzip-pickle" : "torch");
const rootOf = (f: Fixture): TorchValue => readCheckpoint(new Uint8Array(readFileSync(join(FIXTURES, f.file))), { name: f.file }).root;

function compare(pairs: { original: string; ours: string; loader: string }[]): string[] {
  const r = spawnSync(PYTHON, [CHECK, "compare"], { input: JSON.stringify(pairs), encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`torch_check.py compare failed: ${r.stderr}`);
  const answers = JSON.parse(r.stdout) as Answer[];
  return answers.flatMap((a, i) => (a.ok ? [] : [`${pairs[i]!.ours}: ${a.error}`]));
}

/** Writes `value` as a .pt through `via` and back, and returns the file. */
function through(f: Fixture, name: string, via: (v: TorchValue) => TorchValue): string {
  const out = join(tmp, `${f.file}.${name}.pt`);
  writeFileSync(out, writeCheckpoint(via(rootOf(f)), { weightsOnly: false }));
  return out;
}

describe.skipIf(!hasTorch)("conversions load in torch as the original", () => {
  it("has fixtures to convert", () => {
    expect(loadable.length).toBeGreaterThan(40);
  });

  const routes: [string, (v: TorchValue) => TorchValue][] = [
    ["json", (v) => fromJson(toJson(v))],
    ["msgpack", (v) => fromMsgpack(toMsgpack(v))],
    ["safetensors", (v) => fromSafetensors(toSafetensors(v)).root],
  ];
  for (const [name, via] of routes) {
    it(`fixture → ${name} → .pt deep-equals the original in torch`, () => {
      const pairs = loadable.map((f) => ({ original: join(FIXTURES, f.file), ours: through(f, name, via), loader: loaderOf(f) }));
      expect(compare(pairs)).toEqual([]);
    });
  }

  it("fixture → plain pickle loads with pickle.load, equal to the original", () => {
    const request = loadable.map((f) => {
      const out = join(tmp, `${f.file}.plain.pkl`);
      writeFileSync(out, toPickle(rootOf(f), { protocol: 2 }));
      return { original: join(FIXTURES, f.file), ours: out, loader: loaderOf(f) };
    });
    // torch_check's Comparer, with pickle.load for ours (torch.load reads only torch's own layouts).
    const script = [
      "import sys, json, pickle",
      `sys.path.insert(0, ${JSON.stringify(dirname(CHECK))})`,
      "import torch_check",
      "bad = []",
      "for item in json.load(sys.stdin):",
      "    try:",
      "        original = torch_check.load(item['original'], item['loader'])",
      "        with open(item['ours'], 'rb') as f: ours = pickle.load(f)",
      "        torch_check.Comparer().value(original, ours)",
      "    except Exception as e: bad.append(f\"{item['ours']}: {type(e).__name__}: {e}\")",
      "print(json.dumps(bad))",
    ].join("\n");
    const r = spawnSync(PYTHON, ["-c", script], { input: JSON.stringify(request), encoding: "utf8", maxBuffer: 1 << 26 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });

  it("state_dicts converted to .pt load with weights_only=True", () => {
    const weightsOnly = loadable.filter((f) => f.weights_only);
    expect(weightsOnly.length).toBeGreaterThan(20);
    const pairs = weightsOnly.map((f) => {
      const json = new TextEncoder().encode(toJson(rootOf(f)));
      const out = join(tmp, `${f.file}.convert.pt`);
      writeFileSync(out, convertBytes(json, { to: "pt" }));
      return { original: join(FIXTURES, f.file), ours: out, loader: loaderOf(f) };
    });
    // Known: for weights_only the writer spells CSR tensors as current PyTorch's
    // _rebuild_sparse_tensor, which torch 1.13 cannot rebuild (it has _rebuild_sparse_csr_tensor).
    const csr = (p: string) => /\/sparse(\.legacy)?\.pt\.convert\.pt: NotImplementedError: rebuilding sparse tensor for layout torch\.sparse_csr$/.test(p);
    const failures = compare(pairs);
    expect(failures.filter((p) => !csr(p))).toEqual([]);
    expect(failures.filter(csr)).toHaveLength(2);
    const script = [
      "import sys, json, torch",
      "bad = []",
      "for p in json.load(sys.stdin):",
      "    try: torch.load(p, weights_only=True)",
      "    except Exception as e: bad.append(f'{p}: {e}')",
      "print(json.dumps(bad))",
    ].join("\n");
    const r = spawnSync(PYTHON, ["-c", script], { input: JSON.stringify(pairs.map((p) => p.ours)), encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const refused = JSON.parse(r.stdout) as string[];
    const csrRefused = (p: string) => /\/sparse(\.legacy)?\.pt\.convert\.pt: .*rebuilding sparse tensor for layout torch\.sparse_csr$/.test(p);
    expect(refused.filter((p) => !csrRefused(p))).toEqual([]);
    expect(refused.filter(csrRefused)).toHaveLength(2);
  });

  it.skipIf(SCHEMA_PYTHON === undefined)("JSON documents of every fixture validate against docs/json-format.schema.json", () => {
    const docs = manifest.fixtures.map((f) => {
      const out = join(tmp, `${f.file}.json`);
      writeFileSync(out, toJson(rootOf(f)));
      return out;
    });
    // The whole document against #/$defs/checkpoint, and each $tensor/$storage/$ndarray object
    // against its own definition (inside values they are the schema's open host extension point).
    const script = String.raw`
import sys, json, jsonschema
schema = json.load(open(sys.argv[1]))
def check(instance, name):
    jsonschema.validate(instance, {**schema, "$ref": "#/$defs/" + name})
bad = []
for path in json.load(sys.stdin):
    doc = json.load(open(path))
    try:
        check(doc, "checkpoint")
        stack = [doc["root"]]
        while stack:
            v = stack.pop()
            if isinstance(v, list): stack.extend(v)
            elif isinstance(v, dict):
                for tag, name in (("$tensor", "tensor"), ("$storage", "storageRef"), ("$ndarray", "ndarray")):
                    if tag in v: check(v, name)
                stack.extend(v.values())
    except jsonschema.ValidationError as e:
        bad.append(f"{path}: {e.message} at {list(e.absolute_path)}")
print(json.dumps(bad))
`;
    const r = spawnSync(SCHEMA_PYTHON!, ["-c", script, join(REPO, "docs/json-format.schema.json")], { input: JSON.stringify(docs), encoding: "utf8", maxBuffer: 1 << 26 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });

  it("safetensors we write parse with json + numpy to the arrays torch loads", () => {
    const files = loadable.filter((f) => ["dtypes.pt", "tied-weights.pt", "views.pt", "optim-adam.pt", "full-checkpoint.pt", "special-floats.pt", "shapes.pt"].includes(f.file));
    expect(files.length).toBe(7);
    const request = files.map((f) => {
      const out = join(tmp, `${f.file}.safetensors`);
      writeFileSync(out, toSafetensors(rootOf(f), { skeleton: false }));
      return { safetensors: out, original: join(FIXTURES, f.file) };
    });
    // Each entry named like a tensor of the original (a key path) must hold that tensor's values.
    const script = String.raw`
import sys, json, struct, numpy as np, torch
DT = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
      "U8": "u1", "BOOL": "?", "C64": "<c8", "U16": "<u2", "U32": "<u4", "U64": "<u8"}
def walk(v, path, out):
    if isinstance(v, torch.Tensor): out[".".join(map(str, path))] = v
    elif isinstance(v, dict):
        for k, x in v.items():
            if isinstance(k, (str, int)): walk(x, path + [k], out)
    elif isinstance(v, (list, tuple)):
        for i, x in enumerate(v): walk(x, path + [i], out)
bad = []
for item in json.load(sys.stdin):
    data = open(item["safetensors"], "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    assert n % 8 == 0 and data[8:9] == b"{"
    header = json.loads(data[8:8 + n])
    buf = data[8 + n:]
    tensors = {}
    walk(torch.load(item["original"], map_location="cpu"), [], tensors)
    seen = 0
    for name, info in header.items():
        if name == "__metadata__" or name.startswith("__storage__/"): continue
        b, e = info["data_offsets"]
        arr = np.frombuffer(buf[b:e], dtype=DT[info["dtype"]]).reshape(info["shape"])
        t = tensors[name].detach().contiguous()
        ref = t.view(torch.int16).numpy().view("<u2") if t.dtype == torch.bfloat16 else t.numpy()
        if arr.shape != ref.shape or arr.tobytes() != np.ascontiguousarray(ref).tobytes():
            bad.append(f"{item['safetensors']}: {name} differs")
        seen += 1
    if seen == 0: bad.append(f"{item['safetensors']}: no tensor entries")
print(json.dumps(bad))
`;
    const r = spawnSync(PYTHON, ["-c", script], { input: JSON.stringify(request), encoding: "utf8", maxBuffer: 1 << 26 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });
});
