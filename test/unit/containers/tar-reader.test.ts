import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { thrown } from "../../helpers/errors.js";
import { isTorchsaveError } from "../../../src/errors.js";
import { findTarMember, isTar, readTar } from "../../../src/containers/tar-reader.js";

const CORPUS = new URL("../../../../shared/corpus/", import.meta.url);
const corpus = (path: string): Uint8Array => new Uint8Array(readFileSync(new URL(path, CORPUS)));
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

// ---- A small tar writer: ustar headers with correct checksums, GNU and pax extensions on request. ----

interface Member {
  name: string;
  data?: Uint8Array;
  type?: string;
  prefix?: string;
  /** Write the size as GNU base-256 instead of octal. */
  base256?: boolean;
  /** Corrupt the checksum. */
  badChecksum?: boolean;
  /** Declared size when it should differ from data.length. */
  size?: number;
  magic?: "ustar" | "gnu" | "v7";
}

function header(m: Member): Uint8Array {
  const h = new Uint8Array(512);
  const put = (at: number, s: string): void => h.set(utf8(s), at);
  const data = m.data ?? new Uint8Array(0);
  const size = m.size ?? data.length;
  put(0, m.name);
  put(100, "0000644\0");
  put(108, "0000000\0");
  put(116, "0000000\0");
  if (m.base256) {
    h[124] = 0x80;
    let v = size;
    for (let i = 135; i > 124; i--) (h[i] = v % 256), (v = Math.floor(v / 256));
  } else {
    put(124, size.toString(8).padStart(11, "0") + "\0");
  }
  put(136, "00000000000\0");
  h[156] = (m.type ?? "0").charCodeAt(0);
  if (m.magic !== "v7") {
    put(257, m.magic === "gnu" ? "ustar  \0" : "ustar\x0000");
    put(265, "root");
    put(297, "root");
  }
  if (m.prefix) put(345, m.prefix);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  put(148, (m.badChecksum ? sum + 1 : sum).toString(8).padStart(6, "0") + "\0 ");
  return h;
}

function pad(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.length / 512) * 512);
  out.set(data);
  return out;
}

function pax(records: Record<string, string>): Uint8Array {
  let body = "";
  for (const [k, v] of Object.entries(records)) {
    const rest = ` ${k}=${v}\n`;
    const bytes = utf8(rest).length; // pax lengths count bytes, not characters
    let n = bytes + 1;
    while (String(n).length + bytes !== n) n++;
    body += `${n}${rest}`;
  }
  return utf8(body);
}

function tar(members: Member[], { end = true } = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const m of members) {
    parts.push(header(m));
    if (!["1", "2", "3", "4", "5", "6"].includes(m.type ?? "0")) parts.push(pad(m.data ?? new Uint8Array(0)));
  }
  if (end) parts.push(new Uint8Array(1024));
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
}


