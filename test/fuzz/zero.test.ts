// DeepSpeed ZeRO: the partition arithmetic round-trips any layout DeepSpeed makes; mutated rank
// files fail only with torchsave errors.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mergeZero2, mergeZero3, openZeroSync } from "../../src/distributed/index.js";
import { bytesSource } from "../../src/bytes/source.js";
import { isTorchsaveError } from "../../src/errors.js";
import { tensorBytes, walkTensors } from "../../src/torch/index.js";
import { REPO } from "../helpers/corpus.js";

const shapes = fc.array(fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 0, maxLength: 3 }), { minLength: 1, maxLength: 6 });
const numel = (s: number[]): number => s.reduce((a, b) => a * b, 1);

describe("ZeRO partition arithmetic (property)", () => {
  it("ZeRO-2: a group cut as DeepSpeed cuts it (padded to 2·world, padding stripped) merges back", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), shapes, (ws, ss) => {
        const params = ss.map((shape, i) => ({ name: `p${i}`, shape }));
        const total = ss.reduce((a, s) => a + numel(s), 0);
        const flat = Float32Array.from({ length: total }, (_, i) => i + 1);
        const size = Math.ceil(total / (2 * ws)) * 2;
        const ranks = Array.from({ length: ws }, (_, r) => ({ file: `r${r}`, groups: [flat.slice(Math.min(r * size, total), Math.min((r + 1) * size, total))] }));
        const out = mergeZero2(ws, ranks, [params], "t");
        let at = 0;
        for (const p of params) {
          expect([...out.get(p.name)!]).toEqual([...flat.subarray(at, at + numel(p.shape))]);
          at += numel(p.shape);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("ZeRO-3: per-param partitions of ceil(n/world), zero-padded, merge back", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), shapes, (ws, ss) => {
        const params = ss.map((shape, i) => ({ name: `p${i}`, shape }));
        const values = params.map((p, i) => Float32Array.from({ length: numel(p.shape) }, (_, j) => i * 100 + j + 1));
        const ranks = Array.from({ length: ws }, (_, r) => {
          const parts = values.map((v) => {
            const n = Math.ceil(v.length / ws);
            const part = new Float32Array(n);
            part.set(v.subarray(Math.min(r * n, v.length), Math.min((r + 1) * n, v.length)));
            return part;
          });
          const flat = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
          let at = 0;
          for (const p of parts) {
            flat.set(p, at);
            at += p.length;
          }
          return { file: `r${r}`, groups: [flat] };
        });
        const out = mergeZero3(ws, ranks, params, "t");
        params.forEach((p, i) => expect([...out.get(p.name)!]).toEqual([...values[i]!]));
      }),
      { numRuns: 300 },
    );
  });
});

describe("ZeRO fuzz", () => {
  const DIR = join(REPO, "fixtures/zero/zero2");
  const names = ["latest", "global_step3/mp_rank_00_model_states.pt", "global_step3/bf16_zero_pp_rank_0_mp_rank_00_optim_states.pt", "global_step3/bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt"];
  const FILES = new Map(names.map((f) => [f, new Uint8Array(readFileSync(join(DIR, f)))] as const));
  for (const target of names.slice(1)) {
    it(`mutated ${target.split("/")[1]}: consolidates or fails with a torchsave error`, () => {
      const b = FILES.get(target)!;
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: b.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (edits) => {
          const m = b.slice();
          for (const [at, v] of edits) m[at] = v;
          const files = new Map(FILES);
          files.set(target, m);
          try {
            const ckpt = openZeroSync({ name: "fuzz", open: (f) => bytesSource(files.get(f)!, f) }, { includeOptimizer: true });
            for (const e of walkTensors(ckpt.root)) tensorBytes(e.tensor);
          } catch (e) {
            expect(isTorchsaveError(e), String((e as Error)?.stack ?? e)).toBe(true);
          }
        }),
        { numRuns: 150 },
      );
    });
  }
});
