// decode(encode(v)) is v, at every protocol, for arbitrary pickle values: every kind of value the
// protocol can express, big ints, -0.0, NaN payloads, astral and lone-surrogate strings, nested
// containers, dicts with int/tuple/None/str/... keys, OrderedDicts with state, inert objects,
// persistent ids, shared references and cycles (compared with the sharing graph, see py-equal.ts).
//
// Known JS limitation, documented rather than tested: Python can hold two lone surrogates side by
// side ("\ud83d" + "\ude00" as two code points); a JS string cannot tell them from the pair they
// spell, so such a str from Python reads back as one astral character (and is written as one).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodePickle } from "../../src/pickle/decoder.js";
import { encodePickle, encodePickleChunks } from "../../src/pickle/encoder.js";
import {
  ORDERED_DICT, type PyBuffer, type PyDict, type PyFloat, type PyList, type PyObject, type PyValue,
} from "../../src/pickle/value.js";
import { hashableValues, uniqueArray } from "../helpers/py-arbitraries.js";
import { pyDiff } from "../helpers/py-equal.js";

type Protocol = 0 | 1 | 2 | 3 | 4 | 5;

// ---------------------------------------------------------------------------------------------
// Scalars.

const int = fc.oneof(
  fc.integer({ min: -300, max: 70000 }),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.bigInt({ min: -(2n ** 2200n), max: 2n ** 2200n }).filter((b) => b > BigInt(Number.MAX_SAFE_INTEGER) || b < BigInt(Number.MIN_SAFE_INTEGER)),
);

const NAN_BITS = ["7ff8000000000001", "fff8000000000000", "7ff0000000000001", "7ffabcdef0123456"];
const float = fc.oneof(
  fc.double().map((value): PyFloat => ({ kind: "float", value })),
  fc.constantFrom(-0, 0, Infinity, -Infinity, NaN, 5e-324, 1e16, 0.1).map((value): PyFloat => ({ kind: "float", value })),
  fc.constantFrom(...NAN_BITS).map((nanBits): PyFloat => ({ kind: "float", value: NaN, nanBits })),
);

/** Any UTF-16 string, lone surrogates included. */
const str = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 8 }),
  fc.constantFrom("", "a\nb\\c\r\u0000\u001a", "\ud800", "x\udfff", "\u{1f600}", "latin1"),
);

const bytes = fc.uint8Array({ maxLength: 40 });

const SAFE_GLOBALS: [string, string][] = [["mymod", "Thing"], ["torch._utils", "_rebuild_tensor_v2"], ["collections", "OrderedDict"], ["pkg.sub", "f"]];
const global = fc.constantFrom(...SAFE_GLOBALS).map(([module, name]): PyValue => ({ kind: "global", module, name }));

/** Hashable values: dict keys and set items. */
const hashable = hashableValues({ int, float, str, bytes, global });

// ---------------------------------------------------------------------------------------------
// Values, per protocol (each protocol gets only what it can write losslessly).

function valueArb(p: Protocol): fc.Arbitrary<PyValue> {
  return fc.letrec((tie) => {
    const value = tie("value") as fc.Arbitrary<PyValue>;
    const tuple = fc.array(value, { maxLength: 5 }).map((items): PyValue => ({ kind: "tuple", items }));
    const entries = uniqueArray(hashable, 5).chain((keys) =>
      fc.tuple(...keys.map(() => value)).map((vals) => keys.map((k, i): [PyValue, PyValue] => [k, vals[i]!])));
    const dict = fc.record({ entries, typed: fc.boolean(), state: fc.option(entries, { nil: undefined }) }).map(({ entries: e, typed, state }) => {
      const d: PyDict = typed ? { kind: "dict", entries: e, type: ORDERED_DICT } : { kind: "dict", entries: e };
      if (state !== undefined) d.state = { kind: "dict", entries: state };
      return d as PyValue;
    });
    const vias: PyObject["via"][] = ["reduce", "inst"];
    if (p >= 1) vias.push("obj");
    if (p >= 2) vias.push("newobj");
    if (p >= 4) vias.push("newobj_ex");
    const object = fc.record({
      via: fc.constantFrom(...vias),
      name: fc.constantFrom("make", "Thing"),
      args: fc.array(value, { maxLength: 3 }),
      state: fc.option(value, { nil: undefined }),
      listItems: fc.option(fc.array(value, { minLength: 1, maxLength: 3 }), { nil: undefined }),
      dictItems: fc.option(entries.filter((e) => e.length > 0), { nil: undefined }),
      setItems: p >= 4 ? fc.option(uniqueArray(hashable, 3).filter((s) => s.length > 0), { nil: undefined }) : fc.constant(undefined),
    }).map((r) => {
      const o: PyObject = { kind: "object", via: r.via, callable: { kind: "global", module: "mymod", name: r.name }, args: { kind: "tuple", items: r.args } };
      if (r.via === "newobj_ex") (o as { kwargs?: PyValue }).kwargs = { kind: "dict", entries: [["k", 1]] };
      if (r.state !== undefined) o.state = r.state;
      if (r.listItems !== undefined) o.listItems = r.listItems;
      if (r.dictItems !== undefined) o.dictItems = r.dictItems;
      if (r.setItems !== undefined) o.setItems = r.setItems;
      return o as PyValue;
    });
    const pid = p >= 1
      ? fc.oneof(
        value.map((v): PyValue => ({ kind: "persid", pid: v, binary: true })),
        fc.stringMatching(/^[ -~]{0,8}$/).map((s): PyValue => ({ kind: "persid", pid: s, binary: false })),
      )
      : fc.stringMatching(/^[ -~]{0,8}$/).map((s): PyValue => ({ kind: "persid", pid: s, binary: false }));
    const extras: fc.Arbitrary<PyValue>[] = [];
    if (p >= 2) extras.push(fc.integer({ min: 1, max: 0x7fffffff }).map((code): PyValue => ({ kind: "ext", code })));
    if (p >= 5) {
      extras.push(fc.record({ data: bytes, readonly: fc.boolean() }).map((r): PyValue => ({ kind: "buffer", ...r })));
    }
    return {
      value: fc.oneof(
        { depthSize: "small", maxDepth: 4 },
        hashable,
        bytes.map((data): PyValue => ({ kind: "bytearray", data })),
        tuple,
        fc.array(value, { maxLength: 5 }).map((items): PyValue => ({ kind: "list", items })),
        dict,
        uniqueArray(hashable, 4).map((items): PyValue => ({ kind: "set", items })),
        uniqueArray(hashable, 4).map((items): PyValue => ({ kind: "frozenset", items })),
        object,
        pid,
        ...extras,
      ),
    };
  }).value as fc.Arbitrary<PyValue>;
}

