/**
 * Opcode argument descriptors (pickletools' `ArgumentDescriptor`s): how each argument is laid out
 * in the stream, read, and written. The decoder, encoder and disassembler all go through these.
 */
import { decodeTwosComplement, encodeTwosComplement, normalizeInt } from "../bytes/bigint.js";
import type { ByteReader } from "../bytes/reader.js";
import { decodeLatin1, decodeUtf8, encodeUtf8, TextDecodeFailure } from "../bytes/text.js";
import type { ByteWriter } from "../bytes/writer.js";
import { floatRepr, MAX_INT_DIGITS, parseFloatText, parseIntText, tooManyDigits } from "./py-float.js";
import type { PyFloat } from "./value.js";

/** Byte count of a fixed-size argument, or how a variable one finds its end (pickletools' markers). */
export type ArgSize = number | "up-to-newline" | "length1" | "length4" | "length8";

export interface ArgDescriptor<T> {
  /** The pickletools name. */
  readonly name: string;
  readonly size: ArgSize;
  readonly doc: string;
  readonly read: (r: ByteReader) => T;
  readonly write: (w: ByteWriter, value: T) => void;
}

const arg = <T>(d: ArgDescriptor<T>): ArgDescriptor<T> => d;

function utf8(r: ByteReader, bytes: Uint8Array, start: number): string {
  try {
    return decodeUtf8(bytes);
  } catch (e) {
    if (e instanceof TextDecodeFailure) {
      throw r.error("invalid-data", `invalid UTF-8 at byte ${start + e.index} of a string`, { offset: r.baseOffset + start + e.index });
    }
    throw e;
  }
}

function asciiLine(r: ByteReader, what: string): string {
  const start = r.pos;
  const line = r.line(what);
  return utf8(r, line, start);
}

export const uint1 = arg<number>({
  name: "uint1", size: 1, doc: "One-byte unsigned integer.",
  read: (r) => r.u8(),
  write: (w, v) => void w.u8(v),
});
export const uint2 = arg<number>({
  name: "uint2", size: 2, doc: "Two-byte unsigned integer, little-endian.",
  read: (r) => r.u16(),
  write: (w, v) => void w.u16(v),
});
export const uint4 = arg<number>({
  name: "uint4", size: 4, doc: "Four-byte unsigned integer, little-endian.",
  read: (r) => r.u32(),
  write: (w, v) => void w.u32(v),
});
export const uint8 = arg<number>({
  name: "uint8", size: 8, doc: "Eight-byte unsigned integer, little-endian.",
  read: (r) => r.u64(),
  write: (w, v) => void w.u64(v),
});
export const int4 = arg<number>({
  name: "int4", size: 4, doc: "Four-byte signed integer, little-endian, two's complement.",
  read: (r) => r.i32(),
  write: (w, v) => void w.i32(v),
});

export const long1 = arg<number | bigint>({
  name: "long1", size: "length1", doc: "A one-byte length, then that many bytes of little-endian two's complement.",
  read: (r) => decodeTwosComplement(r.take(r.u8("LONG1 length"), "LONG1 digits")),
  write: (w, v) => {
    const b = encodeTwosComplement(v);
    w.u8(b.length).bytes(b);
  },
});
export const long4 = arg<number | bigint>({
  name: "long4", size: "length4", doc: "A four-byte signed length, then that many bytes of little-endian two's complement.",
  read: (r) => {
    const n = r.i32("LONG4 length");
    if (n < 0) throw r.error("invalid-data", `LONG4 byte count is negative (${n})`);
    return decodeTwosComplement(r.take(n, "LONG4 digits"));
  },
  write: (w, v) => {
    const b = encodeTwosComplement(v);
    w.i32(b.length).bytes(b);
  },
});

/** Python 2 `repr()` of a byte string, quotes stripped and escapes decoded (protocol 0 STRING). */
export const stringnl = arg<Uint8Array>({
  name: "stringnl", size: "up-to-newline", doc: "A newline-terminated, quoted, escaped byte string (repr of a Python 2 str).",
  read: (r) => {
    const start = r.pos;
    const line = r.line("STRING argument");
    const q = line[0];
    if (line.length < 2 || (q !== 0x27 && q !== 0x22) || line[line.length - 1] !== q) {
      throw r.error("invalid-data", "STRING argument is not quoted", { offset: r.baseOffset + start });
    }
    const out = unescapeBytes(line.subarray(1, line.length - 1));
    if (out === undefined) throw r.error("invalid-data", "bad escape in STRING argument", { offset: r.baseOffset + start });
    return out;
  },
  write: (w, v) => {
    w.u8(0x27);
    for (const b of v) {
      if (b === 0x5c) w.ascii("\\\\");
      else if (b === 0x27) w.ascii("\\'");
      else if (b === 0x0a) w.ascii("\\n");
      else if (b === 0x0d) w.ascii("\\r");
      else if (b === 0x09) w.ascii("\\t");
      else if (b < 0x20 || b >= 0x7f) w.ascii(`\\x${b.toString(16).padStart(2, "0")}`);
      else w.u8(b);
    }
    w.ascii("'\n");
  },
});

