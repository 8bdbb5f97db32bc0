// Streaming writes: plain JSON makes each large tensor's text only when the writer reaches it, and
// the text is the same as when every value is made first (the layout's one-line and head rules
// included); lossless JSON and plain JSON give the same bytes whichever path writes them.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { convertBytes, jsonChunks, plainJsonChunks, toJson, toPlainJson } from "../../../src/convert/index.js";
import { isPlainTensor, jsonBytes, plainTensorJson } from "../../../src/convert/json.js";
import { valueToJson } from "../../../src/convert/json-value.js";
import { tensorRecord } from "../../../src/convert/torch-records.js";
import { graphFacts } from "../../../src/convert/value-graph.js";
import { checkpointArb } from "./arbitraries.js";
import { LAZY_JSON, ORDERED_JSON, RAW_JSON, writeJson, type JsonLike } from "../../../src/convert/json-pretty.js";
import { toPlainJsonValue } from "../../../src/convert/plain-json.js";
import { writeCheckpoint } from "../../../src/torch/write/write-checkpoint.js";
import { ORDERED_DICT, pyDict, pyFloat, pyList, pyTuple } from "../../../src/pickle/value.js";
import type { DTypeName, Storage, TorchHost, TorchValue } from "../../../src/torch/index.js";
import { readCheckpoint } from "../../../src/torch/index.js";
import { storage, tensor } from "./values.js";

/** Every lazy value made up front: the document as it was written before streaming. */
function eager(v: JsonLike): JsonLike {
  if (typeof v !== "object" || v === null) return v;
  if (LAZY_JSON in v) return eager(v[LAZY_JSON].make());
  if (RAW_JSON in v) return v;
  if (ORDERED_JSON in v) return { [ORDERED_JSON]: v[ORDERED_JSON].map(([k, x]) => [k, eager(x)] as const) };
  if (Array.isArray(v)) return v.map(eager);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, eager(x)]));
}

const DTYPES: readonly DTypeName[] = ["float32", "int64", "bool", "uint8", "float16", "complex64"];
const SIZES: Record<string, number> = { float32: 4, int64: 8, bool: 1, uint8: 1, float16: 2, complex64: 8 };

const tensorArb = fc.record({
  dtype: fc.constantFrom(...DTYPES),
  shape: fc.oneof(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }), fc.array(fc.integer({ min: 50, max: 90 }), { maxLength: 1 }), fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 7, max: 12 }))),
  seed: fc.integer({ min: 0, max: 255 }),
}).map(({ dtype, shape, seed }) => {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Uint8Array(n * SIZES[dtype]!).map((_, i) => (i * 37 + seed) & (dtype === "bool" ? 1 : 0x3f));
  return tensor(storage(dtype, data), [...shape]);
});

const valueArb: fc.Arbitrary<TorchValue> = fc.letrec<{ v: TorchValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    tensorArb as fc.Arbitrary<TorchValue>,
    fc.integer({ min: -5, max: 5 }),
    fc.constantFrom("x", "layer.weight"),
    fc.double({ noNaN: true }).map((x) => pyFloat(x) as TorchValue),
    fc.array(tie("v"), { maxLength: 5 }).map((xs) => pyList<TorchHost>(xs)),
    fc.array(tie("v"), { maxLength: 4 }).map((xs) => pyTuple<TorchHost>(xs)),
    fc.array(fc.tuple(fc.constantFrom("a", "b", "10", "w"), tie("v")), { maxLength: 4 }).map((es) => pyDict<TorchHost>(es, ORDERED_DICT)),
  ),
})).v;

