import { readFileSync } from "node:fs";
import { deflateSync, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { thrown } from "../../helpers/errors.js";
import { crc32 } from "../../../src/bytes/crc32.js";
import { blobSource, bytesSource, callbackSource, type ByteSource } from "../../../src/bytes/source.js";
import { ByteWriter } from "../../../src/bytes/writer.js";
import { isTorchsaveError } from "../../../src/errors.js";
import {
  entryDataOffset,
  entryDataOffsetSync,
  isZip,
  openZip,
  openZipSync,
  readEntry,
  readEntrySync,
  rowAtDataOffset,
  scanLocalHeaders,
  scanLocalHeadersSync,
  ZIP_QUIRKS,
  ZIP_QUIRKS_BY_CODE,
  type ZipArchive,
  type ZipQuirkCode,
} from "../../../src/containers/zip/zip-reader.js";

const CORPUS = new URL("../../../../shared/corpus/", import.meta.url);
const corpus = (path: string): Uint8Array => new Uint8Array(readFileSync(new URL(path, CORPUS)));
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

// ---- A tiny zip writer with knobs for every irregularity the reader must notice. ----

interface TestEntry {
  name: string;
  nameBytes?: Uint8Array;
  data?: Uint8Array;
  /** 0 stored (default), 8 deflated, anything else written as stored bytes with that method. */
  method?: number;
  flags?: number;
  crc?: number;
  /** Overrides of the central directory's sizes. */
  size?: number;
  compressedSize?: number;
  localName?: string;
  localFlags?: number;
  localMethod?: number;
  localCrc?: number;
  localSizes?: readonly [compressed: number, size: number];
  localExtra?: Uint8Array;
  comment?: string;
  diskStart?: number;
  /** Write 0xffffffff sentinels and a zip64 extra field in the central directory. */
  zip64?: boolean;
  /** Bit 3: write a 16-byte data descriptor after the data. */
  descriptor?: boolean;
  /** Bytes written after this entry (before the next one). */
  gapAfter?: number;
  /** Overrides the local header offset recorded in the central directory. */
  localHeaderOffset?: number;
}

interface TestZip {
  entries: TestEntry[];
  before?: Uint8Array;
  beforeDirectory?: number;
  afterDirectory?: number;
  after?: Uint8Array;
  comment?: Uint8Array;
  commentLength?: number;
  /** Write a zip64 end record and locator; "mismatch" leaves real values in the classic record. */
  zip64?: boolean | "mismatch" | "bad-locator";
  eocd?: { disk?: number; cdDisk?: number; onDisk?: number; total?: number; cdSize?: number; cdOffset?: number };
  /** The entries' order in the central directory (indices into `entries`); default the file order. */
  directoryOrder?: readonly number[];
}

interface Built {
  bytes: Uint8Array;
  localOffsets: number[];
  dataOffsets: number[];
  cdOffset: number;
  cdSize: number;
  eocdOffset: number;
}

function buildZip(z: TestZip): Built {
  const w = new ByteWriter();
  if (z.before) w.bytes(z.before);
  const localOffsets: number[] = [];
  const dataOffsets: number[] = [];
  const payloads: Uint8Array[] = [];
  for (const e of z.entries) {
    const raw = e.data ?? new Uint8Array(0);
    const method = e.method ?? 0;
    const payload = method === 8 ? deflateSync(raw) : raw;
    payloads.push(payload);
    const crc = e.crc ?? crc32(raw);
    const flags = (e.flags ?? 0) | (e.descriptor ? 8 : 0);
    localOffsets.push(w.length);
    const name = e.localName === undefined ? (e.nameBytes ?? utf8(e.name)) : utf8(e.localName);
    const [lc, ls] = e.localSizes ?? (e.descriptor ? [0, 0] : [payload.length, raw.length]);
    w.u32(0x04034b50).u16(20).u16(e.localFlags ?? flags).u16(e.localMethod ?? method).u16(0).u16(0)
      .u32(e.localCrc ?? (e.descriptor ? 0 : crc)).u32(lc).u32(ls)
      .u16(name.length).u16(e.localExtra?.length ?? 0).bytes(name).bytes(e.localExtra ?? new Uint8Array(0));
    dataOffsets.push(w.length);
    w.bytes(payload);
    if (e.descriptor) w.u32(0x08074b50).u32(crc).u32(payload.length).u32(raw.length);
    if (e.gapAfter) w.bytes(new Uint8Array(e.gapAfter).fill(0xee));
  }
  if (z.beforeDirectory) w.bytes(new Uint8Array(z.beforeDirectory));
  const cdOffset = w.length;
  (z.directoryOrder ?? z.entries.map((_, i) => i)).forEach((i) => {
    const e = z.entries[i]!;
    const raw = e.data ?? new Uint8Array(0);
    const method = e.method ?? 0;
    const flags = (e.flags ?? 0) | (e.descriptor ? 8 : 0);
    const name = e.nameBytes ?? utf8(e.name);
    const comment = utf8(e.comment ?? "");
    const compressed = e.compressedSize ?? payloads[i]!.length;
    const size = e.size ?? raw.length;
    const lho = e.localHeaderOffset ?? localOffsets[i]!;
    let extra = new Uint8Array(0);
    if (e.zip64) {
      const x = new ByteWriter().u16(1).u16(24).u64(size).u64(compressed).u64(lho);
      extra = x.finish().slice();
    }
    const s32 = (v: number): number => (e.zip64 ? 0xffffffff : v);
    w.u32(0x02014b50).u16(0x031e).u16(20).u16(flags).u16(method).u16(0).u16(0)
      .u32(e.crc ?? crc32(raw)).u32(s32(compressed)).u32(s32(size))
      .u16(name.length).u16(extra.length).u16(comment.length).u16(e.diskStart ?? 0).u16(0).u32(0).u32(s32(lho))
      .bytes(name).bytes(extra).bytes(comment);
  });
  const cdSize = w.length - cdOffset;
  if (z.afterDirectory) w.bytes(new Uint8Array(z.afterDirectory));
  const n = z.entries.length;
  if (z.zip64) {
    const eocd64 = w.length;
    w.u32(0x06064b50).u64(44).u16(45).u16(45).u32(0).u32(0).u64(n).u64(n).u64(cdSize).u64(cdOffset);
    w.u32(0x07064b50).u32(0).u64(z.zip64 === "bad-locator" ? 0 : eocd64).u32(1);
  }
  const eocdOffset = w.length;
  const big = z.zip64 === true;
  const comment = z.comment ?? new Uint8Array(0);
  w.u32(0x06054b50).u16(z.eocd?.disk ?? 0).u16(z.eocd?.cdDisk ?? 0)
    .u16(z.eocd?.onDisk ?? (big ? 0xffff : n)).u16(z.eocd?.total ?? (big ? 0xffff : n))
    .u32(z.eocd?.cdSize ?? (big ? 0xffffffff : cdSize)).u32(z.eocd?.cdOffset ?? (big ? 0xffffffff : cdOffset))
    .u16(z.commentLength ?? comment.length).bytes(comment);
  if (z.after) w.bytes(z.after);
  return { bytes: w.finish().slice(), localOffsets, dataOffsets, cdOffset, cdSize, eocdOffset };
}

const torchLike = (): TestEntry[] => [
  { name: "archive/data.pkl", data: Uint8Array.of(0x80, 0x02, 0x4b, 0x07, 0x2e) },
  { name: "archive/byteorder", data: utf8("little") },
  { name: "archive/data/0", data: Uint8Array.from({ length: 64 }, (_, i) => i) },
  { name: "archive/version", data: utf8("3\n") },
];


const codes = (zip: ZipArchive | readonly { code: string }[]): string[] => ("quirks" in zip ? zip.quirks : zip).map((q) => q.code);
const asyncOnly = (bytes: Uint8Array): ByteSource => callbackSource(bytes.length, (o, l) => bytes.slice(o, o + l), "remote.pt");

// ---- Tests ----

describe("isZip", () => {
  it("recognizes local headers and empty archives only", () => {
    expect(isZip(utf8("PK\x03\x04rest"))).toBe(true);
    expect(isZip(utf8("PK\x05\x06"))).toBe(true);
    expect(isZip(utf8("PK\x01\x02"))).toBe(false);
    expect(isZip(utf8("PK\x03"))).toBe(false);
    expect(isZip(new Uint8Array(0))).toBe(false);
  });
});

describe("opening a well-formed archive", () => {
  const built = buildZip({ entries: torchLike() });

  it("lists entries in directory order with their fields", () => {
    const zip = openZipSync(bytesSource(built.bytes));
    expect(zip.entries.map((e) => e.name)).toEqual(["archive/data.pkl", "archive/byteorder", "archive/data/0", "archive/version"]);
    expect(zip.prefix).toBe("archive/");
    expect(zip.zip64).toBe(false);
    expect(zip.quirks).toEqual([]);
    expect(zip.centralDirectoryOffset).toBe(built.cdOffset);
    expect(zip.centralDirectorySize).toBe(built.cdSize);
    expect(zip.eocdOffset).toBe(built.eocdOffset);
    const e = zip.entries[2]!;
    expect(e).toMatchObject({ method: 0, flags: 0, size: 64, compressedSize: 64, localHeaderOffset: built.localOffsets[2] });
    expect(e.crc32).toBe(crc32(Uint8Array.from({ length: 64 }, (_, i) => i)));
    expect(text(e.nameBytes)).toBe("archive/data/0");
  });

  it("finds a row by where its data starts, once that is known; never a row whose data starts elsewhere", () => {
    const zip = openZipSync(bytesSource(built.bytes));
    const e = zip.entries[2]!;
    expect(rowAtDataOffset(zip, e.localHeaderOffset + 30 + e.nameBytes.length)).toBe(-1); // not read yet
    const at = entryDataOffsetSync(zip, e);
    expect(rowAtDataOffset(zip, at)).toBe(2);
    for (const off of [at - 1, at + 1, e.localHeaderOffset, 0, built.cdOffset]) expect(rowAtDataOffset(zip, off)).toBe(-1);
    for (const entry of zip.entries) expect(rowAtDataOffset(zip, entryDataOffsetSync(zip, entry))).toBe(zip.entries.indexOf(entry));
  });

  it("finds no row by data offset when the directory is not in local header order", () => {
    const shuffled = buildZip({ entries: torchLike(), directoryOrder: [2, 0, 1, 3] });
    const zip = openZipSync(bytesSource(shuffled.bytes));
    for (const entry of zip.entries) expect(rowAtDataOffset(zip, entryDataOffsetSync(zip, entry))).toBe(-1);
  });

  it("looks records up below the prefix, ignoring ASCII case like torch", () => {
    const zip = openZipSync(bytesSource(built.bytes));
    expect(zip.get("data.pkl")?.name).toBe("archive/data.pkl");
    expect(zip.get("data/0")?.name).toBe("archive/data/0");
    expect(zip.get("DATA.PKL")?.name).toBe("archive/data.pkl");
    expect(zip.get("archive/data.pkl")).toBeUndefined();
    expect(zip.get("data")).toBeUndefined();
    expect(zip.get("__proto__")).toBeUndefined();
  });

  it("reads stored entries as zero-copy views of in-memory input", () => {
    const zip = openZipSync(bytesSource(built.bytes));
    const data = readEntrySync(zip, zip.get("data/0")!);
    expect([...data]).toEqual(Array.from({ length: 64 }, (_, i) => i));
    expect(data.buffer).toBe(built.bytes.buffer);
    expect(data.byteOffset).toBe(built.dataOffsets[2]);
    expect(entryDataOffsetSync(zip, zip.get("data/0")!)).toBe(built.dataOffsets[2]);
    expect(text(readEntrySync(zip, zip.get("byteorder")!))).toBe("little");
  });

  it("gives the same answers through the async path over a copying source", async () => {
    for (const source of [asyncOnly(built.bytes), blobSource(new Blob([built.bytes]))]) {
      const zip = await openZip(source);
      expect(zip.entries).toHaveLength(4);
      expect(zip.prefix).toBe("archive/");
      expect(await entryDataOffset(zip, zip.get("version")!)).toBe(built.dataOffsets[3]);
      expect(text(await readEntry(zip, zip.get("version")!))).toBe("3\n");
      expect(await scanLocalHeaders(zip)).toEqual([]);
    }
  });

  it("opens an archive whose only source is async with openZip, and refuses openZipSync", () => {
    const e = thrown(() => openZipSync(asyncOnly(built.bytes)));
    expect(e).toMatchObject({ code: "invalid-argument", file: "remote.pt" });
  });

  it("reads only the tail, the directory and the needed local header", async () => {
    const big = buildZip({ entries: [{ name: "archive/data.pkl", data: utf8("x") }, { name: "archive/data/0", data: new Uint8Array(200_000) }] });
    const reads: [number, number][] = [];
    const src = callbackSource(big.bytes.length, (o, l) => {
      reads.push([o, l]);
      return big.bytes.slice(o, o + l);
    });
    const zip = await openZip(src);
    await readEntry(zip, zip.get("data.pkl")!);
    const total = reads.reduce((s, [, l]) => s + l, 0);
    expect(total).toBeLessThan(70_000);
    expect(reads.some(([o, l]) => o <= big.dataOffsets[1]! + 1000 && o + l >= big.dataOffsets[1]! + 100_000)).toBe(false);
    // The local header of data.pkl is read once and cached.
    const before = reads.length;
    await readEntry(zip, zip.get("data.pkl")!);
    expect(reads.length).toBe(before + 1);
  });

  it("inflates deflated entries and flags them", () => {
    const data = utf8("hello ".repeat(500));
    const built2 = buildZip({ entries: [{ name: "a/data.pkl", data, method: 8 }] });
    const zip = openZipSync(bytesSource(built2.bytes));
    expect(codes(zip)).toEqual(["compressed-entry"]);
    expect(zip.entries[0]!.compressedSize).toBeLessThan(data.length);
    expect(text(readEntrySync(zip, zip.entries[0]!))).toBe(text(data));
  });

  it("reads archives written by fflate (data descriptors absent) and entries of size zero", () => {
    const bytes = zipSync({ "m/a.txt": utf8("aaa"), "m/empty": new Uint8Array(0), "m/b.bin": [new Uint8Array(1000), { level: 9 }] });
    const zip = openZipSync(bytesSource(bytes));
    expect(zip.prefix).toBe("m/");
    expect(text(readEntrySync(zip, zip.get("a.txt")!))).toBe("aaa");
    expect(readEntrySync(zip, zip.get("empty")!).length).toBe(0);
    expect(readEntrySync(zip, zip.get("b.bin")!)).toEqual(new Uint8Array(1000));
  });

  it("accepts data descriptors after stored data (torch's own writer sets bit 3)", () => {
    const b = buildZip({ entries: torchLike().map((e) => ({ ...e, descriptor: true })) });
    const zip = openZipSync(bytesSource(b.bytes));
    expect(zip.quirks).toEqual([]);
    expect(scanLocalHeadersSync(zip)).toEqual([]);
    expect(readEntrySync(zip, zip.get("data/0")!)[63]).toBe(63);
  });
});

describe("zip64", () => {
  it("resolves sentinel sizes and offsets from the extra field and the zip64 end record", () => {
    const b = buildZip({ entries: torchLike().map((e) => ({ ...e, zip64: true })), zip64: true });
    const zip = openZipSync(bytesSource(b.bytes));
    expect(zip.zip64).toBe(true);
    expect(zip.quirks).toEqual([]);
    expect(zip.entries).toHaveLength(4);
    expect(zip.entries[2]).toMatchObject({ size: 64, compressedSize: 64, localHeaderOffset: b.localOffsets[2] });
    expect(zip.centralDirectoryOffset).toBe(b.cdOffset);
    expect(readEntrySync(zip, zip.get("data/0")!)[10]).toBe(10);
  });

  it("reads an archive beyond 4 GiB through a sparse async source", async () => {
    // A virtual 4 GiB + file: zeros, then a local header past 2^32, its data, the directory and end records.
    const base = 2 ** 32 + 1000;
    const name = utf8("big/data.pkl");
    const data = utf8("\x80\x02K\x2a.");
    const w = new ByteWriter();
    w.u32(0x04034b50).u16(45).u16(0).u16(0).u16(0).u16(0).u32(crc32(data)).u32(data.length).u32(data.length).u16(name.length).u16(0).bytes(name).bytes(data);
    const cd = base + w.length;
    w.u32(0x02014b50).u16(45).u16(45).u16(0).u16(0).u16(0).u16(0).u32(crc32(data)).u32(data.length).u32(data.length)
      .u16(name.length).u16(12).u16(0).u16(0).u16(0).u32(0).u32(0xffffffff).bytes(name).u16(1).u16(8).u64(base);
    const cdSize = base + w.length - cd;
    const eocd64 = base + w.length;
    w.u32(0x06064b50).u64(44).u16(45).u16(45).u32(0).u32(0).u64(1).u64(1).u64(cdSize).u64(cd);
    w.u32(0x07064b50).u32(0).u64(eocd64).u32(1);
    w.u32(0x06054b50).u16(0).u16(0).u16(1).u16(1).u32(cdSize).u32(0xffffffff).u16(0);
    const tail = w.finish();
    const size = base + tail.length;
    const source = callbackSource(size, (offset, length) => {
      const out = new Uint8Array(length);
      const from = Math.max(offset, base);
      if (from < offset + length) out.set(tail.subarray(from - base, offset + length - base), from - offset);
      return out;
    });
    const zip = await openZip(source);
    expect(zip.zip64).toBe(true);
    expect(codes(zip)).toEqual(["data-before-archive"]); // the zeros standing in for other entries
    expect(zip.centralDirectoryOffset).toBe(cd);
    expect(zip.entries[0]).toMatchObject({ name: "big/data.pkl", localHeaderOffset: base, size: data.length });
    expect(await entryDataOffset(zip, zip.get("data.pkl")!)).toBe(base + 30 + name.length);
    expect([...(await readEntry(zip, zip.get("data.pkl")!))]).toEqual([...data]);
    expect(codes(await scanLocalHeaders(zip))).toEqual(["data-before-archive"]);
  });

  it("prefers the zip64 record over disagreeing classic values, and says so", () => {
    const b = buildZip({ entries: torchLike(), zip64: "mismatch", eocd: { total: 3, onDisk: 3 } });
    const zip = openZipSync(bytesSource(b.bytes));
    expect(zip.entries).toHaveLength(4);
    expect(codes(zip)).toEqual(["zip64-eocd-mismatch"]);
  });

  it("ignores a locator that points at no zip64 record", () => {
    const b = buildZip({ entries: torchLike(), zip64: "bad-locator" });
    const zip = openZipSync(bytesSource(b.bytes));
    expect(zip.zip64).toBe(false);
    expect(codes(zip)).toEqual(["zip64-locator-invalid", "directory-gap"]);
  });

  it("reads Python zipfile's force_zip64 output (zip64 extras in the local headers)", () => {
    // zipfile.ZipFile.open(name, "w", force_zip64=True), CPython 3.11: a stored and a deflated entry.
    const hex =
      "504b0304140000000000000021002d769532050000000500000010001400617263686976652f646174612e706b6c010010000500000000000000050000000000000080024b072e504b030414000000080000002100a22462fa09000000000100000e001400617263686976652f646174612f3001001000000100000000000009000000000000004b4c4a4e491cc11800504b01021403140000000000000021002d7695320500000005000000100000000000000000000000800100000000617263686976652f646174612e706b6c504b0102140314000000080000002100a22462fa09000000000100000e0000000000000000000000800147000000617263686976652f646174612f30504b050600000000020002007a000000900000000000";
    const bytes = Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)));
    const zip = openZipSync(bytesSource(bytes));
    expect(zip.prefix).toBe("archive/");
    expect([...readEntrySync(zip, zip.get("data.pkl")!)]).toEqual([0x80, 0x02, 0x4b, 0x07, 0x2e]);
    expect(text(readEntrySync(zip, zip.get("data/0")!))).toBe("abcd".repeat(64));
    expect(codes(scanLocalHeadersSync(zip))).toEqual(["compressed-entry"]);
  });
});

