// Mutated torch checkpoints read three ways: from bytes in memory (local headers checked in place
// per directory row), through a readSync source (headers read in shared spans) and through an
// async source. Only torchsave errors may escape, and whenever two ways read a file they agree on
// every storage's location and on the quirks recorded.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ByteSource } from "../../src/bytes/source.js";
import { isTorchsaveError } from "../../src/errors.js";
import { openCheckpoint, openCheckpointSync, readCheckpoint } from "../../src/torch/index.js";
import type { Checkpoint } from "../../src/torch/index.js";
import { REPO } from "../helpers/corpus.js";

const fixture = (name: string) => new Uint8Array(readFileSync(join(REPO, "fixtures/torch", name)));
const SEEDS = ["full-checkpoint.pt", "dtypes.pt", "numpy-structured.pt", "deflated.pt", "zip64.pt", "numpy-structured.npz"].map(fixture);

/** A source that reads synchronously but holds no bytes in memory, as a file does. */
function syncSource(bytes: Uint8Array): ByteSource {
  return { size: bytes.length, readSync: (o, l) => bytes.slice(o, o + l), read: async (o, l) => bytes.slice(o, o + l) };
}
/** An async-only source, as a Blob is. */
function asyncSource(bytes: Uint8Array): ByteSource {
  return { size: bytes.length, read: async (o, l) => bytes.slice(o, o + l) };
}

/** What two reads must agree on, or the error code; anything but a torchsave error is rethrown. */
function outcome(read: () => Checkpoint): unknown {
  try {
    const c = read();
    return {
      storages: c.storages.map((s) => [s.key, s.from?.offset, s.from?.length, s.from?.record, s.byteLength]),
      quirks: c.zip?.quirks.map((q) => `${q.code}@${q.offset}`),
    };
  } catch (e) {
    if (!isTorchsaveError(e)) throw e;
    return { error: e.code };
  }
}
async function outcomeAsync(read: () => Promise<Checkpoint>): Promise<unknown> {
  try {
    const c = await read();
    return outcome(() => c);
  } catch (e) {
    if (!isTorchsaveError(e)) throw e;
    return { error: e.code };
  }
}

/**
 * A seed with a few bytes overwritten anywhere (positions uniform over the file: about a quarter
 * of the results still read, so the paths are compared, not just made to fail).
 */
const mutated = fc
  .tuple(fc.nat(SEEDS.length - 1), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }))
  .map(([i, edits]) => {
    const bytes = SEEDS[i]!.slice();
    for (const [where, value] of edits) bytes[where % bytes.length] = value;
    return bytes;
  });

describe("checkpoint read paths under mutation", () => {
  it("in memory and through readSync: only torchsave errors, and the same storages and quirks", () => {
    let compared = 0;
    fc.assert(
      fc.property(mutated, (bytes) => {
        const memory = outcome(() => readCheckpoint(bytes));
        const sync = outcome(() => openCheckpointSync(syncSource(bytes)));
        // The in-memory read locates as it decodes; the source read after: the same answer either way.
        if (!("error" in (memory as object)) && !("error" in (sync as object))) {
          expect(sync).toEqual(memory);
          compared++;
        }
      }),
      { numRuns: 600 },
    );
    expect(compared).toBeGreaterThan(60);
  });

  it("through an async source: only torchsave errors, and the readSync answer", async () => {
    await fc.assert(
      fc.asyncProperty(mutated, async (bytes) => {
        const sync = outcome(() => openCheckpointSync(syncSource(bytes)));
        const lazy = await outcomeAsync(() => openCheckpoint(asyncSource(bytes)));
        if (!("error" in (sync as object)) && !("error" in (lazy as object))) expect(lazy).toEqual(sync);
      }),
      { numRuns: 300 },
    );
  });

  it("unmutated seeds read the same every way", async () => {
    for (const bytes of SEEDS) {
      const memory = outcome(() => readCheckpoint(bytes));
      expect(memory).not.toHaveProperty("error");
      expect(outcome(() => openCheckpointSync(syncSource(bytes)))).toEqual(memory);
      expect(await outcomeAsync(() => openCheckpoint(asyncSource(bytes)))).toEqual(memory);
    }
  });
});