/**
 * A copy of a generated tree. fast-check may hand the same generated object to several runs (while
 * shrinking one part of a tuple it keeps the others), so links are added to a copy, never in place.
 */
function cloneTree(v: PyValue): PyValue {
  if (typeof v !== "object" || v === null) return v;
  if (Array.isArray(v)) return v.map((x) => cloneTree(x as PyValue)) as unknown as PyValue;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    out[k] = x instanceof Uint8Array ? x : Array.isArray(x) ? x.map((y) => cloneTree(y as PyValue)) : cloneTree(x as PyValue);
  }
  return out as unknown as PyValue;
}

/**
 * Adds shared references and cycles to a copy of `tree`: each link makes a list (or a dict, under a
 * new key) also refer to some value of the tree, possibly one of its own ancestors. Only lists and
 * dicts get links, so every cycle passes through a container pickle memoizes before its contents.
 */
function withLinks(tree: PyValue, links: [number, number][]): PyValue {
  const root = cloneTree(tree);
  const holders: (PyList | PyDict)[] = [];
  const targets: PyValue[] = [];
  const seen = new Set<object>();
  const stack: PyValue[] = [root];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (typeof v !== "object" || v === null || seen.has(v)) continue;
    seen.add(v);
    const o = v as { kind?: string };
    switch (o.kind) {
      case "list":
        holders.push(v as PyList);
        targets.push(v);
        stack.push(...(v as PyList).items);
        break;
      case "dict":
        holders.push(v as PyDict);
        targets.push(v);
        for (const [k, x] of (v as PyDict).entries) stack.push(k, x);
        if ((v as PyDict).state !== undefined) stack.push((v as PyDict).state!);
        break;
      case "tuple":
      case "set":
      case "frozenset":
        targets.push(v);
        stack.push(...(v as { items: PyValue[] }).items);
        break;
      case "object": {
        const ob = v as PyObject;
        targets.push(v);
        // INST/OBJ arguments are written item by item, so their tuple is not itself a shared object.
        if (ob.via === "inst" || ob.via === "obj") stack.push(...(ob.args as { items: PyValue[] }).items);
        else stack.push(ob.args);
        stack.push(...(ob.listItems ?? []), ...(ob.setItems ?? []));
        for (const [k, x] of ob.dictItems ?? []) stack.push(k, x);
        if (ob.kwargs !== undefined) stack.push(ob.kwargs);
        if (ob.state !== undefined) stack.push(ob.state);
        break;
      }
      case "persid":
        stack.push((v as { pid: PyValue }).pid);
        break;
      case "bytes":
      case "bytearray":
      case "complex":
        targets.push(v);
        break;
    }
  }
  if (holders.length === 0 || targets.length === 0) return root;
  links.forEach(([h, t], i) => {
    const holder = holders[h % holders.length]!;
    const target = targets[t % targets.length]!;
    if (holder.kind === "list") holder.items.push(target);
    else holder.entries.push([`\u0000link${i}`, target]);
  });
  return root;
}

function roundTrip(p: Protocol, v: PyValue): { bytes: Uint8Array; back: PyValue } {
  const sent: Uint8Array[] = [];
  const bytes = encodePickle(v, {
    protocol: p,
    ...(p === 5 ? { bufferCallback: (b: PyBuffer) => { sent.push(b.data); return true; } } : {}),
  });
  return { bytes, back: decodePickle(bytes, { buffers: sent }) };
}

