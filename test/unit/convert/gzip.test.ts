// gzip around any format: deterministic output Node's zlib reads, bounded inflation, and typed
// errors for cut-short and damaged streams.
import { gunzipSync as nodeGunzip, gzipSync as nodeGzip } from "node:zlib";
import { describe, expect, it } from "vitest";
import { concatBytes } from "../../../src/bytes/concat.js";
import { gunzip, gzip, gzipChunks, isGzip } from "../../../src/convert/index.js";
import { sameBytes, thrown } from "./values.js";

const sample = new Uint8Array(200_000).map((_, i) => (i * 31) % 251);

describe("gzip", () => {
  it("round-trips, deterministically, and agrees with zlib both ways", () => {
    const z = gzip(sample);
    expect(isGzip(z)).toBe(true);
    expect(sameBytes(z, gzip(sample))).toBe(true);
    expect([...z.subarray(4, 8)]).toEqual([0, 0, 0, 0]); // mtime 0
    expect(sameBytes(new Uint8Array(nodeGunzip(z)), sample)).toBe(true);
    expect(sameBytes(gunzip(new Uint8Array(nodeGzip(sample))), sample)).toBe(true);
    expect(sameBytes(gunzip(gzip(new Uint8Array(0))), new Uint8Array(0))).toBe(true);
  });

  it("streams chunk by chunk to the same stream", () => {
    const pieces = [sample.subarray(0, 1000), sample.subarray(1000, 150_000), sample.subarray(150_000)];
    expect(sameBytes(gunzip(concatBytes([...gzipChunks(pieces)])), sample)).toBe(true);
  });

  it("gives the same bytes however the input is chunked (writers chunk differently)", () => {
    // 3.5 MiB of compressible, not constant, data: more than three of the compressor's 1 MiB pieces.
    const big = new Uint8Array(3.5 * 2 ** 20).map((_, i) => ((i * 2654435761) >>> 27) & (i % 5 === 0 ? 255 : 7));
    const whole = gzip(big);
    const cuts = [[1], [2 ** 20], [2 ** 20 - 1, 2 ** 20 + 1], [65_536, 3_000_000], [7, 8, 9, 1_000_003, 2 ** 21]];
    for (const at of cuts) {
      const pieces: Uint8Array[] = [];
      let from = 0;
      for (const to of [...at, big.length]) {
        pieces.push(big.subarray(from, to));
        from = to;
      }
      expect(sameBytes(concatBytes([...gzipChunks(pieces)]), whole), `cut at ${at.join(", ")}`).toBe(true);
    }
    expect(sameBytes(new Uint8Array(nodeGunzip(whole)), big)).toBe(true);
  });

  it("reads concatenated members as one stream", () => {
    const a = gzip(sample.subarray(0, 10));
    const b = gzip(sample.subarray(10, 30));
    expect(sameBytes(gunzip(new Uint8Array([...a, ...b])), sample.subarray(0, 30))).toBe(true);
  });

  it("bounds the output and types its errors", () => {
    const bomb = gzip(new Uint8Array(5_000_000));
    expect(bomb.length).toBeLessThan(10_000);
    expect(thrown(() => gunzip(bomb, { maxBytes: 1_000_000 })).code).toBe("limit-exceeded");
    const z = gzip(sample);
    expect(thrown(() => gunzip(z.subarray(0, z.length - 100))).code).toBe("truncated");
    const damaged = Uint8Array.from(z);
    damaged[20] = damaged[20]! ^ 0xff;
    damaged[21] = damaged[21]! ^ 0xff;
    expect(["bad-archive", "truncated"]).toContain(thrown(() => gunzip(damaged)).code);
    expect(thrown(() => gunzip(Uint8Array.from([1, 2, 3, 4]))).code).toBe("bad-archive");
  });
});
