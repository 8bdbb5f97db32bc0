/**
 * Lossless JSON → pickle value (docs/json-format.md). Iterative: containers are created empty,
 * registered under their `"$id"` at once (so a `"$ref"` inside them makes a real cycle), and filled
 * by queued tasks in document order; only host hooks nest, up to {@link MAX_HOST_DEPTH}.
 */
import type { PyDict, PyGlobal, PyObject, PyObjectVia, PyValue } from "../pickle/value.js";
import { normalizeInt } from "../bytes/bigint.js";
import { decodeBase64 } from "./base64.js";
import {
  convertError, FLOAT_SPECIALS, isNanPattern, limitError, MAX_HOST_DEPTH, pathChild,
  type FromJsonOptions, type JsonValue, type PathNode,
} from "./json-value-types.js";

type JsonObject = { [k: string]: JsonValue };

interface Task {
  readonly json: unknown;
  readonly parent: object;
  readonly slot: string | number;
  readonly path: PathNode | undefined;
}

/** Keys each tag allows besides `"$id"`; the first is the tag itself. */
const TAG_KEYS: Readonly<Record<string, readonly string[]>> = {
  $int: ["$int"],
  $float: ["$float", "bits"],
  $complex: ["$complex"],
  $bytes: ["$bytes"],
  $bytearray: ["$bytearray"],
  $list: ["$list"],
  $tuple: ["$tuple"],
  $set: ["$set"],
  $frozenset: ["$frozenset"],
  $dict: ["$dict", "$type", "$state"],
  $global: ["$global"],
  $object: ["$object"],
  $persid: ["$persid", "binary"],
  $buffer: ["$buffer", "readonly"],
  $ext: ["$ext"],
  $ref: ["$ref"],
};

/** Tags of values without identity, which therefore cannot carry an `"$id"`. */
const NO_ID = new Set(["$int", "$ref"]);

const OBJECT_KEYS = new Set(["via", "callable", "args", "kwargs", "state", "listItems", "dictItems", "setItems"]);
const OBJECT_VIAS = new Set<string>(["reduce", "newobj", "newobj_ex", "inst", "obj"]);
const INT_TEXT = /^-?(?:0|[1-9][0-9]*)$/;
const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/**
 * Builds the pickle value a JSON document of the lossless format describes; the exact inverse of
 * {@link valueToJson}. Shared `"$id"`/`"$ref"` objects become one JS object, cycles real cycles.
 * Plain-object dict keys (even `"__proto__"`) are data: entries are built as arrays, never by
 * assigning into `{}`.
 *
 * @throws ConvertError `invalid-data` with the JSON key path for any malformed document: an
 *   unknown or ill-formed tag, an unexpected key next to a tag, a non-integer or unsafe JSON number
 *   outside `"$float"`, bad base64, a duplicate `"$id"`, a `"$ref"` to an id not defined earlier in
 *   the document; `limit-exceeded` when host hooks nest deeper than {@link MAX_HOST_DEPTH} (or
 *   exhaust the JS stack).
 *   Errors a host hook throws pass through unchanged.
 */
export function valueFromJson<X = never>(json: JsonValue, options: FromJsonOptions<X> = {}): PyValue<X> {
  try {
    return fromJson(json, options);
  } catch (e) {
    throw limitError(e);
  }
}