export const stringnl_noescape = arg<string>({
  name: "stringnl_noescape", size: "up-to-newline", doc: "A newline-terminated string without quotes or escapes.",
  read: (r) => asciiLine(r, "text argument"),
  write: (w, v) => void w.bytes(encodeUtf8(v)).u8(0x0a),
});

export const stringnl_noescape_pair = arg<readonly [string, string]>({
  name: "stringnl_noescape_pair", size: "up-to-newline", doc: "Two newline-terminated strings: a module and a name.",
  read: (r) => [asciiLine(r, "module name"), asciiLine(r, "qualified name")] as const,
  write: (w, [module, name]) => void w.bytes(encodeUtf8(module)).u8(0x0a).bytes(encodeUtf8(name)).u8(0x0a),
});

export const string1 = arg<Uint8Array>({
  name: "string1", size: "length1", doc: "A one-byte length, then that many bytes (a Python 2 str).",
  read: (r) => r.take(r.u8("SHORT_BINSTRING length"), "SHORT_BINSTRING data"),
  write: (w, v) => void w.u8(v.length).bytes(v),
});
export const string4 = arg<Uint8Array>({
  name: "string4", size: "length4", doc: "A four-byte signed length, then that many bytes (a Python 2 str).",
  read: (r) => {
    const n = r.i32("BINSTRING length");
    if (n < 0) throw r.error("invalid-data", `BINSTRING length is negative (${n})`);
    return r.take(n, "BINSTRING data");
  },
  write: (w, v) => void w.i32(v.length).bytes(v),
});
export const bytes1 = arg<Uint8Array>({
  name: "bytes1", size: "length1", doc: "A one-byte length, then that many bytes.",
  read: (r) => r.take(r.u8("SHORT_BINBYTES length"), "SHORT_BINBYTES data"),
  write: (w, v) => void w.u8(v.length).bytes(v),
});
export const bytes4 = arg<Uint8Array>({
  name: "bytes4", size: "length4", doc: "A four-byte unsigned length, then that many bytes.",
  read: (r) => r.take(r.u32("BINBYTES length"), "BINBYTES data"),
  write: (w, v) => void w.u32(v.length).bytes(v),
});
export const bytes8 = arg<Uint8Array>({
  name: "bytes8", size: "length8", doc: "An eight-byte unsigned length, then that many bytes.",
  read: (r) => r.take(r.u64("BINBYTES8 length"), "BINBYTES8 data"),
  write: (w, v) => void w.u64(v.length).bytes(v),
});
export const bytearray8 = arg<Uint8Array>({
  name: "bytearray8", size: "length8", doc: "An eight-byte unsigned length, then that many bytes of a bytearray.",
  read: (r) => r.take(r.u64("BYTEARRAY8 length"), "BYTEARRAY8 data"),
  write: (w, v) => void w.u64(v.length).bytes(v),
});

