/**
 * The check before the direct JSON printer starts (json-direct-print.ts): whether the direct
 * builder (json-direct.ts) would take the whole root — nothing met twice, no depth past its limit,
 * nothing malformed, every tensor plain — so printing never stops half-way. One walk, making only
 * the leaves' JSON.
 */
import { pyKind, type PyDict } from "../pickle/value.js";
import type { TorchValue } from "../torch/index.js";
import { isStorage, isTensor } from "../torch/index.js";
import type { DirectTensors } from "./json-direct-print.js";
import { directConverter } from "./json-direct.js";
import { plainKeys } from "./json-value-to.js";
import type { GraphFacts } from "./value-graph.js";

/** Whether `directRootJson` would take `root` (walks it once, making only the leaves' JSON). */
export function directTakes(root: TorchValue, facts: GraphFacts, limit: number, tensors: DirectTensors): boolean {
  const leaf = directConverter(facts, limit, () => undefined);
  const seen = new Set<object>();
  // The graph walk met every container and tensor once (nothing but storages shared): then so does
  // this walk, which follows fewer edges, and it need not remember them (leaves still are, by `leaf`).
  let track = false;
  for (const o of facts.shared) {
    if (!isStorage(o)) {
      track = true;
      break;
    }
  }
  // Two stacks (value, depth) rather than one of pairs: no array per value met.
  const values: unknown[] = [root];
  const depths: number[] = [0];
  const pushAll = (list: unknown, depth: number): boolean => {
    if (!Array.isArray(list)) return false;
    for (let i = list.length - 1; i >= 0; i--) {
      values.push(list[i]);
      depths.push(depth);
    }
    return true;
  };
  while (values.length > 0) {
    const v = values.pop();
    const depth = depths.pop()!;
    // primitiveJson's cases: it throws (the direct builder declines) only for a number that is not an integer.
    switch (typeof v) {
      case "string":
      case "boolean":
      case "bigint":
        continue;
      case "number":
        if (!Number.isInteger(v)) return false;
        continue;
      case "object":
        break;
      default:
        return false;
    }
    if (depth > limit) return false;
    if (v === null) continue;
    switch (pyKind(v)) {
      case "list":
      case "tuple":
      case "set":
      case "frozenset":
        if (track) {
          if (seen.has(v)) return false;
          seen.add(v);
        }
        if (!pushAll((v as { items: unknown }).items, depth + 1)) return false;
        break;
      case "dict": {
        if (track) {
          if (seen.has(v)) return false;
          seen.add(v);
        }
        const d = v as PyDict<unknown>;
        const entries: unknown = d.entries;
        if (!Array.isArray(entries)) return false;
        if (d.type === undefined && d.state === undefined && plainKeys(entries)) {
          for (let i = entries.length - 1; i >= 0; i--) {
            values.push((entries[i] as unknown[])[1]);
            depths.push(depth + 1);
          }
          break;
        }
        if (d.type !== undefined && pyKind(d.type) !== "global") return false;
        if (d.state !== undefined) {
          values.push(d.state);
          depths.push(depth + 1);
        }
        for (let i = entries.length - 1; i >= 0; i--) {
          const e: unknown = entries[i];
          if (!Array.isArray(e) || e.length !== 2) return false;
          values.push(e[1], e[0]);
          depths.push(depth + 1, depth + 1);
        }
        break;
      }
      default:
        if (isTensor(v)) {
          if (track) {
            if (seen.has(v)) return false;
            seen.add(v);
          }
          if (!tensors.isPlain(v) || typeof v.requiresGrad !== "boolean" || typeof v.isParameter !== "boolean") return false;
          break;
        }
        // Floats, globals, bytes, storages: the converter checks them (and remembers them, so one met twice is declined).
        if (leaf(v, depth) === undefined) return false;
    }
  }
  return true;
}
