/** Python's float text forms: `repr(x)` for protocol 0 FLOAT and disassembly, and `float(text)`. */

/** `repr(x)` exactly as CPython prints it: shortest round-trip digits, `.0` on integers, `1e+16`. */
export function floatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  const [mantissa, exp] = Math.abs(x).toExponential().split("e") as [string, string];
  const digits = mantissa.replace(".", "");
  const decpt = Number(exp) + 1; // value = 0.DIGITS × 10^decpt
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) return `${sign}0.${"0".repeat(-decpt)}${digits}`;
    if (decpt >= digits.length) return `${sign}${digits}${"0".repeat(decpt - digits.length)}.0`;
    return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
  }
  const e = decpt - 1;
  const frac = digits.length > 1 ? `.${digits.slice(1)}` : "";
  return `${sign}${digits[0]}${frac}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
}

const FLOAT_TEXT = /^[+-]?(?:(?:\d(?:_?\d)*)?\.?\d(?:_?\d)*|\d(?:_?\d)*\.)(?:[eE][+-]?\d(?:_?\d)*)?$/;

/** Python's `float(text)`; undefined when Python would raise ValueError. */
export function parseFloatText(text: string): number | undefined {
  const t = text.trim();
  const lower = t.toLowerCase().replace(/^[+]/, "");
  if (lower === "nan" || lower === "-nan") return NaN;
  if (lower === "inf" || lower === "infinity") return Infinity;
  if (lower === "-inf" || lower === "-infinity") return -Infinity;
  if (!FLOAT_TEXT.test(t)) return undefined;
  return Number(t.replace(/_/g, ""));
}

const INT_TEXT = /^[+-]?\d(?:_?\d)*$/;

/** Python's `int(text)` for base-10 text; undefined when Python would raise ValueError. */
export function parseIntText(text: string): number | bigint | undefined {
  const t = text.trim();
  if (!INT_TEXT.test(t)) return undefined;
  const clean = t.replace(/_/g, "");
  const asNumber = Number(clean);
  if (Number.isSafeInteger(asNumber)) return asNumber;
  return BigInt(clean);
}

/**
 * Python (3.11 and later) refuses to convert decimal text of more than 4300 digits to an int
 * (`sys.int_info.str_digits_check_threshold`), so INT and LONG arguments longer than that fail to
 * unpickle.
 */
export const MAX_INT_DIGITS = 4300;

/** True when `text` (a sign, digits, maybe a trailing L) has more digits than Python converts. */
export function tooManyDigits(text: string): boolean {
  return text.length > MAX_INT_DIGITS + 2;
}
