/**
 * A JSON parser over bytes that never holds the document as one string: it reads its source a
 * window at a time (1 MiB) and builds what `JSON.parse` would (same grammar, same values, objects
 * as `JSON.parse` makes them, `"__proto__"` an own key). Documents of any size read this way; a
 * JS string stops at about 512 MiB.
 *
 * In a torchsave document (`"$torchsave"` before `"storages"`), the base64 text of each storage's
 * `"data"` is checked as it passes and kept as its place in the source ({@link LocatedBase64}),
 * never as a string: its bytes are decoded when a writer asks for them (`json-read-data.ts`).
 * Iterative: nesting depth costs heap, not stack.
 */
import type { ByteSource } from "../bytes/source.js";
import { ConvertError } from "../errors.js";
import { JsonByteCursor } from "./json-cursor.js";
import { BASE64_SEXTET, base64DecodedLength } from "./base64-bulk.js";
import { locatedBase64 } from "./json-read-data.js";
import type { JsonValue } from "./json-value.js";

/** Bytes read from the source at a time: 1 MiB. */
export const JSON_READ_WINDOW = 1 << 20;

const QUOTE = 0x22, BACKSLASH = 0x5c, PAD = 0x3d;
const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
/** Bytes that may appear in a number token. */
const NUMBER_BYTE: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (const c of "0123456789+-.eE") t[c.charCodeAt(0)] = 1;
  return t;
})();
const WORDS: readonly [number, string, JsonValue][] = [[0x74, "true", true], [0x66, "false", false], [0x6e, "null", null]];

type Container = JsonValue[] | { [k: string]: JsonValue };
interface Frame {
  readonly node: Container;
  readonly array: boolean;
  key: string;
  /** For the root object of a torchsave document: `"$torchsave"` has been read. */
  torchsave: boolean;
}

/**
 * Parses the JSON document in `source` (which must read synchronously or be in memory); a UTF-8
 * byte order mark before it is skipped. Storage data of a torchsave document stays in the source
 * as {@link LocatedBase64} values. `window` is the bytes read at a time (tests make it tiny).
 * @throws ConvertError `truncated` (the document ends early) or `invalid-data` (not JSON, not
 *   UTF-8, or storage data that is not strict base64), each with the byte offset; `invalid-argument`
 *   for a source that reads only asynchronously.
 */
export function parseJsonSource(source: ByteSource, window = JSON_READ_WINDOW): JsonValue {
  return new JsonSourceParser(source, window).document();
}

class JsonSourceParser extends JsonByteCursor {
  constructor(source: ByteSource, window: number) {
    super(source, window, "document");
  }

  document(): JsonValue {
    if (this.peek() === 0xef && this.buf[this.pos + 1] === 0xbb && this.buf[this.pos + 2] === 0xbf) this.pos += 3;
    const stack: Frame[] = [];
    let result: JsonValue = null;
    const place = (v: JsonValue): void => {
      const top = stack[stack.length - 1];
      if (top === undefined) result = v;
      else if (top.array) (top.node as JsonValue[]).push(v);
      else setKey(top.node as Record<string, JsonValue>, top.key, v);
    };
    let expectValue = true;
    for (;;) {
      if (expectValue) {
        expectValue = false;
        const c = this.space();
        if (c === 0x7b || c === 0x5b) {
          this.pos++;
          const array = c === 0x5b;
          const node: Container = array ? [] : {};
          place(node);
          stack.push({ node, array, key: "", torchsave: false });
          if (this.space() === (array ? 0x5d : 0x7d)) {
            this.pos++;
            stack.pop();
            continue;
          }
          if (!array) this.key(stack);
          expectValue = true;
          continue;
        }
        place(c === QUOTE && isDataSlot(stack) ? this.data() : this.scalar(c));
        continue;
      }
      const top = stack[stack.length - 1];
      if (top === undefined) break;
      if (this.separator(top.array)) {
        if (!top.array) this.key(stack);
        expectValue = true;
      } else stack.pop();
    }
    const c = this.space();
    if (c >= 0) throw this.fail("text after the JSON value");
    return result;
  }

