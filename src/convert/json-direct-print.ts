/**
 * The lossless JSON of a checkpoint's root printed straight from the value (issue #16): the text
 * `writeJson(directRootJson(root), { indent, separators: "tight" }, level)` gives, byte for byte,
 * without building the JSON value first. Dicts, lists, tuples, sets and `$dict` pairs are read in
 * place, and a plain tensor's one-line record is one string made at once, where the pretty printer
 * builds a record object, its key/value pairs and a one-line probe of them per tensor. Leaves (floats,
 * big ints, bytes, globals, storages) and the rare tensor too wide for one line are made by
 * `directConverter` and printed as the pretty printer prints them.
 *
 * A walk first checks that the direct builder would take the whole root (nothing met twice, no depth
 * past its limit, nothing malformed); only then does printing start, so it never stops half-way.
 */
import { pyKind, type PyDict } from "../pickle/value.js";
import type { Tensor, TorchValue } from "../torch/index.js";
import { isTensor } from "../torch/index.js";
import type { TextSink } from "../bytes/text-sink.js";
import { directConverter } from "./json-direct.js";
import { directTakes } from "./json-direct-check.js";
import { TensorLineWriter } from "./json-bytes.js";
import { INLINE_DEPTH, INLINE_WIDTH, jsonScalarText } from "./json-pretty.js";
import { NOT_PRIMITIVE, plainKeys, primitiveJson } from "./json-value-to.js";
import type { JsonValue } from "./json-value-types.js";
import type { GraphFacts } from "./value-graph.js";

/** What the printer needs about tensors: whether one's record is plain, and its storage's key. */
export interface DirectTensors {
  readonly isPlain: (t: Tensor) => boolean;
  readonly storageKey: (t: Tensor) => string;
  /** The record's JSON (`plainTensorJson`), for a tensor too wide for one line. */
  readonly recordJson: (t: Tensor) => JsonValue;
}

/** Deepest value the direct builder takes (json-direct.ts `DIRECT_DEPTH`). */
const DIRECT_DEPTH = 200;

/** Characters of text gathered per yield. */
const CHARS_PER_YIELD = 64 * 1024;

/** Characters of a plain tensor's one-line text that do not depend on the tensor. */
const TENSOR_TEXT_FIXED =
  '{"$tensor": {"dtype": , "shape": [], "stride": [], "offset": , "storage": , "device": , "requires_grad": , "parameter": }}'.length;

/** A container as the printer sees it: values in order, with their keys for an object. */
class Box {
  constructor(readonly isArray: boolean, readonly keys: readonly string[] | undefined, readonly values: readonly unknown[]) {}
}

/** A value already made as JSON (a leaf, or a part of one). */
class Made {
  constructor(readonly json: JsonValue) {}
}

/** A plain tensor, printed as `{"$tensor": {...record}}`. */
class PlainTensor {
  constructor(readonly t: Tensor) {}
}

/**
 * The root's text in pieces, or undefined when the direct builder would decline the root (the
 * caller then takes the general path).
 */
export function directRootPieces(
  root: TorchValue, facts: GraphFacts, maxDepth: number, tensors: DirectTensors, indent: number, baseLevel: number,
): Generator<string> | undefined {
  if (!directTakes(root, facts, Math.min(maxDepth, DIRECT_DEPTH), tensors)) return undefined;
  // A fresh converter per leaf: the printer meets a value more than once (one-line probes, then the value itself).
  const leaf = (v: unknown): JsonValue => directConverter(facts, maxDepth, () => undefined)(v, 0)!;
  return printRoot(root, leaf, tensors, indent, baseLevel, undefined) as Generator<string>;
}

/**
 * {@link directRootPieces} written into `sink` (the same bytes): the generator yields the sink's
 * full buffers as they fill, and leaves the last, partly filled one in the sink. Plain tensors'
 * one-line texts are written as bytes (json-bytes.ts `TensorLineWriter`), never made as strings.
 */