export const unicodestringnl = arg<string>({
  name: "unicodestringnl", size: "up-to-newline", doc: "A newline-terminated string in raw-unicode-escape encoding.",
  read: (r) => {
    const start = r.pos;
    const line = r.line("UNICODE argument");
    try {
      return decodeRawUnicodeEscape(line);
    } catch (e) {
      if (!(e instanceof TextDecodeFailure)) throw e;
      throw r.error("invalid-data", "bad \\u escape in UNICODE argument", { offset: r.baseOffset + start + e.index });
    }
  },
  write: (w, v) => void w.bytes(encodeRawUnicodeEscape(v)).u8(0x0a),
});
export const unicodestring1 = arg<string>({
  name: "unicodestring1", size: "length1", doc: "A one-byte length, then that many bytes of UTF-8.",
  read: (r) => {
    const n = r.u8("SHORT_BINUNICODE length");
    const start = r.pos;
    return utf8(r, r.take(n, "SHORT_BINUNICODE data"), start);
  },
  write: (w, v) => {
    const b = encodeUtf8(v);
    w.u8(b.length).bytes(b);
  },
});
export const unicodestring4 = arg<string>({
  name: "unicodestring4", size: "length4", doc: "A four-byte unsigned length, then that many bytes of UTF-8.",
  read: (r) => {
    const n = r.u32("BINUNICODE length");
    const start = r.pos;
    return utf8(r, r.take(n, "BINUNICODE data"), start);
  },
  write: (w, v) => {
    const b = encodeUtf8(v);
    w.u32(b.length).bytes(b);
  },
});
export const unicodestring8 = arg<string>({
  name: "unicodestring8", size: "length8", doc: "An eight-byte unsigned length, then that many bytes of UTF-8.",
  read: (r) => {
    const n = r.u64("BINUNICODE8 length");
    const start = r.pos;
    return utf8(r, r.take(n, "BINUNICODE8 data"), start);
  },
  write: (w, v) => {
    const b = encodeUtf8(v);
    w.u64(b.length).bytes(b);
  },
});

/** Python >= 3.11 refuses int() of more than 4300 digits ({@link MAX_INT_DIGITS}); so does decoding (and stays linear). */
function checkDigits(r: ByteReader, text: string, start: number): void {
  if (tooManyDigits(text)) throw r.error("limit-exceeded", `a decimal integer of ${text.length} characters: Python refuses to convert more than ${MAX_INT_DIGITS} digits`, { offset: r.baseOffset + start });
}

/** INT's argument: a decimal line, where `00` and `01` spell False and True (Python 2.2 style). */
export const decimalnl_short = arg<number | bigint | boolean>({
  name: "decimalnl_short", size: "up-to-newline", doc: "A newline-terminated decimal integer; `00`/`01` mean False/True.",
  read: (r) => {
    const start = r.pos;
    const text = asciiLine(r, "decimal argument");
    checkDigits(r, text, start);
    if (text === "00") return false;
    if (text === "01") return true;
    const v = parseIntText(text);
    if (v === undefined) throw r.error("invalid-data", `not a decimal integer: ${JSON.stringify(text.slice(0, 40))}`, { offset: r.baseOffset + start });
    return v;
  },
  write: (w, v) => void w.ascii(v === true ? "01" : v === false ? "00" : String(v)).u8(0x0a),
});

export const decimalnl_long = arg<number | bigint>({
  name: "decimalnl_long", size: "up-to-newline", doc: "A newline-terminated decimal integer with an optional trailing L.",
  read: (r) => {
    const start = r.pos;
    const text = asciiLine(r, "LONG argument");
    checkDigits(r, text, start);
    const v = parseIntText(text.endsWith("L") ? text.slice(0, -1) : text);
    if (v === undefined) throw r.error("invalid-data", `not a decimal integer: ${JSON.stringify(text.slice(0, 40))}`, { offset: r.baseOffset + start });
    return v;
  },
  write: (w, v) => void w.ascii(`${v}L`).u8(0x0a),
});

export const floatnl = arg<number>({
  name: "floatnl", size: "up-to-newline", doc: "A newline-terminated float in Python's repr form.",
  read: (r) => {
    const start = r.pos;
    const text = asciiLine(r, "FLOAT argument");
    const v = parseFloatText(text);
    if (v === undefined) throw r.error("invalid-data", `not a float: ${JSON.stringify(text.slice(0, 40))}`, { offset: r.baseOffset + start });
    return v;
  },
  write: (w, v) => void w.ascii(floatRepr(v)).u8(0x0a),
});

const CANONICAL_NAN_HEX = "7ff8000000000000";

/** 16 hex digits spelling a NaN: exponent all ones, mantissa not zero. */
function isNanPattern(hex: string): boolean {
  if (!/^[0-9a-f]{16}$/.test(hex)) return false;
  const high = parseInt(hex.slice(0, 8), 16);
  const low = parseInt(hex.slice(8), 16);
  return (high & 0x7ff00000) === 0x7ff00000 && ((high & 0xfffff) !== 0 || low !== 0);
}

