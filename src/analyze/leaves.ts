/**
 * A checkpoint flattened to its leaves: every tensor, numpy array and plain value, each with the key
 * path that reaches it through dicts, lists and tuples (the paths `torchsave tensors --json` prints).
 */
import type { KeyPath } from "../errors.js";
import type { PyDict, PyObject } from "../pickle/index.js";
import type { NdArray, Tensor, TorchHost, TorchValue } from "../torch/index.js";

/** A JSON-friendly rendering of a plain value (numbers stay numbers; NaN/Inf and big ints become strings). */
export type PlainValue = null | boolean | number | string | PlainValue[] | { readonly [k: string]: PlainValue };

export type Leaf =
  | { readonly kind: "array"; readonly path: KeyPath; readonly array: Tensor | NdArray }
  | { readonly kind: "value"; readonly path: KeyPath; readonly value: PlainValue };

/** Deepest container nesting followed; deeper values are rendered as one leaf. */
export const MAX_LEAF_DEPTH = 200;

/**
 * Every leaf of `root`, depth first in insertion order. Containers: dicts with str/int keys, lists,
 * tuples. Anything else (numbers, strings, objects, sets, bytes) is one value leaf; a numpy
 * scalar (`np.float32(1.5)`) counts as an array. Cycles and repeated containers are cut.
 */
export function leavesOf(root: TorchValue): Leaf[] {
  const out: Leaf[] = [];
  const onPath = new Set<object>();
  const visit = (v: TorchValue, path: (string | number)[]): void => {
    if (isArray(v)) {
      out.push({ kind: "array", path: path.slice(), array: v });
      return;
    }
    const kind = typeof v === "object" && v !== null ? (v as { kind?: string }).kind : undefined;
    const container = kind === "dict" || kind === "list" || kind === "tuple";
    if (!container || path.length >= MAX_LEAF_DEPTH || onPath.has(v as object)) {
      out.push({ kind: "value", path: path.slice(), value: plainOf(v, 0) });
      return;
    }
    onPath.add(v as object);
    if (kind === "dict") {
      for (const [k, x] of (v as PyDict<TorchHost>).entries) {
        if (typeof k !== "string" && !(typeof k === "number" && Number.isInteger(k))) continue;
        path.push(k);
        visit(x, path);
        path.pop();
      }
    } else {
      const items = (v as { items: TorchValue[] }).items;
      for (let i = 0; i < items.length; i++) {
        path.push(i);
        visit(items[i]!, path);
        path.pop();
      }
    }
    onPath.delete(v as object);
  };
  visit(root, []);
  return out;
}

export function isArray(v: unknown): v is Tensor | NdArray {
  if (typeof v !== "object" || v === null) return false;
  const k = (v as { kind?: unknown }).kind;
  return k === "tensor" || (k === "ndarray" && (v as NdArray).dtype !== undefined && (v as NdArray).data !== undefined);
}

/** A short, stable rendering of a value for reports (depth- and size-bounded). */
export function plainOf(v: TorchValue, depth: number): PlainValue {
  if (v === null || typeof v === "boolean" || typeof v === "string") return v;
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return v.toString();
  if (depth > 4) return "…";
  const kind = (v as { kind?: string }).kind;
  switch (kind) {
    case "float": {
      const x = (v as { value: number }).value;
      return Number.isFinite(x) ? x : String(x);
    }
    case "complex": {
      const c = v as { real: number; imag: number };
      return `(${c.real}${c.imag < 0 ? "-" : "+"}${Math.abs(c.imag)}j)`;
    }
    case "bytes":
    case "bytearray":
      return `<${(v as { data: Uint8Array }).data.length} bytes>`;
    case "list":
    case "tuple":
    case "set":
    case "frozenset": {
      const items = (v as { items: TorchValue[] }).items;
      const shown = items.slice(0, 16).map((x) => plainOf(x, depth + 1));
      if (items.length > 16) shown.push(`… ${items.length - 16} more`);
      return shown;
    }
    case "dict":
      return `<dict of ${(v as PyDict<TorchHost>).entries.length}>`;
    case "global": {
      const g = v as { module: string; name: string };
      return `${g.module}.${g.name}`;
    }
    case "object": {
      const o = v as PyObject<TorchHost>;
      const cls = pyClassName(o);
      return `<${cls}>`;
    }
    case "tensor":
    case "ndarray":
      return `<${kind} ${(v as { dtype?: string }).dtype ?? ""} [${(v as { shape: number[] }).shape.join(", ")}]>`;
    default:
      return `<${kind ?? typeof v}>`;
  }
}

function pyClassName(o: PyObject<TorchHost>): string {
  const f = o.callable as unknown;
  if (typeof f === "object" && f !== null && (f as { kind?: string }).kind === "global") {
    const g = f as { module: string; name: string };
    return `${g.module}.${g.name}`;
  }
  return "object";
}

/** True when two rendered values are the same (NaN equals NaN: both render as "NaN"). */
export function sameValue(a: PlainValue, b: PlainValue): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A path as one string key for maps (unambiguous: JSON of the array). */
export const pathKey = (p: KeyPath): string => JSON.stringify(p);
