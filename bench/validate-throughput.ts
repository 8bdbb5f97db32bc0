/**
 * Validation throughput on a 1 GiB torch.save-style zip: one float32 tensor of 256 Mi elements
 * (a few NaN/Inf planted), checked for CRC-32 and NaN/Inf in one streaming pass. Target: >= 1 GB/s.
 *
 * Run (bench files are not part of the test suite):
 *   npx esbuild bench/validate-throughput.ts --bundle --platform=node --format=esm --outfile=/tmp/validate-bench.mjs
 *   node /tmp/validate-bench.mjs [MiB]        # default 1024 MiB
 *
 * Prints MB/s for: in-memory bytes with Node's zlib.crc32 (what the CLI passes), in-memory with
 * torchsave's portable CRC-32, and a file on disk read through the Node file source (the CLI path).
 * Each run checks its result: no error findings, exactly the planted NaN/Inf counts.
 */
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as zlib from "node:zlib";
import { crc32 as portableCrc32 } from "../src/bytes/crc32.js";
import type { Crc32Fn } from "../src/bytes/crc32.js";
import { openFileSource } from "../src/node/index.js";
import { validateCheckpoint } from "../src/validate/index.js";
import type { ValidationReport } from "../src/validate/index.js";

const MIB = 2 ** 20;
const sizeMiB = Number(process.argv[2] ?? 1024);
const nodeCrc: Crc32Fn = (b, prev = 0) => zlib.crc32(b, prev) >>> 0;

/** A protocol-2 data.pkl: {"weight": _rebuild_tensor_v2(storage("0", FloatStorage, numel), 0, (numel,), (1,), False, OrderedDict())}. */
function dataPkl(numel: number): Uint8Array {
  const out: number[] = [];
  const ascii = (s: string) => { for (const c of s) out.push(c.charCodeAt(0)); };
  const u32 = (n: number) => out.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  const unicode = (s: string) => { out.push(0x58); u32(s.length); ascii(s); };
  const global = (m: string, n: string) => { out.push(0x63); ascii(`${m}\n${n}\n`); };
  out.push(0x80, 2, 0x7d); // PROTO 2, EMPTY_DICT
  unicode("weight");
  global("torch._utils", "_rebuild_tensor_v2");
  out.push(0x28); // MARK
  out.push(0x28); unicode("storage"); global("torch", "FloatStorage"); unicode("0"); unicode("cpu");
  out.push(0x4a); u32(numel); out.push(0x74, 0x51); // BININT numel, TUPLE, BINPERSID
  out.push(0x4b, 0); // offset 0
  out.push(0x4a); u32(numel); out.push(0x85); // size (numel,)
  out.push(0x4b, 1, 0x85); // stride (1,)
  out.push(0x89); // requires_grad False
  global("collections", "OrderedDict"); out.push(0x29, 0x52); // OrderedDict()
  out.push(0x74, 0x52, 0x73, 0x2e); // TUPLE, REDUCE, SETITEM, STOP
  return new Uint8Array(out);
}

