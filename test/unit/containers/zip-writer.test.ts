import { readFileSync } from "node:fs";
import { crc32 as zlibCrc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import { expectCode } from "../../helpers/errors.js";
import { crc32 } from "../../../src/bytes/crc32.js";
import { concatBytes } from "../../../src/bytes/concat.js";
import { bytesSource } from "../../../src/bytes/source.js";
import { encodeUtf8 } from "../../../src/bytes/text.js";
import { hashBytes, hashCombine, serializationId } from "../../../src/torch/write/write-serialization-id.js";
import { openZipSync, readEntrySync } from "../../../src/containers/zip/zip-reader.js";
import {
  beginZipEntry, endZipEntry, finishZip, newZipWriteState, writeZipHeader, zipEntryChunks, zipEntryChunksAsync, zipRecordsSync,
} from "../../../src/containers/zip/zip-writer.js";
import { corpusFiles } from "../../helpers/corpus.js";

const text = (s: string): Uint8Array => encodeUtf8(s);
const u16 = (b: Uint8Array, at: number): number => b[at]! | (b[at + 1]! << 8);
const u32 = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
const u64 = (b: Uint8Array, at: number): number => Number(new DataView(b.buffer, b.byteOffset).getBigUint64(at, true));

function fill(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed * 7) & 0xff;
  return out;
}


/** Local header fields of the entry whose header starts at `at`. */
function localHeader(b: Uint8Array, at: number) {
  const nameLen = u16(b, at + 26);
  const extraLen = u16(b, at + 28);
  return {
    sig: u32(b, at), version: u16(b, at + 4), flags: u16(b, at + 6), method: u16(b, at + 8), time: u16(b, at + 10),
    date: u16(b, at + 12), crc: u32(b, at + 14), csize: u32(b, at + 18), size: u32(b, at + 22),
    name: new TextDecoder().decode(b.subarray(at + 30, at + 30 + nameLen)),
    extra: b.subarray(at + 30 + nameLen, at + 30 + nameLen + extraLen), dataAt: at + 30 + nameLen + extraLen,
  };
}

/** The extra-field blocks as [id, body]. */
function extraBlocks(extra: Uint8Array): [number, Uint8Array][] {
  const out: [number, Uint8Array][] = [];
  for (let at = 0; at + 4 <= extra.length; ) {
    const len = u16(extra, at + 2);
    out.push([u16(extra, at), extra.subarray(at + 4, at + 4 + len)]);
    at += 4 + len;
  }
  return out;
}

