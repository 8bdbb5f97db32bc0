/**
 * Python dict-key and set-member semantics for the decoder: which values are hashable, when two
 * keys are equal (as {@link pyKeyEquals} says), and an index that keeps SETITEMS on a 100k-key
 * state dict O(1) amortised per key. Every walk is iterative: tuple keys may nest a million deep,
 * and shared sub-tuples may form DAGs with exponentially many paths.
 */
import { pyKeyEquals, type PyDict, type PyFloat, type PyValue } from "./value.js";
import { PickleDecodeError } from "../errors.js";
import { pyTypeName } from "./decode-type-name.js";

/** Containers below this size are scanned linearly; an index costs more than it saves. */
const INDEX_THRESHOLD = 8;
/** Tuple items that feed the structural hash; equal tuples agree on any prefix, so this stays sound. */
const HASHED_ITEMS = 16;
/** Characters of a string item that feed the structural hash. */
const HASHED_CHARS = 32;

/** Marks a key that has no exact JS Map key and must go through the structural hash. */
const STRUCTURAL: unique symbol = Symbol("structural");

/** Where each key of one dict or set sits, so a lookup does not scan the container. */
export interface KeyIndex {
  /** str, int, bool, non-NaN float (as one canonical number or bigint) and identity-hashed objects. */
  readonly exact: Map<unknown, number>;
  /** bytes, tuple, frozenset, global and complex keys by a coarse hash; equality decides within a bucket. */
  readonly structural: Map<string, number[]>;
  /** How many positions the index covers; a different container length means it must be rebuilt. */
  size: number;
}

/**
 * The per-decode indexes, keyed by the `entries` or `items` array they describe. Created by the
 * decoder for one call (never shared between calls).
 */
export type KeyIndexes = WeakMap<object, KeyIndex>;

/** The `kind` tag of a value-model object, else undefined (primitives and host values without one). */
export function tagOf(v: unknown): unknown {
  return typeof v === "object" && v !== null ? (v as { kind?: unknown }).kind : undefined;
}

/**
 * The Python type name of the first unhashable part of `key` (`list`, `dict`, `set`, `bytearray`,
 * or a dict subclass), or undefined when Python could hash it. Tuples and frozensets are walked
 * iteratively; inert objects, globals and host values hash by identity, as Python objects do by
 * default.
 */
export function unhashableType(key: PyValue<unknown>): string | undefined {
  const kind = tagOf(key);
  if (kind !== "tuple" && kind !== "frozenset") return directlyUnhashable(kind) ? pyTypeName(key) : undefined;
  const todo: { items: PyValue<unknown>[] }[] = [key as { items: PyValue<unknown>[] }];
  const seen = new Set<object>(todo);
  while (todo.length > 0) {
    for (const item of todo.pop()!.items) {
      const k = tagOf(item);
      if (k === "tuple" || k === "frozenset") {
        if (!seen.has(item as object)) {
          seen.add(item as object);
          todo.push(item as { items: PyValue<unknown>[] });
        }
      } else if (directlyUnhashable(k)) {
        return pyTypeName(item);
      }
    }
  }
  return undefined;
}

function directlyUnhashable(kind: unknown): boolean {
  return kind === "list" || kind === "dict" || kind === "set" || kind === "bytearray";
}

/** Throws `type-mismatch` (Python's `TypeError: unhashable type`) unless `key` is hashable. */
export function requireHashable(key: PyValue<unknown>, what: string): void {
  if (typeof key === "string" || typeof key === "number") return;
  const bad = unhashableType(key);
  if (bad !== undefined) throw new PickleDecodeError("type-mismatch", `unhashable type '${bad}' used as a ${what}`);
}

/**
 * Python key equality, iterative for nested tuples and frozensets (pairs already being compared are
 * not compared again, so shared sub-tuples cost one visit). Leaves go to {@link pyKeyEquals}.
 */
