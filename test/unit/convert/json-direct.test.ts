// The direct root builder (json-direct.ts) against the general path (valueToJson with the checkpoint
// host): the same document text, byte for byte, on every torch fixture and on random graphs; the
// general path still takes what the direct one declines (sharing, deep values) and reports errors.
import { readdirSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { directRootJson } from "../../../src/convert/json-direct.js";
import { directRootPieces } from "../../../src/convert/json-direct-print.js";
import { directTensors, isPlainTensor, plainTensorJson, rootValueJson, toJson } from "../../../src/convert/json.js";
import { prettyJson, writeJson } from "../../../src/convert/json-pretty.js";
import { graphFacts } from "../../../src/convert/value-graph.js";
import { ORDERED_DICT, pyBytes, pyComplex, pyDict, pyFloat, pyGlobal, pyList, pyTuple } from "../../../src/pickle/value.js";
import type { Tensor, TorchHost, TorchValue } from "../../../src/torch/index.js";
import { isTensor, readCheckpoint } from "../../../src/torch/index.js";
import { checkpointArb } from "./arbitraries.js";
import { storage, tensor } from "./values.js";

/** Trees of the common shapes, nothing met twice: what the direct builder is for (and a few things it declines). */
const commonArb: fc.Arbitrary<TorchValue> = fc.letrec<{ v: TorchValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.maxSafeInteger(), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }), fc.string(),
      fc.constant(2 ** 60), fc.constant(-0), fc.double().map((x) => pyFloat(x)), fc.constantFrom(pyFloat(NaN), pyFloat(-0), pyFloat(-Infinity)),
      fc.tuple(fc.double(), fc.double()).map(([a, b]) => pyComplex(a, b)), fc.uint8Array({ maxLength: 6 }).map((b) => pyBytes(b)),
      fc.constant(null).map(() => pyGlobal("torch", "float32"))),
    fc.tuple(fc.array(fc.integer({ min: 0, max: 12 }), { maxLength: 4 }), fc.boolean(), fc.boolean(), fc.constantFrom<"canonical" | "none">("canonical", "none"), fc.constantFrom("0", "1", "a"))
      .map(([shape, requiresGrad, parameter, origin, key]) => tensor(storage("float32", new Uint8Array(4 * shape.reduce((a, b) => a * b, 1)), { key }), shape, { requiresGrad, parameter, origin })),
    fc.array(tie("v"), { maxLength: 6 }).map((xs) => pyList(xs)),
    fc.array(tie("v"), { maxLength: 4 }).map((xs) => pyTuple(xs)),
    fc.array(fc.tuple(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("0", "10", "$x", "__proto__", "weight", "a\ud800")), tie("v")), { maxLength: 8 })
      .map((es) => pyDict<TorchHost>(es as [TorchValue, TorchValue][])),
    fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), tie("v")), { maxLength: 5 }).map((es) => pyDict<TorchHost>(es)),
    fc.array(fc.tuple(fc.string({ maxLength: 8 }), tie("v")), { maxLength: 5 }).map((es) => pyDict<TorchHost>(es, ORDERED_DICT)),
  ),
})).v;

/** The indents the document writer is asked for (1 by default; 0 one line; 2 and 3 deeper). */
const INDENTS = [1, 0, 2, 3];

/**
 * Both paths' root text (pretty and one-line), whether the direct builder took the value, and the
 * root as the direct printer (json-direct-print.ts) prints it at each of {@link INDENTS}, beside
 * what the document writer prints for the general path's JSON (level 1, tight separators).
 */
function both(root: TorchValue, maxDepth = 1000): { direct: string[]; general: string[]; took: boolean; printed: (string | undefined)[]; expected: (string | undefined)[] } {
  const facts = graphFacts(root);
  const plain = (v: TorchValue) => (isTensor(v) && isPlainTensor(v, facts) ? { $tensor: plainTensorJson(v, facts.keyOf.get(v.storage!)!) } : undefined);
  const took = directRootJson(root, facts, maxDepth, plain) !== undefined;
  const text = (direct: boolean): string[] => {
    const j = rootValueJson(root, facts, maxDepth, direct);
    return [prettyJson(j, { indent: 1, separators: "tight" }), prettyJson(j, { indent: 0, separators: "tight" }), JSON.stringify(j)];
  };
  const general = rootValueJson(root, facts, maxDepth, false);
  const printed = INDENTS.map((indent) => {
    const pieces = directRootPieces(root, facts, maxDepth, directTensors(facts), indent, 1);
    return pieces === undefined ? undefined : [...pieces].join("");
  });
  const expected = INDENTS.map((indent) => {
    if (!took) return undefined;
    const out: string[] = [];
    writeJson(general, out, { indent, separators: "tight" }, 1);
    return out.join("");
  });
  return { direct: text(true), general: text(false), took, printed, expected };
}

