import { readFileSync } from "node:fs";
import fc from "fast-check";
import { zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { bytesSource, callbackSource } from "../../src/bytes/source.js";
import { isTorchsaveError } from "../../src/errors.js";
import {
  entryDataOffsetSync,
  openZip,
  openZipSync,
  readEntry,
  readEntrySync,
  scanLocalHeaders,
  scanLocalHeadersSync,
} from "../../src/containers/zip/zip-reader.js";

const CORPUS = new URL("../../../shared/corpus/", import.meta.url);
const corpus = (path: string): Uint8Array => new Uint8Array(readFileSync(new URL(path, CORPUS)));
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

const SMALL = zipSync({
  "archive/data.pkl": utf8("\x80\x02}q\x00."),
  "archive/data/0": [new Uint8Array(300).fill(7), { level: 0 }],
  "archive/data/1": [utf8("compressible ".repeat(40)), { level: 6 }],
  "archive/version": utf8("3\n"),
});
const SEEDS: readonly Uint8Array[] = [
  SMALL,
  corpus("burn/checkpoint.pt"),
  corpus("tch-rs/foo1.pt"),
  corpus("picklescan/malicious1_0x20.zip"),
  corpus("modelscan/password_protected.zip"),
];

/** Runs everything the reader offers on the bytes; returns normally or throws only torchsave errors. */
function exercise(bytes: Uint8Array): void {
  try {
    const zip = openZipSync(bytesSource(bytes), { maxEntries: 10_000 });
    scanLocalHeadersSync(zip);
    for (const e of zip.entries) {
      try {
        const data = readEntrySync(zip, e, { maxInflatedSize: 1 << 20 });
        expect(data.length).toBe(e.size);
      } catch (err) {
        if (!isTorchsaveError(err)) throw err;
      }
    }
    zip.get("data.pkl");
  } catch (err) {
    if (!isTorchsaveError(err)) throw err;
    expect(typeof err.code).toBe("string");
  }
}

async function exerciseAsync(bytes: Uint8Array): Promise<void> {
  const source = callbackSource(bytes.length, (o, l) => bytes.slice(o, o + l));
  try {
    const zip = await openZip(source);
    await scanLocalHeaders(zip);
    for (const e of zip.entries) {
      try {
        await readEntry(zip, e, { maxInflatedSize: 1 << 20 });
      } catch (err) {
        if (!isTorchsaveError(err)) throw err;
      }
    }
  } catch (err) {
    if (!isTorchsaveError(err)) throw err;
  }
}

/** A seed with a few bytes overwritten, biased toward the directory at the end. */
const mutated = fc
  .tuple(
    fc.constantFrom(...SEEDS.map((_, i) => i)),
    fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
  )
  .map(([i, edits]) => {
    const bytes = SEEDS[i]!.slice();
    for (const [where, nearEnd, value] of edits) {
      const span = nearEnd ? Math.min(bytes.length, 200) : bytes.length;
      bytes[bytes.length - span + Math.floor(where * span) % span] = value;
    }
    return bytes;
  });

describe("zip reader fuzz", () => {
  it("random bytes: only torchsave errors escape", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (junk, framed) => {
        // Framed: a local header signature in front and an end record behind, so parsing goes deeper.
        const bytes = framed ? Uint8Array.from([0x50, 0x4b, 3, 4, ...junk, 0x50, 0x4b, 5, 6, ...junk.subarray(0, 18)]) : junk;
        exercise(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it("mutated real archives: only torchsave errors escape, and reads match declared sizes", () => {
    fc.assert(fc.property(mutated, (bytes) => exercise(bytes)), { numRuns: 1500 });
  });

  it("mutated real archives through the async path", async () => {
    await fc.assert(fc.asyncProperty(mutated, (bytes) => exerciseAsync(bytes)), { numRuns: 300 });
  });

  it("corrupted deflate data inside otherwise valid archives", () => {
    const targets = [SMALL, corpus("tch-rs/foo1.pt")].flatMap((seed) => {
      const zip = openZipSync(bytesSource(seed));
      return zip.entries.filter((e) => e.method === 8).map((e) => ({ seed, start: entryDataOffsetSync(zip, e), length: e.compressedSize }));
    });
    expect(targets.length).toBeGreaterThan(1);
    fc.assert(
      fc.property(fc.constantFrom(...targets), fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (t, edits) => {
        const bytes = t.seed.slice();
        for (const [where, value] of edits) bytes[t.start + Math.min(t.length - 1, Math.floor(where * t.length))] = value;
        exercise(bytes);
      }),
      { numRuns: 1000 },
    );
  });

  it("random end records and directories spliced onto a real archive", () => {
    fc.assert(
      fc.property(fc.constantFrom(...SEEDS), fc.uint8Array({ minLength: 0, maxLength: 120 }), fc.nat(400), (seed, tail, cut) => {
        const keep = seed.subarray(0, Math.max(0, seed.length - cut));
        exercise(Uint8Array.from([...keep, ...tail]));
      }),
      { numRuns: 500 },
    );
  });

  it("every proper prefix of a real archive is truncated", () => {
    for (const seed of [SMALL, corpus("burn/checkpoint.pt"), corpus("picklescan/malicious1.zip")]) {
      for (let n = 0; n < seed.length; n++) {
        let code: unknown = "opened";
        try {
          openZipSync(bytesSource(seed.subarray(0, n)));
        } catch (e) {
          code = isTorchsaveError(e) ? e.code : e;
        }
        expect(code, `prefix ${n} of ${seed.length}`).toBe("truncated");
      }
    }
  });

  it("still opens a good archive after any failure (no state carried over)", () => {
    exercise(Uint8Array.of(0x50, 0x4b, 5, 6, 1, 2, 3));
    const zip = openZipSync(bytesSource(SMALL));
    expect(zip.get("data/0")?.size).toBe(300);
    expect(readEntrySync(zip, zip.get("data/1")!).length).toBe(13 * 40);
  });
});
