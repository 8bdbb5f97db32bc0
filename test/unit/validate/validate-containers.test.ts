import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { bytesSource } from "../../../src/bytes/source.js";
import { validateCheckpoint, validateCheckpointAsync } from "../../../src/validate/index.js";
import type { FindingCode, ValidationReport } from "../../../src/validate/index.js";
import { REPO } from "../../helpers/corpus.js";
import { asm, callPickle, op } from "./pickle-asm.js";

const fixture = (name: string) => new Uint8Array(readFileSync(join(REPO, "fixtures/torch", name)));
const codes = (r: ValidationReport) => r.findings.map((f) => f.code);
const serious = (r: ValidationReport) => r.findings.filter((f) => f.severity !== "info");
const find = (r: ValidationReport, code: FindingCode) => r.findings.filter((f) => f.code === code);
const enc = (s: string) => new TextEncoder().encode(s);

/** data.pkl for {"w": tensor(size) over storage "0" of `numel` floats}. */
function dataPkl(numel: number, size = numel, key = "0"): Uint8Array {
  return asm(
    op.proto(2), op.emptyDict, op.unicode("w"), op.global("torch._utils", "_rebuild_tensor_v2"),
    op.mark, op.mark, op.unicode("storage"), op.global("torch", "FloatStorage"), op.unicode(key), op.unicode("cpu"),
    op.binint(numel), op.tuple, op.binpersid, op.binint1(0), op.binint(size), op.tuple1, op.binint1(1), op.tuple1, op.false,
    op.global("collections", "OrderedDict"), op.emptyTuple, op.reduce, op.tuple, op.reduce, op.setitem, op.stop,
  );
}

function torchZip(records: Record<string, Uint8Array>): Uint8Array {
  const files: Record<string, [Uint8Array, { level: 0 }]> = {};
  for (const [name, data] of Object.entries(records)) files[`archive/${name}`] = [data, { level: 0 }];
  return zipSync(files);
}

const floats = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);

describe("zip checkpoints", () => {
  it("finds nothing wrong with a checkpoint torch wrote", () => {
    const r = validateCheckpoint(fixture("protocol-2.pt"), { name: "protocol-2.pt" });
    expect(serious(r)).toEqual([]);
    expect(r).toMatchObject({ readable: true, container: "zip", layout: "zip", file: "protocol-2.pt" });
    expect(r.imports.every((i) => i.class === "allowed")).toBe(true);
    expect(r.tensors.length).toBeGreaterThan(0);
    expect(r.tensors.every((t) => t.scanned)).toBe(true);
  });

  it("catches a flipped byte in a storage record by its CRC", () => {
    const bytes = fixture("protocol-2.pt");
    const at = findRecordData(bytes, "protocol-2/data/0");
    bytes[at] = bytes[at]! ^ 0x10;
    const r = validateCheckpoint(bytes);
    expect(find(r, "crc-mismatch")).toEqual([expect.objectContaining({ severity: "error", where: { record: "protocol-2/data/0" } })]);
  });

  it("checks the text records and storage records against data.pkl", () => {
    const good = validateCheckpoint(torchZip({ "data.pkl": dataPkl(2), "data/0": floats(1, 2), version: enc("3\n") }));
    expect(serious(good)).toEqual([]);
    const r = validateCheckpoint(torchZip({
      "data.pkl": dataPkl(4), "data/0": floats(1, 2), "data/9": floats(3), byteorder: enc("middle"),
    }));
    expect(codes(r)).toEqual(expect.arrayContaining([
      "bad-version-record", "bad-byteorder-record", "storage-record-short", "storage-record-unreferenced",
    ]));
    const missing = validateCheckpoint(torchZip({ "data.pkl": dataPkl(2, 2, "7"), version: enc("3") }));
    expect(find(missing, "storage-record-missing")[0]?.where.record).toBe("archive/data.pkl");
    const noPickle = validateCheckpoint(torchZip({ "data/0": floats(1, 2), version: enc("3") }));
    expect(codes(noPickle)).toContain("record-missing");
  });

  it("reports a tensor reaching outside its storage", () => {
    const r = validateCheckpoint(torchZip({ "data.pkl": dataPkl(2, 10), "data/0": floats(1, 2), version: enc("3") }));
    expect(find(r, "tensor-out-of-bounds")).toEqual([expect.objectContaining({ where: expect.objectContaining({ keyPath: ["w"] }) })]);
  });

  it("counts NaN and Inf per tensor", () => {
    const r = validateCheckpoint(torchZip({ "data.pkl": dataPkl(4), "data/0": floats(NaN, 1, Infinity, -Infinity), version: enc("3") }));
    expect(r.tensors).toEqual([expect.objectContaining({ path: ["w"], nan: 1, posInf: 1, negInf: 1, scanned: true })]);
    expect(find(r, "tensor-non-finite")[0]?.message).toMatch(/1 NaN, 1 \+Inf, 1 -Inf among 4 float32/);
  });

  it("names the dangerous global in a malicious data.pkl and answers weights_only", () => {
    const r = validateCheckpoint(torchZip({ "data.pkl": callPickle("posix", "system"), version: enc("3") }), { weightsOnly: true });
    expect(find(r, "global-dangerous")[0]).toMatchObject({ where: { record: "archive/data.pkl", byteOffset: 2 } });
    expect(find(r, "global-dangerous")[0]!.message).toMatch(/posix\.system/);
    expect(r.weightsOnly?.accepted).toBe(false);
    expect(r.weightsOnly?.blockers.map((b) => b.message).join("\n")).toMatch(/posix is blocked/);
  });

  it("finds a pickle appended after the archive (a polyglot)", () => {
    const zip = fixture("protocol-2.pt");
    const payload = callPickle("os", "system", "id");
    const bytes = new Uint8Array(zip.length + payload.length);
    bytes.set(zip);
    bytes.set(payload, zip.length);
    const r = validateCheckpoint(bytes);
    expect(codes(r)).toEqual(expect.arrayContaining(["zip-data-after-archive", "embedded-pickle", "global-dangerous"]));
    expect(find(r, "embedded-pickle")[0]?.where.byteOffset).toBe(zip.length);
  });

  it("recovers entries from a zip cut short and still scans data.pkl", () => {
    const zip = torchZip({ "data.pkl": callPickle("subprocess", "run"), version: enc("3") });
    const cut = zip.subarray(0, zip.length - 40);
    const r = validateCheckpoint(cut);
    expect(codes(r)).toEqual(expect.arrayContaining(["zip-truncated", "zip-recovered-entry", "global-dangerous"]));
    expect(find(r, "global-dangerous")[0]?.where.record).toBe("archive/data.pkl (recovered)");
  });

  it("reports zip flag tricks and scans pickle-named entries of any zip", () => {
    const zip = zipSync({ "model/config.pkl": [callPickle("builtins", "eval"), { level: 0 }] });
    const central = lastIndexOf(zip, [0x50, 0x4b, 0x01, 0x02]);
    zip[central + 8] = zip[central + 8]! | 0x40; // strong encryption flag in the central directory
    const r = validateCheckpoint(zip);
    expect(codes(r)).toEqual(expect.arrayContaining(["zip-strong-encryption-flag", "global-dangerous"]));
  });

  it("reads deflated records and checks their CRCs", () => {
    const r = validateCheckpoint(fixture("deflated.pt"));
    expect(r.findings.filter((f) => f.severity === "error")).toEqual([]);
    expect(codes(r)).toContain("zip-compressed-entry");
  });
});

