/**
 * What APPEND(S), SETITEM(S), ADDITEMS and BUILD do to the object below their items, following
 * CPython's `_Unpickler`: list/dict/set targets are filled with Python semantics, inert objects
 * record the calls they would have received (`listItems`, `dictItems`, `setItems`, `state`), and
 * anything else is a `type-mismatch`. Items are read in place from the decoder's stack.
 */
import { PickleDecodeError } from "../errors.js";
import { dictSetItem, dictSetItems, setAddItem, tagOf, type KeyIndexes } from "./decode-keys.js";
import { pyTypeName } from "./decode-type-name.js";
import type { PyDict, PyObject, PyValue } from "./value.js";

function tooMany(what: string, limit: number): PickleDecodeError {
  return new PickleDecodeError("limit-exceeded", `${what} would exceed maxContainerItems (${limit})`);
}

/**
 * `target.extend(stack[from:to])` (APPEND is a one-item APPENDS).
 * @throws PickleDecodeError `type-mismatch` unless the target is a list or inert object;
 *   `limit-exceeded` past `maxItems`.
 */
export function appendItems<X>(target: PyValue<X>, stack: PyValue<X>[], from: number, to: number, maxItems: number): void {
  const kind = tagOf(target);
  let items: PyValue<X>[];
  if (kind === "list") items = (target as { items: PyValue<X>[] }).items;
  else if (kind === "object") items = (target as PyObject<X>).listItems ??= [];
  else throw new PickleDecodeError("type-mismatch", `cannot append to ${pyTypeName(target)} (needs a list or an object with append)`);
  if (items.length + (to - from) > maxItems) throw tooMany("list", maxItems);
  for (let i = from; i < to; i++) items.push(stack[i]!);
}

/**
 * `target[k] = v` for each pair in `stack[from:to]` (SETITEM is a one-pair SETITEMS).
 * @throws PickleDecodeError `invalid-data` for an odd item count; `type-mismatch` unless the
 *   target is a dict or inert object, or for an unhashable key; `limit-exceeded` past `maxItems`.
 */
export function setItems<X>(
  indexes: KeyIndexes, target: PyValue<X>, stack: PyValue<X>[], from: number, to: number, maxItems: number,
): void {
  if ((to - from) % 2 !== 0) throw new PickleDecodeError("invalid-data", "odd number of items for SETITEMS");
  const kind = tagOf(target);
  if (kind === "dict") {
    const dict = target as PyDict<X>;
    if (dict.entries.length + (to - from) / 2 > maxItems) throw tooMany("dict", maxItems);
    dictSetItems(indexes, dict, stack, from, to);
  } else if (kind === "object") {
    const pairs = ((target as PyObject<X>).dictItems ??= []);
    if (pairs.length + (to - from) / 2 > maxItems) throw tooMany("dict", maxItems);
    for (let i = from; i < to; i += 2) pairs.push([stack[i]!, stack[i + 1]!]);
  } else {
    throw new PickleDecodeError("type-mismatch", `cannot set items on ${pyTypeName(target)} (needs a dict or an object with __setitem__)`);
  }
}

/**
 * `target.add(x)` for each item of `stack[from:to]`.
 * @throws PickleDecodeError `type-mismatch` unless the target is a set or inert object, or for an
 *   unhashable member; `limit-exceeded` past `maxItems`.
 */
export function addItems<X>(
  indexes: KeyIndexes, target: PyValue<X>, stack: PyValue<X>[], from: number, to: number, maxItems: number,
): void {
  const kind = tagOf(target);
  if (kind === "set") {
    const items = (target as { items: PyValue<X>[] }).items;
    if (items.length + (to - from) > maxItems) throw tooMany("set", maxItems);
    for (let i = from; i < to; i++) setAddItem(indexes, items, stack[i]!);
  } else if (kind === "object") {
    const items = ((target as PyObject<X>).setItems ??= []);
    if (items.length + (to - from) > maxItems) throw tooMany("set", maxItems);
    for (let i = from; i < to; i++) items.push(stack[i]!);
  } else {
    throw new PickleDecodeError("type-mismatch", `cannot add items to ${pyTypeName(target)} (needs a set or an object with add)`);
  }
}

/**
 * The state after a BUILD: the first BUILD stores `next` itself (shared references kept); a later
 * one merges when both states are plain dicts (as `__dict__.update` would, into a new dict so a
 * memoised state is never changed), and otherwise replaces the earlier state.
 */
export function mergeState<X>(indexes: KeyIndexes, previous: PyValue<X> | undefined, next: PyValue<X>): PyValue<X> {
  if (previous === undefined || !isPlainDict(previous) || !isPlainDict(next)) return next;
  const merged: PyDict<X> = { kind: "dict", entries: previous.entries.map(([k, v]) => [k, v]) };
  for (const [k, v] of next.entries) dictSetItem(indexes, merged, k, v);
  return merged;
}

function isPlainDict<X>(v: PyValue<X>): v is PyDict<X> {
  return tagOf(v) === "dict" && (v as PyDict<X>).type === undefined && (v as PyDict<X>).state === undefined;
}

/**
 * BUILD on a value-model target: sets `state` on an inert object or a dict (OrderedDict keeps its
 * `__dict__` there). Returns false when the target is a host value (the caller's `build` hook
 * decides).
 * @throws PickleDecodeError `type-mismatch` for any other target (list, tuple, str, int, ...).
 */
export function buildState<X>(indexes: KeyIndexes, target: PyValue<X>, state: PyValue<X>): boolean {
  const kind = tagOf(target);
  if (kind === "object" || kind === "dict") {
    const t = target as PyObject<X> | PyDict<X>;
    t.state = mergeState(indexes, t.state, state);
    return true;
  }
  if (isHostValue(target)) return false;
  throw new PickleDecodeError("type-mismatch", `cannot BUILD ${pyTypeName(target)} (needs an object or a dict)`);
}

const MODEL_KINDS: ReadonlySet<unknown> = new Set([
  "float", "complex", "bytes", "bytearray", "tuple", "list", "dict", "set", "frozenset",
  "global", "object", "persid", "buffer", "ext",
]);

/** True for a value a hook created (type X): an object or function without a value-model `kind`. */
export function isHostValue(v: unknown): boolean {
  return (typeof v === "object" && v !== null && !MODEL_KINDS.has((v as { kind?: unknown }).kind)) || typeof v === "function";
}