  private key(stack: Frame[]): void {
    const top = stack[stack.length - 1]!;
    const c = this.space();
    if (c !== QUOTE) throw c < 0 ? this.end("an object") : this.fail("expected a key");
    top.key = this.string();
    if (stack.length === 1 && top.key === "$torchsave") top.torchsave = true;
    if (this.space() !== 0x3a) throw this.peek() < 0 ? this.end("an object") : this.fail("expected ':'");
    this.pos++;
  }

  private scalar(c: number): JsonValue {
    if (c === QUOTE) return this.string();
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    for (const [first, word, value] of WORDS) {
      if (c !== first) continue;
      for (let k = 0; k < word.length; k++) {
        const b = this.peek();
        if (b !== word.charCodeAt(k)) throw this.unexpected(b, "a literal");
        this.pos++;
      }
      return value;
    }
    throw this.unexpected(c, "the document");
  }

  private number(): number {
    const start = this.offset;
    let text = "";
    for (;;) {
      const b = this.buf;
      let p = this.pos;
      while (p < b.length && NUMBER_BYTE[b[p]!] === 1) p++;
      text += String.fromCharCode.apply(null, b.subarray(this.pos, p) as unknown as number[]);
      this.pos = p;
      if (p < b.length || !this.refill()) break;
    }
    if (!NUMBER.test(text)) throw this.fail(`bad number ${JSON.stringify(text.slice(0, 40))}`, start);
    return Number(text);
  }

  /**
   * A storage's `"data"` at the cursor: strict base64 checked in place (alphabet, `=` only at the
   * end, length a multiple of 4, zero unused bits) and located, not copied. A string with escapes
   * (`\/`, which some encoders write) is read as text instead.
   */
  private data(): JsonValue {
    this.pos++;
    const start = this.offset;
    let pads = 0;
    let last = 0;
    for (;;) {
      const b = this.buf;
      let p = this.pos;
      while (p < b.length && BASE64_SEXTET[b[p]!]! < 64) p++;
      if (p > this.pos) {
        if (pads > 0) throw this.notBase64(start);
        last = BASE64_SEXTET[b[p - 1]!]!;
      }
      this.pos = p;
      if (p === b.length) {
        if (!this.refill()) throw this.end("a string");
        continue;
      }
      const c = b[p]!;
      if (c === PAD) {
        if (++pads > 2) throw this.notBase64(start);
        this.pos++;
        continue;
      }
      if (c === QUOTE) break;
      if (c === BACKSLASH) return this.string(this.prefix(start, this.offset));
      if (c < 0x20) throw this.fail("control character in a string");
      throw this.notBase64(start);
    }
    const chars = this.offset - start;
    this.pos++;
    const unused = pads === 2 ? last & 15 : pads === 1 ? last & 3 : 0;
    if (chars % 4 !== 0 || unused !== 0) throw this.notBase64(start);
    const tail = new Uint8Array(4);
    tail.fill(PAD, 4 - pads);
    return locatedBase64(this.source, start, chars, base64DecodedLength(chars, tail)) as unknown as JsonValue;
  }

  /** The bytes `[from, to)` of the source (a string's start, read again when it turns out to need unescaping). */
  private prefix(from: number, to: number): Uint8Array {
    return to - from === 0 ? new Uint8Array(0) : this.read(from, to - from);
  }

  private notBase64(start: number): ConvertError {
    return new ConvertError("invalid-data", `data is not strict base64 (the string at byte ${start - 1})`, { offset: start - 1 });
  }
}

/** True when the value about to be read is `root.storages[i].data` of a torchsave document. */
function isDataSlot(stack: readonly Frame[]): boolean {
  return stack.length === 3 && stack[2]!.key === "data" && !stack[2]!.array && stack[1]!.array && stack[0]!.key === "storages" && stack[0]!.torchsave;
}

/** `obj[key] = v` as `JSON.parse` does it: `"__proto__"` becomes an own key, not the prototype. */
function setKey(obj: Record<string, JsonValue>, key: string, v: JsonValue): void {
  if (key === "__proto__") Object.defineProperty(obj, key, { value: v, writable: true, enumerable: true, configurable: true });
  else obj[key] = v;
}
