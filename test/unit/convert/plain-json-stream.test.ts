// Plain JSON read from bytes (plain-json-read.ts: any size, lists of numbers straight into typed
// arrays) gives exactly what the text reader before it gave (test/helpers/plain-json-reference:
// that reader, kept as the oracle), on every JSON fixture and on random documents with every
// spelling of numbers, for every dtype; windows of any size read the same tree; and errors say
// truncated or invalid-data with the file and the byte offset.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ByteSource } from "../../../src/bytes/source.js";
import { bytesSource } from "../../../src/bytes/source.js";
import { fromPlainJson, fromPlainJsonSource, PLAIN_JSON_DTYPES, readAnySync, type FromPlainJsonOptions } from "../../../src/convert/index.js";
import { parsePlainJsonSource, parsePlainJsonText } from "../../../src/convert/plain-json-read.js";
import type { DTypeName, TorchValue } from "../../../src/torch/index.js";
import { REPO } from "../../helpers/corpus.js";
import { fromPlainJson as referenceFromPlainJson } from "../../helpers/plain-json-reference/plain-json-import.js";

type Outcome = { value: TorchValue } | { code: string };
function outcome(f: () => TorchValue): Outcome {
  try {
    return { value: f() };
  } catch (e) {
    return { code: (e as { code?: string }).code ?? String(e) };
  }
}

/** A source that reads only synchronously (so the parser goes window by window). */
const syncOnly = (bytes: Uint8Array, name?: string): ByteSource => ({
  size: bytes.length, ...(name === undefined ? {} : { name }),
  readSync: (o: number, n: number) => bytes.slice(o, o + n),
  read: async (o: number, n: number) => bytes.slice(o, o + n),
});

/** The new readers (text and bytes) give what the reference gives: the same value, or an error of the same code. */
function expectSame(text: string, options: FromPlainJsonOptions = {}): void {
  const want = outcome(() => referenceFromPlainJson(text, options));
  const bytes = new TextEncoder().encode(text);
  for (const got of [outcome(() => fromPlainJson(text, options)), outcome(() => fromPlainJsonSource(syncOnly(bytes), options))]) {
    if ("code" in want) expect(got, text.slice(0, 200)).toEqual({ code: want.code });
    else expect(got, text.slice(0, 200)).toEqual(want);
  }
}

function jsonFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...jsonFiles(p));
    else if (name.endsWith(".json") && statSync(p).size < 4 * 2 ** 20) out.push(p);
  }
  return out.sort();
}

// ---- random plain JSON documents, numbers spelled every way json.dump and people write them ----

const intText = fc.oneof(fc.integer({ min: -300, max: 300 }).map(String), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String), fc.constant("-0"));
const floatText = fc.oneof(
  fc.double({ noDefaultInfinity: false }).map((x) => (Number.isNaN(x) ? "NaN" : x === Infinity ? "Infinity" : x === -Infinity ? "-Infinity" : Number.isInteger(x) && !/e/.test(String(x)) ? `${x}.0` : String(x))),
  fc.tuple(fc.boolean(), fc.stringMatching(/^(0|[1-9][0-9]{0,19})$/), fc.option(fc.stringMatching(/^[0-9]{1,19}$/), { nil: undefined }), fc.constantFrom("e", "E", "e+", "e-", "E-"), fc.integer({ min: 0, max: 330 }))
    .filter(([, , frac]) => frac !== undefined)
    .map(([neg, int, frac, e, exp]) => `${neg ? "-" : ""}${int}.${frac}${exp % 3 === 0 ? "" : `${e}${exp}`}`),
  fc.tuple(fc.boolean(), fc.stringMatching(/^(0|[1-9][0-9]{0,5})$/), fc.constantFrom("e", "E", "e+", "e-"), fc.integer({ min: 0, max: 30 })).map(([neg, int, e, exp]) => `${neg ? "-" : ""}${int}${e}${exp}`),
);
const boolText = fc.constantFrom("true", "false");
const leafOf = (kind: number) => (kind === 0 ? intText : kind === 1 ? floatText : kind === 2 ? boolText : fc.oneof(intText, floatText, boolText));
const space = fc.constantFrom("", " ", "\n  ", "\t");

/** A rectangular nested list of leaves, as text. */
const tensorText = fc.tuple(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }), fc.integer({ min: 0, max: 3 }), space).chain(([dims, kind, ws]) => {
  const n = dims.reduce((a, b) => a * b, 1);
  return fc.array(leafOf(kind), { minLength: n, maxLength: n }).map((leaves) => {
    let at = 0;
    const build = (d: number): string => (d === dims.length ? leaves[at++]! : `[${ws}${Array.from({ length: dims[d]! }, () => build(d + 1)).join(`,${ws}`)}${ws}]`);
    return build(0);
  });
});

