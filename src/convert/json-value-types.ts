/**
 * Shared types and rules of the lossless JSON value format (docs/json-format.md): one JSON document
 * per Python value, readable, and exact for every shape of the pickle value model.
 */
import { ConvertError, type ErrorCode, type KeyPath } from "../errors.js";
import type { PyValue } from "../pickle/value.js";

/** Any JSON document, as `JSON.parse` returns it and `JSON.stringify` accepts it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

/** Options of {@link valueToJson}. */
export interface ToJsonOptions<X> {
  /**
   * Describes a host value (anything that is not a pickle value-model shape, e.g. the torch layer's
   * tensors). `recurse` converts a nested pickle value; put what it returns into your result as is
   * (it may be a placeholder that is resolved once the whole document is built), in the order you
   * called it. A host value met twice is shared through `"$id"`/`"$ref"` like any object, so its
   * description must then be a JSON object. Absent: a host value throws `type-mismatch`.
   */
  host?: (value: X, recurse: (v: PyValue<X>) => JsonValue) => JsonValue;
  /**
   * Deepest key path (steps from the root) converted before `limit-exceeded`. Default unbounded
   * (the walk is iterative); the checkpoint JSON writer (`jsonChunks`) passes
   * {@link DEFAULT_JSON_MAX_DEPTH}, as the msgpack and plain-JSON writers bound theirs.
   */
  maxDepth?: number;
}

/** Default depth bound of the checkpoint JSON writer: 1000 steps, as msgpack and plain JSON. */
export const DEFAULT_JSON_MAX_DEPTH = 1000;

/** Options of {@link valueFromJson}. */
export interface FromJsonOptions<X> {
  /**
   * Builds a host value from an object whose tag this format does not define (e.g. `"$tensor"`).
   * `tag` is that key, `$` included; `obj` is the whole object (with `"$id"` if it has one);
   * `recurse` converts nested JSON. Return undefined to refuse it (`invalid-data`). A `"$ref"` to
   * the object being built from inside it cannot be resolved (it is registered when this returns).
   */
  host?: (tag: string, obj: Record<string, JsonValue>, recurse: (j: JsonValue) => PyValue<X>) => PyValue<X> | undefined;
}

/**
 * How deeply host hooks may nest through `recurse` before `limit-exceeded`. Every other walk is
 * iterative; a host level costs several JS frames, and a torch value nests two or three.
 */
export const MAX_HOST_DEPTH = 100;

/** `"$float"`/`"$complex"` strings for values JSON numbers cannot spell. */
export const FLOAT_SPECIALS: Readonly<Record<string, number>> = Object.freeze({
  nan: NaN, inf: Infinity, "-inf": -Infinity, "-0.0": -0,
});

/** The raw bits of a non-canonical NaN, as PyFloat.nanBits keeps them. */
const NAN_BITS = /^[0-9a-f]{16}$/;

/** True for 16 lowercase hex digits of a NaN: exponent all ones, mantissa non-zero. */
export function isNanPattern(bits: string): boolean {
  if (!NAN_BITS.test(bits)) return false;
  const hi = parseInt(bits.slice(0, 8), 16);
  const lo = parseInt(bits.slice(8), 16);
  return (hi & 0x7ff00000) === 0x7ff00000 && ((hi & 0xfffff) !== 0 || lo !== 0);
}


/**
 * Keys JS objects would reorder (array indices), so a dict with one uses the `"$dict"` pair form:
 * `/^(?:0|[1-9][0-9]*)$/`, checked a character at a time (most keys fail at the first one).
 */
export function isIndexLike(k: string): boolean {
  const n = k.length;
  if (n === 0) return false;
  const first = k.charCodeAt(0);
  if (first === 0x30) return n === 1;
  if (first < 0x31 || first > 0x39) return false;
  for (let i = 1; i < n; i++) {
    const c = k.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** True when a str dict key can be a JSON object key of the plain-object dict form. */
export const isPlainKey = (k: string): boolean => k.charCodeAt(0) !== 0x24 && !isIndexLike(k);

/** A key path as a linked list, so walks never copy arrays; turned into a {@link KeyPath} on error. */
export interface PathNode {
  readonly up: PathNode | undefined;
  readonly key: string | number;
  /** Steps from the root (1 for a root's child). */
  readonly depth: number;
}

export const pathChild = (up: PathNode | undefined, key: string | number): PathNode => ({ up, key, depth: (up?.depth ?? 0) + 1 });

export function materializePath(node: PathNode | undefined): KeyPath {
  const keys: (string | number)[] = [];
  for (let n = node; n !== undefined; n = n.up) keys.push(n.key);
  return keys.reverse();
}

export function convertError(code: ErrorCode, reason: string, at: PathNode | undefined, cause?: unknown): ConvertError {
  return new ConvertError(code, reason, cause === undefined ? { path: materializePath(at) } : { path: materializePath(at), cause });
}

/**
 * A RangeError out of a conversion (the JS stack or an array length ran out, e.g. inside a deep host
 * hook) as a typed `limit-exceeded`; anything else passes unchanged.
 */
export function limitError(e: unknown): unknown {
  return e instanceof RangeError ? convertError("limit-exceeded", `ran out of stack or memory: ${e.message}`, undefined, e) : e;
}

/** Sets an own data property, so a key like `"__proto__"` is data, never the prototype setter. */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}