describe("zip writer: torch's layout", () => {
  const records = [
    { name: "archive/data.pkl", data: fill(235) },
    { name: "archive/data/0", data: fill(24, 2) },
    { name: "archive/data/1", data: fill(12, 3) },
    { name: "archive/version", data: text("3\n") },
  ];
  const zip = zipRecordsSync(records);

  it("aligns every payload to 64 bytes with an FB extra field of 'Z' filler", () => {
    const archive = openZipSync(bytesSource(zip));
    expect(archive.entries.map((e) => e.name)).toEqual(records.map((r) => r.name));
    for (const e of archive.entries) {
      const h = localHeader(zip, e.localHeaderOffset);
      expect(h.dataAt % 64).toBe(0);
      const blocks = extraBlocks(h.extra);
      expect(blocks).toHaveLength(1);
      const [id, body] = blocks[0]!;
      expect(id).toBe(0x4246); // "FB"
      expect(body.every((c) => c === 0x5a)).toBe(true);
      expect(body.length).toBeLessThan(64);
    }
  });

  it("writes miniz's local headers: version 0, flags 0x0808, stored, zero time, CRC and sizes in a descriptor", () => {
    const archive = openZipSync(bytesSource(zip));
    for (const [i, e] of archive.entries.entries()) {
      const h = localHeader(zip, e.localHeaderOffset);
      expect(h).toMatchObject({ sig: 0x04034b50, version: 0, flags: 0x0808, method: 0, time: 0, date: 0, crc: 0, csize: 0, size: 0 });
      const data = records[i]!.data;
      expect(zip.subarray(h.dataAt, h.dataAt + data.length)).toEqual(data);
      const d = h.dataAt + data.length;
      expect(u32(zip, d)).toBe(0x08074b50);
      expect(u32(zip, d + 4)).toBe(crc32(data));
      expect(u32(zip, d + 8)).toBe(data.length);
      expect(u32(zip, d + 12)).toBe(data.length);
      expect(e.crc32).toBe(crc32(data));
      expect(e.flags).toBe(0x0808);
      expect(readEntrySync(archive, e)).toEqual(data);
    }
  });

  it("ends with the zip64 end record, its locator and the classic end record, as miniz always does", () => {
    const archive = openZipSync(bytesSource(zip));
    const eocd = zip.length - 22;
    expect(u32(zip, eocd)).toBe(0x06054b50);
    expect(u16(zip, eocd + 8)).toBe(4);
    const locator = eocd - 20;
    expect(u32(zip, locator)).toBe(0x07064b50);
    const z64 = u64(zip, locator + 8);
    expect(u32(zip, z64)).toBe(0x06064b50);
    expect(u16(zip, z64 + 12)).toBe(0x031e);
    expect(u16(zip, z64 + 14)).toBe(45);
    expect(u64(zip, z64 + 32)).toBe(4);
    expect(u64(zip, z64 + 48)).toBe(archive.centralDirectoryOffset);
    expect(archive.quirks.filter((q) => !q.code.startsWith("info"))).toEqual([]);
  });

  it("honours other alignments", () => {
    for (const alignment of [1, 8, 4096]) {
      const z = zipRecordsSync(records, { alignment });
      const archive = openZipSync(bytesSource(z));
      for (const e of archive.entries) expect(localHeader(z, e.localHeaderOffset).dataAt % alignment).toBe(0);
    }
  });

  it("writes an empty record without a data descriptor (flags 0x0800), as miniz", () => {
    const z = zipRecordsSync([{ name: "a/empty", data: new Uint8Array(0) }, { name: "a/x", data: fill(3) }]);
    const archive = openZipSync(bytesSource(z));
    const [empty, x] = archive.entries;
    expect(empty!.flags).toBe(0x0800);
    const h = localHeader(z, empty!.localHeaderOffset);
    expect(h.flags).toBe(0x0800);
    expect(x!.localHeaderOffset).toBe(h.dataAt); // no descriptor between them
    expect(readEntrySync(archive, empty!)).toHaveLength(0);
  });

  it("uses the CRC function it is given", () => {
    const viaZlib = zipRecordsSync(records, { crc32: (b, prev) => zlibCrc32(b, prev) });
    expect(viaZlib).toEqual(zip);
    const calls: number[] = [];
    zipRecordsSync(records, { crc32: (b, prev) => (calls.push(b.length), crc32(b, prev)) });
    expect(calls).toEqual(records.map((r) => r.data.length));
  });
});

