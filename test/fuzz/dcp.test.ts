// Mutated DCP inputs fail only with torchsave errors: `.metadata` bytes, chunk files, shard indexes.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { openDcpSync, parseShardIndex, readDcpMetadata } from "../../src/distributed/index.js";
import { bytesSource } from "../../src/bytes/source.js";
import { isTorchsaveError } from "../../src/errors.js";
import { tensorBytes, walkTensors } from "../../src/torch/index.js";
import { REPO } from "../helpers/corpus.js";

const DIR = join(REPO, "fixtures/dcp/sharded");
const FILES = new Map<string, Uint8Array>(readdirSync(DIR).map((f) => [f, new Uint8Array(readFileSync(join(DIR, f)))] as const));

const mutation = (size: number) =>
  fc.array(fc.tuple(fc.integer({ min: 0, max: size - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 });

function mutate(b: Uint8Array, edits: [number, number][]): Uint8Array<ArrayBuffer> {
  const out = b.slice();
  for (const [at, v] of edits) out[at] = v;
  return out;
}

function onlyOurErrors(run: () => void): void {
  try {
    run();
  } catch (e) {
    expect(isTorchsaveError(e), String((e as Error)?.stack ?? e)).toBe(true);
  }
}

describe("DCP fuzz", () => {
  it("mutated .metadata: parse and read every tensor, or a torchsave error", () => {
    const meta = FILES.get(".metadata")!;
    fc.assert(
      fc.property(mutation(meta.length), (edits) => {
        const files = new Map(FILES);
        files.set(".metadata", mutate(meta, edits));
        onlyOurErrors(() => {
          const ckpt = openDcpSync({ name: "fuzz", open: (f) => bytesSource(files.get(f) ?? new Uint8Array(0), f) });
          for (const e of walkTensors(ckpt.root)) tensorBytes(e.tensor);
        });
      }),
      { numRuns: 300 },
    );
  });

  it("mutated rank files: a torchsave error or bytes of the declared size", () => {
    const rank = FILES.get("__1_0.distcp")!;
    fc.assert(
      fc.property(mutation(rank.length), (edits) => {
        const files = new Map(FILES);
        files.set("__1_0.distcp", mutate(rank, edits));
        onlyOurErrors(() => {
          const ckpt = openDcpSync({ name: "fuzz", open: (f) => bytesSource(files.get(f)!, f) });
          for (const e of walkTensors(ckpt.root)) expect(tensorBytes(e.tensor).length).toBe(e.tensor.storage!.byteLength);
        });
      }),
      { numRuns: 200 },
    );
  });

  it("random text as a shard index: parsed or refused with invalid-data", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => onlyOurErrors(() => parseShardIndex(text))),
      { numRuns: 300 },
    );
  });

  it("every prefix of .metadata is refused with a torchsave error", () => {
    const meta = FILES.get(".metadata")!;
    for (let n = 0; n < meta.length; n += 13) onlyOurErrors(() => readDcpMetadata(meta.subarray(0, n)));
  });
});
