import { crc32 as zlibCrc32 } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { crc32 } from "../../../src/bytes/crc32.js";

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The bit-at-a-time definition, independent of the tables. */
function reference(bytes: Uint8Array, previous = 0): number {
  let c = ~previous >>> 0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

describe("crc32", () => {
  it("matches the standard check values", () => {
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(ascii("a"))).toBe(0xe8b7be43);
    expect(crc32(ascii("123456789"))).toBe(0xcbf43926);
    expect(crc32(ascii("The quick brown fox jumps over the lazy dog"))).toBe(0x414fa339);
    expect(crc32(new Uint8Array(32))).toBe(0x190a55ad);
    expect(crc32(new Uint8Array(32).fill(0xff))).toBe(0xff6cab0b);
  });

  it("equals the bit-wise definition and zlib for every length 0..300 at every alignment", () => {
    const data = Uint8Array.from({ length: 320 }, (_, i) => (i * 167 + 13) & 0xff);
    for (let start = 0; start < 4; start++) {
      for (let n = 0; n <= 300; n++) {
        const v = data.subarray(start, start + n);
        const want = reference(v);
        expect(crc32(v)).toBe(want);
        expect(zlibCrc32(v)).toBe(want);
      }
    }
  });

  it("agrees with zlib on random input, aligned or not", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.nat(7), (data, skip) => {
        const v = data.subarray(Math.min(skip, data.length));
        expect(crc32(v)).toBe(zlibCrc32(v));
      }),
    );
  });

  it("continues from a previous value: crc(a + b) = crc(b, crc(a))", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 500 }), fc.uint8Array({ maxLength: 500 }), (a, b) => {
        const joined = new Uint8Array(a.length + b.length);
        joined.set(a);
        joined.set(b, a.length);
        expect(crc32(b, crc32(a))).toBe(crc32(joined));
        expect(crc32(b, crc32(a))).toBe(zlibCrc32(b, zlibCrc32(a)));
      }),
    );
  });

  it("returns an unsigned 32-bit integer", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (data) => {
        const v = crc32(data);
        expect(Number.isInteger(v) && v >= 0 && v <= 0xffffffff).toBe(true);
      }),
    );
  });

  it("handles a large buffer (several MiB) like zlib", () => {
    const big = new Uint8Array(5 * 1024 * 1024 + 3);
    for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
    expect(crc32(big)).toBe(zlibCrc32(big));
    expect(crc32(big.subarray(1))).toBe(zlibCrc32(big.subarray(1)));
  });
});
