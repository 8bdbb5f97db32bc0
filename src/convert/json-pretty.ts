/**
 * JSON text for people: nested containers indented, short runs of scalars (a shape, a `$global`
 * pair, `{"$float": 0.5}`) kept on one line. Iterative, so a value nested a million deep prints
 * without growing the JS stack (`JSON.stringify` recurses). Strings are escaped as
 * `JSON.stringify` escapes them (lone surrogates as `\udXXX`).
 */
import type { JsonValue } from "./json-value.js";

/** Marks a {@link RawJson} token. */
export const RAW_JSON: unique symbol = Symbol("torchsave.rawJson");

/** JSON text written as is: exact number spellings (`1.0`, `NaN`, 20-digit ints) JSON values cannot hold. */
export interface RawJson {
  readonly [RAW_JSON]: string;
}

/** Marks an {@link OrderedJson} object. */
export const ORDERED_JSON: unique symbol = Symbol("torchsave.orderedJson");

/** A JSON object as key/value pairs written in this order (a JS object would put index-like keys first). */
export interface OrderedJson {
  readonly [ORDERED_JSON]: readonly (readonly [string, JsonLike])[];
}

/** Marks a {@link LazyJson} value. */
export const LAZY_JSON: unique symbol = Symbol("torchsave.lazyJson");

/**
 * A value made only when the writer reaches it, and dropped once written, so a document of many
 * large tensors is never whole in memory. Its text must be longer than a one-line container
 * (160 characters: it is never inlined); `scalar` says whether it makes a {@link RawJson} token.
 */
export interface LazyJson {
  readonly [LAZY_JSON]: { readonly make: () => JsonLike; readonly scalar: boolean };
}

/** A {@link LazyJson} value. */
export const lazyJson = (make: () => JsonLike, scalar: boolean): LazyJson => ({ [LAZY_JSON]: { make, scalar } });

/** A JSON value that may contain {@link RawJson} tokens, {@link OrderedJson} objects and {@link LazyJson} values. */
export type JsonLike = JsonValue | RawJson | OrderedJson | LazyJson | JsonLike[] | { [k: string]: JsonLike };

/** A {@link RawJson} token; `text` must be valid JSON (or Python's `NaN`/`Infinity`), the writer does not check. */
export const rawJson = (text: string): RawJson => ({ [RAW_JSON]: text });
/** An {@link OrderedJson} object of these pairs. */
export const orderedJson = (pairs: readonly (readonly [string, JsonLike])[]): OrderedJson => ({ [ORDERED_JSON]: pairs });

const isRaw = (v: unknown): v is RawJson => typeof v === "object" && v !== null && RAW_JSON in v;
const isOrdered = (v: unknown): v is OrderedJson => typeof v === "object" && v !== null && ORDERED_JSON in v;
const isLazy = (v: unknown): v is LazyJson => typeof v === "object" && v !== null && LAZY_JSON in v;
/** The value of `v`, made now when it is lazy. */
const made = (v: JsonLike): JsonLike => (isLazy(v) ? v[LAZY_JSON].make() : v);

/** The key/value pairs of an object (undefined keys for array items). */
function itemsOf(v: JsonLike): [string | undefined, JsonLike][] {
  if (Array.isArray(v)) return v.map((x) => [undefined, x]);
  if (isOrdered(v)) return v[ORDERED_JSON].map(([k, x]) => [k, x]);
  return Object.keys(v as object).map((k) => [k, (v as Record<string, JsonLike>)[k]!]);
}

/** How wide a one-line container may be before it is broken over lines. */
export const INLINE_WIDTH = 160;
/** How deeply containers nest inside a one-line container. */
export const INLINE_DEPTH = 3;

/** Options of {@link writeJson} and {@link prettyJson}. */
export interface PrettyOptions {
  /** Spaces per level; 0 writes one line. Default 1. */
  readonly indent?: number;
  /** On one line: "python" (default) separates with ", " and ": " as `json.dumps` does; "tight" with "," and ":". */
  readonly separators?: "python" | "tight";
}

/** Writes `value` as JSON text, appending pieces to `out` (join them). */
export function writeJson(value: JsonLike, out: string[], options: PrettyOptions = {}, baseLevel = 0): void {
  for (const piece of jsonPieces(value, options, baseLevel)) out.push(piece);
}

/** Pieces of text joined per yield: at most this many, or about this many characters. */
const PIECES_PER_YIELD = 1024;
const CHARS_PER_YIELD = 64 * 1024;

