// The hostile pickles of fixtures/hostile/ (assembled byte by byte by make-hostile.mjs, never by
// pickling anything) each get their expected finding and fail the verdict; hostile inputs too big
// to commit (a gzip'd pickle padded past the inflate cap, a zip bomb) are built here, and the gzip
// one is also run in a child process with a memory cap.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as zlib from "node:zlib";
import { zipSync } from "fflate";
import { afterAll, describe, expect, it } from "vitest";
import { bytesSource } from "../../../src/bytes/source.js";
import { zipRecordsSync } from "../../../src/containers/zip/zip-writer.js";
import { isTorchsaveError } from "../../../src/errors.js";
import { openCheckpointSync, tensorBytes, walkTensors, type TorchValue } from "../../../src/torch/index.js";
import { writeCheckpoint } from "../../../src/torch/write/write-checkpoint.js";
import { toJson } from "../../../src/convert/json.js";
import { pyDict } from "../../../src/pickle/index.js";
import { hasFindingsAtOrAbove, validateCheckpoint } from "../../../src/validate/index.js";
import type { ValidationReport } from "../../../src/validate/index.js";
import { bundleChildScript } from "../../helpers/child-script.js";
import { REPO } from "../../helpers/corpus.js";
import { asm, op } from "./pickle-asm.js";

