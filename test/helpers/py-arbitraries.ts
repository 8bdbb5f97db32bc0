/**
 * fast-check building blocks shared by the pickle tests (the property round trip and the interop
 * echo through CPython): hashable values for dict keys and set items, and arrays of them with no
 * two items Python would call equal. Each test brings its own scalars, which differ on purpose.
 */
import fc from "fast-check";
import { pyKeyEquals, type PyValue } from "../../src/pickle/value.js";

/** Arrays without two items Python would call equal (1, 1.0 and True are one key). */
export function uniqueArray<T>(arb: fc.Arbitrary<T>, maxLength: number): fc.Arbitrary<T[]> {
  return fc.array(arb, { maxLength }).map((items) => {
    const out: T[] = [];
    for (const item of items) if (!out.some((o) => pyKeyEquals(o, item))) out.push(item);
    return out;
  });
}

/** The scalars a test draws hashable values from. */
export interface HashableParts {
  readonly int: fc.Arbitrary<PyValue>;
  readonly float: fc.Arbitrary<PyValue>;
  readonly str: fc.Arbitrary<PyValue>;
  readonly bytes: fc.Arbitrary<Uint8Array>;
  readonly global: fc.Arbitrary<PyValue>;
}

/** Hashable values: None, bool, int, float, str, bytes, complex, globals, and tuples and frozensets of them (two deep). */
export function hashableValues(parts: HashableParts): fc.Arbitrary<PyValue> {
  const { int, float, str, bytes, global } = parts;
  return fc.letrec((tie) => ({
    key: fc.oneof(
      { depthSize: "small", maxDepth: 2 },
      fc.constant(null),
      fc.boolean(),
      int,
      float,
      str,
      bytes.map((data): PyValue => ({ kind: "bytes", data })),
      fc.array(tie("key"), { maxLength: 3 }).map((items): PyValue => ({ kind: "tuple", items: items as PyValue[] })),
      uniqueArray(tie("key"), 3).map((items): PyValue => ({ kind: "frozenset", items: items as PyValue[] })),
      fc.tuple(fc.double(), fc.double()).map(([real, imag]): PyValue => ({ kind: "complex", real, imag })),
      global,
    ),
  })).key as fc.Arbitrary<PyValue>;
}
