// The multi-file outputs (Hugging Face shards + index, a DCP folder) check each storage record's
// CRC-32 while their writers read it, as the single-file writers do (test/unit/convert/crc-as-read):
// no storage byte is read before the write, each is read exactly once while the files are made,
// the output is the one an unchecked conversion makes, and a damaged record fails with
// crc-mismatch naming file and record.
import { describe, expect, it } from "vitest";
import type { ByteSource } from "../../../src/bytes/source.js";
import { bytesSource } from "../../../src/bytes/source.js";
import { concatBytes } from "../../../src/bytes/concat.js";
import { readAnyForConversion, type ReadAnyOptions, type ReadAnyResult } from "../../../src/convert/index.js";
import { planDcp, shardOutputFiles } from "../../../src/distributed/index.js";
import type { Storage } from "../../../src/torch/index.js";
import { openCheckpointSync, walkTensors } from "../../../src/torch/index.js";
import { countingSource, mixedStorageCheckpoint } from "../../helpers/crc-as-read.js";
import { thrown } from "../../helpers/errors.js";

type Output = "safetensors shards" | "pt shards" | "dcp";
const OUTPUTS: Output[] = ["safetensors shards", "pt shards", "dcp"];

/** Every file of the output, in the order the CLI writes them, as one list of byte arrays. */
function writeAll(source: ByteSource, output: Output, options: ReadAnyOptions = {}): Uint8Array[] {
  return writeFrom(readAnyForConversion(source, options), output);
}

function writeFrom(input: ReadAnyResult, output: Output): Uint8Array[] {
  if (output === "dcp") {
    const plan = planDcp(input.root);
    const data = concatBytes([...plan.data]);
    return [data, plan.metadata()];
  }
  const to = output === "pt shards" ? "pt" : "safetensors";
  return shardOutputFiles(input, 300_000, to, () => ({ to })).map((f) => concatBytes([...f.chunks()]));
}

function records(bytes: Uint8Array): { key: string; record: string; offset: number; length: number }[] {
  const ck = openCheckpointSync(bytesSource(bytes));
  return [...walkTensors(ck.root)].map(({ path, tensor: t }) => ({ key: String(path[0]), record: t.storage!.from!.record, offset: t.storage!.from!.offset, length: t.storage!.from!.length }));
}

describe("multi-file outputs check storage CRCs as they read them", () => {
  const bytes = mixedStorageCheckpoint();
  const recs = records(bytes);

  it.each(OUTPUTS)("%s: no storage record is read before the files are made, each is read exactly once while they are, and the output is the unchecked one", (output) => {
    expect(recs.length).toBe(5);
    const { source, reads } = countingSource(bytes, "in.pt");
    const input = readAnyForConversion(source);
    // Opening reads the head (detection, data.pkl) and the tail (the central directory): nothing between.
    const before = reads.slice();
    const [lo, hi] = [64 * 1024, bytes.length - 128 * 1024];
    let untouched = 0;
    for (const r of recs) {
      const part = before.subarray(Math.max(lo, r.offset), Math.max(lo, Math.min(hi, r.offset + r.length)));
      expect(part.every((n) => n === 0), r.record).toBe(true);
      untouched += part.length;
    }
    expect(untouched).toBeGreaterThan(3 * 2 ** 20);
    const files = writeFrom(input, output);
    if (output !== "dcp") expect(files.length).toBeGreaterThan(2); // several shards and the index
    for (const r of recs) {
      const after = reads.subarray(r.offset, r.offset + r.length);
      expect(after.every((n, i) => n - before[r.offset + i]! === 1), r.record).toBe(true);
    }
    const unchecked = writeAll(bytesSource(bytes), output, { verifyCrc: "none" });
    expect(files.map((f) => f.length)).toEqual(unchecked.map((f) => f.length));
    expect(files.every((f, k) => f.every((x, i) => x === unchecked[k]![i]))).toBe(true);
  });

  it("dcp: no storage read lazily keeps its bytes once its item is written (one in memory at a time)", () => {
    const input = readAnyForConversion(countingSource(bytes, "in.pt").source);
    const storages: Storage[] = [...walkTensors(input.root)].map(({ tensor: t }) => t.storage!);
    const plan = planDcp(input.root);
    // Each item is yielded once written: its storage keeps no copy, and no other is loaded yet.
    let items = 0;
    for (const _ of plan.data) {
      items++;
      expect(storages.filter((s) => s.data !== undefined)).toEqual([]);
    }
    expect(items).toBe(5);
    expect(storages.every((s) => s.data === undefined)).toBe(true);
    // An in-memory input's storages are views: whatever they held before, they hold after.
    const mem = readAnyForConversion(bytesSource(bytes));
    for (const { tensor: t } of walkTensors(mem.root)) t.storage!.data = new Uint8Array(t.storage!.byteLength);
    [...planDcp(mem.root).data];
    expect([...walkTensors(mem.root)].every(({ tensor: t }) => t.storage!.data !== undefined)).toBe(true);
  });

  for (const victim of ["a", "big", "huge", "c"]) {
    it.each(OUTPUTS)(`a flipped bit in storage ${victim}: %s fails with crc-mismatch naming file and record`, (output) => {
      const rec = recs.find((r) => r.key === victim)!;
      const damaged = bytes.slice();
      damaged[rec.offset + rec.length - 3]! ^= 0x08;
      for (const src of [countingSource(damaged, "bad.pt").source, bytesSource(damaged, "bad.pt")]) {
        const e = thrown(() => writeAll(src, output));
        expect(e, output).toMatchObject({ code: "crc-mismatch", file: "bad.pt", entry: rec.record });
        expect((e as Error).message).toMatch(new RegExp(`its ${rec.length} bytes have CRC-32 0x[0-9a-f]{8}, the central directory says 0x`));
      }
      expect(() => writeAll(bytesSource(damaged, "bad.pt"), output, { verifyCrc: "none" })).not.toThrow();
    });
  }
});