describe("streaming plain JSON", () => {
  it("writes the same text as when every tensor is made first, at every indent", () => {
    fc.assert(fc.property(valueArb, fc.constantFrom(0, 1, 2), (v, indent) => {
      const before: string[] = [];
      writeJson(eager(toPlainJsonValue(v, { indent })), before, { indent });
      expect([...plainJsonChunks(v, { indent })].join("")).toBe(`${before.join("")}\n`);
    }), { numRuns: 400 });
  });

  it("makes a large tensor only when the writer reaches it", () => {
    const t = tensor(storage("float32", new Uint8Array(4 * 1000)), [1000]);
    const value = toPlainJsonValue(pyList<TorchHost>([t, t]));
    expect(Array.isArray(value) && value.every((x) => typeof x === "object" && x !== null && LAZY_JSON in x)).toBe(true);
    const pieces = plainJsonChunks(pyList<TorchHost>(Array.from({ length: 50 }, () => t)));
    // The first pieces come before the last tensors are made: the document is never whole.
    const first = pieces.next();
    expect(first.done).toBe(false);
    expect(first.value.length).toBeLessThan(100_000);
  });
});

describe("plain tensors written directly", () => {
  it("give the JSON their record converts to", () => {
    let plain = 0;
    fc.assert(fc.property(fc.oneof(checkpointArb(), valueArb), (v) => {
      const facts = graphFacts(v);
      for (const t of facts.tensors) {
        if (!isPlainTensor(t, facts)) continue;
        plain++;
        const key = (s: Storage) => facts.keyOf.get(s)!;
        // Key order is part of the text: compare the text.
        expect(JSON.stringify(plainTensorJson(t, key(t.storage!)))).toBe(JSON.stringify(valueToJson(tensorRecord(t, key, true))));
      }
    }), { numRuns: 200 });
    expect(plain).toBeGreaterThan(100);
  });
});

describe("same bytes on every path", () => {
  it("convertBytes, jsonBytes, jsonChunks and toJson agree; plain JSON too", () => {
    fc.assert(fc.property(valueArb, (v) => {
      const utf8 = new TextEncoder();
      const text = toJson(v);
      expect([...jsonChunks(v)].join("")).toBe(text);
      expect(Buffer.concat([...jsonBytes(v)]).equals(utf8.encode(text))).toBe(true);
      // Through a file: what the .pt reads back as, written by each path.
      const pt = writeCheckpoint(v);
      const read = readCheckpoint(pt).root;
      expect(Buffer.from(convertBytes(pt, { to: "json" })).equals(Buffer.from(utf8.encode(toJson(read))))).toBe(true);
      expect(Buffer.from(convertBytes(pt, { to: "json-plain" })).toString("utf8")).toBe(toPlainJson(read));
    }), { numRuns: 60 });
  });

  it("writes large storages as bytes that join to the same document", () => {
    const big = new Uint8Array(3 * 1024 * 1024 + 100).map((_, i) => i & 0xff);
    const v = pyList<TorchHost>([tensor(storage("uint8", big), [big.length]), tensor(storage("float32", new Uint8Array(64), { key: "1" }), [16])]);
    expect(Buffer.concat([...jsonBytes(v)]).toString("utf8")).toBe(toJson(v));
    // The same storage in a file-like source (read a slice at a time), and one whose record is short.
    const reads: number[] = [];
    const source = { size: big.length + 8, readSync: (o: number, n: number) => (reads.push(n), big.slice(o - 8, o - 8 + n)), read: async () => new Uint8Array(0) };
    const inFile = (length: number): TorchValue => {
      const t = tensor(storage("uint8", big), [big.length], { origin: "none" });
      const s = { ...t.storage!, from: { source, offset: 8, length, compression: "none" as const, record: "data/0" } };
      delete (s as { data?: Uint8Array }).data;
      return pyList<TorchHost>([{ ...t, storage: s }]);
    };
    expect(Buffer.concat([...jsonBytes(inFile(big.length))]).toString("utf8")).toBe(toJson(pyList<TorchHost>([tensor(storage("uint8", big), [big.length], { origin: "none" })])));
    expect(Math.max(...reads)).toBeLessThanOrEqual(3 * 1024 * 1024);
    expect(() => [...jsonBytes(inFile(big.length - 1))]).toThrow(expect.objectContaining({ code: "truncated" }));
  });
});
