// `validate --weights-only` must agree with real torch.load(weights_only=True) of torch 1.13 (the
// torch installed for interop tests) on every fixture in fixtures/torch: our own files, so loading
// them with real torch is safe. Runs one Python process for all fixtures.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { zipSync } from "fflate";
import { afterAll, describe, expect, it } from "vitest";
import { validateCheckpoint } from "../../src/validate/index.js";
import { REPO } from "../helpers/corpus.js";
import { asm, op, type Part } from "../unit/validate/pickle-asm.js";

const PYTHON = "/usr/bin/python3";
/** torch 2.6 (.ci/run sets it up). */
const TORCH2 = join(REPO, "../shared/tools/torch2");
const DIR = join(REPO, "fixtures/torch");

const SCRIPT = `
import json, sys, warnings
warnings.filterwarnings("ignore")
import torch
out = {"torch": torch.__version__, "results": {}}
for path in sys.argv[1:]:
    try:
        torch.load(path, map_location="cpu", weights_only=True)
        out["results"][path] = {"accepted": True}
    except Exception as e:
        out["results"][path] = {"accepted": False, "error": (type(e).__name__ + ": " + str(e))[-300:]}
print(json.dumps(out))
`;

const files = readdirSync(DIR).filter((f) => !/\.(json|jsonl|md)$/.test(f)).sort();

interface TorchAnswer {
  readonly torch: string;
  readonly results: Record<string, { accepted: boolean; error?: string }>;
}

function askTorch(paths: string[], torch: "1.13" | "2.6" = "1.13"): TorchAnswer {
  const [cmd, args] = torch === "1.13" ? [PYTHON, ["-c", SCRIPT, ...paths]] : [TORCH2, ["python3", "-c", SCRIPT, ...paths]];
  const stdout = execFileSync(cmd, args, { encoding: "utf8", maxBuffer: 16 * 2 ** 20, timeout: 600_000, cwd: REPO });
  return JSON.parse(stdout) as TorchAnswer;
}

describe("--weights-only agrees with torch.load(weights_only=True)", () => {
  const answer = askTorch(files.map((f) => join(DIR, f)));

  it("runs against torch 1.13", () => {
    expect(answer.torch).toMatch(/^1\.13/);
    expect(files.length).toBeGreaterThan(60);
  });

  for (const file of files) {
    it(file, () => {
      const torch = answer.results[join(DIR, file)];
      expect(torch, `torch gave no answer for ${file}`).toBeDefined();
      const report = validateCheckpoint(new Uint8Array(readFileSync(join(DIR, file))), { name: file, weightsOnly: "1.13" });
      const ours = report.weightsOnly!;
      const why = ours.blockers.map((b) => `${b.code}: ${b.message}`).join("\n");
      expect(ours.accepted, `torch: ${torch!.accepted ? "accepted" : torch!.error}\nours:\n${why}`).toBe(torch!.accepted);
      expect(report.findings.some((f) => f.code === (ours.accepted ? "weights-only-accepted" : "weights-only-format") || f.code.startsWith("weights-only-"))).toBe(true);
    });
  }

  it("accepts and refuses a fair share of the fixtures (the test can fail both ways)", () => {
    const verdicts = Object.values(answer.results).map((r) => r.accepted);
    expect(verdicts.filter((v) => v).length).toBeGreaterThan(10);
    expect(verdicts.filter((v) => !v).length).toBeGreaterThan(10);
  });
});

// Hand-made zip checkpoints that probe the emulation's rules one at a time (no dangerous globals:
// torch loads them with its restricted unpickler only).
const TMP = mkdtempSync(join(tmpdir(), "torchsave-wo-"));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

const storage = (key: string): Part[] => [
  op.mark, op.unicode("storage"), op.global("torch", "FloatStorage"), op.unicode(key), op.unicode("cpu"), op.binint1(2), op.tuple, op.binpersid,
];
const tensor = (key: string): Part[] => [
  op.global("torch._utils", "_rebuild_tensor_v2"), op.mark, ...storage(key), op.binint1(0), op.binint1(2), op.tuple1, op.binint1(1), op.tuple1,
  op.false, op.global("collections", "OrderedDict"), op.emptyTuple, op.reduce, op.tuple, op.reduce,
];
const dictWith = (...items: Part[][]): Uint8Array => asm(op.proto(2), op.emptyDict, op.unicode("w"), ...tensor("0"), op.setitem, ...items.flat(), op.stop);

