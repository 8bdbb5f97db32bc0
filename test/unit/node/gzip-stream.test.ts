// gzip output through node:zlib: valid gzip that zlib and the core read back, no name and mtime 0,
// the same bytes however the input is chunked, errors from the producer kept as they are, and
// production stopped when the consumer stops.
import { gunzipSync, gzipSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { concatBytes } from "../../../src/bytes/concat.js";
import { gunzip } from "../../../src/convert/gzip.js";
import { CheckpointError } from "../../../src/errors.js";
import { GZIP_BLOCK_BYTES, gzipStream } from "../../../src/node/gzip-stream.js";

async function gz(chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, level?: 0 | 1 | 6 | 9): Promise<Uint8Array> {
  const out: Uint8Array[] = [];
  for await (const c of gzipStream(chunks, level === undefined ? {} : { level })) out.push(c);
  return concatBytes(out);
}

function sample(length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = 7;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = (x >>> 26) + (i % 7);
  }
  return out;
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

describe("gzipStream", () => {
  const data = sample(3 * 2 ** 20 + 5);

  it("writes gzip that zlib and the core inflate to the input, with no name and mtime 0", async () => {
    const z = await gz([data]);
    expect(same(gunzipSync(z), data)).toBe(true);
    expect(same(gunzip(z), data)).toBe(true);
    expect([...z.subarray(0, 3)]).toEqual([0x1f, 0x8b, 0x08]);
    expect(z[3]).toBe(0); // no name, comment, extra field or header CRC
    expect([...z.subarray(4, 8)]).toEqual([0, 0, 0, 0]); // mtime 0
    expect(z.length).toBeLessThan(data.length);
    expect(same(gunzip(await gz([])), new Uint8Array(0))).toBe(true);
  });

  it("gives the same bytes however the input is chunked, sync or async", async () => {
    const whole = await gz([data]);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: data.length }), { maxLength: 12 }), fc.boolean(), async (cuts, async) => {
        const at = [0, ...[...cuts].sort((a, b) => a - b), data.length];
        const pieces = at.slice(1).map((end, i) => data.subarray(at[i], end));
        const source = async ? (async function* () { yield* pieces; })() : pieces;
        expect(same(await gz(source), whole)).toBe(true);
      }),
      { numRuns: 25 },
    );
  }, 60_000);

  it("writes zlib's own header at each level", async () => {
    for (const level of [0, 1, 6, 9] as const) {
      const ours = await gz([data.subarray(0, 1000)], level);
      expect([...ours.subarray(0, 10)]).toEqual([...gzipSync(data.subarray(0, 1000), { level }).subarray(0, 10)]);
    }
  });

  it("inflates right at every block boundary: empty, one block exactly, two exactly, one byte past", async () => {
    const big = sample(2 * GZIP_BLOCK_BYTES + 1);
    for (const n of [0, 1, GZIP_BLOCK_BYTES - 1, GZIP_BLOCK_BYTES, GZIP_BLOCK_BYTES + 1, 2 * GZIP_BLOCK_BYTES, 2 * GZIP_BLOCK_BYTES + 1]) {
      const z = await gz([big.subarray(0, n)]);
      expect(same(gunzipSync(z), big.subarray(0, n))).toBe(true);
      expect(same(gunzip(z), big.subarray(0, n))).toBe(true);
    }
  });

  it("primes each block with the window before it: a repeated pattern compresses as in one stream", async () => {
    const period = sample(16 * 1024);
    const repeated = new Uint8Array(4 * GZIP_BLOCK_BYTES);
    for (let at = 0; at < repeated.length; at += period.length) repeated.set(period, at);
    const ours = await gz([repeated]);
    expect(same(gunzipSync(ours), repeated)).toBe(true);
    // Unprimed, each of the 4 blocks would spell the 16 KiB period out again (~12 KiB each).
    expect(ours.length).toBeLessThan(gzipSync(repeated).length + 1024);
  });

  it("copies what it is given: a producer that reuses one buffer is compressed right", async () => {
    const buffer = new Uint8Array(300_000);
    function* reusing() {
      for (let at = 0; at < data.length; at += buffer.length) {
        const n = Math.min(buffer.length, data.length - at);
        buffer.set(data.subarray(at, at + n));
        yield buffer.subarray(0, n);
      }
    }
    expect(same(gunzipSync(await gz(reusing())), data)).toBe(true);
  });

  it("takes the level", async () => {
    const stored = await gz([data], 0);
    expect(stored.length).toBeGreaterThan(data.length);
    expect((await gz([data], 9)).length).toBeLessThan((await gz([data])).length + 1);
    expect(same(gunzip(stored), data)).toBe(true);
  });

  it("rethrows the producer's torchsave error as it is", async () => {
    const damaged = new CheckpointError("crc-mismatch", "storage 3 is damaged", { file: "x.pt", offset: 12 });
    function* chunks() {
      yield data.subarray(0, 2 ** 20);
      throw damaged;
    }
    await expect(gz(chunks())).rejects.toBe(damaged);
  });

  it("stops producing when the consumer stops, having read only a few chunks ahead", async () => {
    let pulled = 0;
    let closed = false;
    function* endless() {
      try {
        for (;;) {
          pulled++;
          yield sample(2 ** 20);
        }
      } finally {
        closed = true;
      }
    }
    for await (const c of gzipStream(endless())) {
      expect(c.length).toBeGreaterThan(0);
      break;
    }
    expect(closed).toBe(true);
    expect(pulled).toBeLessThan(16);
  });
});
