import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeUtf8 } from "../../../src/bytes/text.js";
import { ZipEntryTable } from "../../../src/containers/zip/zip-entry-table.js";
import { serializationId, serializationIdOfTable } from "../../../src/torch/write/write-serialization-id.js";

describe("ZipEntryTable", () => {
  it("keeps every record's fields and UTF-8 name bytes, past several growths", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ prefix: fc.string({ maxLength: 6 }), name: fc.string({ unit: "binary", maxLength: 12 }), size: fc.nat(), crc: fc.nat() }), { maxLength: 300 }),
        (rows) => {
          const t = new ZipEntryTable();
          rows.forEach((r, i) => {
            expect(t.add(r.prefix, r.name, i * 100, r.size, r.size > 0 ? 0x0808 : 0x0800, i % 3 === 0, i % 5 === 0)).toBe(i);
            t.setCrc(i, r.crc);
          });
          expect(t.count).toBe(rows.length);
          rows.forEach((r, i) => {
            const want = encodeUtf8(r.prefix + r.name);
            expect(t.nameBytes(i)).toEqual(want);
            expect(t.nameLength(i)).toBe(want.length);
            expect(t.namePool().subarray(t.nameFrom(i), t.nameTo(i))).toEqual(want);
            expect(t.name(i)).toBe(new TextDecoder().decode(want));
            const out = new Uint8Array(want.length + 2);
            expect(t.copyName(i, out, 1)).toBe(want.length + 1);
            expect(out.subarray(1, 1 + want.length)).toEqual(want);
            expect([t.headerOffset(i), t.size(i), t.crc(i), t.flags(i)]).toEqual([i * 100, r.size, r.crc >>> 0, r.size > 0 ? 0x0808 : 0x0800]);
            expect([t.zip64Size(i), t.zip64Offset(i)]).toEqual([i % 3 === 0, i % 5 === 0]);
          });
        },
      ),
      { numRuns: 50 },
    );
  });

  it("drops the last record, name bytes included", () => {
    const t = new ZipEntryTable();
    t.add("a/", "x", 0, 1, 0x0808, false, false);
    t.add("a/", "yyyy", 10, 1, 0x0808, false, false);
    t.dropLast();
    t.add("a/", "z", 20, 2, 0x0808, false, false);
    expect([t.count, t.name(0), t.name(1), t.headerOffset(1)]).toEqual([2, "a/x", "a/z", 20]);
  });

  it("gives the serialization id serializationId gives for the same names and CRCs", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ name: fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }), size: fc.nat(3), crc: fc.nat() }), { maxLength: 60 }), fc.string({ maxLength: 8 }), (rows, folder) => {
        const t = new ZipEntryTable();
        rows.forEach((r, i) => {
          t.add(`${folder}/`, r.name, 0, r.size, 0x0808, false, false);
          t.setCrc(i, r.crc);
        });
        const want = serializationId(rows.map((r) => r.name), rows.filter((r) => r.size > 0).map((r) => r.crc));
        expect(serializationIdOfTable(t, encodeUtf8(`${folder}/`).length)).toBe(want);
      }),
      { numRuns: 100 },
    );
  });
});