function fromJson<X>(json: JsonValue, options: FromJsonOptions<X>): PyValue<X> {
  const { host } = options;
  const ids = new Map<number, PyValue<X>>();
  const stack: Task[] = [];
  let hostDepth = 0;

  const put = (parent: object, slot: string | number, v: unknown): void => {
    (parent as Record<string | number, unknown>)[slot] = v;
  };

  const drain = (base: number): void => {
    while (stack.length > base) {
      const t = stack.pop()!;
      put(t.parent, t.slot, convert(t.json, t.path));
    }
  };

  const queue = (tasks: Task[]): void => {
    for (let i = tasks.length - 1; i >= 0; i--) stack.push(tasks[i]!);
  };

  const recurse = (j: JsonValue, at: PathNode | undefined): PyValue<X> => {
    if (hostDepth >= MAX_HOST_DEPTH) throw convertError("limit-exceeded", `host hooks nest deeper than ${MAX_HOST_DEPTH}`, at);
    hostDepth++;
    const holder: unknown[] = [null];
    const base = stack.length;
    stack.push({ json: j, parent: holder, slot: 0, path: at });
    drain(base);
    hostDepth--;
    return holder[0] as PyValue<X>;
  };

  const convert = (j: unknown, at: PathNode | undefined): unknown => {
    switch (typeof j) {
      case "string":
      case "boolean":
        return j;
      case "number":
        if (!Number.isSafeInteger(j)) {
          throw convertError("invalid-data", `the JSON number ${j} is not a safe integer (floats are {"$float": x}, big ints {"$int": "..."})`, at);
        }
        return j === 0 ? 0 : j;
      case "object":
        break;
      default:
        throw convertError("invalid-data", `${typeof j} is not JSON`, at);
    }
    if (j === null) return null;
    if (Array.isArray(j)) {
      const tasks: Task[] = [];
      const out = { kind: "list", items: items(j, at, tasks) };
      queue(tasks);
      return out;
    }
    return object(j as JsonObject, at);
  };

  const object = (o: JsonObject, at: PathNode | undefined): unknown => {
    const keys = Object.keys(o);
    const tags = keys.filter((k) => k.startsWith("$") && k !== "$id");
    const id = hasOwn(o, "$id") ? readId(o.$id, pathChild(at, "$id")) : undefined;
    if (tags.length === 0) return plainDict(o, keys, id, at);
    // "$type" and "$state" are companions of "$dict", wherever it sits among the keys.
    const tag = tags.includes("$dict") ? "$dict" : tags[0]!;
    if (tag === "$type" || tag === "$state") throw convertError("invalid-data", `${tag} needs "$dict"`, at);
    const allowed = TAG_KEYS[tag];
    if (allowed === undefined) return hostValue(tag, o, id, at);
    for (const k of keys) {
      if (k === "$id" ? NO_ID.has(tag) : !allowed.includes(k)) {
        throw convertError("invalid-data", `unexpected key ${JSON.stringify(k)} in a ${tag} object`, pathChild(at, k));
      }
    }
    const value = o[tag];
    const tasks: Task[] = [];
    let out: unknown;
    switch (tag) {
      case "$ref": {
        const target = ids.get(readId(value, pathChild(at, "$ref")));
        if (target === undefined) {
          throw convertError("invalid-data", `"$ref": ${String(value)} names no "$id" defined earlier in the document`, at);
        }
        return target;
      }
      case "$int":
        if (typeof value !== "string" || !INT_TEXT.test(value)) throw convertError("invalid-data", `"$int" must be a decimal string`, at);
        return normalizeInt(BigInt(value));
      case "$float":
        out = float(o, at);
        break;
      case "$complex": {
        if (!Array.isArray(value) || value.length !== 2) throw convertError("invalid-data", `"$complex" must be [real, imag]`, at);
        out = { kind: "complex", real: floatPart(value[0], pathChild(pathChild(at, "$complex"), 0)), imag: floatPart(value[1], pathChild(pathChild(at, "$complex"), 1)) };
        break;
      }
      case "$bytes":
      case "$bytearray":
        out = { kind: tag.slice(1), data: base64(value, pathChild(at, tag)) };
        break;
      case "$list":
      case "$tuple":
      case "$set":
      case "$frozenset":
        if (!Array.isArray(value)) throw convertError("invalid-data", `${tag} must be an array`, at);
        out = { kind: tag.slice(1), items: items(value, pathChild(at, tag), tasks) };
        break;
      case "$dict":
        out = dict(o, at, tasks);
        break;
      case "$global":
        out = global(value, pathChild(at, "$global"));
        break;
      case "$object":
        out = pyObject(value, pathChild(at, "$object"), tasks);
        break;
      case "$persid": {
        if (typeof o.binary !== "boolean") throw convertError("invalid-data", `"$persid" needs "binary": true|false`, at);
        const p = { kind: "persid", pid: null, binary: o.binary };
        tasks.push({ json: value, parent: p, slot: "pid", path: pathChild(at, "$persid") });
        out = p;
        break;
      }
      case "$buffer":
        if (typeof o.readonly !== "boolean") throw convertError("invalid-data", `"$buffer" needs "readonly": true|false`, at);
        out = { kind: "buffer", data: base64(value, pathChild(at, "$buffer")), readonly: o.readonly };
        break;
      case "$ext":
        if (typeof value !== "number" || !Number.isSafeInteger(value)) throw convertError("invalid-data", `"$ext" must be an integer code`, at);
        out = { kind: "ext", code: value };
        break;
    }
    if (id !== undefined) define(id, out as PyValue<X>, at);
    queue(tasks);
    return out;
  };

  const define = (id: number, value: PyValue<X>, at: PathNode | undefined): void => {
    if (ids.has(id)) throw convertError("invalid-data", `"$id": ${id} is defined twice`, at);
    ids.set(id, value);
  };

  const plainDict = (o: JsonObject, keys: string[], id: number | undefined, at: PathNode | undefined): PyDict<X> => {
    const out: PyDict<X> = { kind: "dict", entries: [] };
    if (id !== undefined) define(id, out, at);
    const tasks: Task[] = [];
    for (const k of keys) {
      if (k === "$id") continue;
      const pair: [PyValue<X>, PyValue<X>] = [k, null];
      out.entries.push(pair);
      tasks.push({ json: o[k], parent: pair, slot: 1, path: pathChild(at, k) });
    }
    queue(tasks);
    return out;
  };

  const dict = (o: JsonObject, at: PathNode | undefined, tasks: Task[]): PyDict<X> => {
    const entries = o.$dict;
    if (!Array.isArray(entries)) throw convertError("invalid-data", `"$dict" must be an array of [key, value] pairs`, at);
    const out: { kind: "dict"; entries: [PyValue<X>, PyValue<X>][]; type?: PyGlobal; state?: PyValue<X> } = {
      kind: "dict", entries: pairs(entries, pathChild(at, "$dict"), tasks),
    };
    if (hasOwn(o, "$type")) out.type = global(o.$type, pathChild(at, "$type"));
    if (hasOwn(o, "$state")) {
      out.state = null;
      tasks.push({ json: o.$state, parent: out, slot: "state", path: pathChild(at, "$state") });
    }
    return out;
  };

  const pyObject = (inner: unknown, at: PathNode | undefined, tasks: Task[]): PyObject<X> => {
    if (typeof inner !== "object" || inner === null || Array.isArray(inner)) {
      throw convertError("invalid-data", `"$object" must be an object`, at);
    }
    const o = inner as JsonObject;
    for (const k of Object.keys(o)) {
      if (!OBJECT_KEYS.has(k)) throw convertError("invalid-data", `unexpected key ${JSON.stringify(k)} in "$object"`, pathChild(at, k));
    }
    if (typeof o.via !== "string" || !OBJECT_VIAS.has(o.via)) {
      throw convertError("invalid-data", `"via" must be one of ${[...OBJECT_VIAS].join(", ")}`, pathChild(at, "via"));
    }
    if (!hasOwn(o, "callable") || !hasOwn(o, "args")) throw convertError("invalid-data", `"$object" needs "callable" and "args"`, at);
    // Built mutable and filled by the tasks; the readonly fields are a promise to callers, not to us.
    const out: Record<string, unknown> = { kind: "object", via: o.via as PyObjectVia, callable: null, args: null };
    const field = (key: string): void => {
      out[key] = null;
      tasks.push({ json: o[key], parent: out, slot: key, path: pathChild(at, key) });
    };
    field("callable");
    field("args");
    if (hasOwn(o, "kwargs")) field("kwargs");
    if (hasOwn(o, "state")) field("state");
    for (const key of ["listItems", "setItems", "dictItems"] as const) {
      if (!hasOwn(o, key)) continue;
      const list = o[key];
      if (!Array.isArray(list)) throw convertError("invalid-data", `"${key}" must be an array`, pathChild(at, key));
    }
    if (hasOwn(o, "listItems")) out.listItems = items(o.listItems as JsonValue[], pathChild(at, "listItems"), tasks);
    if (hasOwn(o, "dictItems")) out.dictItems = pairs(o.dictItems as JsonValue[], pathChild(at, "dictItems"), tasks);
    if (hasOwn(o, "setItems")) out.setItems = items(o.setItems as JsonValue[], pathChild(at, "setItems"), tasks);
    return out as unknown as PyObject<X>;
  };

  const hostValue = (tag: string, o: JsonObject, id: number | undefined, at: PathNode | undefined): PyValue<X> => {
    const out = host?.(tag, o, (j) => recurse(j, at));
    if (out === undefined) throw convertError("invalid-data", `unknown tag ${JSON.stringify(tag)}`, at);
    if (id !== undefined) define(id, out, at);
    return out;
  };

  const root: unknown[] = [null];
  stack.push({ json, parent: root, slot: 0, path: undefined });
  drain(0);
  return root[0] as PyValue<X>;
}

