/**
 * A JSON parser that keeps what `JSON.parse` throws away, for plain JSON dumps: each number's text
 * (so `1.0` stays a float, and 20-digit ints stay exact), object keys in document order (JS
 * objects move index-like keys first) and duplicate keys. It also reads the `NaN`, `Infinity` and
 * `-Infinity` tokens Python's `json.dump` writes. Iterative: nesting depth costs heap, not stack.
 */
import { ConvertError } from "../../../src/errors.js";

/** A parsed JSON value: numbers keep their text, objects their key order and repeats. */
export type ParsedJson =
  | null
  | boolean
  | string
  | { readonly t: "num"; readonly text: string }
  | { readonly t: "arr"; readonly items: ParsedJson[] }
  | { readonly t: "obj"; readonly entries: [string, ParsedJson][] };

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const WORDS: readonly [string, ParsedJson][] = [
  ["true", true], ["false", false], ["null", null],
  ["NaN", { t: "num", text: "NaN" }], ["Infinity", { t: "num", text: "Infinity" }], ["-Infinity", { t: "num", text: "-Infinity" }],
];

/**
 * Parses JSON text (plus Python's non-finite tokens).
 * @throws ConvertError `invalid-data` with the character offset of the first error.
 */
export function parseJsonText(text: string): ParsedJson {
  let i = 0;
  const fail = (reason: string): ConvertError => new ConvertError("invalid-data", `not JSON: ${reason} at character ${i}`, { offset: i });
  const space = () => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else return;
    }
  };
  const string = (): string => {
    const start = i;
    i++;
    let escaped = false;
    for (;;) {
      if (i >= text.length) throw fail("unterminated string");
      const c = text.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) throw fail("control character in a string");
      if (c === 0x5c) {
        escaped = true;
        i += 2;
      } else i++;
    }
    i++;
    if (!escaped) return text.slice(start + 1, i - 1);
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      throw fail("bad escape in a string");
    }
  };
  // A scalar at i, or undefined when a container opens there.
  const scalar = (): ParsedJson | undefined => {
    const c = text[i];
    if (c === '"') return string();
    if (c === "[" || c === "{") return undefined;
    for (const [word, value] of WORDS) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return value;
      }
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (m === null) throw fail(i >= text.length ? "unexpected end" : `unexpected ${JSON.stringify(c)}`);
    i += m[0].length;
    return { t: "num", text: m[0] };
  };

  type Frame = { readonly node: Extract<ParsedJson, { t: "arr" } | { t: "obj" }>; key?: string };
  const stack: Frame[] = [];
  let result: ParsedJson | undefined;
  const place = (v: ParsedJson): void => {
    const top = stack[stack.length - 1];
    if (top === undefined) result = v;
    else if (top.node.t === "arr") top.node.items.push(v);
    else top.node.entries.push([top.key!, v]);
  };
  const key = (): void => {
    space();
    if (text[i] !== '"') throw fail("expected a key");
    stack[stack.length - 1]!.key = string();
    space();
    if (text[i] !== ":") throw fail("expected ':'");
    i++;
  };

  let expectValue = true;
  for (;;) {
    if (expectValue) {
      space();
      const v = scalar();
      expectValue = false;
      if (v !== undefined) {
        place(v);
        continue;
      }
      const open = text[i++];
      const node: Frame["node"] = open === "[" ? { t: "arr", items: [] } : { t: "obj", entries: [] };
      place(node);
      stack.push({ node });
      space();
      if (text[i] === (open === "[" ? "]" : "}")) {
        i++;
        stack.pop();
        continue;
      }
      if (node.t === "obj") key();
      expectValue = true;
      continue;
    }
    const top = stack[stack.length - 1];
    if (top === undefined) break;
    space();
    const c = text[i++];
    if (c === ",") {
      if (top.node.t === "obj") key();
      expectValue = true;
    } else if ((c === "]" && top.node.t === "arr") || (c === "}" && top.node.t === "obj")) {
      stack.pop();
    } else {
      i--;
      throw fail(c === undefined ? "unexpected end" : `unexpected ${JSON.stringify(c)}`);
    }
  }
  space();
  if (i < text.length) throw fail("text after the JSON value");
  return result!;
}
