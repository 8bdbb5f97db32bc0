// Coalescing must never change the bytes or their order, must hand out fresh buffers, and must
// actually cut the number of chunks: many small ones become few of about the buffer size.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ChunkCoalescer, coalesceChunks, coalesceChunksAsync, encodeTextChunks } from "../../../src/bytes/coalesce.js";
import { concatBytes } from "../../../src/bytes/concat.js";

const chunkArb = fc.array(fc.uint8Array({ maxLength: 700 }), { maxLength: 60 });

describe("coalesceChunks", () => {
  it("keeps every byte in order; small chunks are joined up to the size, large ones pass through as they are", () => {
    fc.assert(
      fc.property(chunkArb, fc.integer({ min: 1, max: 2000 }), (chunks, size) => {
        const out = [...coalesceChunks(chunks, size)];
        expect(concatBytes(out.length === 0 ? [new Uint8Array(0)] : out)).toEqual(concatBytes(chunks.length === 0 ? [new Uint8Array(0)] : chunks));
        const passThrough = Math.max(1, Math.floor(size / 4));
        for (const c of out) {
          expect(c.length).toBeGreaterThan(0);
          // Either a large chunk passed through (the caller's own array) or a buffer of at most `size`.
          if (chunks.some((x) => x === c)) expect(c.length).toBeGreaterThanOrEqual(passThrough);
          else expect(c.length).toBeLessThanOrEqual(size);
        }
      }),
    );
  });

  it("turns 100,000 records of 20 bytes into 2 chunks of 1 MiB or less", () => {
    const records = Array.from({ length: 100_000 }, (_, i) => new Uint8Array(20).fill(i & 0xff));
    const out = [...coalesceChunks(records)];
    expect(out.length).toBe(2);
    expect(out[0]!.length).toBe((1 << 20) - ((1 << 20) % 20)); // a record that does not fit starts the next buffer
    expect(Buffer.compare(concatBytes(out), concatBytes(records))).toBe(0);
  });

  it("hands out a new buffer every time and copies small chunks at once (the producer may reuse them)", async () => {
    const reused = new Uint8Array(8);
    async function* produce() {
      for (let i = 0; i < 10; i++) {
        reused.fill(i);
        yield reused;
      }
    }
    const out: Uint8Array[] = [];
    for await (const c of coalesceChunksAsync(produce(), 48)) out.push(c);
    expect(out.map((c) => c.length)).toEqual([48, 32]);
    expect(new Set(out.map((c) => c.buffer)).size).toBe(2);
    expect([...concatBytes(out)]).toEqual(Array.from({ length: 80 }, (_, i) => Math.floor(i / 8)));
  });

  it("reserves room in place, flushing first when the buffer is full", () => {
    const co = new ChunkCoalescer(16);
    const out: Uint8Array[] = [];
    co.push(new Uint8Array([1, 2, 3]), out);
    const a = co.reserve(10, out);
    a.buf.set([9, 9], a.at);
    expect(out).toEqual([]);
    const b = co.reserve(10, out);
    expect(out.length).toBe(1);
    expect(b.at).toBe(0);
    co.flush(out);
    expect(out.map((c) => c.length)).toEqual([13, 10]);
    expect([...out[0]!.subarray(0, 5)]).toEqual([1, 2, 3, 9, 9]);
  });

  it("hands out room by offset in the current buffer, which a flush replaces", () => {
    const co = new ChunkCoalescer(16);
    const out: Uint8Array[] = [];
    expect(co.current.length).toBe(0);
    co.push(new Uint8Array([1, 2]), out);
    const a = co.room(12, out);
    expect(a).toBe(2);
    const first = co.current;
    first.set([7, 7], a);
    const b = co.room(2, out);
    expect([b, out.length]).toEqual([14, 0]);
    const c = co.room(1, out);
    expect([c, out.length]).toEqual([0, 1]);
    expect(co.current).not.toBe(first);
    co.current[c] = 5;
    co.flush(out);
    expect(out.map((x) => x.length)).toEqual([16, 1]);
    expect([...out[0]!.subarray(0, 4)]).toEqual([1, 2, 7, 7]);
    expect([...out[1]!]).toEqual([5]);
  });
});

describe("encodeTextChunks", () => {
  it("encodes like TextEncoder on the joined text, in few chunks", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "grapheme", maxLength: 30 }), { maxLength: 50 }), (pieces) => {
        const out = [...encodeTextChunks(pieces)];
        const joined = new TextEncoder().encode(pieces.join(""));
        expect(out.length === 0 ? new Uint8Array(0) : concatBytes(out)).toEqual(joined);
        expect(out.length).toBeLessThanOrEqual(1);
      }),
    );
    const big = "x".repeat(3 << 20);
    const out = [...encodeTextChunks(["{", big, "}", ...Array.from({ length: 200_000 }, () => "[1,2],")])];
    expect(out.length).toBeLessThanOrEqual(5);
    expect(new TextDecoder().decode(concatBytes(out))).toBe(`{${big}}${"[1,2],".repeat(200_000)}`);
  });

  it("keeps byte pieces in order among text, and writes non-ASCII and lone surrogates as TextEncoder does", () => {
    const enc = new TextEncoder();
    const piece = fc.oneof(
      fc.string({ unit: "grapheme", maxLength: 30 }),
      fc.string({ maxLength: 30 }).map((t) => `${t}\ud800${t}`), // a lone surrogate inside a piece
      fc.uint8Array({ maxLength: 20 }),
      fc.integer({ min: 1, max: 400_000 }).map((n) => "é".repeat(n)), // fills the buffer past its end
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (pieces) => {
        const want = concatBytes(pieces.map((p) => (typeof p === "string" ? enc.encode(p) : p)));
        const got = concatBytes([...encodeTextChunks(pieces)]);
        // Compared as Buffers: vitest's deep equality is far too slow for MiB-long arrays.
        expect(Buffer.compare(Buffer.from(got), Buffer.from(want))).toBe(0);
      }),
      { numRuns: 100 },
    );
  });
});
