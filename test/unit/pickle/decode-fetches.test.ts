// The memo pre-scan: which entries a pickle reads back. Checked against the disassembler's own
// walk of every CPython fixture, and through the decoder: dropping the other entries changes no
// decoded value, and `ReduceContext.shared` tells a reducer which arguments are referenced twice.
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
