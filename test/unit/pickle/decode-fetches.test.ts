// The memo pre-scan: which entries a pickle reads back. Checked against the disassembler's own
// walk of every CPython fixture, and through the decoder: dropping the other entries changes no
// decoded value, and `ReduceContext.shared` tells a reducer which arguments are referenced twice.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isFetched, mentions, scanMemoFetches } from "../../../src/pickle/decode-fetches.js";
import { decodePickle, type DecodeOptions, type Reducer } from "../../../src/pickle/decoder.js";
import { disassemble } from "../../../src/pickle/disassemble.js";
import { encodePickle } from "../../../src/pickle/encoder.js";
import { pyGlobal, pyList, pyTuple, type PyValue } from "../../../src/pickle/value.js";
import { decodeOptionsFor, loadPickleManifest, readFixtureBytes } from "../../helpers/fixtures.js";
import { pyDiff } from "../../helpers/py-equal.js";

const manifest = loadPickleManifest();
const GETS = new Set(["GET", "BINGET", "LONG_BINGET"]);
const PUTS = new Set(["PUT", "BINPUT", "LONG_BINPUT"]);

/** What the scan should say, from the disassembler's walk: the GET indices, or undefined. */
function expectedFetches(bytes: Uint8Array): Set<number> | undefined {
  const ops = disassemble(bytes);
  const names = new Set(ops.map((o) => o.op.name));
  if (names.has("DUP") || (names.has("MEMOIZE") && [...PUTS].some((p) => names.has(p)))) return undefined;
  const out = new Set<number>();
  for (const o of ops) {
    if (!GETS.has(o.op.name)) continue;
    if (typeof o.arg !== "number") return undefined; // text GETs the scan refuses (signs, big ints)
    out.add(o.arg);
  }
  return out;
}

/** Keeps every memo entry: `afterBuild` without markers turns pruning off. */
const keepAll = <X>(options: DecodeOptions<X>): DecodeOptions<X> => ({ ...options, afterBuild: () => undefined });

describe("scanMemoFetches", () => {
  it("finds exactly the indices the disassembler sees fetched, in every CPython fixture", () => {
    let scanned = 0;
    for (const fx of manifest.fixtures) {
      const bytes = readFixtureBytes(fx.file);
      const expected = expectedFetches(bytes);
      const got = scanMemoFetches(bytes, 0);
      if (expected === undefined || got === undefined) {
        // The scan may refuse text GETs that the disassembler reads (e.g. "+1"), never the reverse.
        expect(expected === undefined || disassemble(bytes).some((o) => o.op.name === "GET"), fx.file).toBe(true);
        continue;
      }
      scanned++;
      expect(got.end, fx.file).toBe(bytes.length);
      const max = Math.max(0, ...expected) + 300;
      for (let i = 0; i < max; i++) expect(isFetched(got, i), `${fx.file} index ${i}`).toBe(expected.has(i));
    }
    expect(scanned).toBeGreaterThan(500);
  });

  it("gives up on DUP, MEMOIZE mixed with PUT, unknown opcodes and a missing STOP", () => {
    const bytes = (...b: number[]) => new Uint8Array(b);
    expect(scanMemoFetches(bytes(0x4e, 0x32, 0x2e), 0)).toBeUndefined(); // NONE DUP STOP
    expect(scanMemoFetches(bytes(0x4e, 0x94, 0x71, 0x01, 0x2e), 0)).toBeUndefined(); // MEMOIZE + BINPUT
    expect(scanMemoFetches(bytes(0x4e, 0xff, 0x2e), 0)).toBeUndefined();
    expect(scanMemoFetches(bytes(0x4e, 0x71), 0)).toBeUndefined(); // BINPUT's argument runs off the end
    expect(scanMemoFetches(bytes(0x58, 0xff, 0xff, 0xff, 0x7f, 0x2e), 0)).toBeUndefined(); // BINUNICODE longer than the input
    const ok = scanMemoFetches(bytes(0x4e, 0x71, 0x00, 0x68, 0x00, 0x2e, 0x4e), 0)!;
    expect(ok.end).toBe(6);
    expect(isFetched(ok, 0)).toBe(true);
    expect(isFetched(ok, 1)).toBe(false);
  });

  it("keeps huge fetched indices in a set, not a bitmap sized by them", () => {
    // LONG_BINPUT / LONG_BINGET of index 4,000,000,000.
    const idx = [0x00, 0x28, 0x6b, 0xee];
    const f = scanMemoFetches(new Uint8Array([0x4e, 0x72, ...idx, 0x6a, ...idx, 0x2e]), 0)!;
    expect(isFetched(f, 4_000_000_000)).toBe(true);
    expect(f.bits.length).toBeLessThan(64);
  });

  it("finds ASCII markers only between the bounds", () => {
    const b = new TextEncoder().encode("xxNumpyArrayWrapperyy");
    expect(mentions(b, 0, b.length, "NumpyArrayWrapper")).toBe(true);
    expect(mentions(b, 0, 10, "NumpyArrayWrapper")).toBe(false);
    expect(mentions(b, 3, b.length, "NumpyArrayWrapper")).toBe(false);
  });
});