const HOSTILE = join(REPO, "fixtures/hostile");
const expected = JSON.parse(readFileSync(join(HOSTILE, "expected.json"), "utf8")) as Record<string, { what: string; exit: number; findings: { code: string; match: string }[] }>;
const dir = mkdtempSync(join(tmpdir(), "torchsave-hostile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const utf8 = (t: string): Uint8Array => new TextEncoder().encode(t);
const errors = (r: ValidationReport) => r.findings.filter((f) => f.severity === "error");

describe("fixtures/hostile: every hostile pickle fails with its expected finding", () => {
  it("lists every file of the folder in expected.json", () => {
    const files = readdirSync(HOSTILE).filter((f) => f.endsWith(".pkl")).sort();
    expect(files.length).toBeGreaterThanOrEqual(18);
    expect(Object.keys(expected).sort()).toEqual(files);
  });

  for (const [file, want] of Object.entries(expected)) {
    it(`${file}: ${want.what}`, () => {
      const r = validateCheckpoint(new Uint8Array(readFileSync(join(HOSTILE, file))), { name: file });
      expect(hasFindingsAtOrAbove(r.findings, "error")).toBe(want.exit === 1);
      for (const f of want.findings) {
        const hits = r.findings.filter((x) => x.code === f.code && new RegExp(f.match).test(x.message));
        expect(hits.length, `${f.code} /${f.match}/ in ${JSON.stringify(r.findings.map((x) => `${x.code}: ${x.message}`))}`).toBeGreaterThan(0);
      }
    });
  }

  it("sys_module_override: the planted attribute is what later lookups resolve to", () => {
    const r = validateCheckpoint(new Uint8Array(readFileSync(join(HOSTILE, "sys-module-override.pkl"))));
    const eval_ = r.imports.find((i) => i.key === "builtins.eval");
    expect(eval_).toMatchObject({ class: "dangerous", spellings: ["override"] });
    // The lookups of the allowed name itself are still listed, admitted by torch's rule.
    expect(r.imports.find((i) => i.key === "torch._utils._rebuild_tensor")).toMatchObject({ class: "allowed", rule: "weights_only (torch current)" });
  });
});

/** `PROTO 4, [BINBYTES8 padding, POP], GLOBAL os system, 'id', TUPLE1, REDUCE, [padding], STOP`. */
function paddedPickle(padBefore: number, padAfter: number): Uint8Array {
  const pad = (n: number): Uint8Array => {
    const out = new Uint8Array(9 + n + 1);
    out[0] = 0x8e; // BINBYTES8
    new DataView(out.buffer).setBigUint64(1, BigInt(n), true);
    out[9 + n] = 0x30; // POP
    return out;
  };
  return asm(op.proto(4), padBefore > 0 ? pad(padBefore) : [], op.global("os", "system"), op.shortUnicode("id"), op.tuple1, op.reduce, padAfter > 0 ? pad(padAfter) : [], op.stop);
}

describe("a gzip'd malicious pickle padded past the inflate cap", () => {
  const cap = { maxInflatedBytes: 4 * 2 ** 20, gzipScanWindow: 2 * 2 ** 20 };
  for (const [label, before, after] of [["padding before the import", 12 * 2 ** 20, 0], ["padding after the import", 0, 12 * 2 ** 20], ["padding on both sides", 5 * 2 ** 20, 7 * 2 ** 20]] as const) {
    it(`names the import (${label}) and fails on the limit`, () => {
      const r = validateCheckpoint(zlib.gzipSync(paddedPickle(before, after), { level: 1 }), cap);
      const dangerous = r.findings.filter((f) => f.code === "global-dangerous");
      expect(dangerous.map((f) => f.message), JSON.stringify(r.findings)).toEqual([expect.stringMatching(/imports os\.system/)]);
      expect(dangerous[0]!.where).toEqual({ record: "gunzipped > stream", byteOffset: before > 0 ? 2 + 9 + before + 1 : 2 });
      expect(errors(r).map((f) => f.code)).toContain("validation-limit");
    });
  }

  it("is ok below the cap only when everything seen is allowed", () => {
    const benign = zlib.gzipSync(asm(op.proto(4), op.global("collections", "OrderedDict"), op.emptyTuple, op.reduce, op.stop));
    expect(errors(validateCheckpoint(benign, cap))).toEqual([]);
    const big = new Uint8Array(8 * 2 ** 20); // a benign pickle of one 8 MiB bytes value, past the cap
    big.set([0x80, 0x04, 0x8e, ...new Uint8Array(new BigUint64Array([BigInt(big.length - 12)]).buffer)]);
    big[big.length - 1] = 0x2e;
    const r = validateCheckpoint(zlib.gzipSync(big, { level: 1 }), cap);
    expect(errors(r).map((f) => f.code)).toEqual(["validation-limit"]);
  });

  it("walks 128 MiB past an 8 MiB cap in bounded memory in a child process (--max-old-space-size=96)", () => {
    // 2 copies of one sync-flushed deflate block of 64 MiB of zeros: a 128 MiB stream from ~130 KB.
    const call = asm(op.proto(4), op.global("os", "system"), op.shortUnicode("id"), op.tuple1, op.reduce, op.pop);
    const head = zlib.deflateRawSync(call, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    const zeros = zlib.deflateRawSync(new Uint8Array(64 * 2 ** 20), { finishFlush: zlib.constants.Z_SYNC_FLUSH, level: 9 });
    // The zeros sit inside one BINBYTES8 whose header is in `head2`, so the walk skips them by length.
    const binbytes = new Uint8Array(9);
    binbytes[0] = 0x8e;
    new DataView(binbytes.buffer).setBigUint64(1, BigInt(2 * 64 * 2 ** 20), true);
    const head2 = zlib.deflateRawSync(binbytes, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    const tail = zlib.deflateRawSync(Uint8Array.from([0x30, 0x2e]));
    const gzHeader = Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    const file = join(dir, "padded-128m.pkl.gz");
    writeFileSync(file, Buffer.concat([gzHeader, head, head2, ...Array.from({ length: 2 }, () => zeros), tail, new Uint8Array(8)]));
    const script = join(dir, "child.mjs");
    bundleChildScript(`
      import { openFileSource } from "./src/node/index.ts";
      import { validateCheckpoint } from "./src/validate/index.ts";
      const source = openFileSource(process.argv[2]);
      const t = performance.now();
      const r = validateCheckpoint(source, { maxInflatedBytes: 8 * 2 ** 20, gzipScanWindow: 8 * 2 ** 20 });
      process.stdout.write(JSON.stringify({ codes: r.findings.map((f) => f.code), dangerous: r.findings.filter((f) => f.code === "global-dangerous").map((f) => f.message),
        ms: performance.now() - t, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
    `, script);
    const child = spawnSync(process.execPath, ["--max-old-space-size=96", script, file], { encoding: "utf8", timeout: 120_000 });
    expect(child.status, child.stderr).toBe(0);
    const out = JSON.parse(child.stdout) as { codes: string[]; dangerous: string[]; ms: number; maxRssMiB: number };
    expect(out.dangerous).toEqual([expect.stringMatching(/imports os\.system/)]);
    expect(out.codes).toContain("validation-limit");
    console.log(`gzip padded 128 MiB, cap 8 MiB: ${Math.round(out.ms)} ms, max RSS ${Math.round(out.maxRssMiB)} MiB`);
    expect(out.maxRssMiB, `${out.ms} ms`).toBeLessThan(160);
  }, 180_000);
});

/** A torch zip checkpoint `{"t": tensor}` whose tensor views a float32 storage of `numel` elements. */
function viewCheckpoint(numel: number, offset: number, shape: number[], stride: number[]): Uint8Array {
  const ints = (xs: number[]) => asm(op.mark, ...xs.map((x) => op.binint(x)), op.tuple);
  const pkl = asm(
    op.proto(2), op.emptyDict, op.shortUnicode("t"), op.global("torch._utils", "_rebuild_tensor_v2"), op.mark,
    op.mark, op.shortUnicode("storage"), op.global("torch", "FloatStorage"), op.shortUnicode("0"), op.shortUnicode("cpu"), op.binint(numel), op.tuple, op.binpersid,
    op.binint(offset), ints(shape), ints(stride), op.false, op.global("collections", "OrderedDict"), op.emptyTuple, op.reduce,
    op.tuple, op.reduce, op.setitem, op.stop,
  );
  return zipRecordsSync([
    { name: "archive/data.pkl", data: pkl },
    { name: "archive/data/0", data: new Uint8Array(4 * numel) },
    { name: "archive/version", data: new TextEncoder().encode("3\n") },
  ]);
}

function thrownBy(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("hostile tensor views", () => {
  it("a broadcast view (stride 0, 10^12 elements over one stored float) is a typed error, never a RangeError, and validate reports it", () => {
    const file = viewCheckpoint(1, 0, [1_000_000, 1_000_000], [0, 0]);
    const t = walkTensors(openCheckpointSync(bytesSource(file)).root)[0]!.tensor;
    const e = thrownBy(() => tensorBytes(t));
    expect(isTorchsaveError(e) && e.code === "limit-exceeded", String(e)).toBe(true);
    expect(String(e)).toMatch(/a broadcast view \(stride 0\) of 4 stored bytes: tensor \[1000000,1000000\] stride \[0,0\] has 1000000000000 elements/);
    const r = validateCheckpoint(file);
    expect(r.findings.filter((f) => f.code === "internal-error")).toEqual([]);
    expect(r.findings.find((f) => f.code === "tensor-scan-skipped")?.message).toMatch(/a broadcast view: stride \[0,0\] over a 4-byte storage names 1000000000000 elements/);
  });

  it("negative strides are refused as torch's as_strided refuses them", () => {
    const file = viewCheckpoint(3, 2, [3], [-1]);
    const e = thrownBy(() => tensorBytes(walkTensors(openCheckpointSync(bytesSource(file)).root)[0]!.tensor));
    expect(isTorchsaveError(e) && e.code === "invalid-data", String(e)).toBe(true);
    expect(String(e)).toMatch(/negative stride \[-1\]: torch refuses negative strides/);
    const r = validateCheckpoint(file);
    expect(r.findings.filter((f) => f.code === "internal-error")).toEqual([]);
    expect(hasFindingsAtOrAbove(r.findings, "error")).toBe(true);
  });
});

describe("writers bound nesting (as msgpack and plain JSON do)", () => {
  /** Dicts nested in each other (200,000 deep), built iteratively. */
  const deep = (n: number): TorchValue => {
    let v: TorchValue = pyDict([]);
    for (let i = 0; i < n; i++) v = pyDict([["a", v]]);
    return v;
  };
  const root = deep(200_000);

  it("the .pt writer stops at maxDepth with a typed error", () => {
    const e = thrownBy(() => writeCheckpoint(root));
    expect(isTorchsaveError(e) && e.code === "limit-exceeded", String(e)).toBe(true);
    expect(() => writeCheckpoint(deep(500))).not.toThrow();
    expect(thrownBy(() => writeCheckpoint(deep(50), { maxDepth: 10 }))).toMatchObject({ code: "limit-exceeded" });
  });

  it("the lossless JSON writer stops at maxDepth with a typed error", () => {
    const e = thrownBy(() => toJson(root));
    expect(isTorchsaveError(e) && e.code === "limit-exceeded", String(e)).toBe(true);
    expect(String(e)).toMatch(/nest deeper than 1000/);
    expect(() => toJson(deep(500))).not.toThrow();
  });
});

describe("a zip bomb: a deflated record far larger than the cap", () => {
  it("is not inflated past the cap: a typed limit, reported as validation-limit (an error), in bounded time", () => {
    const pkl = new Uint8Array(16 * 2 ** 20);
    pkl.set([0x80, 0x02, 0x4e, 0x2e]); // None, then 16 MiB of zeros after STOP
    const file = zipSync({ "archive/data.pkl": [pkl, { level: 9 }], "archive/version": utf8("3\n") });
    expect(file.length).toBeLessThan(50_000);
    const r = validateCheckpoint(file, { maxInflatedBytes: 2 * 2 ** 20 });
    const limits = r.findings.filter((f) => f.code === "validation-limit");
    expect(limits.length, JSON.stringify(r.findings)).toBeGreaterThan(0);
    expect(limits.every((f) => f.severity === "error" && f.where.record === "archive/data.pkl")).toBe(true);
    expect(r.findings.filter((f) => f.code === "internal-error")).toEqual([]);
  });
});
