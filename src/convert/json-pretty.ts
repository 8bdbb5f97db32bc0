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

/** A JSON value that may contain {@link RawJson} tokens. */
export type JsonLike = JsonValue | RawJson | JsonLike[] | { [k: string]: JsonLike };

export const rawJson = (text: string): RawJson => ({ [RAW_JSON]: text });

const isRaw = (v: unknown): v is RawJson => typeof v === "object" && v !== null && RAW_JSON in v;

/** How wide a one-line container may be before it is broken over lines. */
const INLINE_WIDTH = 160;
/** How deeply containers nest inside a one-line container. */
const INLINE_DEPTH = 3;

export interface PrettyOptions {
  /** Spaces per level; 0 writes one line. Default 1. */
  readonly indent?: number;
  /** On one line: "python" (default) separates with ", " and ": " as `json.dumps` does; "tight" with "," and ":". */
  readonly separators?: "python" | "tight";
}

/** Writes `value` as JSON text, appending pieces to `out` (join them, or stream them). */
export function writeJson(value: JsonLike, out: string[], options: PrettyOptions = {}, baseLevel = 0): void {
  const indent = options.indent ?? 1;
  const pad = (level: number) => (indent > 0 ? `\n${" ".repeat(indent * level)}` : "");
  const tight = indent === 0 && options.separators === "tight";
  const colon = tight ? ":" : ": ";
  const comma = indent > 0 || tight ? "," : ", ";
  type Frame = { readonly close: string; readonly level: number; readonly items: [string | undefined, JsonLike][]; next: number };
  const stack: Frame[] = [];
  const open = (v: JsonLike, level: number): void => {
    const scalar = scalarText(v);
    if (scalar !== undefined) {
      out.push(scalar);
      return;
    }
    const isArray = Array.isArray(v);
    const items: [string | undefined, JsonLike][] = isArray
      ? (v as JsonLike[]).map((x) => [undefined, x])
      : Object.keys(v as object).map((k) => [k, (v as Record<string, JsonLike>)[k]!]);
    if (items.length === 0) {
      out.push(isArray ? "[]" : "{}");
      return;
    }
    const inline = indent > 0 ? inlineText(items, isArray) : undefined;
    if (inline !== undefined) {
      out.push(inline);
      return;
    }
    out.push(isArray ? "[" : "{");
    stack.push({ close: isArray ? "]" : "}", level, items, next: 0 });
  };
  open(value, baseLevel);
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    if (f.next === f.items.length) {
      stack.pop();
      out.push(`${pad(f.level)}${f.close}`);
      continue;
    }
    const [key, v] = f.items[f.next]!;
    out.push(`${f.next > 0 ? comma : ""}${pad(f.level + 1)}${key === undefined ? "" : `${JSON.stringify(key)}${colon}`}`);
    f.next++;
    open(v, f.level + 1);
  }
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
  const scalar = scalarText(v);
  if (scalar !== undefined) {
    budget.left -= scalar.length;
    return budget.left < 0 ? undefined : scalar;
  }
  if (depth >= INLINE_DEPTH) return undefined;
  if (Array.isArray(v)) {
    if (v.length > INLINE_WIDTH / 2) return undefined;
    return inlineItems(v.map((x) => [undefined, x]), true, budget, depth + 1);
  }
  const keys = Object.keys(v as object);
  if (keys.length > INLINE_WIDTH / 4) return undefined;
  return inlineItems(keys.map((k) => [k, (v as Record<string, JsonLike>)[k]!]), false, budget, depth + 1);
}

function scalarText(v: JsonLike): string | undefined {
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
