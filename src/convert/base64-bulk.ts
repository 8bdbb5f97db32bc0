/**
 * Base64 for storage bytes, where speed matters: the same strict, padded standard alphabet as
 * `base64.ts` (and the same answers: tested against it), but working on bytes with lookup tables
 * and letting the platform's UTF-8 codec turn ASCII bytes into a string and back, which runs at
 * memory speed instead of a character at a time.
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const ENCODE: Uint8Array = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));
/** Sextet of each byte value, 255 for bytes outside the alphabet. */
const DECODE: Uint8Array = (() => {
  const t = new Uint8Array(256).fill(255);
  for (let i = 0; i < 64; i++) t[ENCODE[i]!] = i;
  return t;
})();
const PAD = 0x3d;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** The two characters of each 12-bit value, as a 16-bit word in either byte order. */
const PAIRS_LE: Uint16Array = Uint16Array.from({ length: 4096 }, (_, v) => ENCODE[v >>> 6]! | (ENCODE[v & 63]! << 8));
const PAIRS_BE: Uint16Array = Uint16Array.from({ length: 4096 }, (_, v) => (ENCODE[v >>> 6]! << 8) | ENCODE[v & 63]!);

const ascii = new TextDecoder("utf-8");
const utf8 = new TextEncoder();

/** Padded standard base64 of `bytes`. */
export function encodeBase64Bulk(bytes: Uint8Array): string {
  return ascii.decode(encodeBase64Bytes(bytes));
}

/** Padded standard base64 of `bytes`, as ASCII bytes (for output that is bytes anyway). */
export function encodeBase64Bytes(bytes: Uint8Array): Uint8Array {
  const n = bytes.length;
  const out = new Uint8Array(Math.ceil(n / 3) * 4);
  const whole = n - (n % 3);
  // Two characters per lookup: 12 bits → a pair, stored as one 16-bit word (out starts at offset 0).
  const pairs = new Uint16Array(out.buffer, 0, out.length >>> 1);
  const pair = LITTLE_ENDIAN ? PAIRS_LE : PAIRS_BE;
  for (let i = 0, w = 0; i < whole; i += 3, w += 2) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    pairs[w] = pair[v >>> 12]!;
    pairs[w + 1] = pair[v & 0xfff]!;
  }
  encodeTail(bytes, whole, out, (whole / 3) * 4);
  return out;
}

/**
 * Writes the padded standard base64 of `bytes` into `out` at `at` (which must have room for
 * `4 * ceil(n / 3)` bytes, at any alignment); returns the new end. For small storages written
 * straight into an output buffer.
 */
export function encodeBase64Into(bytes: Uint8Array, out: Uint8Array, at: number): number {
  const n = bytes.length;
  const whole = n - (n % 3);
  let o = at;
  for (let i = 0; i < whole; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o] = ENCODE[v >>> 18]!;
    out[o + 1] = ENCODE[(v >>> 12) & 63]!;
    out[o + 2] = ENCODE[(v >>> 6) & 63]!;
    out[o + 3] = ENCODE[v & 63]!;
    o += 4;
  }
  return encodeTail(bytes, whole, out, o);
}

/** The last 1 or 2 bytes of `bytes` (from `whole` on) as 4 padded characters at `o`; returns the new end. */
function encodeTail(bytes: Uint8Array, whole: number, out: Uint8Array, o: number): number {
  const left = bytes.length - whole;
  if (left === 0) return o;
  const v = (bytes[whole]! << 16) | (left === 2 ? bytes[whole + 1]! << 8 : 0);
  out[o] = ENCODE[v >>> 18]!;
  out[o + 1] = ENCODE[(v >>> 12) & 63]!;
  out[o + 2] = left === 2 ? ENCODE[(v >>> 6) & 63]! : PAD;
  out[o + 3] = PAD;
  return o + 4;
}

/**
 * Decodes strict padded standard base64 (length a multiple of 4, only the alphabet and trailing
 * `=`, zero unused bits), or returns undefined, exactly as `decodeBase64` does.
 */
export function decodeBase64Bulk(text: string): Uint8Array | undefined {
  // Non-ASCII characters become multi-byte UTF-8, which the length check catches.
  const b = utf8.encode(text);
  return b.length === text.length ? decodeBase64Ascii(b) : undefined;
}

/** Bytes {@link decodeBase64Ascii} gives for `chars` base64 characters whose last four are `tail`. */
export function base64DecodedLength(chars: number, tail: Uint8Array): number {
  const n = tail.length;
  const pad = n > 0 && tail[n - 1] === PAD ? (tail[n - 2] === PAD ? 2 : 1) : 0;
  return (chars / 4) * 3 - pad;
}

/**
 * {@link decodeBase64Bulk} for base64 held as ASCII bytes (a slice of a file): decodes into `out`
 * at `at` when given (it must have room), else into a new array. Padding may end the input only.
 */
export function decodeBase64Ascii(b: Uint8Array, out?: Uint8Array, at = 0): Uint8Array | undefined {
  const n = b.length;
  if (n % 4 !== 0) return undefined;
  let pad = 0;
  if (n > 0 && b[n - 1] === PAD) pad = b[n - 2] === PAD ? 2 : 1;
  const size = (n / 4) * 3 - pad;
  const dst = out ?? new Uint8Array(size);
  const full = pad === 0 ? n : n - 4;
  let o = at;
  for (let i = 0; i < full; i += 4) {
    const a = DECODE[b[i]!]!, c = DECODE[b[i + 1]!]!, d = DECODE[b[i + 2]!]!, e = DECODE[b[i + 3]!]!;
    if ((a | c | d | e) > 63) return undefined;
    const v = (a << 18) | (c << 12) | (d << 6) | e;
    dst[o] = v >>> 16;
    dst[o + 1] = (v >>> 8) & 0xff;
    dst[o + 2] = v & 0xff;
    o += 3;
  }
  if (pad > 0) {
    const a = DECODE[b[full]!]!, c = DECODE[b[full + 1]!]!;
    const d = pad === 2 ? 0 : DECODE[b[full + 2]!]!;
    if ((a | c | d) > 63) return undefined;
    const v = (a << 18) | (c << 12) | (d << 6);
    dst[o] = v >>> 16;
    if (pad === 2) return (v & 0xffff) === 0 ? dst : undefined;
    dst[o + 1] = (v >>> 8) & 0xff;
    if ((v & 0xff) !== 0) return undefined;
  }
  return dst;
}

/** Sextet of each byte value (255 outside the alphabet), for scanners that validate base64 in place. */
export const BASE64_SEXTET: Uint8Array = DECODE;
