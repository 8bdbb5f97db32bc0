// The directory kept as columns (zip-table.ts): entry objects only on demand, the same object each
// time, and the reader's per-row fast path for local headers agreeing with the general one.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bytesSource } from "../../../src/bytes/source.js";
import { entryDataOffsetSync, openZipSync, readCheckpoint, zipRecordsSync } from "../../../src/torch/index.js";
import { cleanLocalDataOffset } from "../../../src/containers/zip/zip-local.js";
import { zipTable } from "../../../src/containers/zip/zip-reader.js";

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../../../fixtures/torch/${name}`, import.meta.url)));
const text = (s: string) => new TextEncoder().encode(s);
const builtCount = (zip: Parameters<typeof zipTable>[0]) => zipTable(zip)!.built.filter((e) => e !== undefined).length;

/** Replaces the first occurrence of `from` at or after `start` with `to` (same length), in place. */
function patch(bytes: Uint8Array, from: Uint8Array, to: Uint8Array, start = 0): number {
  for (let i = start; i + from.length <= bytes.length; i++) {
    if (from.every((b, j) => bytes[i + j] === b)) {
      bytes.set(to, i);
      return i;
    }
  }
  throw new Error("pattern not found");
}

describe("zip directory columns", () => {
  it("reading a checkpoint builds entry objects only for the records it looks up by name", () => {
    const ckpt = readCheckpoint(fixture("full-checkpoint.pt"));
    const zip = ckpt.zip!;
    const table = zipTable(zip)!;
    expect(ckpt.storages.length).toBeGreaterThan(10);
    // The text records and data.pkl at most; none per storage.
    expect(builtCount(zip)).toBeLessThanOrEqual(8);
    expect(table.count).toBeGreaterThan(ckpt.storages.length);
    // Each storage still names its record.
    for (const s of ckpt.storages) expect(s.from?.record).toBe(`${zip.prefix}data/${s.key}`);
  });

  it("hands out one object per entry, whichever way it is reached", () => {
    const zip = openZipSync(bytesSource(fixture("full-checkpoint.pt")));
    const viaGet = zip.get("data.pkl")!;
    const list = zip.entries;
    expect(list).toBe(zip.entries);
    expect(list.length).toBe(zipTable(zip)!.count);
    expect(list).toContain(viaGet);
    expect(zip.get("DATA.PKL")).toBe(viaGet);
    expect(list.map((e) => e.name)).toContain(`${zip.prefix}data.pkl`);
  });

  it("the fast local-header path gives every entry the offset the general path gives", () => {
    for (const name of ["full-checkpoint.pt", "deflated.pt", "dtypes.pt", "big-endian.pt"]) {
      const bytes = fixture(name);
      const fast = openZipSync(bytesSource(bytes));
      const slow = openZipSync(bytesSource(bytes));
      const table = zipTable(fast)!;
      for (let row = 0; row < table.count; row++) {
        expect(cleanLocalDataOffset(bytes, 0, bytes.length, table, row)).toBe(entryDataOffsetSync(slow, slow.entries[row]!));
      }
    }
  });

  it("a local header that disagrees takes the general path, which records the quirk", () => {
    const bytes = zipRecordsSync([
      { name: "ck/data.pkl", data: oneTensorPkl() },
      { name: "ck/data/0", data: new Uint8Array(new Float32Array([1.5]).buffer) },
    ]);
    // Rename the storage record in its local header only: "ck/data/0" -> "ck/data/9".
    patch(bytes, text("ck/data/0"), text("ck/data/9"));
    const table = zipTable(openZipSync(bytesSource(bytes)))!;
    expect(cleanLocalDataOffset(bytes, 0, bytes.length, table, 1)).toBe(-1);
    const ckpt = readCheckpoint(bytes);
    expect(ckpt.zip!.quirks.map((q) => q.code)).toContain("local-name-mismatch");
    expect(Array.from(new Float32Array(ckpt.storages[0]!.data!.slice().buffer))).toEqual([1.5]);
  });

  it("names that are not ASCII keep their UTF-8 reading without an entry object per name", () => {
    const zip = openZipSync(bytesSource(zipRecordsSync([{ name: "ü/data.pkl", data: text("x") }, { name: "ü/é", data: text("y") }])));
    expect(zip.prefix).toBe("ü/");
    expect(zip.entries.map((e) => e.name)).toEqual(["ü/data.pkl", "ü/é"]);
    expect(zip.get("é")?.name).toBe("ü/é");
  });
});

/** A one-tensor state_dict pickle naming storage "0", opcode for opcode as torch.save writes it. */
function oneTensorPkl(): Uint8Array {
  // PROTO 2, {"w": _rebuild_tensor_v2(("storage", FloatStorage, "0", "cpu", 1), 0, (1,), (1,), False, OrderedDict())}
  const parts = [
    "\x80\x02}q\x00X\x01\x00\x00\x00wq\x01ctorch._utils\n_rebuild_tensor_v2\nq\x02((X\x07\x00\x00\x00storageq\x03ctorch\nFloatStorage\nq\x04X\x01\x00\x00\x000q\x05X\x03\x00\x00\x00cpuq\x06K\x01tq\x07QK\x00K\x01\x85q\x08K\x01\x85q\x09\x89ccollections\nOrderedDict\nq\x0a)Rq\x0btq\x0cRq\x0ds.",
  ];
  return Uint8Array.from(parts.join(""), (c) => c.charCodeAt(0));
}
