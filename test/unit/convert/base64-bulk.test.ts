// The bulk base64 codec for storage bytes gives exactly the answers of the reference codec in
// base64.ts: same text for every byte string, same bytes or refusal for every text.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeBase64, encodeBase64 } from "../../../src/convert/base64.js";
import { decodeBase64Bulk, encodeBase64Bulk, encodeBase64Into } from "../../../src/convert/base64-bulk.js";

describe("bulk base64", () => {
  it("encodes like the reference codec", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      expect(encodeBase64Bulk(b)).toBe(encodeBase64(b));
      expect(decodeBase64Bulk(encodeBase64Bulk(b))).toEqual(b);
    }), { numRuns: 500 });
  });

  it("encodes into a buffer at any offset like the reference codec, touching nothing else", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 7 }), (b, at) => {
      const want = new TextEncoder().encode(encodeBase64(b));
      const out = new Uint8Array(at + want.length + 3).fill(0xee);
      expect(encodeBase64Into(b, out, at)).toBe(at + want.length);
      expect(out.subarray(at, at + want.length)).toEqual(want);
      expect([...out.subarray(0, at), ...out.subarray(at + want.length)].every((x) => x === 0xee)).toBe(true);
    }), { numRuns: 500 });
  });

  it("accepts and refuses exactly what the reference codec does", () => {
    const texts = fc.oneof(
      fc.string({ unit: fc.constantFrom(..."AQgw/+=ab9_- \né".split("")), maxLength: 16 }),
      fc.uint8Array({ maxLength: 12 }).map((b) => encodeBase64(b)),
    );
    fc.assert(fc.property(texts, (t) => {
      expect(decodeBase64Bulk(t)).toEqual(decodeBase64(t));
    }), { numRuns: 2000 });
    for (const t of ["", "AA==", "AB==", "AAA=", "AAB=", "A===", "=AAA", "AA=A", "AAAA====", "éAAA", "AAAA\n"]) {
      expect(decodeBase64Bulk(t)).toEqual(decodeBase64(t));
    }
  });
});
