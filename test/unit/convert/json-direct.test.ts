// The direct root builder (json-direct.ts) against the general path (valueToJson with the checkpoint
// host): the same document text, byte for byte, on every torch fixture and on random graphs; the
// general path still takes what the direct one declines (sharing, deep values) and reports errors.
import { readdirSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { directRootJson } from "../../../src/convert/json-direct.js";
import { isPlainTensor, plainTensorJson, rootValueJson, toJson } from "../../../src/convert/json.js";
import { prettyJson } from "../../../src/convert/json-pretty.js";
import { graphFacts } from "../../../src/convert/value-graph.js";
import { ORDERED_DICT, pyBytes, pyComplex, pyDict, pyFloat, pyGlobal, pyList, pyTuple } from "../../../src/pickle/value.js";
import type { TorchHost, TorchValue } from "../../../src/torch/index.js";
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

/** Both paths' root text (pretty and one-line), and whether the direct builder took the value. */
function both(root: TorchValue, maxDepth = 1000): { direct: string[]; general: string[]; took: boolean } {
  const facts = graphFacts(root);
  const plain = (v: TorchValue) => (isTensor(v) && isPlainTensor(v, facts) ? { $tensor: plainTensorJson(v, facts.keyOf.get(v.storage!)!) } : undefined);
  const took = directRootJson(root, facts, maxDepth, plain) !== undefined;
  const text = (direct: boolean): string[] => {
    const j = rootValueJson(root, facts, maxDepth, direct);
    return [prettyJson(j, { indent: 1, separators: "tight" }), prettyJson(j, { indent: 0, separators: "tight" }), JSON.stringify(j)];
  };
  return { direct: text(true), general: text(false), took };
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
});