export function keysEqual(a: PyValue<unknown>, b: PyValue<unknown>): boolean {
  if (a === b) return true;
  const ka = tagOf(a);
  if (ka !== "tuple" && ka !== "frozenset") return pyKeyEquals(a, b);
  const todo: unknown[] = [a, b];
  let seen: Map<object, Set<object>> | undefined;
  while (todo.length > 0) {
    const y = todo.pop();
    const x = todo.pop();
    if (x === y) continue;
    const kx = tagOf(x);
    if (kx !== "tuple" && kx !== "frozenset") {
      if (!pyKeyEquals(x, y)) return false;
      continue;
    }
    if (tagOf(y) !== kx) return false;
    const xi = (x as { items: unknown[] }).items;
    const yi = (y as { items: unknown[] }).items;
    if (xi.length !== yi.length) return false;
    seen ??= new Map();
    let partners = seen.get(x as object);
    if (partners === undefined) seen.set(x as object, (partners = new Set()));
    else if (partners.has(y as object)) continue;
    partners.add(y as object);
    for (let i = xi.length - 1; i >= 0; i--) todo.push(xi[i], yi[i]);
  }
  return true;
}

/** int/bool/float as one Map key: a number when exact and safe, else the bigint of the same value. */
function canonicalNumber(v: number): number | bigint {
  return Number.isInteger(v) && !Number.isSafeInteger(v) ? BigInt(v) : v;
}
function canonicalBigint(v: bigint): number | bigint {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

/** The JS Map key of a key whose equality is exact (str, numbers, identity), or STRUCTURAL. */
function exactKey(key: PyValue<unknown>): unknown {
  switch (typeof key) {
    case "string":
      return key;
    case "number":
      return canonicalNumber(key);
    case "bigint":
      return canonicalBigint(key);
    case "boolean":
      return key ? 1 : 0;
    default:
      break;
  }
  if (key === null) return null;
  switch (tagOf(key)) {
    case "float": {
      const value = (key as PyFloat).value;
      // NaN never equals NaN: only the same float object finds itself again (Python's identity check).
      return Number.isNaN(value) ? key : canonicalNumber(value);
    }
    case "bytes":
    case "bytearray":
    case "tuple":
    case "frozenset":
    case "global":
    case "complex":
      return STRUCTURAL;
    default:
      return key; // inert objects, persistent ids, buffers, extensions, host values: identity
  }
}

/** A coarse hash for structural keys: equal keys always agree; unequal ones rarely collide. */
function structuralHash(key: PyValue<unknown>): string {
  const kind = tagOf(key);
  if (kind === "tuple" || kind === "frozenset") {
    const items = (key as { items: PyValue<unknown>[] }).items;
    let h = `${kind === "tuple" ? "t" : "f"}${items.length}`;
    const n = Math.min(items.length, HASHED_ITEMS);
    for (let i = 0; i < n; i++) h += `|${shallowCode(items[i]!)}`;
    return h;
  }
  return shallowCode(key);
}

/** One item's contribution to a hash, without descending into nested tuples. */
function shallowCode(v: PyValue<unknown>): string {
  if (typeof v === "string") return `s${v.length}:${v.slice(0, HASHED_CHARS)}`;
  const kind = tagOf(v);
  switch (kind) {
    case "tuple":
    case "frozenset":
      return `${kind === "tuple" ? "t" : "f"}${(v as { items: unknown[] }).items.length}`;
    case "bytes":
    case "bytearray": {
      const data = (v as { data: Uint8Array }).data;
      return `b${data.length}:${fnv1a(data)}`;
    }
    case "global":
      return `g${(v as { module: string }).module}\n${(v as { name: string }).name}`;
    case "complex":
      return `c${(v as { real: number }).real},${(v as { imag: number }).imag}`;
    default:
      break;
  }
  const exact = exactKey(v);
  if (typeof exact === "number" || typeof exact === "bigint") return `n${exact}`;
  return exact === null ? "N" : "o";
}

function fnv1a(data: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) h = Math.imul(h ^ data[i]!, 0x01000193);
  return h >>> 0;
}

