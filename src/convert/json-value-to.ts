/**
 * Pickle value → lossless JSON (docs/json-format.md). Iterative: a value nested a million deep
 * converts without growing the JS stack (only host hooks nest, up to {@link MAX_HOST_DEPTH}).
 *
 * Two passes. The walk builds the document in pre-order, leaving a placeholder cell for every
 * object (so a later meeting of the same object becomes a ref placeholder); the second pass visits
 * the finished document in order, numbers the cells that were met again (`"$id"`, from 0) and
 * writes `{"$ref": N}` for the refs. Placeholders make host output take part in sharing too.
 */
import type {
  PyBuffer, PyBytes, PyComplex, PyDict, PyExtension, PyFloat, PyGlobal, PyObject, PyPersistentId, PyValue,
} from "../pickle/value.js";
import { pyKind } from "../pickle/value.js";
import { encodeBase64 } from "./base64.js";
import {
  convertError, isNanPattern, isPlainKey, limitError, MAX_HOST_DEPTH, pathChild, setOwn,
  type JsonValue, type PathNode, type ToJsonOptions,
} from "./json-value-types.js";

/** The first meeting of an object; `refs` counts later meetings. */
interface Cell {
  body: JsonValue;
  refs: number;
  id: number;
}

/** An array or object whose slots the walk fills in (indexed by number or key). */
type Slots = object;

const put = (parent: Slots, slot: string | number, v: unknown): void => {
  (parent as Record<string | number, unknown>)[slot] = v;
};
const get = (parent: Slots, slot: string | number): unknown => (parent as Record<string | number, unknown>)[slot];

interface Task {
  readonly value: unknown;
  readonly parent: Slots;
  readonly slot: string | number;
  readonly path: PathNode | undefined;
}

const OBJECT_VIAS = new Set(["reduce", "newobj", "newobj_ex", "inst", "obj"]);

/**
 * Describes a pickle value as one JSON document that {@link valueFromJson} turns back into an
 * identical value, sharing and cycles included.
 *
 * @throws ConvertError `type-mismatch` for a value outside the model with no `host` hook (or a hook
 *   that returned undefined); `invalid-data` for a malformed model value (a non-integer raw number,
 *   bad `nanBits`, a dict entry that is not a pair, ...); `invalid-argument` when a host hook
 *   describes a shared value by a non-object or places it before its first occurrence;
 *   `limit-exceeded` when host hooks nest deeper than {@link MAX_HOST_DEPTH} (or exhaust the JS
 *   stack). Each carries the key path of the offending value. Errors a host hook throws pass
 *   through unchanged.
 */
export function valueToJson<X = never>(value: PyValue<X>, options: ToJsonOptions<X> = {}): JsonValue {
  try {
    return toJson(value, options);
  } catch (e) {
    throw limitError(e);
  }
}