/** A list's items array; one task per item. */
function items(list: readonly JsonValue[], at: PathNode | undefined, tasks: Task[]): unknown[] {
  const out: unknown[] = new Array<unknown>(list.length).fill(null);
  for (let i = 0; i < list.length; i++) tasks.push({ json: list[i], parent: out, slot: i, path: pathChild(at, i) });
  return out;
}

/** `[[k, v], ...]` → entry pairs; two tasks per pair. */
function pairs<X>(list: readonly JsonValue[], at: PathNode | undefined, tasks: Task[]): [PyValue<X>, PyValue<X>][] {
  const out: [PyValue<X>, PyValue<X>][] = [];
  for (let i = 0; i < list.length; i++) {
    const e = list[i];
    const here = pathChild(at, i);
    if (!Array.isArray(e) || e.length !== 2) throw convertError("invalid-data", "a dict entry must be a [key, value] pair", here);
    const pair: [PyValue<X>, PyValue<X>] = [null, null];
    out.push(pair);
    tasks.push({ json: e[0], parent: pair, slot: 0, path: pathChild(here, 0) }, { json: e[1], parent: pair, slot: 1, path: pathChild(here, 1) });
  }
  return out;
}

function readId(v: unknown, at: PathNode | undefined): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw convertError("invalid-data", "an id must be a non-negative integer", at);
  }
  return v;
}

