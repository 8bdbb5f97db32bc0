/**
 * The lossless JSON of a checkpoint's root built directly, for the common shapes (issue #16):
 * dicts, lists, tuples, strings, numbers, floats and plain tensors met once each. It gives what
 * `valueToJson` with the checkpoint host gives for such a value, without its placeholder cells,
 * sharing maps and second pass; for anything else (a shared object, a tensor with extra parts,
 * a malformed value, a depth past the limit) it gives undefined and the caller takes the general
 * path, which describes sharing and reports errors with their key path.
 */
import { isTorchsaveError } from "../errors.js";
import type { PyDict, PyFloat, PyGlobal, PyBytes } from "../pickle/value.js";
import { pyKind } from "../pickle/value.js";
import type { Storage, TorchValue } from "../torch/index.js";
import { isStorage, isTensor } from "../torch/index.js";
import { encodeBase64 } from "./base64.js";
import { floatJson, floatPart, NOT_PRIMITIVE, plainKeys, primitiveJson } from "./json-value-to.js";
import { setOwn, type JsonValue } from "./json-value-types.js";
import type { GraphFacts } from "./value-graph.js";

/** Deepest value built here (recursion); deeper values take the general path, which is iterative. */
const DIRECT_DEPTH = 200;

/** Thrown inside the walk to leave it; never escapes {@link directRootJson}. */
const FALLBACK: unique symbol = Symbol("torchsave.jsonFallback");

/**
 * `valueToJson(root, { host, maxDepth })` for a root of the common shapes, or undefined.
 * `plainTensor(t)` gives a tensor's JSON when its record is plain, else undefined.
 */
export function directRootJson(
  root: TorchValue, facts: GraphFacts, maxDepth: number, plainTensor: (v: TorchValue) => JsonValue | undefined,
): JsonValue | undefined {
  return directConverter(facts, maxDepth, plainTensor)(root, 0);
}

/**
 * The converter behind {@link directRootJson}: `convert(v, depth)` gives the JSON of `v` met at
 * `depth`, or undefined where the general path must take over. It remembers what it met (a value
 * met a second time gives undefined), so use one converter per walk.
 */
export function directConverter(
  facts: GraphFacts, maxDepth: number, plainTensor: (v: TorchValue) => JsonValue | undefined,
): (v: unknown, depth: number) => JsonValue | undefined {
  const seen = new Set<object>();
  const keyOf = (s: Storage): string => facts.keyOf.get(s)!;
  const limit = Math.min(maxDepth, DIRECT_DEPTH);

  const items = (list: unknown, depth: number): JsonValue[] => {
    if (!Array.isArray(list)) throw FALLBACK;
    const out: JsonValue[] = new Array<JsonValue>(list.length);
    for (let i = 0; i < list.length; i++) out[i] = convert(list[i], depth + 1);
    return out;
  };

  const convert = (v: unknown, depth: number): JsonValue => {
    const primitive = primitiveJson(v, undefined);
    if (primitive !== NOT_PRIMITIVE) return primitive;
    // null is checked against the depth limit too, as the general path does.
    if (typeof v !== "object" || depth > limit) throw FALLBACK;
    if (v === null) return null;
    if (seen.has(v)) throw FALLBACK;
    seen.add(v);
    const kind = pyKind(v);
    switch (kind) {
      case "float":
        return floatJson(v as PyFloat, undefined);
      case "complex": {
        const c = v as { real: unknown; imag: unknown };
        if (typeof c.real !== "number" || typeof c.imag !== "number") throw FALLBACK;
        return { $complex: [floatPart(c.real, undefined), floatPart(c.imag, undefined)] };
      }
      case "list":
        return items((v as { items: unknown }).items, depth);
      case "tuple":
      case "set":
      case "frozenset":
        return { [`$${kind}`]: items((v as { items: unknown }).items, depth) };
      case "dict":
        return dict(v as PyDict<unknown>, depth);
      case "global": {
        const g = v as PyGlobal;
        if (typeof g.module !== "string" || typeof g.name !== "string") throw FALLBACK;
        return { $global: [g.module, g.name] };
      }
      case "bytes":
      case "bytearray": {
        const data = (v as PyBytes).data as unknown;
        if (!(data instanceof Uint8Array)) throw FALLBACK;
        return { [`$${kind}`]: encodeBase64(data) };
      }
      case undefined: {
        if (isTensor(v)) {
          const out = plainTensor(v);
          if (out === undefined) throw FALLBACK;
          return out;
        }
        if (isStorage(v)) return { $storage: keyOf(v) };
        throw FALLBACK;
      }
      default:
        throw FALLBACK;
    }
  };

  const dict = (d: PyDict<unknown>, depth: number): JsonValue => {
    const entries: unknown = d.entries;
    if (!Array.isArray(entries)) throw FALLBACK;
    const out: Record<string, JsonValue> = {};
    if (d.type === undefined && d.state === undefined && plainKeys(entries)) {
      for (const [k, value] of entries as [string, unknown][]) {
        if (k === "__proto__") setOwn(out, k, convert(value, depth + 1));
        else out[k] = convert(value, depth + 1);
      }
      return out;
    }
    if (d.type !== undefined) {
      const t: unknown = d.type;
      if (pyKind(t) !== "global") throw FALLBACK;
      out.$type = [(t as PyGlobal).module, (t as PyGlobal).name];
    }
    const pairs: JsonValue[] = [];
    for (const e of entries as unknown[]) {
      if (!Array.isArray(e) || e.length !== 2) throw FALLBACK;
      pairs.push([convert(e[0], depth + 1), convert(e[1], depth + 1)]);
    }
    out.$dict = pairs;
    if (d.state !== undefined) out.$state = convert(d.state, depth + 1);
    return out;
  };

  return (v, depth) => {
    try {
      return convert(v, depth);
    } catch (e) {
      // A malformed value (a float helper's ConvertError) or a deep one: the general path reports it.
      if (e === FALLBACK || e instanceof RangeError || isTorchsaveError(e)) return undefined;
      throw e;
    }
  };
}