function toJson<X>(value: PyValue<X>, options: ToJsonOptions<X>): JsonValue {
  const { host } = options;
  const maxDepth = options.maxDepth ?? Infinity;
  const cellOf = new Map<object, Cell>(); // value → its cell
  const cells = new Set<Cell>();
  const refs = new Map<object, Cell>(); // ref placeholder → the cell it points to
  const stack: Task[] = [];
  let hostDepth = 0;

  const drain = (base: number): void => {
    while (stack.length > base) {
      const t = stack.pop()!;
      put(t.parent, t.slot, convert(t.value, t.path));
    }
  };

  /** Queues children so they are converted in document order (the stack is LIFO). */
  const queue = (tasks: Task[]): void => {
    for (let i = tasks.length - 1; i >= 0; i--) stack.push(tasks[i]!);
  };

  const recurse = (v: PyValue<X>, at: PathNode | undefined): JsonValue => {
    if (hostDepth >= MAX_HOST_DEPTH) throw convertError("limit-exceeded", `host hooks nest deeper than ${MAX_HOST_DEPTH}`, at);
    hostDepth++;
    const holder: Slots = [null];
    const base = stack.length;
    stack.push({ value: v, parent: holder, slot: 0, path: at });
    drain(base);
    hostDepth--;
    return get(holder, 0) as JsonValue;
  };

  const convert = (v: unknown, at: PathNode | undefined): unknown => {
    const primitive = primitiveJson(v, at);
    if (primitive !== NOT_PRIMITIVE) return primitive;
    switch (typeof v) {
      case "object":
      case "function":
        if (at !== undefined && at.depth > maxDepth) throw convertError("limit-exceeded", `values nest deeper than ${maxDepth} levels (maxDepth)`, at);
        break;
      default:
        throw convertError("type-mismatch", `${typeof v} is not a pickle value`, at);
    }
    if (v === null) return null;
    const known = cellOf.get(v);
    if (known !== undefined) {
      known.refs++;
      const ref = {};
      refs.set(ref, known);
      return ref;
    }
    const cell: Cell = { body: null, refs: 0, id: -1 };
    cellOf.set(v, cell);
    cells.add(cell);
    cell.body = body(v, at);
    return cell;
  };

  /** The JSON shell of an object; its children are appended to `tasks` in document order. */
  const body = (v: object, at: PathNode | undefined): JsonValue => {
    const tasks: Task[] = [];
    const out = shell(v, at, tasks);
    queue(tasks);
    return out;
  };

  const shell = (v: object, at: PathNode | undefined, tasks: Task[]): JsonValue => {
    const kind = pyKind(v);
    switch (kind) {
      case "float":
        return floatJson(v as PyFloat, at);
      case "complex": {
        const c = v as PyComplex;
        return { $complex: [floatPart(c.real, at), floatPart(c.imag, at)] };
      }
      case "bytes":
        return { $bytes: encodeBase64(bytesOf(v as PyBytes, at)) };
      case "bytearray":
        return { $bytearray: encodeBase64(bytesOf(v as PyBytes, at)) };
      case "tuple":
      case "set":
      case "frozenset":
        return { [`$${kind}`]: items((v as { items: unknown }).items, at, tasks) };
      case "list":
        return items((v as { items: unknown }).items, at, tasks);
      case "dict":
        return dict(v as PyDict<X>, at, tasks);
      case "global": {
        const g = v as PyGlobal;
        if (typeof g.module !== "string" || typeof g.name !== "string") {
          throw convertError("invalid-data", "a global needs string module and name", at);
        }
        return { $global: [g.module, g.name] };
      }
      case "object":
        return object(v as PyObject<X>, at, tasks);
      case "persid": {
        const p = v as PyPersistentId<X>;
        const out: Record<string, JsonValue> = { $persid: null, binary: p.binary === true };
        tasks.push({ value: p.pid, parent: out, slot: "$persid", path: pathChild(at, "$persid") });
        return out;
      }
      case "buffer": {
        const b = v as PyBuffer;
        return { $buffer: encodeBase64(bytesOf(b, at)), readonly: b.readonly === true };
      }
      case "ext": {
        const code = (v as PyExtension).code;
        if (!Number.isSafeInteger(code)) throw convertError("invalid-data", "an extension code must be an integer", at);
        return { $ext: code };
      }
      default: {
        if (host === undefined) throw convertError("type-mismatch", "a host value, but no host hook was given", at);
        const out = host(v as X, (child) => recurse(child, at));
        if (out === undefined) throw convertError("type-mismatch", "the host hook did not describe this value", at);
        return out;
      }
    }
  };

  const root: Slots = [null];
  stack.push({ value, parent: root, slot: 0, path: undefined });
  drain(0);
  return resolve(root, cells, refs);
}

/** Marks a value {@link primitiveJson} leaves to its caller. */
export const NOT_PRIMITIVE: unique symbol = Symbol("torchsave.notPrimitive");

/**
 * The JSON of a string, bool or int (`{"$int": ...}` past 2^53); {@link NOT_PRIMITIVE} for anything else.
 * @throws ConvertError `invalid-data` for a JS number that is not an integer.
 */
export function primitiveJson(v: unknown, at: PathNode | undefined): JsonValue | typeof NOT_PRIMITIVE {
  switch (typeof v) {
    case "string":
    case "boolean":
      return v;
    case "number":
      if (Number.isSafeInteger(v)) return v === 0 ? 0 : v;
      if (Number.isInteger(v)) return { $int: BigInt(v).toString() };
      throw convertError("invalid-data", `${v} is not an int; a Python float is a PyFloat`, at);
    case "bigint":
      return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : { $int: v.toString() };
    default:
      return NOT_PRIMITIVE;
  }
}

