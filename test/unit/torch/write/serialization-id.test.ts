// The serialization id's 64-bit arithmetic on 32-bit halves equals the plain BigInt formulas of
// libstdc++'s _Hash_bytes and c10::hash_combine (below, as they were written before), on random
// inputs; known values are checked in test/unit/containers/zip-writer.test.ts.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeUtf8 } from "../../../../src/bytes/text.js";
import { hashBytes, hashCombine, serializationId } from "../../../../src/torch/write/write-serialization-id.js";

const MASK = (1n << 64n) - 1n;
const MUL = (0xc6a4a793n << 32n) + 0x5bd1e995n;
const shiftMix = (v: bigint): bigint => v ^ (v >> 47n);
const refCombine = (seed: bigint, value: bigint): bigint => (seed ^ ((value + 0x9e3779b9n + ((seed << 6n) & MASK) + (seed >> 2n)) & MASK)) & MASK;
function refHash(bytes: Uint8Array, seed = 0xc70f6907n): bigint {
  const n = bytes.length;
  const aligned = n & ~7;
  let hash = (seed ^ ((BigInt(n) * MUL) & MASK)) & MASK;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let p = 0; p < aligned; p += 8) hash = ((hash ^ ((shiftMix((view.getBigUint64(p, true) * MUL) & MASK) * MUL) & MASK)) * MUL) & MASK;
  if ((n & 7) !== 0) {
    let data = 0n;
    for (let i = n - 1; i >= aligned; i--) data = (data << 8n) + BigInt(bytes[i]!);
    hash = ((hash ^ data) * MUL) & MASK;
  }
  return shiftMix((shiftMix(hash) * MUL) & MASK);
}

const u64 = fc.bigInt({ min: 0n, max: MASK });

describe("serialization id arithmetic", () => {
  it("hashBytes and hashCombine equal the BigInt formulas", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), u64, u64, (b, s, v) => {
        expect(hashBytes(b)).toBe(refHash(b));
        expect(hashBytes(b, s)).toBe(refHash(b, s));
        expect(hashCombine(s, v)).toBe(refCombine(s, v));
      }),
      { numRuns: 2000 },
    );
  });

  it("serializationId combines them as torch does", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 20 }), { maxLength: 20 }), fc.array(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { maxLength: 20 }), (names, crcs) => {
        let a = 0n;
        for (const n of names) a = refCombine(a, refHash(encodeUtf8(n)));
        let b = 0n;
        for (const c of crcs) b = refCombine(b, BigInt(c));
        expect(serializationId(names, crcs)).toBe(a.toString().padStart(20, "0") + b.toString().padStart(20, "0"));
      }),
      { numRuns: 500 },
    );
  });
});
