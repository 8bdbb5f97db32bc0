/**
 * A structured `.npy` header's `descr`: the Python literal numpy writes from `dtype.descr`, a list
 * of `(name, type)` or `(name, type, shape)` tuples, where `type` is a type string or a nested
 * list, `name` may be a `(title, name)` pair, and unnamed `('', '|V3')` entries are padding.
 * Offsets are implicit: each field starts where the one before it ends.
 */
import type { NdField } from "../torch/model.js";
import type { Literal } from "./npy-literal.js";

/** Structured dtypes nest lists in lists; deeper than this is refused (hostile input). */
const MAX_DEPTH = 32;

/** The fields and record size a structured descr (the parsed list) spells, or undefined when it is not one. */
export function structuredDescr(descr: Literal): { fields: NdField[]; itemSize: number } | undefined {
  if (typeof descr !== "object" || descr === null || !("list" in descr)) return undefined;
  return recordFields(descr.list, 0);
}

function recordFields(items: Literal[], depth: number): { fields: NdField[]; itemSize: number } | undefined {
  if (depth > MAX_DEPTH) return undefined;
  const fields: NdField[] = [];
  let offset = 0;
  for (const item of items) {
    if (typeof item !== "object" || item === null || !("tuple" in item) || item.tuple.length < 2 || item.tuple.length > 3) return undefined;
    const [label, type, shapeLit] = item.tuple;
    const named = fieldName(label!);
    if (named === undefined) return undefined;
    const shape = shapeLit === undefined ? undefined : intTuple(shapeLit);
    if (shapeLit !== undefined && shape === undefined) return undefined;
    let descr: string;
    let size: number;
    let nested: NdField[] | undefined;
    if (typeof type === "string") {
      const s = typeSize(type);
      if (s === undefined) return undefined;
      descr = type;
      size = s;
    } else if (typeof type === "object" && type !== null && "list" in type) {
      const inner = recordFields(type.list, depth + 1);
      if (inner === undefined) return undefined;
      descr = `|V${inner.itemSize}`;
      size = inner.itemSize;
      nested = inner.fields;
    } else {
      return undefined;
    }
    const count = (shape ?? []).reduce((a, b) => a * b, 1);
    // numpy lists padding as unnamed void fields: they take room but are no field.
    if (named.name !== "") {
      fields.push({
        name: named.name, descr, offset,
        ...(shape === undefined ? {} : { shape }),
        ...(nested === undefined ? {} : { fields: nested }),
        ...(named.title === undefined ? {} : { title: named.title }),
      });
    }
    offset += size * count;
    if (!Number.isSafeInteger(offset)) return undefined;
  }
  return { fields, itemSize: offset };
}

function fieldName(label: Literal): { name: string; title?: string } | undefined {
  if (typeof label === "string") return { name: label };
  if (typeof label === "object" && label !== null && "tuple" in label && label.tuple.length === 2) {
    const [title, name] = label.tuple;
    if (typeof name === "string" && typeof title === "string") return { name, title };
  }
  return undefined;
}

function intTuple(v: Literal): number[] | undefined {
  if (typeof v !== "object" || v === null || !("tuple" in v)) return undefined;
  return v.tuple.every((d) => typeof d === "number" && d >= 0) ? (v.tuple as number[]) : undefined;
}

/** Bytes per element of a numpy type string (`<i4` 4, `<U3` 12, `|S5` 5, `<M8[ns]` 8). */
function typeSize(type: string): number | undefined {
  const m = /^[<>|=]?([a-zA-Z])(\d+)(\[\w+\])?$/.exec(type);
  if (m === null) return type.replace(/^[<>|=]/, "") === "O" ? 8 : undefined;
  const n = Number(m[2]);
  if ((m[3] !== undefined) !== (m[1] === "M" || m[1] === "m")) return undefined;
  return m[1] === "U" ? n * 4 : n;
}
