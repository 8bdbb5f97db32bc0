// The streaming JSON reader: the same values and the same refusals as JSON.parse, at every window
// size (so tokens split across reads are tested), storage data located in the source and decoded
// on demand, and typed errors with byte offsets for truncated or invalid documents.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesSource, type ByteSource } from "../../../src/bytes/source.js";
import { fromJson, fromJsonSource, fromJsonValue, readAnySync, toJson } from "../../../src/convert/index.js";
import { parseJsonSource } from "../../../src/convert/json-read.js";
import { pyDict, pyList, ORDERED_DICT } from "../../../src/pickle/value.js";
import type { Storage, Tensor, TorchHost, TorchValue } from "../../../src/torch/index.js";
import { readStorageBytesSync } from "../../../src/torch/index.js";
import { checkpointArb } from "./arbitraries.js";
import { torchDiff } from "./torch-equal.js";
import { bytes, f32, storage, tensor, thrown } from "./values.js";

const utf8 = new TextEncoder();
const src = (text: string | Uint8Array, name?: string): ByteSource => bytesSource(typeof text === "string" ? utf8.encode(text) : text, name);
/** A source that can only be read through readSync (as a file is), counting the bytes read. */
function fileLike(data: Uint8Array): ByteSource & { readBytes: number } {
  const s = {
    size: data.length, readBytes: 0, name: "doc.json",
    readSync: (o: number, n: number) => {
      s.readBytes += n;
      return data.slice(o, o + n);
    },
    read: async (o: number, n: number) => data.slice(o, o + n),
  };
  return s;
}
const parseOrError = (run: () => unknown): { ok: unknown } | { error: true } => {
  try {
    return { ok: run() };
  } catch {
    return { error: true };
  }
};

describe("parseJsonSource", () => {
  it("gives what JSON.parse gives, at any window size", () => {
    fc.assert(fc.property(fc.jsonValue(), fc.integer({ min: 1, max: 9 }), fc.boolean(), (v, window, pretty) => {
      const text = JSON.stringify(v, null, pretty ? 2 : undefined) ?? "null";
      expect(parseJsonSource(src(text), window)).toStrictEqual(JSON.parse(text));
    }), { numRuns: 300 });
  });

  it("refuses exactly what JSON.parse refuses, at any window size", () => {
    const tokens = fc.constantFrom("{", "}", "[", "]", ",", ":", '"a"', '"\\u00e9\\n"', '"\\x"', "1", "-0.5e3", "01", "1.", "true", "nul", " ", "\n", '"é"', "\u0001", '"\\"', "\\");
    fc.assert(fc.property(fc.array(tokens, { maxLength: 12 }), fc.integer({ min: 1, max: 5 }), (parts, window) => {
      const text = parts.join("");
      const ours = parseOrError(() => parseJsonSource(src(text), window));
      const theirs = parseOrError(() => JSON.parse(text) as unknown);
      expect(ours).toStrictEqual(theirs);
    }), { numRuns: 2000 });
  });

  it("keeps __proto__ an own key and reads escapes, surrogates and non-ASCII text", () => {
    const text = '{"__proto__": {"x": 1}, "s": "a\\"b\\\\c\\ud800\\u00e9é😀", "n": [-0, 1e400, 123456789012345678901]}';
    for (const window of [1, 2, 3, 1 << 20]) {
      const v = parseJsonSource(src(text), window) as Record<string, unknown>;
      expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
      expect(Object.hasOwn(v, "__proto__")).toBe(true);
      expect(v).toStrictEqual(JSON.parse(text));
    }
  });

  it("names the byte offset of errors, and says truncated for a document cut short", () => {
    expect(thrown(() => parseJsonSource(src('{"a": [1, 2 x]}')))).toMatchObject({ code: "invalid-data", offset: 12 });
    expect(thrown(() => parseJsonSource(src(Uint8Array.of(0x22, 0xff, 0x22))))).toMatchObject({ code: "invalid-data", offset: 0 });
    const doc = utf8.encode(toJson(pyList<TorchHost>([tensor(storage("float32", f32(1, 2, 3)), [3]), "text", 2])));
    const end = doc.length - 1; // the document ends "}\n"
    for (let n = 0; n < end; n++) {
      const e = thrown(() => parseJsonSource(src(doc.subarray(0, n)), 7));
      expect(e.code, `prefix of ${n} bytes`).toBe("truncated");
      expect(e.offset).toBe(n);
    }
  });
});

