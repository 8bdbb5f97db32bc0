// A msgpack document read from a source as a file is (readSync only): the value equals what
// fromMsgpack gives, storage bytes are not read until a writer asks for them, and damaged or
// cut-short input fails with the same typed errors.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromMsgpack, fromMsgpackSource, toMsgpack } from "../../../src/convert/index.js";
import { itemExtent } from "../../../src/convert/msgpack-extent.js";
import { MsgpackWriter } from "../../../src/convert/msgpack-wire.js";
import { isTorchsaveError } from "../../../src/errors.js";
import { pyDict, pyFloat, pyTuple } from "../../../src/pickle/value.js";
import type { TorchHost, TorchValue } from "../../../src/torch/index.js";
import { readStorageBytesSync } from "../../../src/torch/index.js";
import { torchDiff } from "./torch-equal.js";
import { f32, sameBytes, storage, tensor, thrown } from "./values.js";
import { fileLike } from "../../helpers/file-like.js";

const MIB = 2 ** 20;
const big = new Uint8Array(4 * MIB).map((_, i) => i % 251);
const doc = pyDict<TorchHost>([
  ["w", tensor(storage("uint8", big), [4 * MIB])],
  ["b", tensor(storage("float32", f32(1, 2, 3), { key: "1" }), [3])],
  ["again", pyTuple([1, pyFloat(2.5), "x"])],
]);
const packed = toMsgpack(doc);

describe("msgpack read from a source", () => {
  it("equals fromMsgpack, whatever the window", () => {
    for (const window of [1, 9, 64, 4096, MIB]) {
      const { source } = fileLike(packed);
      expect(torchDiff(fromMsgpack(packed), fromMsgpackSource(source, {}, window)), `window ${window}`).toBeUndefined();
    }
  });

  it("leaves storage bytes in the source until they are asked for", () => {
    const { source, stats } = fileLike(packed);
    const root = fromMsgpackSource(source, {}, 4096) as { entries: [string, { storage: { data?: Uint8Array } }][] };
    const w = root.entries[0]![1].storage;
    expect(w.data).toBeUndefined();
    // Headers and the small values only: far less than the 4 MiB storage.
    expect(stats.read).toBeLessThan(64 * 1024);
    const before = stats.read;
    expect(sameBytes(readStorageBytesSync(w as never), big)).toBe(true);
    expect(stats.read - before).toBe(big.length);
  });

  it("gives the same error code as fromMsgpack for every cut-short prefix", () => {
    const small = toMsgpack(pyDict<TorchHost>([["w", tensor(storage("float32", f32(1, 2)), [2])], ["t", pyTuple([1, pyFloat(2)])]]));
    for (let n = 1; n < small.length; n++) {
      const e = thrown(() => fromMsgpackSource(fileLike(small.subarray(0, n)).source, {}, 8));
      expect(e.code, `prefix ${n}`).toBe("truncated");
      expect(e.name).toBe("ConvertError");
    }
  });

  it("succeeds where fromMsgpack succeeds, with the same value, and fails only with torchsave errors", () => {
    const small = toMsgpack(pyDict<TorchHost>([["w", tensor(storage("float32", f32(1, 2)), [2])], ["t", pyTuple([1, pyFloat(2)])]]));
    fc.assert(
      fc.property(fc.nat(small.length - 1), fc.nat(255), fc.integer({ min: 1, max: 64 }), (at, flip, window) => {
        const input = Uint8Array.from(small, (b, i) => (i === at ? b ^ flip : b));
        let expected: TorchValue | undefined;
        try {
          expected = fromMsgpack(input);
        } catch (e) {
          if (!isTorchsaveError(e)) throw e;
        }
        let got: TorchValue | undefined;
        try {
          got = fromMsgpackSource(fileLike(input).source, {}, window);
        } catch (e) {
          if (!isTorchsaveError(e)) throw e;
          expect(expected, `byte ${at} ^ ${flip}: fromMsgpack read it, the source reader refused: ${(e as Error).message}`).toBeUndefined();
          return;
        }
        expect(expected, `byte ${at} ^ ${flip}: the source reader read what fromMsgpack refused`).toBeDefined();
        expect(torchDiff(expected!, got)).toBeUndefined();
      }),
      { numRuns: 1000 },
    );
  });

  it("steps over items by their headers alone", () => {
    const w = new MsgpackWriter(16);
    w.int(2 ** 40);
    const head = w.finish();
    expect(itemExtent(head, 0, 0)).toMatchObject({ headLength: 9, payload: 0, children: 0 });
    expect(itemExtent(Uint8Array.of(0xc6, 0, 1, 0, 0), 0, 0)).toMatchObject({ headLength: 5, payload: 65_536, children: 0 });
    expect(itemExtent(Uint8Array.of(0xdf, 0, 0, 0, 3), 0, 0)).toMatchObject({ headLength: 5, children: 6 });
    expect(itemExtent(Uint8Array.of(0xc9, 0, 0, 0, 2, 7), 0, 0)).toMatchObject({ headLength: 6, payload: 2 });
    expect(thrown(() => itemExtent(Uint8Array.of(0xc1), 0, 12)).offset).toBe(12);
    expect(thrown(() => itemExtent(Uint8Array.of(0xc6, 0), 0, 0)).code).toBe("truncated");
  });
});
