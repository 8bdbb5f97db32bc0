// Every torch fixture (fixtures/torch, written by real torch 1.13) through every format and back:
// the lossless formats give the identical value graph and exactly torch's tensor lines; the
// torch formats (zip, legacy, plain pickle) give the same tensors as torch.load would see them.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { fromJson, fromMsgpack, fromSafetensors, toJson, toMsgpack, toPickle, toSafetensors } from "../../../src/convert/index.js";
import { isTorchsaveError } from "../../../src/errors.js";
import type { Checkpoint, TorchValue } from "../../../src/torch/index.js";
import { readCheckpoint, walkTensors } from "../../../src/torch/index.js";
import { writeCheckpoint } from "../../../src/torch/write/write-checkpoint.js";
import { tensorLine } from "../../../src/cli/commands/tensors.js";
import { torchDiff } from "./torch-equal.js";

interface FixtureEntry {
  readonly file: string;
  readonly layout: string;
  readonly lines_source?: string;
}

const DIR = "fixtures/torch";
const manifest = JSON.parse(readFileSync(`${DIR}/manifest.json`, "utf8")) as { fixtures: FixtureEntry[] };

/** `torchsave tensors --json` lines of a value (strided tensors with storage, as torch's tool lists them). */
const lines = (root: TorchValue): string[] =>
  walkTensors(root).filter((e) => e.tensor.layout === "strided" && e.tensor.storage !== undefined).map(tensorLine);
/** The lines without stride and offset, which a writer may change (legacy views become offsets into their root). */
const logicalLines = (root: TorchValue): string[] =>
  lines(root).map((l) => {
    const { path, dtype, shape, sha256 } = JSON.parse(l) as Record<string, unknown>;
    return JSON.stringify({ path, dtype, shape, sha256 });
  });
const expectedLines = (file: string): string[] => {
  try {
    return readFileSync(`${DIR}/${file}.tensors.jsonl`, "utf8").split("\n").filter((l) => l.length > 0);
  } catch {
    return [];
  }
};

const LOSSLESS: readonly [string, (v: TorchValue) => TorchValue][] = [
  ["json", (v) => fromJson(toJson(v))],
  ["msgpack", (v) => fromMsgpack(toMsgpack(v))],
  ["safetensors", (v) => fromSafetensors(toSafetensors(v)).root],
];

/** Through torch's own formats; undefined when the writer (rightly) refuses the value for that layout. */
const TORCH: readonly [string, (v: TorchValue) => TorchValue][] = [
  ["pt", (v) => readCheckpoint(writeCheckpoint(v, { weightsOnly: false })).root],
  ["pt-legacy", (v) => readCheckpoint(writeCheckpoint(v, { layout: "legacy", weightsOnly: false })).root],
  ["pickle", (v) => readCheckpoint(toPickle(v)).root],
];

/** What the legacy layout and plain pickles cannot hold: untyped storages (torch >= 2.1 dtypes), torch 1.13's gap too. */
const REFUSED_BY_LEGACY = new Set(["v3-dtypes.pt"]);

describe("fixtures through every format", () => {
  for (const fx of manifest.fixtures) {
    describe(fx.file, () => {
      let ckpt: Checkpoint;
      try {
        ckpt = readCheckpoint(new Uint8Array(readFileSync(`${DIR}/${fx.file}`)), { name: fx.file });
      } catch (e) {
        it("is read by the torch reader", () => {
          throw e;
        });
        return;
      }
      const expected = expectedLines(fx.file);

      for (const [format, through] of LOSSLESS) {
        it(`${format}: identical value graph and torch's tensor lines`, () => {
          const back = through(ckpt.root);
          expect(torchDiff(ckpt.root, back)).toBeUndefined();
          if (expected.length > 0) expect(lines(back)).toEqual(expected);
        });
      }

      for (const [format, through] of TORCH) {
        it(`${format}: the same tensors and values as torch.load sees them`, () => {
          let back: TorchValue;
          try {
            back = through(ckpt.root);
          } catch (e) {
            if (!isTorchsaveError(e)) throw e;
            expect(format !== "pt" && REFUSED_BY_LEGACY.has(fx.file), `${format} refused ${fx.file}: ${e.message}`).toBe(true);
            expect(e.code).toBe("unencodable");
            return;
          }
          expect(format !== "pt" && REFUSED_BY_LEGACY.has(fx.file), `${format} should refuse ${fx.file}`).toBe(false);
          expect(torchDiff(ckpt.root, back, { tensors: "logical" })).toBeUndefined();
          expect(logicalLines(back)).toEqual(logicalLines(ckpt.root));
        });
      }
    });
  }
});