export const float8 = arg<PyFloat>({
  name: "float8", size: 8, doc: "An eight-byte big-endian IEEE 754 double.",
  read: (r) => {
    r.need(8, "BINFLOAT");
    const value = r.view.getFloat64(r.pos, false);
    if (Number.isNaN(value)) {
      let hex = "";
      for (let i = 0; i < 8; i++) hex += r.bytes[r.pos + i]!.toString(16).padStart(2, "0");
      r.pos += 8;
      return hex === CANONICAL_NAN_HEX ? { kind: "float", value } : { kind: "float", value, nanBits: hex };
    }
    r.pos += 8;
    return { kind: "float", value };
  },
  write: (w, v) => {
    // NaN payload bits only stand in for a NaN: on any other value they are stale and ignored.
    if (v.nanBits !== undefined && Number.isNaN(v.value) && isNanPattern(v.nanBits)) {
      for (let i = 0; i < 16; i += 2) w.u8(parseInt(v.nanBits.slice(i, i + 2), 16));
    } else {
      w.f64be(v.value);
    }
  },
});

/** Opcodes without an argument. */
export const none = arg<undefined>({
  name: "none", size: 0, doc: "No argument.",
  read: () => undefined,
  write: () => undefined,
});

// ---------------------------------------------------------------------------------------------
// Protocol 0 text escapes.

const SIMPLE_ESCAPES: Record<number, number> = {
  0x5c: 0x5c, 0x27: 0x27, 0x22: 0x22, 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09,
  0x61: 0x07, 0x62: 0x08, 0x66: 0x0c, 0x76: 0x0b, 0x0a: -1,
};

/** Python's `codecs.escape_decode`: backslash escapes of a bytes literal. */
function unescapeBytes(src: Uint8Array): Uint8Array | undefined {
  const out: number[] = [];
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c !== 0x5c) {
      out.push(c);
      continue;
    }
    const e = src[++i];
    if (e === undefined) return undefined;
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      if (simple >= 0) out.push(simple);
    } else if (e === 0x78) {
      const hex = String.fromCharCode(src[i + 1] ?? 0, src[i + 2] ?? 0);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
      out.push(parseInt(hex, 16));
      i += 2;
    } else if (e >= 0x30 && e <= 0x37) {
      let v = e - 0x30;
      for (let k = 0; k < 2 && src[i + 1] !== undefined && src[i + 1]! >= 0x30 && src[i + 1]! <= 0x37; k++) v = v * 8 + (src[++i]! - 0x30);
      out.push(v & 0xff);
    } else {
      out.push(0x5c, e); // Unknown escapes stay as written, as in Python.
    }
  }
  return Uint8Array.from(out);
}

/** Python's `raw-unicode-escape` decoder: latin-1, plus `\uXXXX`/`\UXXXXXXXX` after an odd run of backslashes. */
export function decodeRawUnicodeEscape(src: Uint8Array): string {
  if (src.indexOf(0x5c) < 0) return decodeLatin1(src);
  let out = "";
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c !== 0x5c) {
      out += String.fromCharCode(c);
      i++;
      continue;
    }
    let run = 0;
    while (src[i] === 0x5c) {
      run++;
      i++;
    }
    const next = src[i];
    if (run % 2 === 1 && (next === 0x75 || next === 0x55)) {
      const width = next === 0x75 ? 4 : 8;
      const hex = decodeLatin1(src.subarray(i + 1, i + 1 + width));
      if (hex.length !== width || !/^[0-9a-fA-F]+$/.test(hex)) throw new TextDecodeFailure(i);
      const cp = parseInt(hex, 16);
      if (cp > 0x10ffff) throw new TextDecodeFailure(i);
      out += "\\".repeat(run - 1) + String.fromCodePoint(cp);
      i += 1 + width;
    } else {
      out += "\\".repeat(run);
    }
  }
  return out;
}

/** What Python's pickler writes for UNICODE: raw-unicode-escape with `\`, NUL, LF, CR and ^Z escaped. */
export function encodeRawUnicodeEscape(s: string): Uint8Array {
  const out: number[] = [];
  const hex = (cp: number, width: number) => {
    for (const ch of `\\${width === 4 ? "u" : "U"}${cp.toString(16).padStart(width, "0")}`) out.push(ch.charCodeAt(0));
  };
  for (let i = 0; i < s.length; i++) {
    const c = s.codePointAt(i)!;
    const isPair = c > 0xffff;
    if (isPair) i++;
    if (c === 0x5c || c === 0x00 || c === 0x0a || c === 0x0d || c === 0x1a) hex(c, 4);
    else if (c < 0x100) out.push(c);
    else if (c <= 0xffff) hex(c, 4);
    else hex(c, 8);
  }
  return Uint8Array.from(out);
}

export { normalizeInt };
