/**
 * Python ints as pickle stores them: little-endian two's complement of minimal length (LONG1/LONG4).
 * Both directions go through one hexadecimal string, which engines convert to and from BigInt in
 * linear time (shifting a BigInt by 8 bits per byte is quadratic: 400 KB took over 30 s).
 */

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Decodes little-endian two's complement bytes to a number when safe, else a bigint. */
export function decodeTwosComplement(bytes: Uint8Array): number | bigint {
  const n = bytes.length;
  if (n === 0) return 0;
  if (n <= 6) {
    // Fits in 48 bits: exact in a double.
    let v = 0;
    for (let i = n - 1; i >= 0; i--) v = v * 256 + bytes[i]!;
    if (bytes[n - 1]! & 0x80) v -= 2 ** (8 * n);
    return v;
  }
  const digits = new Array<string>(n);
  for (let i = 0; i < n; i++) digits[i] = HEX[bytes[n - 1 - i]!]!;
  let v = BigInt(`0x${digits.join("")}`);
  if (bytes[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
  return normalizeInt(v);
}

/** The minimal two's complement encoding Python's `encode_long` produces (0 is empty). */
export function encodeTwosComplement(value: number | bigint): Uint8Array {
  const v = BigInt(value);
  if (v === 0n) return new Uint8Array(0);
  // The fewest bytes k with -2^(8k-1) <= v < 2^(8k-1): one more than the magnitude's whole bytes.
  const magnitude = (v < 0n ? -v - 1n : v).toString(16);
  const bits = magnitude === "0" ? 0 : magnitude.length * 4 + 28 - Math.clz32(parseInt(magnitude[0]!, 16));
  const k = Math.floor(bits / 8) + 1;
  const hex = (v < 0n ? v + (1n << BigInt(8 * k)) : v).toString(16).padStart(2 * k, "0");
  const out = new Uint8Array(k);
  for (let i = 0; i < k; i++) out[i] = parseInt(hex.slice(2 * (k - 1 - i), 2 * (k - i)), 16);
  return out;
}

/** An int as the library models it: a number inside the safe range, a bigint beyond. */
export function normalizeInt(v: bigint): number | bigint {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}
