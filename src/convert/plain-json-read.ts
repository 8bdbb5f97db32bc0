/**
 * The plain JSON parser: reads `json.dump`-style text from bytes, a window at a time (1 MiB), so a
 * document of any size reads (a JS string stops at about 512 MiB). It keeps what `JSON.parse`
 * throws away: each number's kind by its spelling (`1.0` stays a float, 20-digit ints stay exact),
 * object keys in document order, duplicate keys, and Python's `NaN`, `Infinity`, `-Infinity`.
 * A list of numbers and bools goes straight into a `NumberRun` (plain-json-run.ts: a Float64Array
 * and a kind per element), never into one object per number. Iterative: nesting depth costs heap, not stack.
 */
import { concatBytes } from "../bytes/concat.js";
import type { ByteSource } from "../bytes/source.js";
import { bytesSource } from "../bytes/source.js";
import { ConvertError } from "../errors.js";
import { JsonByteCursor } from "./json-cursor.js";
import { JSON_READ_WINDOW } from "./json-read.js";
import { BOOL, FLOAT, INT, RunBuilder, runItems, scanNumber, type Num, type ParsedJson } from "./plain-json-run.js";

export type { NumberRun, ParsedJson } from "./plain-json-run.js";
export { BOOL, FLOAT, INT, runText } from "./plain-json-run.js";

/**
 * Parses plain JSON from `source` (in memory or read synchronously); a UTF-8 byte order mark is skipped.
 * @throws ConvertError `truncated` (the text ends inside a value) or `invalid-data` (not JSON, not UTF-8), with the byte offset.
 */
export function parsePlainJsonSource(source: ByteSource, window = JSON_READ_WINDOW): ParsedJson {
  return new PlainJsonParser(source, window).document();
}

/** {@link parsePlainJsonSource} over a text (its UTF-8 bytes: offsets are byte offsets). */
export function parsePlainJsonText(text: string): ParsedJson {
  return parsePlainJsonSource(bytesSource(new TextEncoder().encode(text)));
}

const QUOTE = 0x22;
const NUMBER_BYTE: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (const c of "0123456789+-.eE") t[c.charCodeAt(0)] = 1;
  return t;
})();
const WORDS: readonly [string, ParsedJson, number][] = [
  ["true", true, BOOL], ["false", false, BOOL], ["null", null, -1],
  ["NaN", { t: "num", text: "NaN" }, FLOAT], ["Infinity", { t: "num", text: "Infinity" }, FLOAT], ["-Infinity", { t: "num", text: "-Infinity" }, FLOAT],
];


interface Frame {
  readonly array: boolean;
  readonly items: ParsedJson[];
  readonly entries: [string, ParsedJson][];
  key: string;
  /** While every element of an array is a number or bool. */
  run: RunBuilder | undefined;
}

class PlainJsonParser extends JsonByteCursor {
  private readonly num: Num = { value: 0, kind: INT, text: undefined };

  constructor(source: ByteSource, window: number) {
    super(source, window, "text");
  }

  document(): ParsedJson {
    if (this.peek() === 0xef && this.peekAt(1) === 0xbb && this.peekAt(2) === 0xbf) {
      for (let k = 0; k < 3; k++) {
        this.peek();
        this.pos++;
      }
    }
    const stack: Frame[] = [];
    let result: ParsedJson = null;
    const place = (v: ParsedJson): void => {
      const top = stack[stack.length - 1];
      if (top === undefined) result = v;
      else if (!top.array) top.entries.push([top.key, v]);
      else {
        if (top.run !== undefined) {
          if (top.run.length > 0) top.items.push(...runItems(top.run.finish()));
          top.run = undefined;
        }
        top.items.push(v);
      }
    };
    const close = (f: Frame): ParsedJson => {
      if (!f.array) return { t: "obj", entries: f.entries };
      if (f.run !== undefined && f.run.length > 0) return { t: "nums", run: f.run.finish() };
      return { t: "arr", items: f.items };
    };
    let expectValue = true;
    for (;;) {
      if (expectValue) {
        expectValue = false;
        const c = this.space();
        if (c === 0x7b || c === 0x5b) {
          this.pos++;
          const array = c === 0x5b;
          const frame: Frame = { array, items: [], entries: [], key: "", run: array ? new RunBuilder() : undefined };
          stack.push(frame);
          if (this.space() === (array ? 0x5d : 0x7d)) {
            this.pos++;
            stack.pop();
            place(close(frame));
            continue;
          }
          if (!array) this.key(frame);
          expectValue = true;
          continue;
        }
        const top = stack[stack.length - 1];
        if (c === QUOTE) place(this.string());
        else if (top?.run !== undefined && this.number(c, false)) top.run.push(this.num.value, this.num.kind, this.num.text);
        else if (top?.run === undefined && this.number(c, true)) place({ t: "num", text: this.num.text! });
        else {
          const v = this.word(c, top?.run);
          if (v !== SKIP) place(v);
        }
        continue;
      }
      const top = stack[stack.length - 1];
      if (top === undefined) break;
      if (this.separator(top.array)) {
        if (!top.array) this.key(top);
        expectValue = true;
      } else {
        stack.pop();
        place(close(top));
      }
    }
    const c = this.space();
    if (c >= 0) throw this.fail("text after the JSON value");
    return result;
  }

