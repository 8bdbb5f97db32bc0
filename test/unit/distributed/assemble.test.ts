import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkTiling, scatterChunk, type Box } from "../../../src/distributed/assemble.js";
import { thrown } from "../../helpers/errors.js";

/** Splits each dimension at random cut points: the boxes of the grid tile the shape exactly. */
const tiling = fc
  .array(fc.integer({ min: 1, max: 5 }), { minLength: 0, maxLength: 4 })
  .chain((shape) =>
    fc.tuple(
      fc.constant(shape),
      fc.tuple(...shape.map((n) => fc.uniqueArray(fc.integer({ min: 1, max: Math.max(1, n - 1) }), { maxLength: n - 1 }).map((cuts) => [0, ...cuts.filter((c) => c < n).sort((a, b) => a - b), n]))),
      fc.integer({ min: 1, max: 8 }),
    ),
  );

function boxesOf(cuts: number[][]): Box[] {
  let boxes: Box[] = [{ offsets: [], sizes: [] }];
  for (const c of cuts) {
    const next: Box[] = [];
    for (const b of boxes) for (let i = 0; i + 1 < c.length; i++) next.push({ offsets: [...b.offsets, c[i]!], sizes: [...b.sizes, c[i + 1]! - c[i]!] });
    boxes = next;
  }
  return boxes;
}

/** Row-major element index → bytes `itemSize` long, each byte a function of the index. */
function fullBytes(shape: number[], itemSize: number): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  return Uint8Array.from({ length: n * itemSize }, (_, i) => (i * 31 + 7) & 255);
}

/** The box cut out of the full tensor, by brute force. */
function cutOut(full: Uint8Array, shape: number[], itemSize: number, box: Box): Uint8Array {
  const out: number[] = [];
  const sizes = box.sizes;
  const total = sizes.reduce((a, b) => a * b, 1);
  for (let k = 0; k < total; k++) {
    let rem = k;
    const idx = new Array<number>(sizes.length);
    for (let d = sizes.length - 1; d >= 0; d--) {
      idx[d] = (rem % sizes[d]!) + box.offsets[d]!;
      rem = Math.floor(rem / sizes[d]!);
    }
    let flat = 0;
    for (let d = 0; d < shape.length; d++) flat = flat * shape[d]! + idx[d]!;
    for (let b = 0; b < itemSize; b++) out.push(full[flat * itemSize + b]!);
  }
  return Uint8Array.from(out);
}

describe("scatterChunk + checkTiling", () => {
  it("any grid tiling passes the check and reassembles the tensor exactly", () => {
    fc.assert(
      fc.property(tiling, ([shape, cuts, itemSize]) => {
        const boxes = boxesOf(cuts);
        checkTiling(shape, boxes, ["t"]);
        const full = fullBytes(shape, itemSize);
        const out = new Uint8Array(full.length);
        for (const b of boxes) scatterChunk(out, shape, itemSize, b, cutOut(full, shape, itemSize, b));
        expect(out).toEqual(full);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses overlapping chunks, chunks out of bounds and missing volume, naming the key", () => {
    const shape = [4, 4];
    const overlap = [{ offsets: [0, 0], sizes: [3, 4] }, { offsets: [2, 0], sizes: [2, 4] }];
    expect(thrown(() => checkTiling(shape, overlap, ["w"]))).toMatchObject({ code: "invalid-data", path: ["w"] });
    expect(String(thrown(() => checkTiling(shape, overlap, ["w"])))).toMatch(/overlap/);
    const outside = [{ offsets: [0, 0], sizes: [4, 4] }, { offsets: [4, 0], sizes: [1, 4] }];
    expect(String(thrown(() => checkTiling(shape, outside, ["w"])))).toMatch(/past the tensor/);
    const short = [{ offsets: [0, 0], sizes: [2, 4] }];
    expect(String(thrown(() => checkTiling(shape, short, ["w"])))).toMatch(/hold 8 elements.*has 16/);
    expect(thrown(() => checkTiling(shape, [], ["w"]))).toMatchObject({ code: "invalid-data" });
    expect(() => checkTiling([0, 3], [], ["w"])).not.toThrow();
  });
});