/** The array of a list/tuple/set body; one task per item. */
function items(list: unknown, at: PathNode | undefined, tasks: Task[]): JsonValue[] {
  if (!Array.isArray(list)) throw convertError("invalid-data", "items must be an array", at);
  const out: JsonValue[] = new Array<JsonValue>(list.length).fill(null);
  for (let i = 0; i < list.length; i++) tasks.push({ value: list[i], parent: out, slot: i, path: pathChild(at, i) });
  return out;
}

/** `[[k, v], ...]` for dict entries or dictItems; two tasks per pair. */
function pairs(entries: unknown, at: PathNode | undefined, tasks: Task[]): JsonValue[] {
  if (!Array.isArray(entries)) throw convertError("invalid-data", "dict entries must be an array", at);
  const out: JsonValue[] = [];
  for (let i = 0; i < entries.length; i++) {
    const e: unknown = entries[i];
    if (!Array.isArray(e) || e.length !== 2) throw convertError("invalid-data", "a dict entry must be a [key, value] pair", pathChild(at, i));
    const pair: JsonValue[] = [null, null];
    out.push(pair);
    const key: unknown = e[0];
    const keyPath = pathChild(at, typeof key === "string" || typeof key === "number" ? key : i);
    tasks.push({ value: key, parent: pair, slot: 0, path: keyPath }, { value: e[1], parent: pair, slot: 1, path: keyPath });
  }
  return out;
}

function dict(d: PyDict<unknown>, at: PathNode | undefined, tasks: Task[]): JsonValue {
  const entries: unknown = d.entries;
  if (!Array.isArray(entries)) throw convertError("invalid-data", "dict entries must be an array", at);
  const out: Record<string, JsonValue> = {};
  if (d.type === undefined && d.state === undefined && plainKeys(entries)) {
    for (const [k, value] of entries as [string, unknown][]) {
      setOwn(out, k, null);
      tasks.push({ value, parent: out, slot: k, path: pathChild(at, k) });
    }
    return out;
  }
  if (d.type !== undefined) {
    const t: unknown = d.type;
    if (pyKind(t) !== "global") throw convertError("invalid-data", "a dict's type must be a global", at);
    out.$type = [(t as PyGlobal).module, (t as PyGlobal).name];
  }
  out.$dict = pairs(entries, at, tasks);
  if (d.state !== undefined) {
    out.$state = null;
    tasks.push({ value: d.state, parent: out, slot: "$state", path: pathChild(at, "$state") });
  }
  return out;
}

function object(o: PyObject<unknown>, at: PathNode | undefined, tasks: Task[]): JsonValue {
  if (!OBJECT_VIAS.has(o.via)) throw convertError("invalid-data", `unknown object via ${JSON.stringify(o.via)}`, at);
  const inner: Record<string, JsonValue> = { via: o.via, callable: null, args: null };
  const field = (key: string, value: unknown): void => {
    inner[key] = null;
    tasks.push({ value, parent: inner, slot: key, path: pathChild(at, key) });
  };
  field("callable", o.callable);
  field("args", o.args);
  if (o.kwargs !== undefined) field("kwargs", o.kwargs);
  if (o.state !== undefined) field("state", o.state);
  if (o.listItems !== undefined) inner.listItems = items(o.listItems, pathChild(at, "listItems"), tasks);
  if (o.dictItems !== undefined) inner.dictItems = pairs(o.dictItems, pathChild(at, "dictItems"), tasks);
  if (o.setItems !== undefined) inner.setItems = items(o.setItems, pathChild(at, "setItems"), tasks);
  return { $object: inner };
}