describe("fromJsonSource", () => {
  it("reads back every checkpoint toJson writes, as fromJson does, at any window size", () => {
    fc.assert(fc.property(checkpointArb(), fc.integer({ min: 1, max: 64 }), (v, window) => {
      const text = toJson(v);
      const back = fromJsonValue(parseJsonSource(src(text), window));
      expect(torchDiff(v, back)).toBeUndefined();
      expect(torchDiff(fromJson(text), back)).toBeUndefined();
    }), { numRuns: 100 });
  });

  it("locates storage data in the source and decodes it only when asked, in pieces that join", () => {
    const big = new Uint8Array(3 * 1000 + 2).map((_, i) => (i * 7919) & 0xff);
    const root = pyDict<TorchHost>([["w", tensor(storage("uint8", big), [big.length])], ["b", tensor(storage("float32", f32(0.5), { key: "1" }), [1])]], ORDERED_DICT);
    const text = utf8.encode(toJson(root));
    const file = fileLike(text);
    const back = fromJsonSource(file);
    // Reading the document read it once and decoded nothing.
    expect(file.readBytes).toBe(text.length);
    const s = (back as { entries: [string, Tensor][] }).entries[0]![1].storage as Storage;
    expect(s.data).toBeUndefined();
    expect(readStorageBytesSync(s)).toStrictEqual(big);
    expect(s.from!.source.readSync!(1000, 7)).toStrictEqual(big.subarray(1000, 1007));
    expect(s.from!.source.readSync!(big.length - 2, 2)).toStrictEqual(big.subarray(big.length - 2));
    expect(torchDiff(root, back)).toBeUndefined();
  });

  it("is as strict as fromJson about storage data, and reads escaped base64 (\\/)", () => {
    const doc = (data: string) => `{"$torchsave": 1, "storages": [{"key": "0", "type": ["torch", "ByteStorage"], "dtype": "uint8", "location": "cpu", "numel": 2, "data": ${data}}], "root": {"$storage": "0"}}`;
    for (const data of ['"AAE="', '"AAF="', '"AAE"', '"AA=E"', '"AAE=="', '"A=AE"', '"AA E="', '"AAEé"', "1", '"AAAA"']) {
      const ours = parseOrError(() => readStorageBytesSync(fromJsonSource(src(doc(data))) as Storage));
      const theirs = parseOrError(() => readStorageBytesSync(fromJson(doc(data)) as Storage));
      expect(ours, data).toStrictEqual(theirs);
    }
    expect(readStorageBytesSync(fromJsonSource(src(doc('"AAE="'))) as Storage)).toStrictEqual(bytes(0, 1));
    expect(thrown(() => fromJsonSource(src(doc('"AA=E"'))))).toMatchObject({ code: "invalid-data" });
    const slash = doc('"\\/\\/8="').replace('"numel": 2', '"numel": 2');
    expect(readStorageBytesSync(fromJsonSource(src(slash)) as Storage)).toStrictEqual(readStorageBytesSync(fromJson(slash) as Storage));
  });

  it("names the file and the byte offset when readAnySync meets a damaged document", () => {
    const text = toJson(pyList<TorchHost>([tensor(storage("float32", f32(1, 2)), [2])]));
    const e = thrown(() => readAnySync(src(text.slice(0, 120), "cut.json")));
    expect(e).toMatchObject({ code: "truncated", offset: 120 });
    expect(e.message).toContain("cut.json");
    expect(parseJsonSource(src('\ufeff{"a": [1]}'))).toStrictEqual({ a: [1] });
    const v = readAnySync(src(text, "doc.json"));
    expect(v.format).toBe("json");
    expect(torchDiff(fromJson(text), v.root as TorchValue)).toBeUndefined();
  });
});