const PROTOCOLS: Protocol[] = [0, 1, 2, 3, 4, 5];

describe("decode(encode(v)) is v", () => {
  for (const p of PROTOCOLS) {
    it(`protocol ${p}`, () => {
      const links = fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 4 });
      fc.assert(
        fc.property(valueArb(p), links, (v, l) => {
          const value = withLinks(v, l);
          const { bytes, back } = roundTrip(p, value);
          // Protocol 0 writes floats as repr text, which keeps every value but not NaN payloads.
          const diff = pyDiff(value, back, { nanBits: p > 0 });
          if (diff !== undefined) throw new Error(diff);
          // What the decoder built re-encodes to the same bytes: nothing the encoder uses was lost.
          expect(Buffer.from(roundTrip(p, back).bytes).equals(Buffer.from(bytes))).toBe(true);
        }),
        { numRuns: 300 },
      );
    });
  }

  it("keeps the JS-side identity of a surrogate pair split across two lone halves", () => {
    // Two lone surrogates in one JS string are the pair; they come back as the same JS string.
    const s = "\ud83d" + "\ude00";
    for (const p of PROTOCOLS) expect(decodePickle(encodePickle(s, { protocol: p }))).toBe("\u{1f600}");
  });

  it("round-trips self-containing lists, dicts and objects", () => {
    const l: PyList = { kind: "list", items: [] };
    const d: PyDict = { kind: "dict", entries: [], type: ORDERED_DICT };
    const o: PyObject = { kind: "object", via: "reduce", callable: { kind: "global", module: "m", name: "f" }, args: { kind: "tuple", items: [l] } };
    l.items.push(l, d, o);
    d.entries.push(["d", d], ["o", o]);
    o.state = { kind: "dict", entries: [["self", o]] };
    for (const p of PROTOCOLS) {
      const back = decodePickle(encodePickle(l, { protocol: p }));
      expect(pyDiff(l, back)).toBeUndefined();
    }
  });
});

describe("encodePickleChunks(v) joined is encodePickle(v)", () => {
  for (const p of PROTOCOLS) {
    it(`protocol ${p}, pieces of any size`, () => {
      const links = fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 4 });
      fc.assert(
        fc.property(valueArb(p), links, fc.constantFrom(1, 2, 7, 64, 4096), (v, l, chunkBytes) => {
          const value = withLinks(v, l);
          const options = p === 5 ? { protocol: p, bufferCallback: (b: PyBuffer) => b.readonly } : { protocol: p };
          const whole = Buffer.from(encodePickle(value, options));
          const pieces = [...encodePickleChunks(value, { ...options, chunkBytes })];
          expect(Buffer.concat(pieces).equals(whole)).toBe(true);
        }),
        { numRuns: 150 },
      );
    });
  }
});

describe("pyDiff, the comparison these properties rely on, notices differences", () => {
  const list = (...items: PyValue[]): PyList => ({ kind: "list", items });
  const f = (value: number, nanBits?: string): PyFloat => (nanBits === undefined ? { kind: "float", value } : { kind: "float", value, nanBits });

  it("in scalars", () => {
    expect(pyDiff(1, 1)).toBeUndefined();
    expect(pyDiff(1, 2)).toBeDefined();
    expect(pyDiff(1, 1n)).toBeDefined();
    expect(pyDiff(true, 1)).toBeDefined();
    expect(pyDiff("a", "b")).toBeDefined();
    expect(pyDiff(f(0), f(-0))).toBeDefined();
    expect(pyDiff(f(NaN), f(NaN))).toBeUndefined();
    expect(pyDiff(f(NaN, "7ff8000000000001"), f(NaN))).toBeDefined();
    expect(pyDiff(f(NaN, "7ff8000000000001"), f(NaN), { nanBits: false })).toBeUndefined();
  });

  it("in structure", () => {
    expect(pyDiff(list(1, 2), list(1, 2))).toBeUndefined();
    expect(pyDiff(list(1, 2), list(1))).toBeDefined();
    expect(pyDiff(list(1), { kind: "tuple", items: [1] })).toBeDefined();
    expect(pyDiff({ kind: "dict", entries: [["a", 1]] }, { kind: "dict", entries: [["a", 1]], type: ORDERED_DICT })).toBeDefined();
    const o = (via: PyObject["via"]): PyObject => ({ kind: "object", via, callable: null, args: { kind: "tuple", items: [] } });
    expect(pyDiff(o("reduce"), o("newobj"))).toBeDefined();
  });

  it("in sharing and cycles", () => {
    const x = list(1);
    expect(pyDiff(list(x, x), list(x, list(1)))).toMatch(/sharing/);
    const y = list(1);
    expect(pyDiff(list(x, x), list(y, y))).toBeUndefined();
    const l = list();
    l.items.push(l);
    const m = list();
    m.items.push(m);
    expect(pyDiff(l, m)).toBeUndefined();
    const n1 = list();
    const n2 = list(n1);
    n1.items.push(n2);
    expect(pyDiff(l, n1)).toMatch(/sharing/);
  });
});
