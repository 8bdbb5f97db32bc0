// The msgpack writer's in-place short ASCII str (asciiStr) against the general str item: the same
// bytes for every string it takes, nothing written for the ones it declines.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeUtf8 } from "../../../src/bytes/text.js";
import { MsgpackWriter } from "../../../src/convert/msgpack-wire.js";

/** The bytes of `s` as a str item, written by asciiStr when it takes it, else by str. */
function written(s: string, viaAscii: boolean): { bytes: Uint8Array; took: boolean } {
  const w = new MsgpackWriter(4); // small, so asciiStr has to grow the buffer
  w.int(7); // something before, which must stay
  let took = false;
  if (viaAscii) took = w.asciiStr(s);
  if (!took) w.str(encodeUtf8(s));
  return { bytes: w.finish().slice(), took };
}

describe("MsgpackWriter.asciiStr", () => {
  it("writes what str(encodeUtf8(s)) writes, for every string it takes", () => {
    let took = 0;
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: "grapheme", maxLength: 40 }), fc.string({ unit: "binary", maxLength: 40 })), (s) => {
      const a = written(s, true);
      expect(a.bytes).toEqual(written(s, false).bytes);
      expect(a.took).toBe(s.length < 32 && /^[\x00-\x7f]*$/.test(s));
      if (a.took) took++;
    }), { numRuns: 2000 });
    expect(took).toBeGreaterThan(200);
  });

  it("takes the fixstr lengths 0-31 and declines 32 and non-ASCII, leaving the buffer as it was", () => {
    for (let n = 0; n < 40; n++) {
      const s = "k".repeat(n);
      const r = written(s, true);
      expect(r.took).toBe(n < 32);
      expect(r.bytes).toEqual(written(s, false).bytes);
    }
    const w = new MsgpackWriter(4);
    w.int(1);
    expect(w.asciiStr("abcé")).toBe(false);
    expect(w.asciiStr("a\ud800")).toBe(false);
    expect(w.finish()).toEqual(Uint8Array.of(1));
  });
});