describe("quirks: recorded, not thrown", () => {
  const open = (z: TestZip): ZipArchive => openZipSync(bytesSource(buildZip(z).bytes));
  const one = (z: TestZip, code: ZipQuirkCode): ZipArchive => {
    const zip = open(z);
    expect(codes(zip)).toContain(code);
    const q = zip.quirks.find((x) => x.code === code)!;
    expect(Number.isSafeInteger(q.offset) && q.offset >= 0).toBe(true);
    expect(q.message.length).toBeGreaterThan(5);
    return zip;
  };

  it("flags bits torch's miniz refuses, and still reads the bytes", () => {
    for (const [flags, code] of [[0x1, "encrypted-flag"], [0x20, "patch-flag"], [0x40, "strong-encryption-flag"], [0x2000, "masked-local-header"], [0x4000, "unknown-flags"]] as const) {
      const zip = one({ entries: [{ name: "a/data.pkl", data: utf8("pkl"), flags }] }, code);
      expect(zip.quirks[0]).toMatchObject({ entry: "a/data.pkl" });
      expect(ZIP_QUIRKS_BY_CODE[code].torchLoads).toBe(code === "unknown-flags");
      expect(text(readEntrySync(zip, zip.entries[0]!))).toBe("pkl");
    }
  });

  it("archive-folder problems", () => {
    const noPrefix = one({ entries: [{ name: "data.pkl", data: utf8("x") }, { name: "other/x", data: utf8("y") }] }, "no-prefix");
    expect(noPrefix.prefix).toBe("");
    expect(noPrefix.get("data.pkl")?.name).toBe("data.pkl");
    expect(noPrefix.get("other/x")?.name).toBe("other/x");
    const outside = one({ entries: [...torchLike(), { name: "hidden/payload.pkl", data: utf8("x") }] }, "prefix-mismatch");
    expect(outside.quirks.find((q) => q.code === "prefix-mismatch")?.entry).toBe("hidden/payload.pkl");
    const empty = one({ entries: [] }, "empty-archive");
    expect(empty.entries).toEqual([]);
    expect(empty.get("data.pkl")).toBeUndefined();
  });

  it("duplicate and case-colliding names: get returns the first", () => {
    const dup = one({ entries: [...torchLike(), { name: "archive/data.pkl", data: utf8("second") }] }, "duplicate-name");
    expect(readEntrySync(dup, dup.get("data.pkl")!)[0]).toBe(0x80);
    const cased = one({ entries: [...torchLike(), { name: "archive/DATA.pkl", data: utf8("second") }] }, "case-duplicate");
    expect(cased.get("DATA.pkl")?.name).toBe("archive/DATA.pkl");
    expect(cased.get("data.PKL")?.name).toBe("archive/data.pkl");
  });

  it("caps each code at 100 quirks and then says more were omitted", () => {
    const entries = Array.from({ length: 150 }, () => ({ name: "a/same", data: utf8("x") }));
    const zip = open({ entries });
    expect(codes(zip).filter((c) => c === "duplicate-name")).toHaveLength(100);
    expect(codes(zip).filter((c) => c === "quirks-omitted")).toHaveLength(1);
  });

  it("methods and sizes", () => {
    const unsupported = one({ entries: [{ name: "a/x", data: utf8("abc"), method: 12 }] }, "unsupported-method");
    expect(thrown(() => readEntrySync(unsupported, unsupported.entries[0]!))).toMatchObject({ code: "unsupported", entry: "a/x" });
    const mismatch = one({ entries: [{ name: "a/x", data: utf8("abc"), size: 1 }] }, "stored-size-mismatch");
    expect(thrown(() => readEntrySync(mismatch, mismatch.entries[0]!))).toMatchObject({ code: "bad-archive", entry: "a/x" });
    one({ entries: [{ name: "a/x", data: new Uint8Array(0), size: 5, method: 8, compressedSize: 0 }] }, "missing-compressed-data");
  });

  it("names and comments", () => {
    const bad = Uint8Array.of(0x61, 0x2f, 0xff, 0xfe);
    const zip = one({ entries: [{ name: "", nameBytes: bad, data: utf8("x"), flags: 0x800 }] }, "invalid-utf8-name");
    expect(zip.entries[0]!.name).toBe("a/\xff\xfe");
    const latin = open({ entries: [{ name: "", nameBytes: Uint8Array.of(0x61, 0x2f, 0xe9), data: utf8("x") }] });
    expect(latin.entries[0]!.name).toBe("a/é");
    const utf = open({ entries: [{ name: "a/é", data: utf8("x"), flags: 0x800 }] });
    expect(utf.entries[0]!.name).toBe("a/é");
    expect(utf.get("é")?.name).toBe("a/é");
    one({ entries: [{ name: "a/x", data: utf8("x"), comment: "hi" }] }, "entry-comment");
    one({ entries: torchLike(), comment: utf8("archive comment") }, "comment");
    one({ entries: torchLike(), commentLength: 50 }, "comment-length-mismatch");
  });

  it("end-record irregularities", () => {
    one({ entries: torchLike(), eocd: { onDisk: 3 } }, "eocd-count-mismatch");
    one({ entries: torchLike(), eocd: { disk: 2, cdDisk: 2 } }, "multi-disk");
    one({ entries: [{ name: "a/x", data: utf8("x"), diskStart: 3 }] }, "multi-disk");
  });

  it("bytes around and between entries (polyglots)", () => {
    const before = utf8("%PDF-1.7 not really\n");
    const shifted = buildZip({ entries: torchLike(), before });
    const zip = openZipSync(bytesSource(shifted.bytes));
    expect(codes(zip)).toEqual(["data-before-archive"]);
    expect(zip.quirks[0]!.offset).toBe(0);
    expect(readEntrySync(zip, zip.get("data.pkl")!)[0]).toBe(0x80);
    one({ entries: torchLike(), after: utf8("trailing junk") }, "data-after-archive");
    one({ entries: torchLike(), afterDirectory: 10 }, "directory-gap");
    const unclaimed = open({ entries: torchLike(), beforeDirectory: 10 });
    expect(codes(unclaimed)).toEqual([]);
    expect(codes(scanLocalHeadersSync(unclaimed))).toEqual(["unreferenced-data"]);
  });

  it("overlapping entries, from the directory alone", () => {
    const b = buildZip({ entries: torchLike() });
    const z = buildZip({ entries: [...torchLike(), { name: "archive/alias", data: new Uint8Array(64), localHeaderOffset: b.localOffsets[2]! }] });
    const zip = openZipSync(bytesSource(z.bytes));
    expect(codes(zip)).toContain("overlapping-entries");
  });

  it("local header disagreements are found lazily and recorded once", () => {
    const zip = open({
      entries: [
        { name: "a/n", data: utf8("x"), localName: "a/N" },
        { name: "a/s", data: utf8("xyz"), localSizes: [3, 4] },
        { name: "a/c", data: utf8("x"), localCrc: 1 },
        { name: "a/f", data: utf8("x"), localFlags: 1 },
        { name: "a/m", data: utf8("x"), localMethod: 8 },
      ],
    });
    expect(zip.quirks).toEqual([]);
    readEntrySync(zip, zip.get("n")!);
    readEntrySync(zip, zip.get("n")!);
    expect(codes(zip)).toEqual(["local-name-mismatch"]);
    expect(codes(scanLocalHeadersSync(zip))).toEqual(["local-name-mismatch", "local-size-mismatch", "local-crc-mismatch", "local-header-mismatch", "local-header-mismatch"]);
    expect(codes(scanLocalHeadersSync(zip))).toHaveLength(5);
    // Torch ignores the local header beyond its lengths, and so do we: the data reads normally.
    expect(text(readEntrySync(zip, zip.get("m")!))).toBe("x");
  });

  it("scanLocalHeaders finds unclaimed bytes and overlaps hidden by long local names", () => {
    const gap = open({ entries: [{ name: "a/x", data: utf8("x"), gapAfter: 7 }, { name: "a/y", data: utf8("y") }] });
    expect(codes(gap)).toEqual([]);
    const q = scanLocalHeadersSync(gap);
    expect(codes(q)).toEqual(["unreferenced-data"]);
    expect(q[0]).toMatchObject({ entry: "a/x", offset: buildZip({ entries: [{ name: "a/x", data: utf8("x") }] }).dataOffsets[0]! + 1 });
    const longName = open({ entries: [{ name: "a/x", data: utf8("x"), localExtra: new Uint8Array(40) }, { name: "a/y", data: utf8("y"), gapAfter: 0 }] });
    expect(codes(scanLocalHeadersSync(longName))).toEqual([]);
  });

  it("documents every code it can record", () => {
    const documented = new Set(ZIP_QUIRKS.map((q) => q.code));
    expect(documented.size).toBe(ZIP_QUIRKS.length);
    for (const q of ZIP_QUIRKS) expect(q.doc.length).toBeGreaterThan(20);
  });
});