describe("readTar", () => {
  it("lists regular members with offsets and zero-copy data", () => {
    const bytes = tar([
      { name: "sys_info", data: utf8("info") },
      { name: "pickle", data: new Uint8Array(700).fill(9) },
      { name: "storages", data: utf8("") },
    ]);
    const members = readTar(bytes);
    expect(members.map((m) => [m.name, m.offset, m.size])).toEqual([
      ["sys_info", 512, 4],
      ["pickle", 1536, 700],
      ["storages", 1536 + 1024 + 512, 0],
    ]);
    expect(text(members[0]!.data)).toBe("info");
    expect(members[1]!.data.buffer).toBe(bytes.buffer);
    expect(members[1]!.data.byteOffset).toBe(1536);
  });

  it("skips directories, links and devices, and old-style 'name/' entries", () => {
    const bytes = tar([
      { name: "dir", type: "5", size: 999 },
      { name: "link", type: "2", size: 10 },
      { name: "old/", type: "\0" },
      { name: "file", data: utf8("x"), type: "\0" },
      { name: "contig", data: utf8("y"), type: "7" },
    ]);
    expect(readTar(bytes).map((m) => m.name)).toEqual(["file", "contig"]);
  });

  it("applies the ustar prefix, GNU long names and pax paths and sizes", () => {
    const long = "d/".repeat(80) + "tensors";
    const bytes = tar([
      { name: "tensors", prefix: "some/dir", data: utf8("p") },
      { name: "././@LongLink", type: "L", data: utf8(long + "\0") },
      { name: "truncated-name", data: utf8("q") },
      { name: "PaxHeaders/x", type: "x", data: pax({ path: "pax/é/name", mtime: "1.5" }) },
      { name: "ignored", data: utf8("r") },
      { name: "after", data: utf8("s") },
    ]);
    expect(readTar(bytes).map((m) => m.name)).toEqual(["some/dir/tensors", long, "pax/é/name", "after"]);
    const sized = tar([{ name: "h", type: "x", data: pax({ size: "3" }) }, { name: "big", data: utf8("abc"), size: 0 }]);
    expect(readTar(sized).map((m) => [m.name, text(m.data)])).toEqual([["big", "abc"]]);
  });

  it("reads base-256 sizes, GNU and V7 magic", () => {
    expect(readTar(tar([{ name: "a", data: utf8("12345"), base256: true }]))[0]!.size).toBe(5);
    expect(readTar(tar([{ name: "g", data: utf8("1"), magic: "gnu" }]))[0]!.name).toBe("g");
    expect(readTar(tar([{ name: "v", data: utf8("1"), magic: "v7" }]))[0]!.name).toBe("v");
  });

  it("stops at the end marker, at a partial zero block, or at a later damaged header (as tarfile)", () => {
    const two = tar([{ name: "a", data: utf8("1") }, { name: "b", data: utf8("2") }]);
    expect(readTar(two.subarray(0, 2048 + 100)).map((m) => m.name)).toEqual(["a", "b"]);
    const damaged = tar([{ name: "a", data: utf8("1") }, { name: "b", data: utf8("2"), badChecksum: true }]);
    expect(readTar(damaged).map((m) => m.name)).toEqual(["a"]);
    expect(readTar(tar([{ name: "a", data: utf8("1") }], { end: false })).map((m) => m.name)).toEqual(["a"]);
    expect(readTar(new Uint8Array(0))).toEqual([]);
  });

  it("refuses a bad first header and malformed sizes as bad-archive", () => {
    expect(thrown(() => readTar(tar([{ name: "a", data: utf8("1"), badChecksum: true }])))).toMatchObject({ name: "CheckpointError", code: "bad-archive", offset: 0 });
    const bytes = tar([{ name: "a", data: utf8("1") }]);
    bytes.set(utf8("9"), 124);
    expect(thrown(() => readTar(bytes))).toMatchObject({ code: "bad-archive" });
    expect(thrown(() => readTar(tar([{ name: "x", type: "x", data: utf8("999 path=a\n") }, { name: "b" }])))).toMatchObject({ code: "bad-archive" });
    expect(thrown(() => readTar(tar([{ name: "x", type: "x", data: pax({ size: "-1" }) }, { name: "b" }])))).toMatchObject({ code: "bad-archive" });
  });

  it("reports data cut short as truncated", () => {
    const bytes = tar([{ name: "a", data: new Uint8Array(2000).fill(1) }]);
    expect(thrown(() => readTar(bytes.subarray(0, 1500)))).toMatchObject({ code: "truncated", offset: 512 });
    expect(thrown(() => readTar(bytes.subarray(0, 300)))).toMatchObject({ code: "truncated", offset: 0 });
  });

  it("never lets anything but torchsave errors escape", () => {
    const seed = tar([{ name: "sys_info", data: utf8("abc") }, { name: "x", type: "x", data: pax({ path: "p", size: "2" }) }, { name: "pickle", data: utf8("de") }]);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(seed.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(seed.length), (edits, cut) => {
        const bytes = seed.slice(0, cut || seed.length);
        for (const [at, v] of edits) if (at < bytes.length) bytes[at] = v;
        try {
          for (const m of readTar(bytes)) expect(m.data.length).toBe(m.size);
        } catch (e) {
          if (!isTorchsaveError(e)) throw e;
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe("findTarMember", () => {
  it("returns the last member of that name, as tarfile.extractfile does", () => {
    const members = readTar(tar([{ name: "pickle", data: utf8("first") }, { name: "pickle", data: utf8("second") }]));
    expect(text(findTarMember(members, "pickle")!.data)).toBe("second");
    expect(findTarMember(members, "tensors")).toBeUndefined();
  });
});

describe("isTar", () => {
  it("accepts ustar magic or a valid checksum, nothing else", () => {
    expect(isTar(tar([{ name: "a" }]))).toBe(true);
    expect(isTar(tar([{ name: "a", magic: "v7" }]))).toBe(true);
    expect(isTar(tar([{ name: "a", magic: "v7", badChecksum: true }]))).toBe(false);
    expect(isTar(new Uint8Array(1024))).toBe(false);
    expect(isTar(tar([{ name: "a" }]).subarray(0, 511))).toBe(false);
    expect(isTar(utf8("x".repeat(600)))).toBe(false);
  });
});

describe("torch's tar checkpoints (burn corpus)", () => {
  it("lists the members torch <= 0.1.9 wrote", () => {
    const expected: Record<string, [string, number][]> = {
      tar_weight_bias: [["sys_info", 116], ["pickle", 290], ["storages", 119]],
      tar_float32: [["sys_info", 116], ["pickle", 160], ["storages", 62]],
      tar_int64: [["sys_info", 116], ["pickle", 159], ["storages", 77]],
    };
    for (const [file, want] of Object.entries(expected)) {
      const bytes = corpus(`burn/${file}.tar`);
      expect(isTar(bytes), file).toBe(true);
      const members = readTar(bytes);
      expect(members.map((m) => [m.name, m.size]), file).toEqual(want);
      // Each member's data starts right after its 512-byte header; sys_info is a protocol-2 pickle.
      expect(members[0]!.offset).toBe(512);
      expect([members[0]!.data[0], members[0]!.data[1]]).toEqual([0x80, 0x02]);
    }
  });
});
