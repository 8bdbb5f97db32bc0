/**
 * Standard base64 (RFC 4648 §4, with `=` padding) for the JSON formats, without Buffer or atob so
 * the browser-safe core has one strict codec everywhere.
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Sextet value of each char code, or -1 for characters outside the alphabet. */
const DECODE_TABLE: Int8Array = (() => {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) table[ALPHABET.charCodeAt(i)] = i;
  return table;
})();

/** Characters are joined in chunks so `String.fromCharCode` never gets a huge argument list. */
const CHUNK = 8192;

/** Encodes bytes as padded standard base64 (what Python's `base64.b64encode` writes). */
export function encodeBase64(bytes: Uint8Array): string {
  const parts: string[] = [];
  const codes: number[] = [];
  const n = bytes.length;
  const whole = n - (n % 3);
  for (let i = 0; i < whole; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    codes.push(
      ALPHABET.charCodeAt(v >>> 18), ALPHABET.charCodeAt((v >>> 12) & 63),
      ALPHABET.charCodeAt((v >>> 6) & 63), ALPHABET.charCodeAt(v & 63),
    );
    if (codes.length >= CHUNK) {
      parts.push(String.fromCharCode.apply(null, codes));
      codes.length = 0;
    }
  }
  parts.push(String.fromCharCode.apply(null, codes));
  const rest = n - whole;
  if (rest === 1) {
    const v = bytes[whole]! << 16;
    parts.push(`${ALPHABET[v >>> 18]}${ALPHABET[(v >>> 12) & 63]}==`);
  } else if (rest === 2) {
    const v = (bytes[whole]! << 16) | (bytes[whole + 1]! << 8);
    parts.push(`${ALPHABET[v >>> 18]}${ALPHABET[(v >>> 12) & 63]}${ALPHABET[(v >>> 6) & 63]}=`);
  }
  return parts.join("");
}

/**
 * Decodes padded standard base64. Strict, so one byte string has exactly one text form: the length
 * must be a multiple of 4, only the alphabet and trailing `=` padding may appear (no whitespace, no
 * URL-safe `-_`), and the unused low bits before the padding must be zero. Returns undefined for
 * anything else; callers turn that into their own error with a location.
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  const n = text.length;
  if (n % 4 !== 0) return undefined;
  let pad = 0;
  if (n > 0 && text.charCodeAt(n - 1) === 0x3d) pad = text.charCodeAt(n - 2) === 0x3d ? 2 : 1;
  const out = new Uint8Array((n / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < n; i += 4) {
    const last = i + 4 === n;
    const a = sextet(text, i);
    const b = sextet(text, i + 1);
    const c = last && pad === 2 ? 0 : sextet(text, i + 2);
    const d = last && pad >= 1 ? 0 : sextet(text, i + 3);
    if ((a | b | c | d) < 0) return undefined;
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = v >>> 16;
    if (last && pad === 2) {
      if ((v & 0xffff) !== 0) return undefined;
      break;
    }
    out[o++] = (v >>> 8) & 0xff;
    if (last && pad === 1) {
      if ((v & 0xff) !== 0) return undefined;
      break;
    }
    out[o++] = v & 0xff;
  }
  return out;
}

function sextet(text: string, i: number): number {
  const c = text.charCodeAt(i);
  return c < 128 ? DECODE_TABLE[c]! : -1;
}