describe("zip writer: zip64", () => {
  it("moves large sizes and offsets into zip64 extra fields (forced by a low threshold)", () => {
    const records = [
      { name: "archive/small", data: fill(10) },
      { name: "archive/big", data: fill(300, 2) },
      { name: "archive/late", data: fill(20, 3) },
    ];
    const z = zipRecordsSync(records, { zip64Threshold: 100 });
    const archive = openZipSync(bytesSource(z));
    expect(archive.zip64).toBe(true);
    const [small, big, late] = archive.entries;
    // small: below the threshold, at offset 0: no zip64 field, 16-byte descriptor.
    const hs = localHeader(z, small!.localHeaderOffset);
    expect(extraBlocks(hs.extra).map(([id]) => id)).toEqual([0x4246]);
    // big: size >= threshold at an offset below it: both sizes in the local extra, 24-byte descriptor.
    expect(big!.localHeaderOffset).toBeLessThan(100);
    const hb = localHeader(z, big!.localHeaderOffset);
    const blocksB = extraBlocks(hb.extra);
    expect(blocksB.map(([id]) => id)).toEqual([0x0001, 0x4246]);
    expect(blocksB[0]![1].length).toBe(16);
    expect(u64(blocksB[0]![1], 0)).toBe(300);
    expect(u64(blocksB[0]![1], 8)).toBe(300);
    expect(hb.dataAt % 64).toBe(0);
    const d = hb.dataAt + 300;
    expect(u32(z, d)).toBe(0x08074b50);
    expect(u64(z, d + 8)).toBe(300);
    expect(u64(z, d + 16)).toBe(300);
    // late: small but far: only the offset in the extra field, and still a 24-byte descriptor.
    const hl = localHeader(z, late!.localHeaderOffset);
    const blocksL = extraBlocks(hl.extra);
    expect(blocksL[0]![0]).toBe(1);
    expect(blocksL[0]![1].length).toBe(8);
    expect(u64(blocksL[0]![1], 0)).toBe(late!.localHeaderOffset);
    expect(hl.dataAt % 64).toBe(0);
    expect(u32(z, hl.dataAt + 20)).toBe(0x08074b50);
    expect(u64(z, hl.dataAt + 20 + 16)).toBe(20);
    // The central directory says 0xFFFFFFFF where the extra field holds the value, and the reader resolves it.
    expect(big!.size).toBe(300);
    expect(late!.localHeaderOffset).toBeGreaterThan(100);
    records.forEach((r, i) => expect(readEntrySync(archive, archive.entries[i]!)).toEqual(r.data));
    // The end record points at the zip64 records for the directory offset.
    const eocd = z.length - 22;
    expect(u32(z, eocd + 16)).toBe(0xffffffff);
  });

  it("counts more than 65,535 entries through the zip64 end record", () => {
    const n = 65_600;
    const records = Array.from({ length: n }, (_, i) => ({ name: `a/${i}`, data: new Uint8Array([i & 0xff]) }));
    const z = zipRecordsSync(records, { alignment: 1 });
    const eocd = z.length - 22;
    expect(u16(z, eocd + 8)).toBe(0xffff);
    expect(u16(z, eocd + 10)).toBe(0xffff);
    const archive = openZipSync(bytesSource(z));
    expect(archive.entries).toHaveLength(n);
    expect(readEntrySync(archive, archive.entries[n - 1]!)).toEqual(new Uint8Array([(n - 1) & 0xff]));
  });
});

