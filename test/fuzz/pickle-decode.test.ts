import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isTorchsaveError } from "../../src/errors.js";
import { decodePickle, type DecodeOptions } from "../../src/pickle/decoder.js";
import { OPCODES } from "../../src/pickle/opcodes.js";
import { pyDict, type PyDict, type PyList, type PyObject, type PyValue } from "../../src/pickle/value.js";

const b = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));

/** Valid pickles written by CPython 3.11, covering text, binary, framed and protocol-5 forms. */
const GOOD: readonly Uint8Array[] = [
  // OrderedDict with a _metadata attribute, protocols 2 and 0
  b("\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01(X\x01\x00\x00\x00aq\x02K\x01X\x01\x00\x00\x00bq\x03K\x02u}q\x04X\t\x00\x00\x00_metadataq\x05}q\x06X\x01\x00\x00\x00xq\x07K\x01ssb."),
  b("ccollections\nOrderedDict\np0\n(tRp1\nVa\np2\nI1\nsVb\np3\nI2\ns(dp4\nV_metadata\np5\n(dp6\nVx\np7\nI1\nssb."),
  // an instance with __getnewargs_ex__ (FRAME, MEMOIZE, STACK_GLOBAL, NEWOBJ_EX), protocol 4
  hex("8004952a000000000000008c02666d948c014b9493944b0585947d948c0162944b077392947d94288c0161944b0568054b0775622e"),
  // bytearray, protocol 5; complex, protocol 0; a plain-class instance, protocol 0
  hex("8005950d000000000000009602000000000000006162942e"),
  hex("635f5f6275696c74696e5f5f0a636f6d706c65780a70300a2846312e350a462d322e300a7470310a5270320a2e"),
  hex("63636f70795f7265670a5f7265636f6e7374727563746f720a70300a2863666d0a500a70310a635f5f6275696c74696e5f5f0a6f626a6563740a70320a4e7470330a5270340a286470350a56780a70360a49310a73622e"),
  // the legacy torch magic number, protocol 2
  hex("80028a0a6cfc9c46f9206aa850192e"),
];
const GOOD_VALUES = GOOD.map((g) => decodePickle(g));

const withBuffers: DecodeOptions = { buffers: [new Uint8Array(3), new Uint8Array(1)] };

/** Decodes and returns the value, or the torchsave error; any other throw fails the property. */
function attempt(bytes: Uint8Array, options: DecodeOptions = withBuffers): { ok: true; value: PyValue } | { ok: false; code: string } {
  try {
    return { ok: true, value: decodePickle(bytes, options) };
  } catch (e) {
    if (!isTorchsaveError(e)) throw e;
    return { ok: false, code: e.code };
  }
}

function goodStillDecodes(): void {
  GOOD.forEach((g, i) => expect(decodePickle(g)).toEqual(GOOD_VALUES[i]));
}

describe("hostile bytes", () => {
  it("random bytes: only torchsave errors escape", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => void attempt(bytes)), { numRuns: 3000 });
    goodStillDecodes();
  });

  it("random opcode streams: only torchsave errors escape", () => {
    const codes = OPCODES.map((o) => o.code);
    const token = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...codes).map((c) => [c]) },
      { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 4 }).map((a) => [...a]) },
      { weight: 1, arbitrary: fc.constantFrom([0x0a], [0x4b, 0x01], [0x8c, 0x01, 0x61], [0x28], [0x2e]) },
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 80 }), (tokens) => {
        void attempt(Uint8Array.from([0x80, 0x04, ...tokens.flat(), 0x2e]));
      }),
      { numRuns: 3000 },
    );
    goodStillDecodes();
  });

  it("every proper prefix of a valid pickle is truncated", () => {
    for (const g of GOOD) {
      for (let n = 0; n < g.length; n++) {
        const r = attempt(g.subarray(0, n));
        expect(r).toEqual({ ok: false, code: "truncated" });
      }
    }
    goodStillDecodes();
  });

  it("byte flips of valid pickles: a value or a torchsave error, and decoding recovers", () => {
    fc.assert(
      fc.property(fc.nat(GOOD.length - 1), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (which, flips) => {
        const bytes = GOOD[which]!.slice();
        for (const [at, value] of flips) bytes[at % bytes.length] = value;
        void attempt(bytes);
        expect(decodePickle(GOOD[which]!)).toEqual(GOOD_VALUES[which]);
      }),
      { numRuns: 3000 },
    );
  });
});

