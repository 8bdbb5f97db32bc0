/**
 * The Python literals a `.npy` header is written in (`repr` of a dict): str, int, True, False,
 * None, list, tuple and dict. Nothing else is accepted, and nesting is bounded.
 */

/** A parsed literal. Dicts keep their pairs in order. */
export type Literal =
  | string
  | number
  | boolean
  | null
  | { readonly list: Literal[] }
  | { readonly tuple: Literal[] }
  | { readonly dict: [Literal, Literal][] };

/** Deeper nesting than this is refused (a header is at most a few levels deep). */
const MAX_NESTING = 100;

const CLOSERS: Record<string, string> = { "[": "]", "(": ")", "{": "}" };
const WORDS: Record<string, Literal> = { True: true, False: false, None: null };

/** `text` parsed, or undefined when it is not one literal of the kinds above. */
export function parseLiteral(text: string): Literal | undefined {
  let i = 0;
  const space = (): void => {
    while (i < text.length && (text[i] === " " || text[i] === "\n" || text[i] === "\t" || text[i] === "\r")) i++;
  };
  const value = (depth: number): Literal | undefined => {
    if (depth > MAX_NESTING) return undefined;
    space();
    const c = text[i];
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      // repr picks the quote the text lacks; names with escapes are not read.
      if (end < 0 || text.slice(i + 1, end).includes("\\")) return undefined;
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    const close = c === undefined ? undefined : CLOSERS[c];
    if (close !== undefined) {
      i++;
      const items: Literal[] = [];
      const pairs: [Literal, Literal][] = [];
      for (;;) {
        space();
        if (text[i] === close) {
          i++;
          break;
        }
        const item = value(depth + 1);
        if (item === undefined) return undefined;
        if (c === "{") {
          space();
          if (text[i] !== ":") return undefined;
          i++;
          const v = value(depth + 1);
          if (v === undefined) return undefined;
          pairs.push([item, v]);
        } else {
          items.push(item);
        }
        space();
        if (text[i] === ",") i++;
        else if (text[i] !== close) return undefined;
      }
      return c === "[" ? { list: items } : c === "(" ? { tuple: items } : { dict: pairs };
    }
    const word = /^[A-Za-z]+/.exec(text.slice(i, i + 8))?.[0];
    if (word !== undefined) {
      if (!Object.prototype.hasOwnProperty.call(WORDS, word)) return undefined;
      i += word.length;
      return WORDS[word]!;
    }
    const digits = /^\d{1,16}/.exec(text.slice(i, i + 17))?.[0];
    if (digits === undefined) return undefined;
    i += digits.length;
    return Number(digits);
  };
  const out = value(0);
  space();
  return i === text.length ? out : undefined;
}

/** The value of `key` in a parsed dict, else undefined. */
export function literalGet(dict: Literal | undefined, key: string): Literal | undefined {
  if (typeof dict !== "object" || dict === null || !("dict" in dict)) return undefined;
  return dict.dict.find(([k]) => k === key)?.[1];
}