describe("other layouts", () => {
  it("checks legacy files, their storages and what follows them", () => {
    const bytes = fixture("views.legacy.pt");
    expect(serious(validateCheckpoint(bytes))).toEqual([]);
    const cut = validateCheckpoint(bytes.subarray(0, bytes.length - 3));
    expect(codes(cut)).toContain("legacy-storage-truncated");
    const longer = new Uint8Array(bytes.length + 8);
    longer.set(bytes);
    expect(codes(validateCheckpoint(longer))).toContain("trailing-data");
  });

  it("checks the gzip trailer and refuses gzip for weights_only", () => {
    const bytes = fixture("plain.p2.pkl.gz");
    const clean = validateCheckpoint(bytes, { weightsOnly: "1.13", allowTarget: "current" });
    expect(clean.findings.filter((f) => f.severity === "error").map((f) => f.code)).toEqual(["weights-only-format"]);
    // The allow-list follows the torch target: torch 1.13's weights_only has no _codecs.encode.
    const old = validateCheckpoint(bytes, { weightsOnly: "1.13" });
    expect(find(old, "global-unknown").map((f) => f.message)).toEqual([expect.stringMatching(/_codecs\.encode: not on the allow-list/)]);
    expect(clean.compression).toBe("gzip");
    const flipped = bytes.slice();
    flipped[flipped.length - 6] = flipped[flipped.length - 6]! ^ 1;
    expect(codes(validateCheckpoint(flipped))).toContain("gzip-crc-mismatch");
    expect(codes(validateCheckpoint(bytes.subarray(0, bytes.length - 20)))).toContain("gzip-truncated");
    const junk = new Uint8Array(bytes.length + 5);
    junk.set(bytes);
    expect(codes(validateCheckpoint(junk))).toContain("gzip-trailing-data");
    const twice = gzipSync(bytes);
    expect(codes(validateCheckpoint(twice))).toContain("gzip-nested");
  });

  it("follows bytes handed to a loader into a nested pickle", () => {
    const inner = callPickle("os", "system");
    const outer = asm(op.proto(3), op.global("torch.storage", "_load_from_bytes"), op.binbytes(inner), op.tuple1, op.reduce, op.stop);
    const r = validateCheckpoint(outer);
    expect(codes(r)).toEqual(expect.arrayContaining(["nested-pickle", "global-dangerous"]));
    const dangerous = find(r, "global-dangerous")[0]!;
    expect(dangerous.where).toEqual({ record: "pickle bytes@39", byteOffset: 2 });
  });

  it("stops following nested pickles at the depth limit", () => {
    let p = callPickle("os", "system");
    for (let i = 0; i < 5; i++) p = asm(op.proto(3), op.global("pickle", "loads"), op.binbytes(p), op.tuple1, op.reduce, op.stop);
    const r = validateCheckpoint(p, { maxNestedDepth: 2 });
    expect(codes(r)).toContain("nested-depth-exceeded");
  });

  it("scans the pickle of a numpy object array", () => {
    const header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }";
    const padded = header.padEnd(118, " ") + "\n";
    const npy = asm([0x93, ...enc("NUMPY"), 1, 0, padded.length, 0], enc(padded), callPickle("ssl", "get_server_certificate"));
    const r = validateCheckpoint(npy, { weightsOnly: true });
    expect(find(r, "global-dangerous")[0]?.message).toMatch(/ssl\.get_server_certificate/);
    expect(r.weightsOnly?.accepted).toBe(false);
  });

  it("searches unknown formats for embedded pickles", () => {
    const payload = asm(op.proto(4), op.frame(30), op.shortUnicode("builtins"), op.shortUnicode("eval"), op.stackGlobal, op.shortUnicode("1"), op.tuple1, op.reduce, op.stop);
    const junk = asm([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0, 4], new Uint8Array(20), payload, new Uint8Array(9));
    const r = validateCheckpoint(junk);
    expect(codes(r)).toEqual(["unknown-format", "embedded-pickle", "global-dangerous"]);
    expect(find(r, "embedded-pickle")[0]?.where.byteOffset).toBe(28);
  });

  it("reports several pickles in one stream and bytes after STOP", () => {
    const two = asm(callPickle("collections", "OrderedDict"), callPickle("requests.api", "get"));
    expect(codes(validateCheckpoint(two))).toEqual(expect.arrayContaining(["pickle-multiple", "global-dangerous"]));
    const trailing = asm(asm(op.proto(2), op.none, op.stop), new Uint8Array([1, 2, 3]));
    expect(codes(validateCheckpoint(trailing))).toContain("pickle-trailing-bytes");
  });

  it("flags expansion structures", () => {
    const parts = [op.proto(2), op.emptyList, op.put(0)];
    for (let i = 0; i < 12_000; i++) parts.push(op.get(0), op.append);
    parts.push(op.stop);
    expect(codes(validateCheckpoint(asm(...parts)))).toContain("expansion-attack");
  });

  it("says a safetensors file holds no pickle", () => {
    const header = enc('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}');
    const bytes = asm([header.length, 0, 0, 0, 0, 0, 0, 0], header, floats(1));
    const r = validateCheckpoint(bytes);
    expect(codes(r)).toEqual(["not-a-checkpoint"]);
  });
});