describe("prototype pollution", () => {
  it("a __proto__ dict key and BUILD state key are data", () => {
    // {"__proto__": {"polluted": 1}}, then an object whose BUILD state has the same key
    const dictPickle = b("\x80\x02}X\t\x00\x00\x00__proto__}X\x08\x00\x00\x00pollutedK\x01ss.");
    const d = decodePickle(dictPickle) as PyDict;
    expect(d.entries[0]![0]).toBe("__proto__");
    expect(d.entries[0]![1]).toEqual(pyDict([["polluted", 1]]));
    const buildPickle = b("\x80\x02cfm\nP\n)\x81}X\t\x00\x00\x00__proto__}X\x08\x00\x00\x00pollutedK\x01ssb.");
    const o = decodePickle(buildPickle) as PyObject;
    expect(o.state).toEqual(d);
    const od = decodePickle(b("\x80\x02ccollections\nOrderedDict\n)R}X\t\x00\x00\x00__proto__K\x01sbX\x0b\x00\x00\x00constructorK\x02s."));
    expect((od as PyDict).entries).toEqual([["constructor", 2]]);
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, "polluted")).toBe(false);
  });
  it("a big dict keyed by prototype names (the indexed path) is data too", () => {
    const names = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "__defineGetter__", "isPrototypeOf", "a", "b", "c"];
    let s = "}(";
    for (const n of names) s += `\x8c${String.fromCharCode(n.length)}${n}K\x01`;
    for (const n of names) s += `\x8c${String.fromCharCode(n.length)}${n}K\x02`;
    const d = decodePickle(b(`${s}u.`)) as PyDict;
    expect(d.entries).toEqual(names.map((n) => [n, 2]));
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });
});

describe("depth and limits", () => {
  const N = 1_000_000;

  it("1,000,000 nested lists decode without recursion", () => {
    const bytes = new Uint8Array(2 * N + 1);
    bytes.fill(0x5d, 0, N); // EMPTY_LIST × N
    bytes.fill(0x61, N, 2 * N - 1); // APPEND × (N - 1)
    bytes[2 * N - 1] = 0x2e; // STOP
    let v = decodePickle(bytes.subarray(0, 2 * N)) as PyList;
    let depth = 1;
    while (v.items.length === 1) {
      v = v.items[0] as PyList;
      depth++;
    }
    expect(v.items.length).toBe(0);
    expect(depth).toBe(N);
  });

  it("the same input fails with limit-exceeded under a lower maxStack", () => {
    const bytes = new Uint8Array(2 * N);
    bytes.fill(0x5d, 0, N);
    bytes.fill(0x61, N, 2 * N - 1);
    bytes[2 * N - 1] = 0x2e;
    const r = attempt(bytes, { limits: { maxStack: 1000 } });
    expect(r).toEqual({ ok: false, code: "limit-exceeded" });
  });

  it("1,000,000 nested MARKs stop at maxMarkDepth", () => {
    const bytes = new Uint8Array(N).fill(0x28);
    try {
      decodePickle(bytes);
      expect.unreachable();
    } catch (e) {
      expect(isTorchsaveError(e) && e.code).toBe("limit-exceeded");
      expect(isTorchsaveError(e) && e.offset).toBe(100_000);
    }
  });

  it("a 1,000,000-deep tuple used twice as a dict key compares without recursion", () => {
    const key = "N" + "\x85".repeat(N); // TUPLE1 wraps the top item N times
    const bytes = b(`\x80\x02}${key}K\x01s${key}K\x02s.`);
    const d = decodePickle(bytes) as PyDict;
    expect(d.entries.length).toBe(1);
    expect(d.entries[0]![1]).toBe(2);
  });

  it("tuple keys sharing sub-tuples (2^100 paths) compare in linear time", () => {
    const dag = "K\x01\x85" + "q\x00h\x00\x86".repeat(100); // t(i+1) = (t(i), t(i))
    const d = decodePickle(b(`\x80\x02}${dag}K\x01s${dag}K\x02s.`)) as PyDict;
    expect(d.entries.length).toBe(1);
    expect(d.entries[0]![1]).toBe(2);
    const bad = "]\x85" + "q\x00h\x00\x86".repeat(100); // a list at the bottom: unhashable
    expect(attempt(b(`\x80\x02}${bad}K\x01s.`))).toEqual({ ok: false, code: "type-mismatch" });
  });

  it("20,000 tuple keys sharing a 16-item prefix (one level nested) stay linear", () => {
    const prefix = "K\x00".repeat(16);
    let s = "\x80\x02}(";
    for (let i = 0; i < 20_000; i++) s += `(${prefix}M${String.fromCharCode(i & 0xff, i >> 8)}t\x85K\x01`;
    const start = performance.now();
    const d = decodePickle(b(`${s}u.`)) as PyDict;
    expect(d.entries.length).toBe(20_000);
    expect(performance.now() - start).toBeLessThan(10_000); // quadratic bucket scans take minutes
  });

  it("memo and container limits hold against long inputs", () => {
    const puts = "K\x01" + "r\x00\x00\x00\x00".repeat(10) + Array.from({ length: 2000 }, (_, i) => `r${String.fromCharCode(i & 0xff, i >> 8)}\x00\x00`).join("") + ".";
    expect(attempt(b(puts), { limits: { maxMemo: 1000 } })).toEqual({ ok: false, code: "limit-exceeded" });
    expect(attempt(b(puts))).toEqual({ ok: true, value: 1 });
    const appends = "](" + "K\x01".repeat(5000) + "e.";
    expect(attempt(b(appends), { limits: { maxContainerItems: 4999 } })).toEqual({ ok: false, code: "limit-exceeded" });
    expect((decodePickle(b(appends)) as PyList).items.length).toBe(5000);
  });
});
