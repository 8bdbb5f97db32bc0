// CRC-32 checks of the zip records readers use: stored and deflated records, which records each
// mode checks, and the typed error that names file and record.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bytesSource } from "../../../../src/bytes/source.js";
import { convertBytes, planConversion, readAnySync } from "../../../../src/convert/index.js";
import { isTorchsaveError } from "../../../../src/errors.js";
import { openCheckpointSync, storageBytesSync, verifyRecordCrcsAsRead, verifyRecordCrcsSync } from "../../../../src/torch/index.js";
import { pendingRecordCrc } from "../../../../src/torch/record-crc.js";
import { REPO } from "../../../helpers/corpus.js";

const fixture = (name: string) => new Uint8Array(readFileSync(join(REPO, "fixtures/torch", name)));

/** The data offset of the local record named `name` (searching local headers). */
function dataOffset(bytes: Uint8Array, name: string): number {
  const want = new TextEncoder().encode(name);
  for (let i = 0; i + 30 < bytes.length; i++) {
    if (bytes[i] !== 0x50 || bytes[i + 1] !== 0x4b || bytes[i + 2] !== 3 || bytes[i + 3] !== 4) continue;
    const n = bytes[i + 26]! | (bytes[i + 27]! << 8);
    const e = bytes[i + 28]! | (bytes[i + 29]! << 8);
    if (n === want.length && want.every((b, k) => bytes[i + 30 + k] === b)) return i + 30 + n + e;
  }
  throw new Error(`no record ${name}`);
}

