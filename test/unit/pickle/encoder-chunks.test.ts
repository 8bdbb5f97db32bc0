// encodePickleChunks: encodePickle's bytes in pieces made on demand. Large bytes payloads go out as
// they are (no copy), pieces stay near chunkBytes, and a value's bytes are not asked for before
// the pieces ahead of them were taken (what lets a plain pickle of any size stream).
import { describe, expect, it } from "vitest";
import { isTorchsaveError } from "../../../src/errors.js";
import { encodePickle, encodePickleChunks, type EncodeChunksOptions } from "../../../src/pickle/encoder.js";
import {
  ORDERED_DICT, pyByteArray, pyBytes, pyDict, pyGlobal, pyList, pyTuple, type PyBytes, type PyValue,
} from "../../../src/pickle/value.js";

const KIB = 1024;

/** Bytes of `n` with a pattern that differs per `seed`. */
function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed * 7) & 0xff;
  return out;
}

const joined = (pieces: readonly Uint8Array[]): Buffer => Buffer.concat(pieces.map((p) => Buffer.from(p.buffer, p.byteOffset, p.length)));

/** A checkpoint-like value: a dict of REDUCE calls over bytes of many sizes (small, framed, past 64 KiB). */
function sample(sizes: readonly number[]): PyValue {
  const rebuild = pyGlobal("torch._utils", "_rebuild_tensor_v2");
  return pyDict(
    sizes.map((n, i): [PyValue, PyValue] => [
      `layer.${i}`,
      { kind: "object", via: "reduce", callable: rebuild, args: pyTuple([pyBytes(pattern(n, i)), i, pyTuple([n]), pyTuple([1]), false, pyDict([], ORDERED_DICT)]) },
    ]),
    ORDERED_DICT,
  );
}

const SIZES = [0, 3, 255, 256, 4000, 64 * KIB - 1, 64 * KIB, 200 * KIB, 17, 70 * KIB, 9, 300 * KIB, 1];

describe("encodePickleChunks", () => {
  for (const protocol of [0, 1, 2, 3, 4, 5] as const) {
    it(`gives encodePickle's bytes at protocol ${protocol}, for pieces of any size`, () => {
      const v = sample(SIZES);
      const whole = Buffer.from(encodePickle(v, { protocol }));
      for (const chunkBytes of [1, 100, 64 * KIB, 1 << 20]) {
        const pieces = [...encodePickleChunks(v, { protocol, chunkBytes })];
        expect(joined(pieces).equals(whole), `chunkBytes ${chunkBytes}`).toBe(true);
        expect(pieces.every((p) => p.length > 0)).toBe(true);
      }
    });
  }

  it("hands large bytes payloads out as they are, and small output in pieces near chunkBytes", () => {
    const big = pattern(300 * KIB, 1);
    const v = pyList([pyBytes(big), ...Array.from({ length: 5000 }, (_, i) => `key${i}`), pyByteArray(pattern(100 * KIB, 2))]);
    for (const protocol of [3, 4, 5] as const) {
      const pieces = [...encodePickleChunks(v, { protocol, chunkBytes: 16 * KIB })];
      expect(pieces.some((p) => p === big), `protocol ${protocol}`).toBe(true);
      // Besides passed-on payloads, a piece is at most chunkBytes plus one 64 KiB frame.
      expect(Math.max(...pieces.filter((p) => p !== big && p.length !== 100 * KIB).map((p) => p.length))).toBeLessThanOrEqual(16 * KIB + 64 * KIB + 16);
      expect(joined(pieces).equals(Buffer.from(encodePickle(v, { protocol })))).toBe(true);
    }
  });

  it("asks for a value's bytes only once the pieces ahead of it were taken", () => {
    const reads: number[] = [];
    const lazy = (i: number): PyBytes => ({
      kind: "bytes",
      get data() {
        reads.push(i);
        return pattern(256 * KIB, i);
      },
    });
    const v = pyList(Array.from({ length: 8 }, (_, i) => lazy(i)));
    const it = encodePickleChunks(v, { protocol: 4, chunkBytes: 64 * KIB });
    const taken: Uint8Array[] = [];
    let result = it.next();
    while (result.done !== true) {
      taken.push(result.value);
      // Never more than one value's bytes made ahead of what was handed out.
      const out = taken.reduce((n, p) => n + p.length, 0);
      expect(reads.length * 256 * KIB).toBeLessThanOrEqual(out + 256 * KIB);
      result = it.next();
    }
    expect(reads).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const plain = pyList(Array.from({ length: 8 }, (_, i) => pyBytes(pattern(256 * KIB, i))));
    expect(joined(taken).equals(Buffer.from(encodePickle(plain, { protocol: 4 })))).toBe(true);
  });

  it("throws the encoder's errors, with the key path, while iterating", () => {
    const v = pyDict([["ok", 1], ["bad", pyList([1, 2.5 as unknown as PyValue])]]);
    const it = encodePickleChunks(v, { protocol: 4 });
    let error: unknown;
    try {
      [...it];
    } catch (e) {
      error = e;
    }
    expect(isTorchsaveError(error) && error.code === "invalid-argument" && error.path).toEqual(["bad", 1]);
  });

  it("checks its options", () => {
    for (const options of [{ chunkBytes: 0 }, { protocol: 9 }] as EncodeChunksOptions[]) {
      expect(() => [...encodePickleChunks(1, options)]).toThrow(/chunkBytes|protocol/);
    }
  });
});
