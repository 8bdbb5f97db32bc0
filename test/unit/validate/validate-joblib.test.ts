// joblib dumps: the raw array bytes after each NumpyArrayWrapper's BUILD are data, not opcodes
// (no false unknown-opcode), object arrays' nested pickles are scanned, and array data that
// would run as opcodes under plain pickle.load is reported.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { validateCheckpoint } from "../../../src/validate/index.js";
import type { ValidationReport } from "../../../src/validate/index.js";
import { joblibLayout } from "../../../src/validate/validate-joblib.js";
import { CORPUS } from "../../helpers/corpus.js";

// joblib's own test data (ORIGIN.md: benign, joblib 0.11 / Python 3.6 / numpy 1.11), read in place.
const FILE = join(CORPUS, "joblib/joblib_0.11.0_pickle_py36_np111.pkl");
const bytes = new Uint8Array(readFileSync(FILE));
const codes = (r: ValidationReport) => r.findings.map((f) => f.code);
const ALLOW = { allow: ["joblib.numpy_pickle.NumpyArrayWrapper"] };

describe("joblib dumps in validate", () => {
  it("the layout: three raw arrays and one object array, each ending where the reader says", () => {
    const layout = joblibLayout(bytes)!;
    expect(layout.arrays).toBe(4);
    expect(layout.raw).toHaveLength(3);
    expect(layout.nested).toHaveLength(1);
    expect(layout.rawBytes).toBe(layout.raw.reduce((n, r) => n + r.end - r.start, 0));
    // The stream resumes with an opcode after each array's data.
    for (const end of layout.skipAfterBuild.values()) expect(end).toBeLessThan(bytes.length);
  });
  it("validates without pickle-invalid, scanning the object array's nested pickle too", () => {
    const r = validateCheckpoint(bytes, { name: "joblib.pkl" });
    expect(codes(r)).not.toContain("pickle-invalid");
    expect(codes(r)).toContain("joblib-arrays");
    // The import only the nested pickle makes (the object array's elements).
    expect(r.imports.map((i) => `${i.module}.${i.name}`)).toContain("numpy.core.multiarray._reconstruct");
    // Only the wrapper class is off the allow-list: allowed, the file is ok.
    expect(r.findings.filter((f) => f.severity === "error").map((f) => f.code)).toEqual(["global-unknown"]);
    const allowed = validateCheckpoint(bytes, { name: "joblib.pkl", ...ALLOW });
    expect(allowed.findings.filter((f) => f.severity !== "info")).toEqual([]);
  });
  it("gzip'd (joblib.dump(compress=('gzip', 3))) reads the same way", () => {
    const r = validateCheckpoint(new Uint8Array(gzipSync(bytes)), { name: "joblib.pkl.gz", ...ALLOW });
    expect(codes(r)).toContain("joblib-arrays");
    expect(r.findings.filter((f) => f.severity === "error")).toEqual([]);
  });
  it("array data that plain pickle.load would run as opcodes is reported with its imports", () => {
    const layout = joblibLayout(bytes)!;
    const region = [...layout.raw].sort((a, b) => (b.end - b.start) - (a.end - a.start))[0]!;
    const evil = bytes.slice();
    const payload = new TextEncoder().encode("cos\nsystem\n");
    expect(region.end - region.start).toBeGreaterThanOrEqual(payload.length);
    evil.set(payload, region.start);
    const r = validateCheckpoint(evil, { name: "evil.pkl", ...ALLOW });
    expect(codes(r)).toContain("embedded-pickle");
    const dangerous = r.findings.filter((f) => f.code === "global-dangerous");
    expect(dangerous.map((f) => f.message).join("\n")).toMatch(/os\.system/);
    expect(r.findings.some((f) => f.severity === "error")).toBe(true);
  });
  it("a joblib wrapper whose data is cut short stays an error", () => {
    const layout = joblibLayout(bytes)!;
    const cut = bytes.subarray(0, layout.raw[0]!.start + 2);
    const r = validateCheckpoint(cut, { name: "cut.pkl", ...ALLOW });
    expect(r.findings.some((f) => f.severity === "error" && /pickle-(invalid|truncated)/.test(f.code))).toBe(true);
  });
});