/** Probes where pytorch main's rules ("current") differ from torch 2.6's. */
const CURRENT_DIFFERS = new Set(["setitem-list"]);

const PROBES: Record<string, Uint8Array> = {
  "plain": dictWith(),
  "binfloat": dictWith([op.unicode("lr"), op.binfloat(), op.setitem]),
  "short-binstring-key": dictWith([op.shortBinstring("k"), op.binint1(1), op.setitem]),
  "empty-set": dictWith([op.unicode("s"), [0x8f], op.setitem]),
  "tuple3": dictWith([op.unicode("t"), op.binint1(1), op.binint1(2), op.binint1(3), op.tuple3, op.setitem]),
  "newobj-counter": dictWith([op.unicode("c"), op.global("collections", "Counter"), op.emptyTuple, op.newobj, op.setitem]),
  "python2-set": dictWith([op.unicode("s"), op.global("__builtin__", "set"), op.emptyList, op.tuple1, op.reduce, op.setitem]),
  "build-dict": dictWith([op.unicode("d"), op.emptyDict, op.emptyDict, op.build, op.setitem]),
  "append-ordereddict": dictWith([op.unicode("o"), op.global("collections", "OrderedDict"), op.emptyTuple, op.reduce, op.none, op.append, op.setitem]),
  "module-persistent-id": dictWith([op.unicode("m"), op.unicode("module"), op.tuple1, op.binpersid, op.setitem]),
  "int-persistent-id": dictWith([op.unicode("m"), op.binint1(3), op.binpersid, op.setitem]),
  "memoize": asm(op.proto(4), op.emptyDict, op.memoize, op.stop),
  "setitem-list": dictWith([op.unicode("l"), op.emptyList, op.mark, op.binint1(5), op.appends, op.binint1(0), op.binint1(7), op.setitem, op.setitem]),
  "list-appends": dictWith([op.unicode("l"), op.emptyList, op.mark, op.binint1(1), op.binint1(2), op.appends, op.setitem]),
};

describe("--weights-only agrees with torch on hand-made probes", () => {
  const paths = Object.entries(PROBES).map(([name, pkl]) => {
    const path = join(TMP, `${name}.pt`);
    writeFileSync(path, zipSync({
      "archive/data.pkl": [pkl, { level: 0 }], "archive/data/0": [new Uint8Array(8), { level: 0 }],
      "archive/version": [new TextEncoder().encode("3\n"), { level: 0 }],
    }));
    return path;
  });
  const answer = askTorch(paths);
  for (const path of paths) {
    it(path.slice(TMP.length + 1), () => {
      const torch = answer.results[path]!;
      const ours = validateCheckpoint(new Uint8Array(readFileSync(path)), { weightsOnly: "1.13" }).weightsOnly!;
      expect(ours.accepted, `torch: ${torch.accepted ? "accepted" : torch.error}\nours: ${ours.blockers.map((b) => b.message).join("; ")}`).toBe(torch.accepted);
    });
  }
});

describe("--weights-only --torch 2.6 and current agree with torch 2.6 on hand-made probes", () => {
  const paths26 = Object.entries(PROBES).map(([name, pkl]) => {
    const path = join(TMP, `${name}.pt`);
    writeFileSync(path, zipSync({
      "archive/data.pkl": [pkl, { level: 0 }], "archive/data/0": [new Uint8Array(8), { level: 0 }],
      "archive/version": [new TextEncoder().encode("3\n"), { level: 0 }],
    }));
    return path;
  });
  const answer = askTorch(paths26, "2.6");
  it("ran torch 2.6", () => expect(answer.torch).toMatch(/^2\.6/));
  for (const path of paths26) {
    it(path.slice(TMP.length + 1), () => {
      const torch = answer.results[path]!;
      const ours = validateCheckpoint(new Uint8Array(readFileSync(path)), { weightsOnly: "2.6" }).weightsOnly!;
      expect(ours.accepted, `torch: ${torch.accepted ? "accepted" : torch.error}\nours: ${ours.blockers.map((b) => b.message).join("; ")}`).toBe(torch.accepted);
      // "current" differs from 2.6 only on SETITEM targets and int persistent ids (upstream fixes after 2.6).
      const name = path.slice(TMP.length + 1, -".pt".length);
      const current = validateCheckpoint(new Uint8Array(readFileSync(path)), { weightsOnly: "current" }).weightsOnly!.accepted;
      expect(current).toBe(CURRENT_DIFFERS.has(name) ? !torch.accepted : torch.accepted);
    });
  }
});
