// graphFacts' one-walk shortcut (no tensor keeps an origin, no numpy array) against the two walks
// it stands for: the same shared objects, storages, keys and tensors, in the same order.
import { readdirSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { graphFacts, graphFactsTwoWalks, type GraphFacts } from "../../../src/convert/value-graph.js";
import { pyDict, pyList } from "../../../src/pickle/value.js";
import type { TorchValue } from "../../../src/torch/index.js";
import { readCheckpoint } from "../../../src/torch/index.js";
import { checkpointArb } from "./arbitraries.js";
import { storage, tensor } from "./values.js";

const facts = (f: GraphFacts) => ({
  shared: [...f.shared], omitOrigin: [...f.omitOrigin], storages: f.storages, keys: [...f.keyOf], tensors: f.tensors,
  // What writers ask: each storage's key, straight.
  storageKeys: f.storages.map((s) => f.storageKey(s)),
});

/** The tensors of a value without their origins (as the reader gives torch.save's standard call). */
function dropOrigins(v: TorchValue, seen = new Map<object, TorchValue>()): TorchValue {
  if (typeof v !== "object" || v === null) return v;
  const known = seen.get(v);
  if (known !== undefined) return known;
  const o = v as unknown as Record<string, unknown>;
  if (o.kind === "tensor") {
    const { origin: _, ...rest } = o;
    seen.set(v, rest as unknown as TorchValue);
    return rest as unknown as TorchValue;
  }
  if (o.kind === "list" || o.kind === "tuple") {
    const out = { ...o, items: [] as TorchValue[] };
    seen.set(v, out as unknown as TorchValue);
    out.items = (o.items as TorchValue[]).map((x) => dropOrigins(x, seen));
    return out as unknown as TorchValue;
  }
  if (o.kind === "dict") {
    const out = { ...o, entries: [] as [TorchValue, TorchValue][] };
    seen.set(v, out as unknown as TorchValue);
    out.entries = (o.entries as [TorchValue, TorchValue][]).map(([k, x]) => [dropOrigins(k, seen), dropOrigins(x, seen)]);
    return out as unknown as TorchValue;
  }
  return v;
}

describe("graphFacts in one walk", () => {
  it("equals the two walks on every torch fixture", () => {
    let read = 0;
    for (const d of ["fixtures/torch", "fixtures/torch2"]) {
      for (const f of readdirSync(d).filter((x) => /\.(pt|pth|bin|ckpt|tar)$/.test(x))) {
        let root: TorchValue;
        try {
          root = readCheckpoint(readFileSync(`${d}/${f}`)).root;
        } catch {
          continue;
        }
        read++;
        let full: GraphFacts;
        try {
          full = graphFactsTwoWalks(root);
        } catch {
          expect(() => graphFacts(root), f).toThrow();
          continue;
        }
        expect(facts(graphFacts(root)), f).toEqual(facts(full));
      }
    }
    expect(read).toBeGreaterThan(50);
  });

  it("equals the two walks on random checkpoints, with and without origins", () => {
    fc.assert(fc.property(checkpointArb(), (root) => {
      expect(facts(graphFacts(root))).toEqual(facts(graphFactsTwoWalks(root)));
      const bare = dropOrigins(root);
      expect(facts(graphFacts(bare))).toEqual(facts(graphFactsTwoWalks(bare)));
    }), { numRuns: 300 });
  });

  it("shares a storage two tensors view, and a list met twice", () => {
    const s = storage("float32", new Uint8Array(16));
    const l = pyList([1]);
    const root = pyDict([["a", tensor(s, [4], { origin: "none" })], ["b", tensor(s, [2], { origin: "none" })], ["c", l], ["d", l]]);
    const f = graphFacts(root);
    expect([...f.shared]).toEqual([s, l]);
    expect(facts(f)).toEqual(facts(graphFactsTwoWalks(root)));
  });

  it("keeps torch's own keys when they are distinct numbers, and renames as the two walks do otherwise", () => {
    const keyArb = fc.oneof(fc.nat({ max: 40 }).map(String), fc.constantFrom("00", "01", "-1", "1e2", "", "a", "3#1", "999999999", "1234567890", " 1"));
    fc.assert(fc.property(fc.array(keyArb, { maxLength: 30 }), (keys) => {
      const root = pyList(keys.map((key, i) => tensor(storage("float32", new Uint8Array(4).fill(i), { key }), [1], { origin: "none" })));
      const one = graphFacts(root);
      const two = graphFactsTwoWalks(root);
      expect(facts(one)).toEqual(facts(two));
      expect(one.keyOf.size).toBe(two.keyOf.size);
      for (const s of two.storages) {
        expect(one.storageKey(s)).toBe(two.keyOf.get(s));
        expect(one.keyOf.has(s)).toBe(true);
        expect(one.keyOf.get(s)).toBe(two.keyOf.get(s));
      }
      // A storage outside the value has no key.
      const outside = storage("float32", new Uint8Array(4), { key: "0" });
      expect(one.keyOf.get(outside)).toBeUndefined();
      expect(one.keyOf.has(outside)).toBe(false);
      expect([...one.keyOf.keys()]).toEqual([...two.keyOf.keys()]);
      expect([...one.keyOf.values()]).toEqual([...two.keyOf.values()]);
      const seen: [string, unknown][] = [];
      one.keyOf.forEach((k, s) => seen.push([k, s]));
      expect(seen).toEqual([...two.keyOf].map(([s, k]) => [k, s]));
    }), { numRuns: 300 });
  });
});
