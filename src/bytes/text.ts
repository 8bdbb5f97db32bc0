/**
 * Text codecs as Python's pickle uses them: UTF-8 with `surrogatepass` (a lone surrogate is data,
 * not an error) and latin-1. The fast path is the platform's TextDecoder/TextEncoder.
 */

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();
const LONE_SURROGATE = /[\ud800-\udfff]/;

/** Thrown by {@link decodeUtf8}; callers turn it into their own typed error with an offset. */
export class TextDecodeFailure {
  constructor(readonly index: number) {}
}

/** Up to this length, {@link decodeAsciiRange} copies codes into a plain array (faster than a subarray view). */
const SHORT_TEXT = 64;

/**
 * The text of `bytes[start..end)` when every byte is ASCII, else undefined. Reads in place (no
 * subarray). `scratch` is a caller-owned array reused between calls (one per decode), so short
 * strings cost one string allocation and nothing else.
 */
export function decodeAsciiRange(bytes: Uint8Array, start: number, end: number, scratch: number[]): string | undefined {
  const n = end - start;
  if (n <= SHORT_TEXT) {
    scratch.length = n;
    for (let i = 0; i < n; i++) {
      const b = bytes[start + i]!;
      if (b >= 0x80) return undefined;
      scratch[i] = b;
    }
    return String.fromCharCode.apply(null, scratch);
  }
  for (let i = start; i < end; i++) if (bytes[i]! >= 0x80) return undefined;
  return strictUtf8.decode(bytes.subarray(start, end));
}

/** Decodes UTF-8, accepting encoded lone surrogates as Python's `surrogatepass` does. */
export function decodeUtf8(bytes: Uint8Array): string {
  // ASCII-only strings dominate pickles (dict keys, names); skip TextDecoder's call overhead for short ones.
  if (bytes.length < 32) {
    let ascii = true;
    for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) { ascii = false; break; }
    if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return decodeUtf8Surrogatepass(bytes);
  }
}

function decodeUtf8Surrogatepass(bytes: Uint8Array): string {
  const units: number[] = [];
  let out = "";
  let i = 0;
  const cont = (k: number): number => {
    const b = bytes[k];
    if (b === undefined || (b & 0xc0) !== 0x80) throw new TextDecodeFailure(k);
    return b & 0x3f;
  };
  while (i < bytes.length) {
    const b = bytes[i]!;
    let cp: number;
    if (b < 0x80) {
      cp = b;
      i += 1;
    } else if (b >= 0xc2 && b < 0xe0) {
      cp = ((b & 0x1f) << 6) | cont(i + 1);
      i += 2;
    } else if (b >= 0xe0 && b < 0xf0) {
      cp = ((b & 0x0f) << 12) | (cont(i + 1) << 6) | cont(i + 2);
      if (cp < 0x800) throw new TextDecodeFailure(i);
      i += 3;
    } else if (b >= 0xf0 && b < 0xf5) {
      cp = ((b & 0x07) << 18) | (cont(i + 1) << 12) | (cont(i + 2) << 6) | cont(i + 3);
      if (cp < 0x10000 || cp > 0x10ffff) throw new TextDecodeFailure(i);
      i += 4;
    } else {
      throw new TextDecodeFailure(i);
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
    } else {
      units.push(cp);
    }
    if (units.length > 8192) {
      out += String.fromCharCode.apply(null, units);
      units.length = 0;
    }
  }
  return out + String.fromCharCode.apply(null, units);
}

/** Strings up to this long are tried as ASCII first. */
const SHORT_ASCII = 64;

/** Encodes UTF-8; lone surrogates become their 3-byte `surrogatepass` form instead of U+FFFD. */
export function encodeUtf8(s: string): Uint8Array {
  // Short ASCII (record names, dict keys: most calls) without the encoder's per-call cost.
  if (s.length <= SHORT_ASCII) {
    const out = new Uint8Array(s.length);
    let i = 0;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      out[i] = c;
    }
    if (i === s.length) return out;
  }
  if (!LONE_SURROGATE.test(s)) return utf8Encoder.encode(s);
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let cp = s.charCodeAt(i);
    if (cp >= 0xd800 && cp < 0xdc00 && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo < 0xe000) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    }
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  }
  return Uint8Array.from(out);
}

/** Each byte becomes the code point of the same value. */
export function decodeLatin1(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192) as unknown as number[]);
  }
  return out;
}

/** Inverse of {@link decodeLatin1}; returns undefined if a code point is above 255. */
export function encodeLatin1(s: string): Uint8Array | undefined {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255) return undefined;
    out[i] = c;
  }
  return out;
}

/** True when every byte is below 0x80. */
export function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) return false;
  return true;
}
