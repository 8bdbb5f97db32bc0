// Mutation tests of whole checkpoint folders: a random file of a real DCP, shard or DeepSpeed
// folder truncated or bit-flipped. validateFolder must resolve with a report every time (never
// reject, never fail internally), and a truncated file must always give an error (except cutting
// only the trailing whitespace of an index file).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesSource, type ByteSource } from "../../src/bytes/source.js";
import { folderFromSources, validateFolder } from "../../src/distributed/index.js";
import { REPO } from "../helpers/corpus.js";

function load(rel: string): Map<string, Uint8Array> {
  const root = join(REPO, rel);
  const out = new Map<string, Uint8Array>();
  for (const n of readdirSync(root)) {
    const p = join(root, n);
    if (statSync(p).isDirectory()) for (const m of readdirSync(p)) out.set(`${n}/${m}`, new Uint8Array(readFileSync(join(p, m))));
    else out.set(n, new Uint8Array(readFileSync(p)));
  }
  return out;
}

const FOLDERS = ["fixtures/dcp/sharded", "fixtures/dcp/sharded_st", "fixtures/shards/bin", "fixtures/zero/zero2"].map((rel) => [rel, load(rel)] as const);

function folder(files: ReadonlyMap<string, Uint8Array>, file: string, bytes: Uint8Array) {
  const sources = new Map<string, ByteSource>();
  for (const [n, b] of files) sources.set(n, bytesSource(n === file ? bytes : b, n));
  return folderFromSources("fuzz", sources);
}

const pick = fc.constantFrom(...FOLDERS).chain(([rel, files]) => fc.record({ rel: fc.constant(rel), files: fc.constant(files), file: fc.constantFrom(...[...files.keys()].filter((n) => n !== "latest")) }));

describe("validateFolder under mutation", () => {
  it("returns a report for any bit flip in any file, with no internal error", async () => {
    await fc.assert(
      fc.asyncProperty(pick, fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 7 }), async ({ files, file }, at, bit) => {
        const b = files.get(file)!.slice();
        const i = Math.min(b.length - 1, Math.floor(at * b.length));
        b[i]! ^= 1 << bit;
        const r = await validateFolder(folder(files, file, b), { weightsOnly: true });
        expect(r.findings.filter((f) => f.code === "internal-error")).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });

  it("reports every truncated file as an error", async () => {
    await fc.assert(
      fc.asyncProperty(pick, fc.double({ min: 0, max: 0.999, noNaN: true }), async ({ files, file }, fraction) => {
        const b = files.get(file)!;
        const cut = b.subarray(0, Math.floor(fraction * b.length));
        fc.pre(!/^\s*$/.test(new TextDecoder().decode(b.subarray(cut.length)))); // an index's trailing newline may go harmlessly
        const r = await validateFolder(folder(files, file, cut));
        expect(r.findings.filter((f) => f.code === "internal-error")).toEqual([]);
        expect(r.counts.error, `${file} cut at ${cut.length}`).toBeGreaterThan(0);
      }),
      { numRuns: 40 },
    );
  });
});
