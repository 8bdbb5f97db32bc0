// LONG1/LONG4 integers: the linear-time hex conversion agrees with a byte-by-byte reference on
// random values, and large inputs decode in linear time (a quadratic decoder took over 30 s for
// 400 KB; these run in well under the test timeout).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeTwosComplement, encodeTwosComplement } from "../../../src/bytes/bigint.js";
import { decodePickle } from "../../../src/pickle/index.js";
import { scanPickle } from "../../../src/validate/index.js";

/** The obvious quadratic reference: Python's encode_long/decode_long, byte by byte. */
function refDecode(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  if (bytes.length > 0 && bytes[bytes.length - 1]! & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return v;
}
function refEncode(value: bigint): Uint8Array {
  let v = value;
  if (v === 0n) return new Uint8Array(0);
  const out: number[] = [];
  for (;;) {
    const byte = Number(v & 0xffn);
    out.push(byte);
    v >>= 8n;
    if ((v === 0n && (byte & 0x80) === 0) || (v === -1n && (byte & 0x80) !== 0)) break;
  }
  return Uint8Array.from(out);
}

describe("two's complement ints", () => {
  it("encode like Python's encode_long and decode back (property)", () => {
    fc.assert(fc.property(fc.bigInt({ min: -(2n ** 600n), max: 2n ** 600n }), (v) => {
      const bytes = encodeTwosComplement(v);
      expect(bytes).toEqual(refEncode(v));
      expect(BigInt(decodeTwosComplement(bytes))).toBe(v);
    }), { numRuns: 2000 });
    for (const v of [0n, 1n, -1n, 127n, 128n, -128n, -129n, 255n, 256n, -256n, 2n ** 63n, -(2n ** 63n)]) {
      expect(encodeTwosComplement(v), String(v)).toEqual(refEncode(v));
    }
  });

  it("decode any bytes like the reference (property)", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
      expect(BigInt(decodeTwosComplement(b))).toBe(refDecode(b));
    }), { numRuns: 2000 });
  });

  it("decode and encode 1 MB in linear time (LONG4 through the decoder and the scanner)", () => {
    const digits = new Uint8Array(2 ** 20).map((_, i) => (i * 131) & 0xff);
    const pickle = new Uint8Array(2 + 5 + digits.length + 1);
    pickle.set([0x80, 0x02, 0x8b, ...new Uint8Array(new Uint32Array([digits.length]).buffer)]);
    pickle.set(digits, 7);
    pickle[pickle.length - 1] = 0x2e;
    const v = decodePickle(pickle) as bigint;
    expect(typeof v).toBe("bigint");
    expect(Buffer.compare(encodeTwosComplement(v), digits)).toBe(0);
    expect(scanPickle(pickle, 0).complete).toBe(true);
  });

  it("refuse protocol 0 INT/LONG text past Python's 4300 digits, with a typed error", () => {
    const long = new TextEncoder().encode(`L${"7".repeat(400_000)}L\n.`);
    expect(() => decodePickle(long)).toThrow(/limit-exceeded: a decimal integer of 400001 characters: Python refuses/);
    expect(scanPickle(long, 0).error).toMatchObject({ code: "limit-exceeded" });
    expect(decodePickle(new TextEncoder().encode(`L${"7".repeat(4300)}L\n.`))).toBe(BigInt("7".repeat(4300)));
  });
});