const FIXTURE_DIRS = ["fixtures/torch", "fixtures/torch2"];
const fixtures = FIXTURE_DIRS.flatMap((d) => readdirSync(d).filter((f) => /\.(pt|pth|bin|ckpt|tar)$/.test(f)).map((f) => `${d}/${f}`));

describe("direct JSON root vs the general path", () => {
  it("finds the fixtures", () => expect(fixtures.length).toBeGreaterThan(50));

  it("gives the same text on every torch fixture, and takes most of them", () => {
    let took = 0;
    let read = 0;
    for (const file of fixtures) {
      let root: TorchValue;
      try {
        root = readCheckpoint(readFileSync(file)).root;
      } catch {
        continue; // fixtures that are meant to fail reading
      }
      read++;
      let r: ReturnType<typeof both>;
      try {
        r = both(root);
      } catch {
        // the general path refuses the value: the direct one must not have taken it
        const facts = graphFacts(root);
        expect(directRootJson(root, facts, 1000, () => undefined), file).toBeUndefined();
        continue;
      }
      expect(r.direct, file).toEqual(r.general);
      expect(r.printed, file).toEqual(r.expected);
      if (r.took) took++;
    }
    expect(read).toBeGreaterThan(50);
    expect(took).toBeGreaterThan(read / 2);
  });

  it("gives the same text on random checkpoints (sharing and every kind: mostly the general path)", () => {
    let runs = 0;
    fc.assert(fc.property(checkpointArb(), (root) => {
      const r = both(root);
      expect(r.direct).toEqual(r.general);
      expect(r.printed).toEqual(r.expected);
      runs++;
    }), { numRuns: 300 });
    expect(runs).toBe(300);
  });

  it("gives the same text on random trees of the common shapes, and takes most of them", () => {
    let runs = 0;
    let took = 0;
    fc.assert(fc.property(commonArb, (root) => {
      const r = both(root);
      expect(r.direct).toEqual(r.general);
      expect(r.printed).toEqual(r.expected);
      runs++;
      if (r.took) took++;
    }), { numRuns: 500 });
    expect(took).toBeGreaterThan(runs / 2);
  });

  it("takes dicts, lists and floats, and leaves shared objects and deep values to the general path", () => {
    expect(both(pyDict([["a", pyList([1, pyFloat(0.5), "x"])], ["0", 2]])).took).toBe(true);
    const shared = pyList([1]);
    const r = both(pyDict([["a", shared], ["b", shared]]));
    expect(r.took).toBe(false);
    expect(r.direct[0]).toContain('"$ref"');
    let deep: TorchValue = 1;
    for (let i = 0; i < 300; i++) deep = pyList([deep]);
    const d = both(deep);
    expect(d.took).toBe(false);
    expect(d.direct).toEqual(d.general);
    expect(() => toJson(deep, { maxDepth: 100 })).toThrow(/deeper than 100/);
  });

  it("prints tensors on either side of the one-line width, and nested where the one-line probe stops", () => {
    // Storage keys and shapes that put a tensor's one-line text just under, at and over 160 characters.
    let near = 0;
    fc.assert(fc.property(wideArb, (root) => {
      const r = both(root);
      expect(r.took).toBe(true);
      expect(r.printed).toEqual(r.expected);
      if (/\{"\$tensor": \{$/m.test(r.expected[0]!)) near++;
    }), { numRuns: 400 });
    expect(near).toBeGreaterThan(20);
  });

  it("prints a tensor on one line up to exactly the one-line width, and over lines past it", () => {
    // Storage keys of every length from 1 to 90 sweep the one-line text across 160 characters
    // (with and without empty shape and stride arrays, which the width probe charges differently).
    // A bool tensor on a storage at "" has the shortest record (144 characters), short enough to
    // sit on one line inside a list inside a list, where the probe's depth limit decides.
    const kinds = [["float32", "cpu"], ["bool", ""]] as const;
    for (const [shape, [dtype, location]] of [[], [4], [2, 3], [1, 1, 1, 1, 1, 1, 1]].flatMap((sh) => kinds.map((k) => [sh, k] as const))) {
      const bytes = dtype === "bool" ? 1 : 4;
      const make = (tag: string) => Array.from({ length: 90 }, (_, i) => tensor(storage(dtype, new Uint8Array(bytes * shape.reduce((a, b) => a * b, 1)), { key: tag + "k".repeat(i), location }), shape));
      const [ts, us, vs, ws, xs, ys] = ["a", "b", "c", "d", "e", "f"].map(make) as [Tensor[], Tensor[], Tensor[], Tensor[], Tensor[], Tensor[]];
      // Alone, and in small containers that fit on one line only with the tensor on one line.
      const small = ws.flatMap((w, i) => [pyList([w, 1]), pyDict<TorchHost>([["a", 1], ["b", xs[i]!]]), pyList([pyList([ys[i]!]), 1])]);
      for (const root of [pyDict<TorchHost>(ts.map((x, i) => [`t${i}`, x])), pyList(us), pyDict<TorchHost>(vs.map((x, i) => [i, x])), pyList(small)]) {
        const r = both(root);
        expect(r.took).toBe(true);
        expect(r.printed).toEqual(r.expected);
        expect(r.expected[0]).toMatch(/\{"\$tensor": \{$/m); // some tensors went over lines
      }
    }
  });

  it("prints a tensor alone or last in a small container as the general path does, whatever its booleans", () => {
    // Keys of every length sweep the tensor's text across the one-line width inside a container's
    // one-line probe (which skips making the text of a tensor whose length bound cannot fit).
    let inline = 0;
    for (const [requiresGrad, parameter] of [[true, true], [false, false], [true, false]] as const) {
      for (const shape of [[], [3], [1, 2]]) {
        for (let i = 1; i < 60; i++) {
          const t = tensor(storage("float32", new Uint8Array(4 * shape.reduce((a, b) => a * b, 1)), { key: "k".repeat(i) }), shape, { requiresGrad, parameter });
          for (const root of [pyList([t]), pyList([1, t]), pyTuple([t])]) {
            const r = both(root);
            expect(r.took).toBe(true);
            expect(r.printed).toEqual(r.expected);
            if (!r.expected[0]!.includes("\n")) inline++;
          }
        }
      }
    }
    expect(inline).toBeGreaterThan(50);
  });

  it("prints what the direct builder takes and declines the rest", () => {
    const t = (key: string, shape: number[]) => tensor(storage("float32", new Uint8Array(4 * shape.reduce((a, b) => a * b, 1)), { key }), shape);
    const roots: TorchValue[] = [
      pyDict([["state", pyDict<TorchHost>([[0, pyDict([["step", t("a", [])], ["exp_avg", t("b", [4])]])], [1, pyDict([["exp_avg", t("c", [2, 2])]])]])]]),
      pyList([pyDict([["w", t("k", [3])]]), pyTuple([t("x", [1]), pyFloat(0.5)])]),
      pyList([pyList([pyList([t("deep", [2])])])]),
      pyDict([["wide", t("s", new Array<number>(81).fill(1))], ["long", t("y".repeat(150), [1])]]),
      pyDict<TorchHost>([["a", 1]], ORDERED_DICT),
      pyTuple([]),
      pyDict([]),
    ];
    for (const root of roots) {
      const r = both(root);
      expect(r.took).toBe(true);
      expect(r.printed).toEqual(r.expected);
    }
    const shared = pyList([1]);
    expect(both(pyDict([["a", shared], ["b", shared]])).printed).toEqual([undefined, undefined, undefined, undefined]);
    const shareT = t("z", [1]);
    expect(both(pyList([shareT, shareT])).printed).toEqual([undefined, undefined, undefined, undefined]);
  });
});

/** Tensors whose one-line text lands around 160 characters, alone and inside dicts, lists, tuples and `$dict` pairs. */
const wideArb: fc.Arbitrary<TorchValue> = fc.tuple(
  fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 40 }), fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 12 }), fc.integer({ min: 0, max: 1 })), { minLength: 1, maxLength: 4 }),
  fc.constantFrom("dict", "list", "tuple", "pairs", "nested"),
  fc.string({ maxLength: 30 }),
).map(([specs, wrap, name]) => {
  const ts = specs.map(([key, shape, bump], i) =>
    tensor(storage("float32", new Uint8Array(4 * shape.reduce((a, b) => a * b, 1)), { key: `${key}${i}` }), shape, { offset: bump * 123456789 }));
  switch (wrap) {
    case "dict":
      return pyDict<TorchHost>(ts.map((x, i) => [`${name}.${i}`, x]));
    case "list":
      return pyList(ts);
    case "tuple":
      return pyTuple(ts);
    case "pairs":
      return pyDict<TorchHost>(ts.map((x, i) => [i, x]));
    default:
      return pyDict<TorchHost>([[name.length === 0 ? "n" : `${name}x`, pyList([pyDict<TorchHost>(ts.map((x, i) => [`k${i}`, x]))])]]);
  }
});