describe("decoding with unread memo entries dropped", () => {
  it("gives the same value for every CPython fixture", () => {
    for (const fx of manifest.fixtures) {
      const bytes = readFixtureBytes(fx.file);
      const options = decodeOptionsFor(fx) as DecodeOptions<never>;
      const diff = pyDiff(decodePickle(bytes, keepAll(options)), decodePickle(bytes, options));
      expect(diff, fx.file).toBeUndefined();
    }
  });
});

describe("the pruned memo against the full one, on any memo traffic", () => {
  // A pickle of pushes, PUTs (in order, repeated, out of order, past 255), MEMOIZEs and GETs of
  // indices already stored, ending in a list of the stack: pruning must change neither the value
  // nor where a memo limit stops the decode.
  // A PUT stores at the next index (as Python does), again at an index stored before, or anywhere.
  type Op = { put: "next" | { again: number } | number } | { get: number } | { memoize: true } | { push: true };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.constant({ push: true as const }),
    fc.record({ put: fc.oneof(
      { weight: 6, arbitrary: fc.constant("next" as const) },
      { weight: 2, arbitrary: fc.record({ again: fc.nat(40) }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 300 }) },
    ) }),
    fc.record({ get: fc.integer({ min: 0, max: 40 }) }),
    fc.constant({ memoize: true as const }),
  );
  const u32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
  /** With `memoizes`, every store is a MEMOIZE; else a PUT (the scan refuses a mix: nothing to prune). */
  function build(ops: readonly Op[], memoizes: boolean): Uint8Array {
    const out: number[] = [0x80, 4, 0x28]; // PROTO 4, MARK
    const stored: number[] = [];
    let count = 0; // len(memo), which MEMOIZE stores at
    const seen = new Set<number>();
    let depth = 0;
    for (const o of ops) {
      if ("push" in o) {
        out.push(0x5d, 0x4b, depth & 0xff, 0x61); // EMPTY_LIST BININT1 APPEND: an object of its own, told apart by its item
        depth++;
      } else if (depth === 0) {
        continue;
      } else if (!("get" in o) && !memoizes) {
        const put = "put" in o ? o.put : "next";
        const index = put === "next" ? count : typeof put === "number" ? put : stored.length > 0 ? stored[put.again % stored.length]! : count;
        out.push(...(index < 256 ? [0x71, index] : [0x72, ...u32(index)]));
        if (!seen.has(index)) (seen.add(index), count++);
        stored.push(index);
      } else if (!("get" in o)) {
        out.push(0x94);
        if (!seen.has(count)) (seen.add(count), stored.push(count), count++);
      } else if (stored.length > 0) {
        const index = stored[o.get % stored.length]!;
        out.push(...(index < 256 ? [0x68, index] : [0x6a, ...u32(index)]));
        depth++;
      }
    }
    out.push(0x6c, 0x2e); // LIST STOP
    return new Uint8Array(out);
  }
  const outcome = (bytes: Uint8Array, options: DecodeOptions<never>): unknown => {
    try {
      return decodePickle(bytes, options);
    } catch (e) {
      return { error: (e as { code?: string }).code, offset: (e as { offset?: number }).offset };
    }
  };

  it("decodes the same value, or fails at the same place", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.boolean(), fc.integer({ min: 1, max: 40 }), (ops, memoizes, maxMemo) => {
        const bytes = build(ops, memoizes);
        if (ops.some((o) => "get" in o)) expect(scanMemoFetches(bytes, 0)).toBeDefined();
        for (const limits of [{}, { maxMemo }]) {
          const pruned = outcome(bytes, { limits });
          const full = outcome(bytes, keepAll({ limits }));
          expect(pruned).toEqual(full);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe("ReduceContext.shared", () => {
  /** Decodes `value` pickled, recording what `shared` says of each argument of calls to m.f. */
  function sharedArgs(value: PyValue, options: Partial<DecodeOptions<never>> = {}): boolean[][] {
    const seen: boolean[][] = [];
    const probe: Reducer<never> = {
      call(args, ctx) {
        const items = (args as { items: PyValue[] }).items;
        seen.push([ctx.shared!(args), ...items.map((v) => ctx.shared!(v))]);
        return undefined;
      },
    };
    decodePickle(encodePickle(value, { protocol: 2 }), { reducers: { "m.f": probe }, ...options });
    return seen;
  }
  const f = pyGlobal("m", "f");
  const call = (...args: PyValue[]): PyValue => ({ kind: "object", via: "reduce", callable: f, args: pyTuple(args) });

  it("is false for arguments built in place and referenced nowhere else", () => {
    expect(sharedArgs(pyList([call(pyTuple([1, 2]), pyList([]))]))).toEqual([[false, false, false]]);
  });

  it("is true for an argument the pickle references again", () => {
    const size = pyTuple([1, 2]);
    expect(sharedArgs(pyList([call(size, pyList([])), size]))).toEqual([[false, true, false]]);
    const both = pyTuple([3]);
    expect(sharedArgs(pyList([call(both), call(both)]))).toEqual([[false, true], [false, true]]);
  });

  it("is true for everything when the decoder cannot tell", () => {
    expect(sharedArgs(pyList([call(pyTuple([1]))]), { afterBuild: () => undefined })).toEqual([[true, true]]);
  });
});
