// Mutated inputs fail only with torchsave errors: CRC checks over damaged zip checkpoints (stored
// and deflated records), and the plain JSON import's state_dict recognition over random JSON.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesSource } from "../../src/bytes/source.js";
import { fromPlainJson, readAnySync } from "../../src/convert/index.js";
import { isTorchsaveError } from "../../src/errors.js";
import { REPO } from "../helpers/corpus.js";

const seeds = ["full-checkpoint.pt", "deflated.pt", "zip64.pt"].map((n) => new Uint8Array(readFileSync(join(REPO, "fixtures/torch", n))));

function onlyTyped(run: () => unknown): void {
  try {
    run();
  } catch (e) {
    if (!isTorchsaveError(e)) throw e;
  }
}

describe("CRC checks on mutated checkpoints", () => {
  it("flipped bytes anywhere: a typed error or a clean read, never anything else", () => {
    fc.assert(
      fc.property(fc.nat(seeds.length - 1), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), (s, flips) => {
        const bytes = seeds[s]!.slice();
        for (const [at, x] of flips) bytes[at % bytes.length]! ^= x;
        onlyTyped(() => readAnySync(bytesSource(bytes, "m.pt"), { verifyCrc: "all" }));
      }),
      { numRuns: 150 },
    );
  });

  it("a flipped byte inside any storage record is always caught", () => {
    const bytes = seeds[0]!;
    const read = readAnySync(bytesSource(bytes), { verifyCrc: "none" });
    const storages = read.checkpoint!.storages.filter((st) => st.from !== undefined && st.byteLength > 0);
    fc.assert(
      fc.property(fc.nat(storages.length - 1), fc.nat(), fc.integer({ min: 1, max: 255 }), (i, at, x) => {
        const from = storages[i]!.from!;
        const copy = bytes.slice();
        copy[from.offset + (at % from.length)]! ^= x;
        expect(() => readAnySync(bytesSource(copy, "m.pt"), { verifyCrc: "all" })).toThrow(/crc-mismatch/);
      }),
      { numRuns: 100 },
    );
  });
});

describe("plain JSON state_dict recognition on random JSON", () => {
  it("only typed errors, whatever the shapes", () => {
    const key = fc.constantFrom("state", "param_groups", "params", "betas", "0", "1", "last_epoch", "base_lrs", "milestones", "scale", "x");
    const json = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: "small" }, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null), fc.array(tie("value"), { maxLength: 4 }), fc.dictionary(key, tie("value"), { maxKeys: 5 })),
    })).value;
    fc.assert(
      fc.property(json, (v) => {
        onlyTyped(() => fromPlainJson(JSON.stringify(v)));
      }),
      { numRuns: 500 },
    );
  });
});