function float(o: JsonObject, at: PathNode | undefined): { kind: "float"; value: number; nanBits?: string } {
  const value = floatPart(o.$float, pathChild(at, "$float"));
  if (!hasOwn(o, "bits")) return { kind: "float", value };
  const bits = o.bits;
  if (o.$float !== "nan" || typeof bits !== "string" || !isNanPattern(bits)) {
    throw convertError("invalid-data", `"bits" must be the 16 lowercase hex digits of a NaN, next to "$float": "nan"`, pathChild(at, "bits"));
  }
  return { kind: "float", value, nanBits: bits };
}

function floatPart(v: unknown, at: PathNode | undefined): number {
  if (typeof v === "number") return v;
  if (typeof v === "string" && hasOwn(FLOAT_SPECIALS, v)) return FLOAT_SPECIALS[v]!;
  throw convertError("invalid-data", `a float must be a JSON number or one of "nan", "inf", "-inf", "-0.0"`, at);
}

function base64(v: unknown, at: PathNode | undefined): Uint8Array {
  const data = typeof v === "string" ? decodeBase64(v) : undefined;
  if (data === undefined) throw convertError("invalid-data", "not valid padded standard base64", at);
  return data;
}

function global(v: unknown, at: PathNode | undefined): PyGlobal {
  if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== "string" || typeof v[1] !== "string") {
    throw convertError("invalid-data", `a global must be ["module", "name"]`, at);
  }
  return { kind: "global", module: v[0], name: v[1] };
}