describe("zip writer: streaming and errors", () => {
  it("streams a record from chunks, sync and async, with the same bytes as writing it whole", async () => {
    const data = fill(1000);
    const whole = zipRecordsSync([{ name: "a/x", data }]);
    const st = newZipWriteState();
    const parts = [...zipEntryChunks(st, "a/x", 1000, [data.subarray(0, 10), data.subarray(10, 600), data.subarray(600)])];
    parts.push(finishZip(st));
    expect(concatBytes(parts)).toEqual(whole);
    const st2 = newZipWriteState();
    async function* slow() {
      for (let i = 0; i < 1000; i += 99) yield data.subarray(i, Math.min(1000, i + 99));
    }
    const parts2: Uint8Array[] = [];
    for await (const c of zipEntryChunksAsync(st2, "a/x", 1000, slow())) parts2.push(c);
    parts2.push(finishZip(st2));
    expect(concatBytes(parts2)).toEqual(whole);
  });

  it("refuses chunks that do not add up to the declared size", () => {
    const st = newZipWriteState();
    expectCode(() => [...zipEntryChunks(st, "a/x", 10, [fill(5)])], "invalid-data");
    const st2 = newZipWriteState();
    expectCode(() => [...zipEntryChunks(st2, "a/x", 4, [fill(5)])], "invalid-data");
  });

  it("refuses repeated names, bad options and writing after the end", () => {
    const st = newZipWriteState();
    beginZipEntry(st, "a/x", 0);
    expectCode(() => beginZipEntry(st, "a/x", 0), "invalid-argument");
    expectCode(() => beginZipEntry(st, "", 0), "invalid-argument");
    expectCode(() => beginZipEntry(st, "a/y", -1), "invalid-argument");
    finishZip(st);
    expectCode(() => finishZip(st), "invalid-argument");
    expectCode(() => beginZipEntry(st, "a/z", 0), "invalid-argument");
    expectCode(() => newZipWriteState({ alignment: 0 }), "invalid-argument");
    expectCode(() => newZipWriteState({ alignment: 65536 }), "invalid-argument");
    expectCode(() => newZipWriteState({ zip64Threshold: 0 }), "invalid-argument");
  });

  it("writes headers and descriptors into a sink, the same bytes as the streaming writer", () => {
    const records = [{ name: "a/x", data: fill(5) }, { name: "a/empty", data: new Uint8Array(0) }, { name: "a/\u00e9t\u00e9", data: fill(70, 3) }];
    const want = zipRecordsSync(records, { alignment: 64 });
    const st = newZipWriteState({ alignment: 64, uniqueNames: true });
    let buf = new Uint8Array(0);
    let used = 0;
    const sink = {
      reserve(n: number): number {
        const next = new Uint8Array(used + n);
        next.set(buf.subarray(0, used));
        buf = next;
        used += n;
        return used - n;
      },
      get buf() {
        return buf;
      },
    };
    for (const r of records) {
      const entry = writeZipHeader(st, r.name.slice(0, 2), r.name.slice(2), r.data.length, sink);
      const at = sink.reserve(r.data.length); // then read buf: reserve may replace it
      sink.buf.set(r.data, at);
      expect(endZipEntry(st, entry, crc32(r.data, 0), sink).length).toBe(0);
    }
    const end = finishZip(st);
    expect(concatBytes([buf.subarray(0, used), end])).toEqual(want);
    // uniqueNames: the caller vouches, nothing is remembered to check against.
    expect(st.names).toBeUndefined();
  });
});

describe("zip writer against files torch wrote", () => {
  const zips = corpusFiles().filter((f) => !f.malicious && f.kind.startsWith("torch-zip"));

  it("has torch-written zip files to compare with", () => {
    expect(zips.length).toBeGreaterThan(10);
  });

  for (const f of zips) {
    it(`re-zips ${f.file} byte for byte, with torch's serialization-id CRC half`, () => {
      const original = readFileSync(f.path);
      const archive = openZipSync(bytesSource(new Uint8Array(original)));
      const records = archive.entries.map((e) => ({ name: e.name, data: readEntrySync(archive, e).slice() }));
      // Buffer.equals: toEqual walks a 1.5 MB array element by element.
      expect(Buffer.from(zipRecordsSync(records)).equals(original)).toBe(true);
      const idRecord = records.find((r) => r.name.endsWith("/.data/serialization_id"));
      if (idRecord === undefined) return;
      const before = archive.entries.filter((e) => !e.name.endsWith("/.data/serialization_id"));
      const id = serializationId(
        before.map((e) => e.name.slice(archive.prefix.length)),
        before.filter((e) => e.size > 0).map((e) => e.crc32),
      );
      expect(id.slice(20)).toBe(new TextDecoder().decode(idRecord.data).slice(20));
    });
  }
});

describe("serialization id", () => {
  it("uses c10::hash_combine and libstdc++'s string hash", () => {
    // hash_combine(0, v) = v + 0x9e3779b9.
    expect(hashCombine(0n, 5n)).toBe(5n + 0x9e3779b9n);
    // std::hash<std::string>{}("") with libstdc++ on x86-64.
    expect(hashBytes(new Uint8Array(0))).toBe(6142509188972423790n);
    expect(hashBytes(encodeUtf8("data.pkl"))).toBe(4941642132189851806n);
    expect(serializationId(["data.pkl"], [1])).toMatch(/^\d{40}$/);
    expect(serializationId(["a", "b"], [1, 2])).not.toBe(serializationId(["b", "a"], [1, 2]));
  });
});