describe("errors", () => {
  const good = buildZip({ entries: torchLike() });

  it("a file cut short anywhere is truncated (sync and async)", async () => {
    for (let n = 0; n < good.bytes.length; n++) {
      const cut = good.bytes.subarray(0, n);
      const e = thrown(() => openZipSync(bytesSource(cut, "cut.pt")));
      expect(e, `prefix ${n}`).toMatchObject({ name: "CheckpointError", code: "truncated", file: "cut.pt" });
    }
    await expect(openZip(asyncOnly(good.bytes.subarray(0, 100)))).rejects.toMatchObject({ code: "truncated" });
  });

  it("something that is not a zip is a bad archive", () => {
    expect(thrown(() => openZipSync(bytesSource(utf8("hello world, this is not a zip file at all"))))).toMatchObject({ code: "bad-archive", offset: 0 });
    expect(thrown(() => openZipSync(bytesSource(utf8("PK\x03\x05 and more"))))).toMatchObject({ code: "bad-archive" });
  });

  it("a damaged central directory is a bad archive, with the offset", () => {
    const bytes = good.bytes.slice();
    bytes[good.cdOffset + 46 + 8] = 0x44; // inside the first name: harmless ("archive/Data.pkl")
    expect(openZipSync(bytesSource(bytes)).entries).toHaveLength(4);
    const second = good.cdOffset + 46 + "archive/data.pkl".length;
    bytes[second] = 0; // the second header's signature
    expect(thrown(() => openZipSync(bytesSource(bytes)))).toMatchObject({ code: "bad-archive", offset: second });
  });

  it("a directory that points outside the file is a bad archive", () => {
    const cases: TestZip[] = [
      { entries: torchLike(), eocd: { cdOffset: 1_000_000 } },
      { entries: torchLike(), eocd: { cdSize: 10 } },
      { entries: [{ name: "a/x", data: utf8("x"), localHeaderOffset: 5000 }] },
      { entries: [{ name: "a/x", data: utf8("x"), compressedSize: 5000, size: 5000 }] },
    ];
    for (const z of cases) expect(thrown(() => openZipSync(bytesSource(buildZip(z).bytes)))).toMatchObject({ code: "bad-archive" });
  });

  it("a central entry whose local header is missing fails when read, naming the entry", () => {
    const b = buildZip({ entries: [{ name: "a/x", data: utf8("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx") }, { name: "a/y", data: utf8("y"), localHeaderOffset: 35 }] });
    const zip = openZipSync(bytesSource(b.bytes));
    expect(thrown(() => readEntrySync(zip, zip.get("y")!))).toMatchObject({ code: "bad-archive", offset: 35, entry: "a/y" });
    expect(thrown(() => scanLocalHeadersSync(zip))).toMatchObject({ code: "bad-archive" });
    // The archive still answers for the good entry.
    expect(readEntrySync(zip, zip.get("x")!).length).toBe(40);
  });

  it("a local header whose name and extra push the data past the end is a bad archive", () => {
    const b = buildZip({ entries: [{ name: "a/x", data: utf8("x"), localExtra: new Uint8Array(0) }] });
    const bytes = b.bytes.slice();
    new DataView(bytes.buffer).setUint16(b.localOffsets[0]! + 28, 0xffff, true);
    const zip = openZipSync(bytesSource(bytes));
    expect(thrown(() => readEntrySync(zip, zip.entries[0]!))).toMatchObject({ code: "bad-archive", entry: "a/x" });
  });

  it("damaged or lying deflate streams are bad archives; a bomb is refused before inflating", () => {
    const data = utf8("abc".repeat(100));
    const bad = buildZip({ entries: [{ name: "a/x", data, method: 8 }] });
    const bytes = bad.bytes.slice();
    bytes.fill(0xff, bad.dataOffsets[0]!, bad.dataOffsets[0]! + 6);
    const zip = openZipSync(bytesSource(bytes));
    expect(thrown(() => readEntrySync(zip, zip.entries[0]!))).toMatchObject({ code: "bad-archive", entry: "a/x" });

    const short = buildZip({ entries: [{ name: "a/x", data, method: 8, size: 400 }] });
    expect(thrown(() => readEntrySync(openZipSync(bytesSource(short.bytes)), { ...openZipSync(bytesSource(short.bytes)).entries[0]! }))).toMatchObject({ code: "bad-archive" });
    const long = buildZip({ entries: [{ name: "a/x", data, method: 8, size: 200 }] });
    const longZip = openZipSync(bytesSource(long.bytes));
    expect(thrown(() => readEntrySync(longZip, longZip.entries[0]!))).toMatchObject({ code: "bad-archive" });

    const bomb = buildZip({ entries: [{ name: "a/x", data: utf8("x"), method: 8, size: 2 ** 31 }] });
    const bombZip = openZipSync(bytesSource(bomb.bytes));
    expect(thrown(() => readEntrySync(bombZip, bombZip.entries[0]!))).toMatchObject({ code: "limit-exceeded" });
    expect(thrown(() => readEntrySync(bombZip, bombZip.entries[0]!, { maxInflatedSize: 2 ** 32 }))).toMatchObject({ code: "bad-archive" });
    const ok = buildZip({ entries: [{ name: "a/x", data: new Uint8Array(100_000), method: 8 }] });
    const okZip = openZipSync(bytesSource(ok.bytes));
    expect(thrown(() => readEntrySync(okZip, okZip.entries[0]!, { maxInflatedSize: 1000 }))).toMatchObject({ code: "limit-exceeded" });
    expect(readEntrySync(okZip, okZip.entries[0]!).length).toBe(100_000);
  });

  it("honours the entry and directory limits", () => {
    const many = buildZip({ entries: Array.from({ length: 20 }, (_, i) => ({ name: `a/${i}`, data: utf8("x") })) });
    expect(thrown(() => openZipSync(bytesSource(many.bytes), { maxEntries: 10 }))).toMatchObject({ code: "limit-exceeded" });
    expect(thrown(() => openZipSync(bytesSource(many.bytes), { maxDirectoryBytes: 100 }))).toMatchObject({ code: "limit-exceeded" });
    expect(openZipSync(bytesSource(many.bytes), { maxEntries: 20 }).entries).toHaveLength(20);
  });

  it("a hostile entry count cannot make it allocate: the directory must hold 46 bytes per entry", () => {
    const b = buildZip({ entries: torchLike(), eocd: { total: 60000, onDisk: 60000 } });
    expect(thrown(() => openZipSync(bytesSource(b.bytes)))).toMatchObject({ code: "bad-archive" });
  });

  it("only torchsave errors escape", () => {
    const e = thrown(() => openZipSync(bytesSource(utf8("PK\x05\x06"))));
    expect(isTorchsaveError(e)).toBe(true);
  });
});

