// Plain pickles from real torch (1.13 through /usr/bin/python3, 2.6 through ../shared/tools/torch2;
// when either is missing these tests fail, they never skip): each torch writes a 39 MiB
// `pickle.dump` of tensors at protocols 4 and 5, whose large payloads sit outside frames, so
// `readPlainPickleInPlace` reads it leaving them in the file (checked here through the library: the
// CLI reads an input this small whole). `torchsave convert` turns it into a .pt and into a msgpack
// document, the msgpack back into a .pt, and the same torch finds each .pt deep-equal to its own
// pickle.load of the original.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openFileSource } from "../../src/node/file-source.js";
import { readPlainPickleInPlace } from "../../src/torch/read/read-checkpoint.js";
import { runCli } from "../helpers/cli.js";
import { REPO } from "../helpers/corpus.js";

const TORCH2 = join(REPO, "../shared/tools/torch2");
const CHECK = join(REPO, "fixtures/interop/torch_check.py");
const tmp = mkdtempSync(join(tmpdir(), "torchsave-large-inputs-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const WRITE = `
import pickle, sys, torch
g = torch.Generator().manual_seed(16)
state = {
  "embed.weight": torch.randn(2048, 2048, generator=g),           # 16 MiB
  "lm_head.weight": torch.randn(1024, 2048, generator=g).half(),   # 4 MiB
  "steps": torch.arange(2_500_000, dtype=torch.int64),              # 20 MiB
  "norm.bias": torch.randn(7, generator=g),
  "epoch": 3, "note": "plain pickle",
}
state["tied"] = state["embed.weight"]                                # one storage, two names
with open(sys.argv[1], "wb") as f:
    pickle.dump(state, f, protocol=int(sys.argv[2]))
`;

function python(torch: "1.13" | "2.6", args: string[], input?: string) {
  const [cmd, pre] = torch === "2.6" ? [TORCH2, ["python3"]] : ["/usr/bin/python3", []];
  return spawnSync(cmd, [...pre, ...args], { encoding: "utf8", cwd: REPO, input: input ?? "", maxBuffer: 1 << 26, timeout: 600_000 });
}

describe("plain pickles from real torch, read in place", () => {
  for (const torch of ["1.13", "2.6"] as const) {
    for (const protocol of [4, 5]) {
      it(`torch ${torch}, protocol ${protocol}: .pkl → .pt and .pkl → .msgpack → .pt load as torch's own pickle.load`, () => {
        const pkl = join(tmp, `t${torch}-p${protocol}.pkl`);
        const wrote = python(torch, ["-c", WRITE, pkl, String(protocol)]);
        expect(wrote.status, wrote.stderr).toBe(0);
        expect(statSync(pkl).size).toBeGreaterThan(32 * 2 ** 20); // well past the in-place threshold (16 MiB)
        // The reader takes the in-place path for it (not the whole-file fallback).
        const file = openFileSource(pkl);
        try {
          expect(readPlainPickleInPlace(file)?.storages.length).toBe(4);
        } finally {
          file.close();
        }
        const pt = join(tmp, `t${torch}-p${protocol}.pt`);
        const packed = join(tmp, `t${torch}-p${protocol}.msgpack`);
        const back = join(tmp, `t${torch}-p${protocol}.back.pt`);
        for (const args of [["convert", pkl, pt, "-q"], ["convert", pkl, packed, "-q"], ["convert", packed, back, "-q"]]) {
          const r = runCli(args);
          expect(r.status, `${args.join(" ")}: ${r.stderr}`).toBe(0);
        }
        const pairs = [pt, back].map((ours) => ({ original: pkl, ours, loader: "pickle" }));
        const r = python(torch, [CHECK, "compare"], JSON.stringify(pairs));
        expect(r.status, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout)).toEqual(pairs.map(() => ({ ok: true, error: "" })));
      }, 600_000);
    }
  }
});
