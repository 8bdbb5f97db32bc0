/** Python ints as pickle stores them: little-endian two's complement of minimal length (LONG1/LONG4). */

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
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  if (bytes[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
  return normalizeInt(v);
}

/** The minimal two's complement encoding Python's `encode_long` produces (0 is empty). */
export function encodeTwosComplement(value: number | bigint): Uint8Array {
  let v = BigInt(value);
  if (v === 0n) return new Uint8Array(0);
  const out: number[] = [];
  // Emit bytes until the remaining value is all sign bits and the last byte's top bit agrees.
  for (;;) {
    const byte = Number(v & 0xffn);
    out.push(byte);
    v >>= 8n;
    if ((v === 0n && (byte & 0x80) === 0) || (v === -1n && (byte & 0x80) !== 0)) break;
  }
  return Uint8Array.from(out);
}

/** An int as the library models it: a number inside the safe range, a bigint beyond. */
export function normalizeInt(v: bigint): number | bigint {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}