/** Reads the key at a position of a dict's entries or a set's items. */
type KeyAt = (i: number) => PyValue<unknown>;

function indexInsert(index: KeyIndex, key: PyValue<unknown>, at: number, keyAt: KeyAt): void {
  const exact = exactKey(key);
  if (exact !== STRUCTURAL) {
    if (!index.exact.has(exact)) index.exact.set(exact, at);
    return;
  }
  const h = structuralHash(key);
  const bucket = index.structural.get(h);
  if (bucket === undefined) index.structural.set(h, [at]);
  else if (!bucket.some((j) => keysEqual(keyAt(j), key))) bucket.push(at);
}

function indexFind(index: KeyIndex, key: PyValue<unknown>, keyAt: KeyAt): number {
  const exact = exactKey(key);
  if (exact !== STRUCTURAL) return index.exact.get(exact) ?? -1;
  const bucket = index.structural.get(structuralHash(key));
  if (bucket !== undefined) for (const j of bucket) if (keysEqual(keyAt(j), key)) return j;
  return -1;
}

/** The index of a container, (re)built when missing or stale. */
function indexOf(indexes: KeyIndexes, owner: object, size: number, keyAt: KeyAt): KeyIndex {
  let index = indexes.get(owner);
  if (index === undefined || index.size !== size) {
    index = { exact: new Map(), structural: new Map(), size };
    for (let i = 0; i < size; i++) indexInsert(index, keyAt(i), i, keyAt);
    indexes.set(owner, index);
  }
  return index;
}

/**
 * `dict[key] = value` with Python semantics: an equal key keeps its position and original key
 * object and gets the new value; a new key is appended.
 * @throws PickleDecodeError `type-mismatch` when the key is unhashable (a list, dict, set, ...).
 */
export function dictSetItem<X>(indexes: KeyIndexes, dict: PyDict<X>, key: PyValue<X>, value: PyValue<X>): void {
  const entries = dict.entries;
  const n = entries.length;
  if (n < INDEX_THRESHOLD) {
    if (typeof key === "string") {
      for (let i = 0; i < n; i++) {
        const e = entries[i]!;
        if (e[0] === key) {
          e[1] = value;
          return;
        }
      }
    } else {
      requireHashable(key, "dict key");
      for (let i = 0; i < n; i++) {
        const e = entries[i]!;
        if (keysEqual(e[0], key)) {
          e[1] = value;
          return;
        }
      }
    }
    entries.push([key, value]);
    return;
  }
  if (typeof key !== "string") requireHashable(key, "dict key");
  const keyAt: KeyAt = (i) => entries[i]![0];
  const index = indexOf(indexes, entries, n, keyAt);
  const at = indexFind(index, key, keyAt);
  if (at >= 0) {
    entries[at]![1] = value;
    return;
  }
  entries.push([key, value]);
  indexInsert(index, key, n, keyAt);
  index.size = n + 1;
}

/**
 * `set.add(item)`: appends unless an equal item is already present.
 * @throws PickleDecodeError `type-mismatch` when the item is unhashable.
 */
export function setAddItem<X>(indexes: KeyIndexes, items: PyValue<X>[], item: PyValue<X>): void {
  const n = items.length;
  requireHashable(item, "set member");
  if (n < INDEX_THRESHOLD) {
    for (let i = 0; i < n; i++) if (keysEqual(items[i]!, item)) return;
    items.push(item);
    return;
  }
  const keyAt: KeyAt = (i) => items[i]!;
  const index = indexOf(indexes, items, n, keyAt);
  if (indexFind(index, item, keyAt) >= 0) return;
  items.push(item);
  indexInsert(index, item, n, keyAt);
  index.size = n + 1;
}
