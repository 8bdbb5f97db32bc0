// Converting checks each storage record's CRC-32 while the writer reads it: every byte of every
// storage record is read once (no pass before the write), and a damaged record still fails with
// crc-mismatch naming file and record, for every output format and every storage path (small
// records written whole, large ones in chunks, JSON's slices of a storage over 3 MiB).
import { describe, expect, it } from "vitest";
import { planConversion, type ConvertOptions } from "../../../src/convert/index.js";
import { openCheckpointSync } from "../../../src/torch/index.js";
import { bytesSource } from "../../../src/bytes/source.js";
import { concatBytes } from "../../../src/bytes/concat.js";
import { countingSource, mixedStorageCheckpoint } from "../../helpers/crc-as-read.js";
import { thrown } from "../../helpers/errors.js";

const FORMATS: ConvertOptions["to"][] = ["pt", "pt-legacy", "safetensors", "json", "msgpack", "pickle"];

function storageRecords(bytes: Uint8Array): { record: string; offset: number; length: number }[] {
  return openCheckpointSync(bytesSource(bytes)).storages.map((s) => ({ record: s.from!.record, offset: s.from!.offset, length: s.from!.length }));
}

describe("convert checks storage CRCs as it reads them", () => {
  const bytes = mixedStorageCheckpoint();
  const records = storageRecords(bytes);

  it.each(FORMATS)("to %s: no storage record is read before the write, each is read exactly once while writing, and the output is the unchecked one", (to) => {
    expect(records.length).toBe(5);
    const { source, reads } = countingSource(bytes, "in.pt");
    const plan = planConversion(source, { to });
    // Opening reads the head (detection, data.pkl) and the tail (the central directory): between
    // them, nothing. (The old pass before the write read every record here.)
    const before = reads.slice();
    const [lo, hi] = [64 * 1024, bytes.length - 128 * 1024];
    let untouched = 0;
    for (const r of records) {
      const part = before.subarray(Math.max(lo, r.offset), Math.max(lo, Math.min(hi, r.offset + r.length)));
      expect(part.every((n) => n === 0), r.record).toBe(true);
      untouched += part.length;
    }
    expect(untouched).toBeGreaterThan(3 * 2 ** 20);
    const out = concatBytes([...plan.chunks]);
    for (const r of records) {
      const after = reads.subarray(r.offset, r.offset + r.length);
      expect(after.every((n, i) => n - before[r.offset + i]! === 1), r.record).toBe(true);
    }
    const unchecked = concatBytes([...planConversion(bytesSource(bytes), { to, verifyCrc: "none" }).chunks]);
    expect(out.length).toBe(unchecked.length);
    expect(out.every((x, i) => x === unchecked[i])).toBe(true);
  });

  for (const victim of ["a", "big", "huge"]) {
    it.each(FORMATS)(`a flipped bit in storage ${victim}: converting to %s fails with crc-mismatch naming file and record`, (to) => {
      const damaged = bytes.slice();
      const ck = openCheckpointSync(bytesSource(bytes));
      const entry = (ck.root as { entries: [string, { storage: { from: { record: string; offset: number; length: number } } }][] }).entries.find(([k]) => k === victim)![1].storage.from;
      damaged[entry.offset + entry.length - 3]! ^= 0x08;
      for (const src of [countingSource(damaged, "bad.pt").source, bytesSource(damaged, "bad.pt")]) {
        const plan = planConversion(src, { to });
        const e = thrown(() => [...plan.chunks]);
        expect(e, to).toMatchObject({ code: "crc-mismatch", file: "bad.pt", entry: entry.record });
        expect((e as Error).message).toMatch(new RegExp(`its ${entry.length} bytes have CRC-32 0x[0-9a-f]{8}, the central directory says 0x`));
      }
      expect(() => [...planConversion(bytesSource(damaged, "bad.pt"), { to, verifyCrc: "none" }).chunks]).not.toThrow();
    });
  }
});