/** Pass two: number the shared cells in document order and fill in every placeholder. */
function resolve(root: Slots, cells: Set<Cell>, refs: Map<object, Cell>): JsonValue {
  let nextId = 0;
  const visited = new Set<object>();
  const todo: [Slots, string | number][] = [[root, 0]];
  while (todo.length > 0) {
    const [parent, key] = todo.pop()!;
    let v = get(parent, key);
    // A host hook may describe its value by what `recurse` returned, so a cell's body can itself
    // be a placeholder: unwrap until real JSON.
    for (;;) {
      if (typeof v !== "object" || v === null) break;
      const cell = cells.has(v as Cell) ? (v as Cell) : undefined;
      if (cell !== undefined) {
        if (cell.refs === 0) {
          v = cell.body;
          continue;
        }
        if (isPlaceholder(cell.body, cells, refs)) {
          throw convertError("invalid-argument", "a shared host value must be described by a JSON object", undefined);
        }
        cell.id = nextId++;
        v = withId(cell.body, cell.id);
        break;
      }
      const target = refs.get(v);
      if (target !== undefined) {
        if (target.id < 0) {
          throw convertError("invalid-argument", "a host hook placed a shared value before its first occurrence", undefined);
        }
        v = { $ref: target.id };
      }
      break;
    }
    put(parent, key, v);
    if (typeof v !== "object" || v === null || visited.has(v)) continue;
    visited.add(v);
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) todo.push([v, i]);
    } else {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) todo.push([v, keys[i]!]);
    }
  }
  return get(root, 0) as JsonValue;
}

function isPlaceholder(v: unknown, cells: Set<Cell>, refs: Map<object, Cell>): boolean {
  return typeof v === "object" && v !== null && (cells.has(v as Cell) || refs.has(v));
}

function withId(body: JsonValue, id: number): JsonValue {
  if (Array.isArray(body)) return { $id: id, $list: body };
  if (typeof body !== "object" || body === null) {
    throw convertError("invalid-argument", "a host value met more than once must be described by a JSON object", undefined);
  }
  const out: Record<string, JsonValue> = { $id: id };
  for (const k of Object.keys(body)) setOwn(out, k, body[k]);
  return out;
}

/** True when every entry is a `[str, value]` pair with a distinct key an object keeps in order. */
export function plainKeys(entries: unknown[]): boolean {
  // A few keys (optimizer state: step, exp_avg, exp_avg_sq) are compared with each other: no set per dict.
  const n = entries.length;
  const seen = n > 8 ? new Set<string>() : undefined;
  for (let i = 0; i < n; i++) {
    const e: unknown = entries[i];
    if (!Array.isArray(e) || e.length !== 2) return false;
    const k: unknown = e[0];
    if (typeof k !== "string" || !isPlainKey(k)) return false;
    if (seen === undefined) {
      for (let j = 0; j < i; j++) if ((entries[j] as unknown[])[0] === k) return false;
    } else {
      if (seen.has(k)) return false;
      seen.add(k);
    }
  }
  return true;
}

/** The `$float` object of a float. @throws ConvertError `invalid-data` for a malformed one. */
export function floatJson(f: PyFloat, at: PathNode | undefined): JsonValue {
  const v = f.value;
  if (typeof v !== "number") throw convertError("invalid-data", "a float's value must be a number", at);
  if (f.nanBits === undefined) return { $float: floatPart(v, at) };
  if (!Number.isNaN(v) || !isNanPattern(f.nanBits)) {
    throw convertError("invalid-data", "nanBits must be the 16 lowercase hex digits of a NaN", at);
  }
  return { $float: "nan", bits: f.nanBits };
}

/** A float as JSON: the number, or `"nan"`/`"inf"`/`"-inf"`/`"-0.0"`. @throws ConvertError for a non-number. */
export function floatPart(v: number, at: PathNode | undefined): JsonValue {
  if (typeof v !== "number") throw convertError("invalid-data", "a float part must be a number", at);
  if (Number.isNaN(v)) return "nan";
  if (v === Infinity) return "inf";
  if (v === -Infinity) return "-inf";
  if (Object.is(v, -0)) return "-0.0";
  return v;
}

function bytesOf(b: { data: unknown }, at: PathNode | undefined): Uint8Array {
  if (!(b.data instanceof Uint8Array)) throw convertError("invalid-data", "bytes data must be a Uint8Array", at);
  return b.data;
}