export function directRootBytes(
  root: TorchValue, facts: GraphFacts, maxDepth: number, tensors: DirectTensors, indent: number, baseLevel: number, sink: TextSink,
): Generator<Uint8Array> | undefined {
  if (!directTakes(root, facts, Math.min(maxDepth, DIRECT_DEPTH), tensors)) return undefined;
  const leaf = (v: unknown): JsonValue => directConverter(facts, maxDepth, () => undefined)(v, 0)!;
  return printRoot(root, leaf, tensors, indent, baseLevel, sink) as Generator<Uint8Array>;
}

function* printRoot(
  root: TorchValue, leaf: (v: unknown) => JsonValue, tensors: DirectTensors, indent: number, baseLevel: number, sink: TextSink | undefined,
): Generator<string | Uint8Array> {
  const pads: string[] = [];
  const pad = (level: number): string => (indent > 0 ? (pads[level] ??= `\n${" ".repeat(indent * level)}`) : "");
  const tight = indent === 0;
  const colon = tight ? ":" : ": ";
  const comma = ",";

  let lastDict: unknown;
  let lastBox: Box | undefined;
  /** A value as the printer sees it: its scalar text, or a container. */
  const shape = (v: unknown): string | Box | PlainTensor => {
    if (v instanceof Box || v instanceof PlainTensor) return v;
    if (v instanceof Made) return jsonShape(v.json);
    // A raw array is a `$dict` pair (`[key, value]`): no value of the model is one (the check declines them).
    if (Array.isArray(v)) return new Box(true, undefined, v);
    // Tensors first: most values of a checkpoint are (and pyKind's set lookup is not needed for them).
    if (isTensor(v)) return new PlainTensor(v);
    const prim = primitiveJson(v, undefined);
    if (prim !== NOT_PRIMITIVE) return jsonShape(prim);
    if (v === null) return "null";
    switch (pyKind(v)) {
      case "list":
        return new Box(true, undefined, (v as { items: unknown[] }).items);
      case "tuple":
      case "set":
      case "frozenset":
        return new Box(false, [`$${pyKind(v)!}`], [new Box(true, undefined, (v as { items: unknown[] }).items)]);
      case "dict":
        // A dict is shaped by its parent's one-line probe, then again when printed: one box for both.
        if (v !== lastDict) {
          lastBox = dictBox(v as PyDict<unknown>);
          lastDict = v;
        }
        return lastBox!;
      default:
        if (isTensor(v)) return new PlainTensor(v);
        return jsonShape(leaf(v));
    }
  };

  const dictBox = (d: PyDict<unknown>): Box => {
    const entries = d.entries as unknown as [unknown, unknown][];
    if (d.type === undefined && d.state === undefined && plainKeys(entries)) {
      const keys = new Array<string>(entries.length);
      const values = new Array<unknown>(entries.length);
      for (let i = 0; i < entries.length; i++) {
        keys[i] = entries[i]![0] as string;
        values[i] = entries[i]![1];
      }
      return new Box(false, keys, values);
    }
    const keys: string[] = [];
    const values: unknown[] = [];
    if (d.type !== undefined) {
      const t = d.type as unknown as { module: string; name: string };
      keys.push("$type");
      values.push(new Made([t.module, t.name]));
    }
    keys.push("$dict");
    values.push(new Box(true, undefined, entries));
    if (d.state !== undefined) {
      keys.push("$state");
      values.push(d.state);
    }
    return new Box(false, keys, values);
  };

  /** `{"$tensor": record}` as a container of made JSON (for a tensor too wide for one line). */
  const tensorBox = (t: Tensor): Box => new Box(false, ["$tensor"], [new Made(tensors.recordJson(t))]);

  /**
   * A plain tensor's one-line text when it fits in what is left of `budget`, met in a one-line
   * probe at `depth` (-1: the tensor itself is being printed), else undefined. The probe charges
   * each character and 2 more per non-empty container (json-pretty.ts `inlineItems`).
   */
  const tensorLine = (t: Tensor, budget: { left: number }, depth: number): string | undefined => {
    // The record's shape and stride arrays sit two levels below the tensor.
    if (depth + 2 >= INLINE_DEPTH || t.shape.length > INLINE_WIDTH / 2 || t.stride.length > INLINE_WIDTH / 2) return undefined;
    const extra = 4 + (t.shape.length > 0 ? 2 : 0) + (t.stride.length > 0 ? 2 : 0);
    // Most tensors do not fit what a probe has left: known from a bound on the text's length, without making it.
    if (tensorTextAtLeast(t) + extra > budget.left) return undefined;
    const text = tensorText(t);
    budget.left -= text.length + extra;
    return budget.left < 0 ? undefined : text;
  };
  /** A lower bound of `tensorText(t).length`: the fixed text, quoted strings, one digit per number, `true` for booleans. */
  const tensorTextAtLeast = (t: Tensor): number => {
    const str = (x: unknown): number => (typeof x === "string" ? x.length + 2 : 0);
    const list = (n: number): number => (n === 0 ? 0 : 3 * n - 2);
    return TENSOR_TEXT_FIXED + str(t.dtype) + list(t.shape.length) + list(t.stride.length) + 1 + str(tensors.storageKey(t)) + str(t.device) + 8;
  };
  const tensorText = (t: Tensor): string =>
    `{"$tensor": {"dtype": ${JSON.stringify(t.dtype)}, "shape": [${t.shape.join(", ")}], "stride": [${t.stride.join(", ")}], ` +
    `"offset": ${t.storageOffset === 0 ? 0 : t.storageOffset}, "storage": ${JSON.stringify(tensors.storageKey(t))}, "device": ${JSON.stringify(t.device)}, ` +
    `"requires_grad": ${t.requiresGrad}, "parameter": ${t.isParameter}}}`;
  /**
   * A plain tensor printed on its own: when its `{"$tensor": ...}` does not fit on one line, the
   * pretty printer writes `{"$tensor": ` and then the record, which gives the same one line when the
   * record alone fits (it is 13 characters shorter and charges 2 less). Else undefined.
   */
  const tensorOwnLine = (t: Tensor): string | undefined => {
    if (t.shape.length > INLINE_WIDTH / 2 || t.stride.length > INLINE_WIDTH / 2) return undefined;
    const text = tensorText(t);
    const charged = text.length - 13 + 2 + (t.shape.length > 0 ? 2 : 0) + (t.stride.length > 0 ? 2 : 0);
    return charged > INLINE_WIDTH ? undefined : text;
  };

  // One-line probes: json-pretty.ts `inlineItems` / `inlineValue` over boxes.
  const inlineItems = (box: Box, budget: { left: number }, depth: number): string | undefined => {
    budget.left -= 2;
    const parts: string[] = [];
    const { keys, values } = box;
    for (let i = 0; i < values.length; i++) {
      const text = inlineValue(values[i], budget, depth);
      if (text === undefined) return undefined;
      const key = keys?.[i];
      const piece = key === undefined ? text : `${JSON.stringify(key)}: ${text}`;
      budget.left -= piece.length - text.length + 2;
      if (budget.left < 0) return undefined;
      parts.push(piece);
    }
    return box.isArray ? `[${parts.join(", ")}]` : `{${parts.join(", ")}}`;
  };
  const inlineValue = (v: unknown, budget: { left: number }, depth: number): string | undefined => {
    const s = shape(v);
    if (typeof s === "string") {
      budget.left -= s.length;
      return budget.left < 0 ? undefined : s;
    }
    if (depth >= INLINE_DEPTH) return undefined;
    if (s instanceof PlainTensor) return tensorLine(s.t, budget, depth);
    if (s.values.length > INLINE_WIDTH / (s.isArray ? 2 : 4)) return undefined;
    return inlineItems(s, budget, depth + 1);
  };

  type Frame = { readonly box: Box; readonly level: number; next: number; readonly tail: boolean };
  const stack: Frame[] = [];
  // Text goes into a string yielded every CHARS_PER_YIELD characters, or straight into the sink.
  let out = "";
  const put = sink === undefined ? (text: string): void => void (out += text) : (text: string): void => sink.text(text);
  const lines = sink === undefined ? undefined : new TensorLineWriter(sink);
  let ownExtra = 0;
  const ownFits = (length: number): boolean => length + ownExtra <= INLINE_WIDTH;
  const open = (v: unknown, level: number): void => {
    let s = shape(v);
    if (typeof s === "string") {
      put(s);
      return;
    }
    if (s instanceof PlainTensor) {
      const t = s.t;
      // tensorOwnLine's test, on the line's length, with the line written as bytes.
      if (lines !== undefined && indent > 0 && t.shape.length <= INLINE_WIDTH / 2 && t.stride.length <= INLINE_WIDTH / 2) {
        ownExtra = -13 + 2 + (t.shape.length > 0 ? 2 : 0) + (t.stride.length > 0 ? 2 : 0);
        if (lines.line(t, tensors.storageKey(t), ownFits)) return;
      }
      const line = indent > 0 ? tensorOwnLine(s.t) : undefined;
      if (line !== undefined) {
        put(line);
        return;
      }
      s = tensorBox(s.t);
    }
    const { isArray, keys, values } = s;
    const n = values.length;
    if (n === 0) {
      put(isArray ? "[]" : "{}");
      return;
    }
    const inline = indent > 0 ? inlineItems(s, { left: INLINE_WIDTH }, 0) : undefined;
    if (inline !== undefined) {
      put(inline);
      return;
    }
    // A few scalars then one container, or a one-key object: json-pretty.ts's "tail" form.
    if (indent > 0 && n - 1 <= 4 && (isArray || n === 1)) {
      let head = "";
      let scalars = true;
      for (let i = 0; i < n - 1 && scalars; i++) {
        const h = shape(values[i]);
        if (typeof h === "string") head += `${h}, `;
        else scalars = false;
      }
      if (scalars) {
        const lastKey = keys?.[n - 1];
        put(`${isArray ? "[" : "{"}${head}${lastKey === undefined ? "" : `${JSON.stringify(lastKey)}: `}`);
        stack.push({ box: s, level, next: n - 1, tail: true });
        return;
      }
    }
    put(isArray ? "[" : "{");
    stack.push({ box: s, level, next: 0, tail: false });
  };

  open(root, baseLevel);
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    const { keys, values, isArray } = f.box;
    if (f.next === values.length) {
      stack.pop();
      put(f.tail ? (isArray ? "]" : "}") : `${pad(f.level)}${isArray ? "]" : "}"}`);
      continue;
    }
    const i = f.next++;
    if (!f.tail) {
      const key = keys?.[i];
      put(`${i > 0 ? comma : ""}${pad(f.level + 1)}${key === undefined ? "" : `${JSON.stringify(key)}${colon}`}`);
    }
    open(values[i], f.tail ? f.level : f.level + 1);
    if (sink !== undefined) {
      if (sink.ready.length > 0) yield* sink.take();
    } else if (out.length >= CHARS_PER_YIELD) {
      yield out;
      out = "";
    }
  }
  if (out.length > 0) yield out;
}

/** A made JSON value as the printer sees it. */
function jsonShape(j: JsonValue): string | Box {
  const scalar = jsonScalarText(j);
  if (scalar !== undefined) return scalar;
  if (Array.isArray(j)) return new Box(true, undefined, j.map((x) => new Made(x)));
  const o = j as Record<string, JsonValue>;
  const keys = Object.keys(o);
  return new Box(false, keys, keys.map((k) => new Made(o[k]!)));
}
