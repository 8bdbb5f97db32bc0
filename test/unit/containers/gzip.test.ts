// The bounded gzip inflate: every member's trailer (CRC-32 and size) is checked, as gzip(1) does.
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { gunzipBounded } from "../../../src/containers/gzip.js";
import { CheckpointError } from "../../../src/errors.js";

const text = (s: string) => new TextEncoder().encode(s);
const a = new Uint8Array(gzipSync(text("hello ".repeat(5000))));
const b = new Uint8Array(gzipSync(text("world")));
const joined = new Uint8Array([...a, ...b]);

function thrown(f: () => unknown): CheckpointError {
  try {
    f();
  } catch (e) {
    if (e instanceof CheckpointError) return e;
    throw e;
  }
  throw new Error("did not throw");
}

describe("gunzipBounded", () => {
  it("inflates every member, in order", () => {
    expect(new TextDecoder().decode(gunzipBounded(joined, { maxBytes: 1e6 }))).toBe("hello ".repeat(5000) + "world");
  });
  it("a CRC flipped in the first member's trailer names that member and the trailer's offset", () => {
    const bad = joined.slice();
    bad[a.length - 8]! ^= 0x80;
    const e = thrown(() => gunzipBounded(bad, { maxBytes: 1e6, name: "x.gz" }));
    expect(e.code).toBe("crc-mismatch");
    expect(e.offset).toBe(a.length - 8);
    expect(e.file).toBe("x.gz");
    expect(e.reason).toMatch(/^the gzip stream is damaged: its 30000 inflated bytes have CRC-32 0x[0-9a-f]{8}, its trailer says/);
  });
  it("the second member's size in its trailer is checked too", () => {
    const bad = joined.slice();
    bad[bad.length - 4]! ^= 0x01;
    const e = thrown(() => gunzipBounded(bad, { maxBytes: 1e6 }));
    expect(e.code).toBe("crc-mismatch");
    expect(e.reason).toBe(`the gzip member at byte ${a.length} is damaged: it inflated to 5 bytes, its trailer says 4 (mod 2^32)`);
  });
  it("verifyCrc: false reads the damaged stream anyway", () => {
    const bad = joined.slice();
    bad[a.length - 8]! ^= 0x80;
    expect(gunzipBounded(bad, { maxBytes: 1e6, verifyCrc: false }).length).toBe(30005);
  });
  it("a damaged deflate stream, a cut one, and not-gzip keep their own codes", () => {
    expect(thrown(() => gunzipBounded(a.subarray(0, a.length - 12), { maxBytes: 1e6 })).code).toBe("truncated");
    expect(thrown(() => gunzipBounded(Uint8Array.from([1, 2, 3, 4]), { maxBytes: 1e6 })).code).toBe("bad-archive");
    expect(thrown(() => gunzipBounded(a, { maxBytes: 100 })).code).toBe("limit-exceeded");
  });
});