  private key(top: Frame): void {
    const c = this.space();
    if (c !== QUOTE) throw c < 0 ? this.end("an object") : this.fail("expected a key");
    top.key = this.string();
    const d = this.space();
    if (d !== 0x3a) throw d < 0 ? this.end("an object") : this.fail("expected ':'");
    this.pos++;
  }

  /** `true`, `false`, `null` or a non-finite token at the cursor: placed, or pushed onto `run` (returns undefined then). */
  private word(c: number, run: RunBuilder | undefined): ParsedJson {
    for (const [word, value, kind] of WORDS) {
      if (c !== word.charCodeAt(0)) continue;
      if (word === "-Infinity" && this.peekAt(1) !== 0x49) continue;
      for (let k = 0; k < word.length; k++) {
        const b = this.peek();
        if (b !== word.charCodeAt(k)) throw this.unexpected(b, "a literal");
        this.pos++;
      }
      if (run !== undefined && kind >= 0) {
        run.push(kind === BOOL ? (value === true ? 1 : 0) : Number(word), kind, undefined);
        return SKIP;
      }
      return value;
    }
    throw this.unexpected(c, "the document");
  }

  private peekAt(k: number): number {
    if (this.pos + k < this.buf.length) return this.buf[this.pos + k]!;
    const at = this.offset + k;
    return at < this.source.size ? this.read(at, 1)[0]! : -1;
  }

  /**
   * A number at the cursor into `this.num` (its text too when `wantText`, or when it is an int past
   * 2^53); false when none starts here (a word such as `-Infinity` may).
   */
  private number(c: number, wantText: boolean): boolean {
    if (c !== 0x2d && (c < 0x30 || c > 0x39)) return false;
    if (c === 0x2d && this.peekAt(1) === 0x49) return false; // -Infinity
    const start = this.offset;
    let b = this.buf;
    let p = this.pos;
    while (p < b.length && NUMBER_BYTE[b[p]!] === 1) p++;
    let bytes: Uint8Array;
    let from: number;
    if (p < b.length || this.base + p >= this.source.size) {
      bytes = b;
      from = this.pos;
    } else {
      // The token runs past the window: gather it.
      const parts = [b.subarray(this.pos, p)];
      this.pos = p;
      while (this.refill()) {
        b = this.buf;
        let q = 0;
        while (q < b.length && NUMBER_BYTE[b[q]!] === 1) q++;
        parts.push(b.subarray(0, q));
        this.pos = q;
        if (q < b.length) break;
      }
      bytes = concatBytes(parts);
      from = 0;
      p = bytes.length;
    }
    const len = scanNumber(bytes, from, p, this.num);
    if (len < p - from) {
      // A valid number ends where the token goes on: the next byte is not JSON here.
      const at = start + Math.max(len, 1);
      const ch = bytes[from + Math.max(len, 1)];
      if (len === 0) throw this.unexpected(c, "the document");
      throw this.fail(`unexpected ${JSON.stringify(String.fromCharCode(ch!))}`, at);
    }
    if (len === 0) throw this.unexpected(c, "the document");
    if (bytes === this.buf) this.pos = from + len;
    const text = wantText || (this.num.kind === INT && !Number.isSafeInteger(this.num.value)) ? String.fromCharCode.apply(null, bytes.subarray(from, from + len) as unknown as number[]) : undefined;
    this.num.text = text;
    return true;
  }

  protected override notUtf8(start: number): ConvertError {
    return new ConvertError("invalid-data", "JSON input is not UTF-8 (in the string that starts there)", { offset: start });
  }
}

/** What {@link PlainJsonParser.word} returns for a token it pushed onto a run. */
const SKIP = Symbol("pushed") as unknown as ParsedJson;

