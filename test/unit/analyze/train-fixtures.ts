/** The training fixtures of fixtures/gen_train.py and the numbers torch computed for them. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { bytesSource } from "../../../src/bytes/source.js";
import { readAnySync } from "../../../src/convert/index.js";
import type { RunSource } from "../../../src/analyze/index.js";
import type { TorchValue } from "../../../src/torch/index.js";
import { REPO } from "../../helpers/corpus.js";

export const TRAIN = join(REPO, "fixtures/train");

/** JSON's stand-ins for NaN and ±Inf, back to numbers. */
const revive = (_k: string, v: unknown): unknown => (v === "NaN" ? NaN : v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : v);

export type Expected = {
  runs: Record<string, ExpectedStep[]>;
  nanRun: { spikeStep: number; nanStep: number; steps: ExpectedStep[] };
  pairs: { perturbed: ExpectedCompare & { path: string[] }; bf16: Record<string, ExpectedCompare>; names: string[] };
  dtypes: Record<string, ExpectedStats>;
};
export type ExpectedStats = { numel: number; min: number | null; max: number | null; mean: number | null; std: number | null; norm: number | null; nan: number; posinf: number; neginf: number; zeros: number };
export type ExpectedStep = { file: string; step: number; loss: number; gradNorm: number | null; tensors: (ExpectedStats & { path: (string | number)[]; key: string; update: number | null; ratio: number | null })[] };
export type ExpectedCompare = { maxAbs: number; meanAbs: number; relL2: number | null; cosine: number | null; differing: number; l2: number };

export const expected = (name = "expected.json"): Expected => JSON.parse(readFileSync(join(TRAIN, name), "utf8"), revive) as Expected;

export function readFixture(rel: string): TorchValue {
  const bytes = new Uint8Array(readFileSync(join(TRAIN, rel)));
  return readAnySync(bytesSource(bytes, rel)).root;
}

/** Every dump of a run folder as sources, in directory (lexicographic) order. */
export function runSources(dir: string): RunSource[] {
  return readdirSync(join(TRAIN, dir)).sort().map((f) => ({
    name: `${dir}/${f}`,
    open: async () => ({ root: readFixture(`${dir}/${f}`) }),
  }));
}

/** Equal within float64 rounding: relative 1e-12 of the larger of |b| and `scale`. */
export function close(a: number | null | undefined, b: number | null, scale = 0, what = ""): void {
  if (b === null || a === null || a === undefined) {
    expect(a ?? null, what).toBe(b);
    return;
  }
  if (!Number.isFinite(b)) {
    expect(Number.isNaN(b) ? Number.isNaN(a) : a === b || Number.isNaN(a), what).toBe(true);
    return;
  }
  const tol = 1e-12 * Math.max(Math.abs(b), scale) + 1e-300;
  expect(Math.abs(a - b), `${what}: ${a} vs ${b}`).toBeLessThanOrEqual(tol);
}

/** Every statistic of `got` matches torch's `want`. */
export function expectStats(got: ExpectedStats, want: ExpectedStats, what: string): void {
  for (const k of ["numel", "nan", "posinf", "neginf", "zeros"] as const) expect(got[k], `${what} ${k}`).toBe(want[k]);
  const scale = Math.max(Math.abs(want.min ?? 0), Math.abs(want.max ?? 0));
  for (const k of ["min", "max", "mean", "std", "norm"] as const) close(got[k], want[k], scale, `${what} ${k}`);
}