/** A stored zip laid out like torch's writer (records aligned to 64 bytes), built without copying the payload twice. */
function buildZip(records: [string, Uint8Array][]): Uint8Array {
  let size = 0;
  const layout = records.map(([name, data]) => {
    const nameBytes = new TextEncoder().encode(name);
    const headerEnd = size + 30 + nameBytes.length + 4;
    const pad = (64 - (headerEnd % 64)) % 64;
    const entry = { name: nameBytes, data, offset: size, extra: 4 + pad, crc: nodeCrc(data) };
    size += 30 + nameBytes.length + entry.extra + data.length;
    return entry;
  });
  const cdStart = size;
  for (const e of layout) size += 46 + e.name.length;
  const out = new Uint8Array(size + 22);
  const v = new DataView(out.buffer);
  let p = 0;
  for (const e of layout) {
    v.setUint32(p, 0x04034b50, true); v.setUint16(p + 4, 20, true); v.setUint32(p + 14, e.crc, true);
    v.setUint32(p + 18, e.data.length, true); v.setUint32(p + 22, e.data.length, true);
    v.setUint16(p + 26, e.name.length, true); v.setUint16(p + 28, e.extra, true);
    out.set(e.name, p + 30);
    const x = p + 30 + e.name.length;
    out[x] = 0x46; out[x + 1] = 0x42; v.setUint16(x + 2, e.extra - 4, true); out.fill(0x5a, x + 4, x + e.extra);
    out.set(e.data, x + e.extra);
    p = x + e.extra + e.data.length;
  }
  for (const e of layout) {
    v.setUint32(p, 0x02014b50, true); v.setUint16(p + 4, 20, true); v.setUint16(p + 6, 20, true);
    v.setUint32(p + 16, e.crc, true); v.setUint32(p + 20, e.data.length, true); v.setUint32(p + 24, e.data.length, true);
    v.setUint16(p + 28, e.name.length, true); v.setUint32(p + 42, e.offset, true);
    out.set(e.name, p + 46);
    p += 46 + e.name.length;
  }
  v.setUint32(p, 0x06054b50, true); v.setUint16(p + 8, layout.length, true); v.setUint16(p + 10, layout.length, true);
  v.setUint32(p + 12, p - cdStart, true); v.setUint32(p + 16, cdStart, true);
  return out;
}

function makeCheckpoint(): { bytes: Uint8Array; nan: number; inf: number } {
  const numel = (sizeMiB * MIB) / 4;
  const values = new Float32Array(numel);
  // Cheap deterministic fill (an LCG), then plant a few non-finite values.
  let s = 12345;
  for (let i = 0; i < numel; i++) {
    s = (Math.imul(s, 1103515245) + 12345) | 0;
    values[i] = (s >>> 8) / 16777216 - 0.5;
  }
  const nanAt = [7, numel >>> 1, numel - 1];
  const infAt = [11, numel >>> 2];
  for (const i of nanAt) values[i] = NaN;
  for (const i of infAt) values[i] = Infinity;
  const data = new Uint8Array(values.buffer);
  const bytes = buildZip([
    ["bench/data.pkl", dataPkl(numel)], ["bench/byteorder", new TextEncoder().encode("little")],
    ["bench/data/0", data], ["bench/version", new TextEncoder().encode("3\n")],
  ]);
  return { bytes, nan: nanAt.length, inf: infAt.length };
}

function check(report: ValidationReport, nan: number, inf: number): void {
  const errors = report.findings.filter((f) => f.severity === "error");
  if (errors.length > 0) throw new Error(`unexpected errors: ${JSON.stringify(errors)}`);
  const t = report.tensors[0];
  if (t === undefined || !t.scanned || t.nan !== nan || t.posInf !== inf) throw new Error(`wrong counts: ${JSON.stringify(report.tensors)}`);
}

function time(label: string, bytes: number, run: () => ValidationReport, nan: number, inf: number): void {
  run(); // warm-up
  const runs = 3;
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const report = run();
    const ms = performance.now() - t0;
    check(report, nan, inf);
    best = Math.min(best, ms);
  }
  const mbs = bytes / 1e6 / (best / 1000);
  console.log(`${label.padEnd(44)} ${(bytes / MIB).toFixed(0)} MiB in ${best.toFixed(0)} ms: ${mbs.toFixed(0)} MB/s${mbs >= 1000 ? "" : "  (below 1 GB/s)"}`);
}

const { bytes, nan, inf } = makeCheckpoint();
console.log(`node ${process.version}, ${bytes.length} bytes`);
time("in memory, zlib.crc32 (CLI default)", bytes.length, () => validateCheckpoint(bytes, { crc32: nodeCrc }), nan, inf);
time("in memory, portable crc32", bytes.length, () => validateCheckpoint(bytes, { crc32: portableCrc32 }), nan, inf);
const path = join(tmpdir(), `torchsave-validate-bench-${process.pid}.pt`);
writeFileSync(path, bytes);
try {
  time("file source (readSync chunks), zlib.crc32", bytes.length, () => {
    const source = openFileSource(path);
    try {
      return validateCheckpoint(source, { crc32: nodeCrc });
    } finally {
      source.close();
    }
  }, nan, inf);
} finally {
  rmSync(path, { force: true });
}