const keyText = fc.constantFrom("a", "b", "0", "1", "state", "param_groups", "params", "betas", "lr", "exp_avg", "step", "é", "__proto__").map((k) => JSON.stringify(k));
const { doc } = fc.letrec<{ doc: string; list: string; dict: string }>((tie) => ({
  doc: fc.oneof({ depthSize: "small", withCrossShrink: true }, tensorText, intText, floatText, boolText, fc.constant("null"), fc.string({ maxLength: 5 }).map((s) => JSON.stringify(s)), tie("list"), tie("dict")),
  list: fc.array(tie("doc"), { maxLength: 4 }).map((items) => `[${items.join(", ")}]`),
  dict: fc.array(fc.tuple(keyText, tie("doc")), { maxLength: 4 }).map((entries) => `{${entries.map(([k, v]) => `${k}: ${v}`).join(", ")}}`),
}));
/** An optimizer state_dict as json.dump writes it (int state keys as strings, params and betas as lists). */
const optimizer = fc.tuple(tensorText, tensorText, floatText, floatText).map(([m, v, b1, b2]) =>
  `{"state": {"0": {"step": 3, "exp_avg": ${m}, "exp_avg_sq": ${v}}}, "param_groups": [{"lr": 0.001, "betas": [${b1}, ${b2}], "params": [0]}]}`);
const options = fc.record({
  dtype: fc.option(fc.constantFrom<DTypeName>(...PLAIN_JSON_DTYPES), { nil: undefined }),
  stateDicts: fc.option(fc.boolean(), { nil: undefined }),
}).map((o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as FromPlainJsonOptions);

describe("plain JSON from bytes reads what the text reader read", () => {
  it("every JSON fixture, with each dtype, and without state_dict recognition", () => {
    const files = jsonFiles(join(REPO, "fixtures"));
    expect(files.length).toBeGreaterThan(100);
    for (const f of files) {
      const text = readFileSync(f, "utf8");
      expectSame(text);
      expectSame(text, { stateDicts: false });
    }
    // Every dtype on the files that are training dumps (tensors as lists).
    for (const f of files.filter((p) => /train\/run-json|issue14/.test(p))) {
      const text = readFileSync(f, "utf8");
      for (const dtype of PLAIN_JSON_DTYPES) expectSame(text, { dtype });
    }
  });

  it("random documents: tensors of every spelling, mixed lists, dicts with repeated keys, optimizers; any dtype", () => {
    fc.assert(fc.property(fc.oneof(doc, optimizer, tensorText), options, (text, o) => expectSame(text, o)), { numRuns: 600 });
  });

  it("reads the same tree through windows of any size", () => {
    fc.assert(
      fc.property(fc.oneof(doc, optimizer), fc.integer({ min: 1, max: 24 }), (text, window) => {
        const bytes = new TextEncoder().encode(`\ufeff${text}`);
        expect(parsePlainJsonSource(syncOnly(bytes), window)).toEqual(parsePlainJsonText(text));
      }),
      { numRuns: 300 },
    );
  });
});

describe("plain JSON errors from bytes", () => {
  it("every cut of a document fails with truncated or invalid-data at a byte offset inside what is there; a cut between tokens is truncated", () => {
    fc.assert(
      fc.property(fc.oneof(doc, optimizer).filter((t) => t.trimStart().startsWith("[") || t.trimStart().startsWith("{")), fc.nat(), (text, k) => {
        const bytes = new TextEncoder().encode(text);
        const cut = k % bytes.length;
        let e: { code?: string; offset?: number } | undefined;
        try {
          parsePlainJsonSource(syncOnly(bytes.subarray(0, cut)), 7);
        } catch (x) {
          e = x as typeof e;
        }
        expect(e, `${cut}`).toBeDefined();
        expect(["truncated", "invalid-data"]).toContain(e!.code);
        expect(e!.offset).toBeLessThanOrEqual(cut);
        if (bytes[cut - 1] === 0x2c) expect(e).toMatchObject({ code: "truncated", offset: cut });
      }),
      { numRuns: 300 },
    );
  });

  it("convert's reader names the file and the byte offset", () => {
    const bytes = new TextEncoder().encode('{"é": [1, 2], "w": [[1, 2], [3, x]]}');
    expect(() => readAnySync(syncOnly(bytes, "dump.json"))).toThrow(expect.objectContaining({ code: "invalid-data", file: "dump.json", offset: 33 }));
    const cut = new TextEncoder().encode('{"w": [[1, 2], [3, ');
    expect(() => readAnySync(syncOnly(cut, "cut.json"))).toThrow(expect.objectContaining({ code: "truncated", file: "cut.json", offset: cut.length }));
    const bad = Uint8Array.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]);
    expect(() => readAnySync(bytesSource(bad, "bad.json"))).toThrow(expect.objectContaining({ code: "invalid-data", file: "bad.json", offset: 5, message: expect.stringMatching(/JSON input is not UTF-8/) }));
  });
});