/** `value` as JSON text, in pieces of a few KiB (lazy values are made as they are reached). */
export function* jsonPieces(value: JsonLike, options: PrettyOptions = {}, baseLevel = 0): Generator<string> {
  const out: string[] = [];
  let counted = 0;
  let chars = 0;
  const indent = options.indent ?? 1;
  const pad = (level: number) => (indent > 0 ? `\n${" ".repeat(indent * level)}` : "");
  const tight = indent === 0 && options.separators === "tight";
  const colon = tight ? ":" : ": ";
  const comma = indent > 0 || tight ? "," : ", ";
  /** `tail` frames hold one child written on the opening line, and close without a line break. */
  type Frame = { readonly close: string; readonly level: number; readonly items: [string | undefined, JsonLike][]; next: number; readonly tail: boolean };
  const stack: Frame[] = [];
  const open = (lazy: JsonLike, level: number): void => {
    const v = made(lazy);
    const scalar = jsonScalarText(v);
    if (scalar !== undefined) {
      out.push(scalar);
      return;
    }
    const isArray = Array.isArray(v);
    const items = itemsOf(v);
    if (items.length === 0) {
      out.push(isArray ? "[]" : "{}");
      return;
    }
    const inline = indent > 0 ? inlineText(items, isArray) : undefined;
    if (inline !== undefined) {
      out.push(inline);
      return;
    }
    // A few scalars then one container (`["fc.weight", {...}]`), or a one-key object
    // (`{"$tensor": {...}}`): the scalars stay on the opening line and the container follows them.
    const head = items.slice(0, -1);
    if (indent > 0 && head.length <= 4 && (isArray || items.length === 1) && head.every(([, x]) => isLazy(x) ? x[LAZY_JSON].scalar : jsonScalarText(x) !== undefined)) {
      const [lastKey, last] = items[items.length - 1]!;
      out.push(`${isArray ? "[" : "{"}${head.map(([, x]) => `${jsonScalarText(made(x))!}, `).join("")}${lastKey === undefined ? "" : `${JSON.stringify(lastKey)}: `}`);
      stack.push({ close: isArray ? "]" : "}", level, items: [[undefined, last]], next: 0, tail: true });
      return;
    }
    out.push(isArray ? "[" : "{");
    stack.push({ close: isArray ? "]" : "}", level, items, next: 0, tail: false });
  };
  open(value, baseLevel);
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    if (f.next === f.items.length) {
      stack.pop();
      out.push(f.tail ? f.close : `${pad(f.level)}${f.close}`);
      continue;
    }
    const [key, v] = f.items[f.next]!;
    if (!f.tail) out.push(`${f.next > 0 ? comma : ""}${pad(f.level + 1)}${key === undefined ? "" : `${JSON.stringify(key)}${colon}`}`);
    f.next++;
    open(v, f.tail ? f.level : f.level + 1);
    for (; counted < out.length; counted++) chars += out[counted]!.length;
    if (counted >= PIECES_PER_YIELD || chars >= CHARS_PER_YIELD) {
      yield out.join("");
      out.length = 0;
      counted = 0;
      chars = 0;
    }
  }
  if (out.length > 0) yield out.join("");
}

/**
 * One line for a container whose whole text fits in {@link INLINE_WIDTH} (nested at most
 * {@link INLINE_DEPTH} deep), else undefined. Gives up as soon as the width is exceeded, so the
 * cost per container is bounded.
 */
function inlineText(items: [string | undefined, JsonLike][], isArray: boolean): string | undefined {
  const budget = { left: INLINE_WIDTH };
  const text = inlineItems(items, isArray, budget, 0);
  return text;
}

function inlineItems(items: [string | undefined, JsonLike][], isArray: boolean, budget: { left: number }, depth: number): string | undefined {
  budget.left -= 2;
  const parts: string[] = [];
  for (const [k, v] of items) {
    const text = inlineValue(v, budget, depth);
    if (text === undefined) return undefined;
    const piece = k === undefined ? text : `${JSON.stringify(k)}: ${text}`;
    budget.left -= piece.length - text.length + 2;
    if (budget.left < 0) return undefined;
    parts.push(piece);
  }
  return isArray ? `[${parts.join(", ")}]` : `{${parts.join(", ")}}`;
}

function inlineValue(v: JsonLike, budget: { left: number }, depth: number): string | undefined {
  if (isLazy(v)) return undefined;
  const scalar = jsonScalarText(v);
  if (scalar !== undefined) {
    budget.left -= scalar.length;
    return budget.left < 0 ? undefined : scalar;
  }
  if (depth >= INLINE_DEPTH) return undefined;
  const isArray = Array.isArray(v);
  const count = isArray ? (v as JsonLike[]).length : isOrdered(v) ? v[ORDERED_JSON].length : Object.keys(v as object).length;
  if (count > INLINE_WIDTH / (isArray ? 2 : 4)) return undefined;
  return inlineItems(itemsOf(v), isArray, budget, depth + 1);
}

/** The text of a scalar (a raw token, a string, number, bool or null), else undefined. */
export function jsonScalarText(v: JsonLike): string | undefined {
  if (isRaw(v)) return v[RAW_JSON];
  if (typeof v === "number" && !Number.isFinite(v)) return "null";
  return typeof v === "object" && v !== null ? undefined : JSON.stringify(v);
}

/** `value` as one JSON string (see {@link writeJson}). */
export function prettyJson(value: JsonLike, options: PrettyOptions = {}): string {
  const out: string[] = [];
  writeJson(value, out, options);
  return out.join("");
}