describe("the report never throws", () => {
  it("returns findings for garbage, empty and odd inputs", () => {
    for (const input of [new Uint8Array(0), new Uint8Array([0x80]), enc("PK\x03\x04garbage"), new Uint8Array(4096).fill(0x50)]) {
      const r = validateCheckpoint(input);
      expect(r.readable).toBe(true);
      expect(r.findings.length).toBeGreaterThan(0);
    }
  });

  it("reports an asynchronous-only source as unreadable when validated synchronously", async () => {
    const bytes = fixture("protocol-2.pt");
    const source = { size: bytes.length, read: async (o: number, n: number) => bytes.subarray(o, o + n) };
    expect(validateCheckpoint(source)).toMatchObject({ readable: false, findings: [{ code: "unreadable" }] });
    const r = await validateCheckpointAsync(source, { name: "remote.pt" });
    expect(r).toMatchObject({ readable: true, layout: "zip", file: "remote.pt" });
    const blob = { size: bytes.length, slice: (a: number, b: number) => ({ arrayBuffer: async () => bytes.slice(a, b).buffer }) };
    expect((await validateCheckpointAsync(blob)).layout).toBe("zip");
    const failing = { size: 10, read: async () => { throw new Error("network down"); } };
    expect(await validateCheckpointAsync(failing)).toMatchObject({ readable: false });
  });

  it("validates through a synchronous range source", () => {
    const bytes = fixture("views.pt");
    const source = bytesSource(bytes);
    const ranged = { size: source.size, read: source.read, readSync: source.readSync! };
    expect(serious(validateCheckpoint(ranged))).toEqual(serious(validateCheckpoint(bytes)));
  });
});

function findRecordData(zip: Uint8Array, name: string): number {
  const nameBytes = enc(name);
  for (let i = 0; i + 30 < zip.length; i++) {
    if (zip[i] !== 0x50 || zip[i + 1] !== 0x4b || zip[i + 2] !== 3 || zip[i + 3] !== 4) continue;
    const n = zip[i + 26]! | (zip[i + 27]! << 8);
    const x = zip[i + 28]! | (zip[i + 29]! << 8);
    if (n === nameBytes.length && nameBytes.every((b, k) => zip[i + 30 + k] === b)) return i + 30 + n + x;
  }
  throw new Error(`no local header for ${name}`);
}

function lastIndexOf(b: Uint8Array, sig: number[]): number {
  for (let i = b.length - sig.length; i >= 0; i--) if (sig.every((v, k) => b[i + k] === v)) return i;
  return -1;
}