describe("real files", () => {
  const burn = ["bool", "checkpoint", "complex_nested", "empty", "enum_depthwise_true", "extreme_values", "int16", "large_shape", "mnist", "non_contiguous_indexes", "parameter", "scalar", "special_values", "tensor_4d", "uint8"];

  it("opens every torch.save zip in the burn corpus cleanly", () => {
    for (const name of burn) {
      const zip = openZipSync(bytesSource(corpus(`burn/${name}.pt`), `${name}.pt`));
      expect(zip.prefix, name).toBe(`${name}/`);
      expect(zip.zip64, name).toBe(true); // torch's miniz always writes the zip64 end record
      expect(scanLocalHeadersSync(zip), name).toEqual([]);
      const pkl = readEntrySync(zip, zip.get("data.pkl")!);
      expect([pkl[0], pkl[1], pkl[pkl.length - 1]], name).toEqual([0x80, 0x02, 0x2e]);
      expect(text(readEntrySync(zip, zip.get("byteorder")!)), name).toBe("little");
      for (const e of zip.entries.filter((x) => x.name.startsWith(`${name}/data/`))) {
        // torch pads local extra fields so every storage starts 64-byte aligned.
        expect(entryDataOffsetSync(zip, e) % 64, e.name).toBe(0);
        expect(readEntrySync(zip, e).length).toBe(e.size);
      }
    }
  });

  it("reads the same directory asynchronously", async () => {
    const bytes = corpus("burn/mnist.pt");
    const sync = openZipSync(bytesSource(bytes));
    const zip = await openZip(asyncOnly(bytes));
    expect(zip.entries).toEqual(sync.entries.map((e) => ({ ...e, nameBytes: expect.any(Uint8Array) })));
    const e = zip.get("data/0")!;
    expect(await readEntry(zip, e)).toEqual(readEntrySync(sync, sync.get("data/0")!));
  });

  it("picklescan's flag-bit variants: quirks recorded, directory and record bytes readable", () => {
    for (const [file, code] of [["malicious1_0x20.zip", "patch-flag"], ["malicious1_0x40.zip", "strong-encryption-flag"]] as const) {
      const zip = openZipSync(bytesSource(corpus(`picklescan/${file}`)));
      expect(codes(zip), file).toEqual([code]);
      expect(zip.prefix).toBe("model/");
      const rec = readEntrySync(zip, zip.get("config.pkl")!);
      expect(rec.length).toBe(0x33);
      expect(rec[0]).toBe(0x80); // a pickle: never unpickled here
    }
    const plain = openZipSync(bytesSource(corpus("picklescan/malicious1.zip")));
    expect(codes(plain)).toEqual(["no-prefix"]);
    expect(readEntrySync(plain, plain.get("data.pkl")!).length).toBe(0x33);
  });

  it("modelscan's password-protected zip: encrypted and inconsistent, read refused", () => {
    const zip = openZipSync(bytesSource(corpus("modelscan/password_protected.zip")));
    expect(codes(zip)).toEqual(["encrypted-flag", "stored-size-mismatch", "no-prefix"]);
    expect(zip.entries[0]).toMatchObject({ name: "test.txt", flags: 1, method: 0, compressedSize: 12, size: 0 });
    expect(thrown(() => readEntrySync(zip, zip.entries[0]!))).toMatchObject({ code: "bad-archive", entry: "test.txt" });
  });

  it("tch-rs files with deflated records", () => {
    const zip = openZipSync(bytesSource(corpus("tch-rs/foo.pt")));
    expect(codes(zip).every((c) => c === "compressed-entry")).toBe(true);
    for (const e of zip.entries) expect(readEntrySync(zip, e).length).toBe(e.size);
  });
});
