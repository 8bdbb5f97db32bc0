// Mutation tests: random truncations and bit flips of real fixtures. The validator must return a
// report every time (never throw, never fail internally), detect every truncation, and catch every
// bit flip inside a stored tensor record through that record's CRC-32.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesSource } from "../../src/bytes/source.js";
import { entryDataOffsetSync, openZipSync } from "../../src/containers/zip/zip-reader.js";
import { validateCheckpoint } from "../../src/validate/index.js";
import type { ValidationReport } from "../../src/validate/index.js";
import { REPO } from "../helpers/corpus.js";

const load = (name: string) => new Uint8Array(readFileSync(join(REPO, "fixtures/torch", name)));

/** Fixtures whose every strict prefix is a damaged file (tar is excluded: its zero padding may be cut away harmlessly). */
const TRUNCATABLE = ["protocol-2.pt", "views.legacy.pt", "plain.p2.pkl", "plain.p4.pkl", "plain.p2.pkl.gz", "deflated.pt", "zip64.pt", "full-checkpoint.pt", "torchscript.pt", "sparse.legacy.pt"];
const ALL = [...TRUNCATABLE, "tar-format.tar", "big-endian.pt", "state-dict.pt.gz", "whole-module.legacy.pt", "quantized.pt"];
const STORED_ZIPS = ["protocol-2.pt", "dtypes.pt", "views.pt", "zip64.pt", "zip64-python.pt", "full-checkpoint.pt", "newest-layout.pt", "special-floats.pt"];
const fixtures = new Map(ALL.concat(STORED_ZIPS).map((n) => [n, load(n)]));

function noInternalError(r: ValidationReport): void {
  expect(r.findings.filter((f) => f.code === "internal-error")).toEqual([]);
}

/** The byte ranges of a zip's non-empty data/ records. */
function storageRanges(bytes: Uint8Array): { name: string; start: number; end: number }[] {
  const zip = openZipSync(bytesSource(bytes));
  return zip.entries
    .filter((e) => /\/data\/[^/]+$/.test(e.name) && e.size > 0 && e.method === 0)
    .map((e) => {
      const start = entryDataOffsetSync(zip, e);
      return { name: e.name, start, end: start + e.size };
    });
}

describe("validate under mutation", () => {
  it("reports every truncation as an error", () => {
    fc.assert(
      fc.property(fc.constantFrom(...TRUNCATABLE), fc.double({ min: 0, max: 1, noNaN: true }), (name, fraction) => {
        const bytes = fixtures.get(name)!;
        const cut = Math.min(bytes.length - 1, Math.floor(fraction * bytes.length));
        let report: ValidationReport | undefined;
        expect(() => { report = validateCheckpoint(bytes.subarray(0, cut), { name }); }).not.toThrow();
        noInternalError(report!);
        expect(report!.findings.some((f) => f.severity === "error"), `${name} cut at ${cut}`).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it("returns a report for any bit flip anywhere", () => {
    fc.assert(
      fc.property(fc.constantFrom(...ALL), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 7 }), (name, fraction, bit) => {
        const bytes = fixtures.get(name)!.slice();
        const at = Math.min(bytes.length - 1, Math.floor(fraction * bytes.length));
        bytes[at] = bytes[at]! ^ (1 << bit);
        let report: ValidationReport | undefined;
        expect(() => { report = validateCheckpoint(bytes, { name, weightsOnly: true }); }).not.toThrow();
        expect(report!.readable).toBe(true);
        noInternalError(report!);
      }),
      { numRuns: 200 },
    );
  });

  it("catches every bit flip inside a stored tensor record by its CRC", () => {
    const ranges = new Map(STORED_ZIPS.map((n) => [n, storageRanges(fixtures.get(n)!)]));
    for (const [name, list] of ranges) expect(list.length, name).toBeGreaterThan(0);
    fc.assert(
      fc.property(fc.constantFrom(...STORED_ZIPS), fc.nat(), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 7 }), (name, pick, fraction, bit) => {
        const list = ranges.get(name)!;
        const range = list[pick % list.length]!;
        const bytes = fixtures.get(name)!.slice();
        const at = Math.min(range.end - 1, range.start + Math.floor(fraction * (range.end - range.start)));
        bytes[at] = bytes[at]! ^ (1 << bit);
        const report = validateCheckpoint(bytes, { name });
        const crc = report.findings.filter((f) => f.code === "crc-mismatch");
        expect(crc.map((f) => f.where.record), `${name}: flip at ${at} in ${range.name}`).toEqual([range.name]);
        noInternalError(report);
      }),
      { numRuns: 150 },
    );
  });

  it("survives random bytes and random pickle-like streams", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.constantFrom(new Uint8Array(0), new Uint8Array([0x80, 2]), new Uint8Array([0x50, 0x4b, 3, 4])), (tail, head) => {
        const bytes = new Uint8Array(head.length + tail.length);
        bytes.set(head);
        bytes.set(tail, head.length);
        const report = validateCheckpoint(bytes, { weightsOnly: "1.13" });
        expect(report.findings.length).toBeGreaterThan(0);
        noInternalError(report);
      }),
      { numRuns: 300 },
    );
  });
});
