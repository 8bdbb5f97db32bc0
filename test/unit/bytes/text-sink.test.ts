// The text sink: whatever mix of text (ASCII or not, short or long), bytes and integers goes in,
// the buffers it hands out join to the UTF-8 of the same pieces, each at most its size, never
// written again once handed out.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TextSink } from "../../../src/bytes/text-sink.js";

type Piece = { text: string } | { bytes: Uint8Array } | { int: number };

const pieceArb: fc.Arbitrary<Piece> = fc.oneof(
  fc.string({ maxLength: 60 }).map((text) => ({ text })),
  fc.string({ unit: "grapheme", maxLength: 200 }).map((text) => ({ text })),
  fc.string({ unit: fc.constantFrom("a", "é", "😀", "\u0000", "\""), maxLength: 90 }).map((text) => ({ text })),
  fc.uint8Array({ maxLength: 70 }).map((bytes) => ({ bytes })),
  fc.oneof(fc.integer({ min: 0, max: 2 ** 32 }), fc.maxSafeInteger(), fc.integer({ min: -1000, max: -1 })).map((int) => ({ int })),
);

describe("text sink", () => {
  it("hands out buffers that join to the pieces' UTF-8, none over its size, none changed later", () => {
    fc.assert(fc.property(fc.array(pieceArb, { maxLength: 40 }), fc.integer({ min: 4, max: 64 }), (pieces, size) => {
      const sink = new TextSink(size);
      const out: Uint8Array[] = [];
      const copies: Uint8Array[] = [];
      const want: number[] = [];
      const utf8 = new TextEncoder();
      for (const p of pieces) {
        if ("text" in p) {
          sink.text(p.text);
          want.push(...utf8.encode(p.text));
        } else if ("bytes" in p) {
          sink.bytes(p.bytes);
          want.push(...p.bytes);
        } else {
          sink.int(p.int);
          want.push(...utf8.encode(String(p.int)));
        }
        for (const b of sink.take()) {
          out.push(b);
          copies.push(b.slice());
        }
      }
      sink.flush();
      for (const b of sink.take()) {
        out.push(b);
        copies.push(b.slice());
      }
      expect(out.every((b) => b.length > 0 && b.length <= size)).toBe(true);
      expect(out).toEqual(copies);
      expect(Buffer.concat(out)).toEqual(Buffer.from(want));
    }), { numRuns: 500 });
  });

  it("fills buffers with ASCII text nearly whole, whatever the piece lengths", () => {
    const sink = new TextSink(1000);
    for (let i = 0; i < 300; i++) sink.text("x".repeat(i % 97));
    sink.flush();
    const out = sink.take();
    expect(out.length).toBeGreaterThan(10);
    // Long pieces are split across buffers; a short one (up to 48 characters) may start the next.
    expect(out.slice(0, -1).every((b) => b.length > 1000 - 48)).toBe(true);
  });

  it("refuses buffers too small for one character", () => {
    expect(() => new TextSink(3)).toThrow(RangeError);
    expect(() => new TextSink(4)).not.toThrow();
  });
});
