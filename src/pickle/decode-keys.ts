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

/** Marks a key that has no exact JS Map key and must go through the structural hash. */
const STRUCTURAL: unique symbol = Symbol("structural");

/** Where each key of one dict or set sits, so a lookup does not scan the container. */
export interface KeyIndex {
  /** str, int, bool, non-NaN float (as one canonical number or bigint) and identity-hashed objects. */
  readonly exact: Map<unknown, number>;
  /** bytes, tuple, frozenset, global and complex keys by a tree hash; equality decides within a bucket. */
  readonly structural: Map<number, number[]>;
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
  // Pairs already compared (or being compared): the first partner of each x, then any others.
  let seen: Map<object, object> | undefined;
  let more: Map<object, Set<object>> | undefined;
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
    const first = seen.get(x as object);
    if (first === undefined) seen.set(x as object, y as object);
    else if (first === y) continue;
    else {
      more ??= new Map();
      let others = more.get(x as object);
      if (others === undefined) more.set(x as object, (others = new Set()));
      else if (others.has(y as object)) continue;
      others.add(y as object);
    }
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

/**
 * A 32-bit hash of a structural key over its whole tree: equal keys always agree, so a bucket
 * only holds true collisions. Nested tuples are hashed bottom-up without recursion, each shared
 * sub-tuple once.
 */
function structuralHash(key: PyValue<unknown>): number {
  const kind = tagOf(key);
  if (kind !== "tuple" && kind !== "frozenset") return leafHash(key);
  const done = new Map<object, number>();
  const todo: { items: PyValue<unknown>[]; kind?: unknown }[] = [key as { items: PyValue<unknown>[] }];
  while (todo.length > 0) {
    const node = todo[todo.length - 1]!;
    if (done.has(node)) {
      todo.pop();
      continue;
    }
    let ready = true;
    for (const item of node.items) {
      if (isNested(item) && !done.has(item as object)) {
        todo.push(item as { items: PyValue<unknown>[] });
        ready = false;
      }
    }
    if (!ready) continue;
    todo.pop();
    let h = mix(node.kind === "tuple" ? 0x345678 : 0x9e3779b9, node.items.length);
    for (const item of node.items) h = mix(h, isNested(item) ? done.get(item as object)! : leafHash(item));
    done.set(node, h);
  }
  return done.get(key as object)!;
}

const isNested = (v: unknown): boolean => {
  const k = tagOf(v);
  return k === "tuple" || k === "frozenset";
};

/** A hash of a non-tuple value consistent with {@link pyKeyEquals} (1, 1.0, True and 1n agree). */
function leafHash(v: PyValue<unknown>): number {
  if (typeof v === "string") return hashText(v, 0x73);
  switch (tagOf(v)) {
    case "bytes":
    case "bytearray":
      return hashBytes((v as { data: Uint8Array }).data);
    case "global":
      return hashText(`${(v as { module: string }).module}\n${(v as { name: string }).name}`, 0x67);
    case "complex":
      return hashText(`${(v as { real: number }).real},${(v as { imag: number }).imag}`, 0x63);
    default:
      break;
  }
  const exact = exactKey(v);
  if (typeof exact === "number" || typeof exact === "bigint") return hashText(String(exact), 0x6e);
  return exact === null ? 0x4e : 0; // identity-hashed objects all land together; equality decides
}

function mix(h: number, x: number): number {
  return Math.imul(h ^ x, 0x01000193) ^ (h >>> 15);
}

function hashText(s: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

function hashBytes(data: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) h = Math.imul(h ^ data[i]!, 0x01000193);
  return h;
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
 * `dict[k] = v` for each pair in `items[from:to]` (keys at even offsets), as repeated
 * {@link dictSetItem} calls would do, but looking the dict's index up once per batch.
 * @throws PickleDecodeError `type-mismatch` at the first unhashable key (earlier pairs are set).
 */
export function dictSetItems<X>(indexes: KeyIndexes, dict: PyDict<X>, items: readonly PyValue<X>[], from: number, to: number): void {
  const entries = dict.entries;
  let i = from;
  for (; i < to && entries.length < INDEX_THRESHOLD; i += 2) dictSetItem(indexes, dict, items[i]!, items[i + 1]!);
  if (i >= to) return;
  const keyAt: KeyAt = (j) => entries[j]![0];
  const index = indexOf(indexes, entries, entries.length, keyAt);
  const exact = index.exact;
  for (; i < to; i += 2) {
    const key = items[i]!;
    const value = items[i + 1]!;
    let at: number;
    if (typeof key === "string") {
      at = exact.get(key) ?? -1;
      if (at < 0) {
        exact.set(key, entries.length);
        entries.push([key, value]);
        index.size = entries.length;
        continue;
      }
    } else {
      requireHashable(key, "dict key");
      at = indexFind(index, key, keyAt);
      if (at < 0) {
        const n = entries.length;
        entries.push([key, value]);
        indexInsert(index, key, n, keyAt);
        index.size = n + 1;
        continue;
      }
    }
    entries[at]![1] = value;
  }
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