function caught(run: () => unknown): unknown {
  try {
    run();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("verifyRecordCrcsSync", () => {
  it("passes every record of real torch files", () => {
    for (const name of ["full-checkpoint.pt", "deflated.pt", "zip64.pt", "torchscript.pt", "newest-layout.pt"]) {
      const ck = openCheckpointSync(bytesSource(fixture(name), name));
      expect(() => verifyRecordCrcsSync(ck), name).not.toThrow();
    }
  });

  it("a flipped bit in a stored storage: crc-mismatch naming file and record; only 'all' reads storages", () => {
    const bytes = fixture("full-checkpoint.pt");
    bytes[dataOffset(bytes, "full-checkpoint/data/28") + 100]! ^= 1;
    const ck = openCheckpointSync(bytesSource(bytes, "fc.pt"));
    const e = caught(() => verifyRecordCrcsSync(ck, { records: "all" }));
    expect(isTorchsaveError(e)).toBe(true);
    expect(e).toMatchObject({ code: "crc-mismatch", entry: "full-checkpoint/data/28", file: "fc.pt" });
    expect((e as Error).message).toMatch(/5056 bytes have CRC-32 0x[0-9a-f]{8}, the central directory says 0x/);
    expect(() => verifyRecordCrcsSync(ck, { records: "metadata" })).not.toThrow();
    expect(() => verifyRecordCrcsSync(ck, { records: "none" })).not.toThrow();
    // Through the converters: reading opens fine, converting refuses unless told otherwise.
    expect(() => readAnySync(bytesSource(bytes, "fc.pt"))).not.toThrow();
    expect(caught(() => readAnySync(bytesSource(bytes, "fc.pt"), { verifyCrc: "all" }))).toMatchObject({ code: "crc-mismatch" });
    // The storage's record is checked as the writer reads it (no pass before): the error comes while the chunks are made.
    const plan = planConversion(bytesSource(bytes, "fc.pt"), { to: "json" });
    expect(caught(() => [...plan.chunks])).toMatchObject({ code: "crc-mismatch", file: "fc.pt", entry: "full-checkpoint/data/28" });
    expect(caught(() => convertBytes(bytes, { to: "pt" }))).toMatchObject({ code: "crc-mismatch", entry: "full-checkpoint/data/28" });
    expect(convertBytes(bytes, { to: "pt", verifyCrc: "none" }).length).toBeGreaterThan(0);
  });

  it("a damaged deflated record fails (as a CRC mismatch or a damaged stream), never silently", () => {
    const bytes = fixture("deflated.pt");
    const ck0 = openCheckpointSync(bytesSource(bytes));
    const record = ck0.storages.find((s) => s.from?.compression === "deflate")!.from!;
    bytes[record.offset + Math.floor(record.length / 2)]! ^= 0x40;
    const ck = openCheckpointSync(bytesSource(bytes, "d.pt"));
    const e = caught(() => verifyRecordCrcsSync(ck));
    expect(isTorchsaveError(e), String(e)).toBe(true);
    expect(["crc-mismatch", "bad-archive"]).toContain((e as { code: string }).code);
    expect(e).toMatchObject({ entry: record.record });
  });

  it("a damaged data.pkl is caught by the default ('metadata') check of readAnySync", () => {
    const bytes = fixture("full-checkpoint.pt");
    const text = new TextDecoder("latin1").decode(bytes);
    bytes[text.indexOf("fc1.weight")]! ^= 0x20;
    expect(caught(() => readAnySync(bytesSource(bytes, "p.pt")))).toMatchObject({ code: "crc-mismatch", entry: "full-checkpoint/data.pkl", file: "p.pt" });
    expect(() => readAnySync(bytesSource(bytes, "p.pt"), { verifyCrc: "none" })).not.toThrow();
  });

  it("layouts without CRCs (legacy, plain pickle) pass", () => {
    for (const name of ["full-checkpoint.legacy.pt", "plain.p3.pkl"]) {
      expect(() => readAnySync(bytesSource(fixture(name)), { verifyCrc: "all" })).not.toThrow();
    }
  });
});

/** `bytes` with its central directory's headers in reverse order (same records, same offsets). */
function reversedDirectory(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  let eocd = out.length - 22;
  while (view.getUint32(eocd, true) !== 0x06054b50) eocd--;
  const start = view.getUint32(eocd + 16, true);
  const size = view.getUint32(eocd + 12, true);
  const headers: Uint8Array[] = [];
  for (let at = start; at < start + size;) {
    const length = 46 + view.getUint16(at + 28, true) + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    headers.push(bytes.slice(at, at + length));
    at += length;
  }
  let at = start;
  for (const h of headers.reverse()) {
    out.set(h, at);
    at += h.length;
  }
  return out;
}

describe("verifyRecordCrcsAsRead", () => {
  for (const [what, arrange] of [["directory in file order", (b: Uint8Array) => b], ["directory in reverse order", reversedDirectory]] as const) {
    it(`${what}: arms every storage with its own record's CRC-32 and size, and a flipped bit fails when the storage is read`, () => {
      const bytes = arrange(fixture("full-checkpoint.pt"));
      const ck = openCheckpointSync(bytesSource(bytes, "fc.pt"));
      verifyRecordCrcsAsRead(ck);
      expect(ck.storages.length).toBeGreaterThan(3);
      for (const s of ck.storages) {
        const e = ck.zip!.get(s.from!.record.slice(ck.zip!.prefix.length))!;
        expect(pendingRecordCrc(s), s.from!.record).toMatchObject({ expected: e.crc32, size: e.size, file: "fc.pt" });
      }
      const damaged = bytes.slice();
      damaged[dataOffset(damaged, "full-checkpoint/data/28") + 100]! ^= 1;
      const bad = openCheckpointSync(bytesSource(damaged, "fc.pt"));
      verifyRecordCrcsAsRead(bad);
      const victim = bad.storages.find((s) => s.from!.record === "full-checkpoint/data/28")!;
      expect(caught(() => storageBytesSync(victim))).toMatchObject({ code: "crc-mismatch", file: "fc.pt", entry: "full-checkpoint/data/28" });
      for (const s of bad.storages) if (s !== victim) expect(() => storageBytesSync(s), s.from!.record).not.toThrow();
    });
  }

  it("a storage is checked once, then disarmed; two checkpoints opened over one source both stay armed", () => {
    const source = bytesSource(fixture("full-checkpoint.pt"), "fc.pt");
    const first = openCheckpointSync(source);
    verifyRecordCrcsAsRead(first);
    const second = openCheckpointSync(source);
    verifyRecordCrcsAsRead(second);
    for (const ck of [first, second]) for (const s of ck.storages) expect(pendingRecordCrc(s), s.from!.record).toBeDefined();
    const s = first.storages[0]!;
    storageBytesSync(s);
    expect(pendingRecordCrc(s)).toBeUndefined();
    expect(pendingRecordCrc(first.storages[1]!)).toBeDefined();
    expect(pendingRecordCrc(second.storages[0]!)).toBeDefined();
  });

  it("a deflated storage is armed with its record's CRC-32 of the inflated bytes", () => {
    const ck = openCheckpointSync(bytesSource(fixture("deflated.pt")));
    verifyRecordCrcsAsRead(ck);
    const s = ck.storages.find((x) => x.from?.compression === "deflate")!;
    const e = ck.zip!.get(s.from!.record.slice(ck.zip!.prefix.length))!;
    expect(pendingRecordCrc(s)).toMatchObject({ expected: e.crc32, size: e.size });
    expect(() => storageBytesSync(s)).not.toThrow();
    expect(pendingRecordCrc(s)).toBeUndefined();
  });
});
