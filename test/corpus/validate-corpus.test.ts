// Every malicious sample of the shared corpus is reported dangerous with its global named, and no
// benign corpus file or fixture gets a dangerous finding. Which is which comes from ORIGIN.md's
// table, parsed here (cells may contain escaped pipes, as numpy's '\|O' descr).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hasFindingsAtOrAbove, validateCheckpoint } from "../../src/validate/index.js";
import type { ValidationReport } from "../../src/validate/index.js";
import { CORPUS, REPO } from "../helpers/corpus.js";

interface Row {
  readonly file: string;
  readonly kind: string;
  readonly text: string;
  readonly malicious: boolean;
}

function originRows(): Row[] {
  const origin = join(CORPUS, "ORIGIN.md");
  if (!existsSync(origin)) throw new Error(`the shared corpus is missing at ${CORPUS}`);
  const rows: Row[] = [];
  for (const line of readFileSync(origin, "utf8").split("\n")) {
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    const file = /^`([^`]+)`$/.exec(cells[1] ?? "")?.[1];
    if (file === undefined) continue;
    const kind = /\*\*([^*]+)\*\*/.exec(cells[7] ?? "")?.[1] ?? "unknown";
    rows.push({ file, kind, text: cells.slice(7).join(" | "), malicious: kind === "malicious" });
  }
  return rows;
}

/** The globals a malicious row names: its "calls:" list, or module.name mentions in its description. */
function expectedGlobals(row: Row): string[] {
  const calls = /calls: ([^|]+?)\s*(?:\||$)/.exec(row.text)?.[1];
  if (calls !== undefined) return calls.split(/,\s*/).map((c) => c.trim().replace(":", ".")).filter((c) => c.length > 0);
  const named = row.text.match(/\b[A-Za-z_][\w.]*\.(eval|system|get_server_certificate|_make_function)\b/g) ?? [];
  return [...new Set(named)];
}

function dangerousNames(r: ValidationReport): string[] {
  return r.imports.filter((i) => i.class === "dangerous").flatMap((i) => [`${i.module}.${i.name}`, i.key]);
}

const FALSE_ALARMS = ["global-dangerous", "global-unresolved", "embedded-pickle", "nested-depth-exceeded", "expansion-attack"];

const rows = originRows();

describe("shared corpus: security verdicts", () => {
  it("parses ORIGIN.md's table", () => {
    expect(rows.length).toBeGreaterThan(100);
    expect(rows.filter((r) => r.malicious).length).toBeGreaterThan(50);
  });

  for (const row of rows.filter((r) => r.malicious)) {
    it(`${row.file} is reported dangerous with its global named, and fails (exit 1)`, () => {
      const r = validateCheckpoint(new Uint8Array(readFileSync(join(CORPUS, row.file))), { name: row.file });
      expect(hasFindingsAtOrAbove(r.findings, "error")).toBe(true);
      const dangerous = r.findings.filter((f) => f.code === "global-dangerous");
      expect(dangerous.length, JSON.stringify(r.findings.map((f) => f.code))).toBeGreaterThan(0);
      const names = dangerousNames(r);
      for (const expected of expectedGlobals(row)) {
        expect(names.some((n) => n === expected || n.endsWith(`.${expected}`) || n.endsWith(expected)), `${expected} in ${names.join(", ")}`).toBe(true);
        expect(dangerous.some((f) => f.message.includes(expected.split(".").pop()!)), expected).toBe(true);
      }
    });
  }

  for (const row of rows.filter((r) => !r.malicious)) {
    it(`${row.file} (${row.kind}) gets no dangerous finding`, () => {
      const r = validateCheckpoint(new Uint8Array(readFileSync(join(CORPUS, row.file))), { name: row.file });
      expect(r.readable).toBe(true);
      expect(r.findings.filter((f) => FALSE_ALARMS.includes(f.code))).toEqual([]);
      expect(r.findings.filter((f) => f.code === "internal-error")).toEqual([]);
      // Exit status: 0 unless the file is damaged (NOT_OK) or holds globals off the allow-list.
      const unknown = [...new Set(r.imports.filter((i) => i.class === "unknown").map((i) => i.key))].sort();
      expect(unknown, row.file).toEqual(OFF_THE_LIST[row.file] ?? []);
      const errors = r.findings.filter((f) => f.severity === "error" && f.code !== "global-unknown");
      expect(errors.length > 0, `${row.file}: ${errors.map((f) => f.code).join(", ")}`).toBe(DAMAGED.has(row.file));
      if (unknown.length > 0) {
        // Admitting exactly those names by user rules leaves no verdict error.
        const allowed = validateCheckpoint(new Uint8Array(readFileSync(join(CORPUS, row.file))), { name: row.file, allow: unknown });
        expect(allowed.findings.filter((f) => f.code === "global-unknown")).toEqual([]);
        expect(allowed.findings.filter((f) => f.code === "global-allowed-by-user").length).toBeGreaterThan(0);
      }
    });
  }
});

/** Benign corpus files that are damaged or not torch files (error findings other than the verdict). */
const DAMAGED = new Set([
  "burn/tar_float32.tar", "burn/tar_int64.tar", "burn/tar_weight_bias.tar", "modelscan/password_protected.zip",
  "picklescan/bad_pytorch.pt", "picklescan/not_a_pickle.bin",
]);

/** Benign corpus files whose pickles import globals that are not on the default allow-list. */
const OFF_THE_LIST: Readonly<Record<string, readonly string[]>> = {
  "joblib/joblib_0.11.0_pickle_py36_np111.pkl": ["joblib.numpy_pickle.NumpyArrayWrapper"],
  "joblib/joblib_0.9.2_pickle_py35_np19.pkl": ["joblib.numpy_pickle.NDArrayWrapper"],
  "lightning-aegnn/last.ckpt": ["pytorch_lightning.callbacks.early_stopping.EarlyStopping", "pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint"],
  "numpy/py2-np0-objarr.npy": ["numpy.core._internal._reconstruct"],
  "serde-pickle/test_unresolvable_global.pickle": ["__main__.ReduceClass"],
  "serde-pickle/tests_py2_proto0.pickle": ["__main__.Class"],
  "serde-pickle/tests_py2_proto2.pickle": ["__main__.Class"],
  ...Object.fromEntries([0, 1, 2, 3, 4].map((p) => [`serde-pickle/tests_py3_proto${p}.pickle`, ["__main__.ByValueEnum", "__main__.Class", "__main__.DataClass", "__main__.NamedTuple", "__main__.NormalEnum"]])),
  "tch-rs/foo.pt": ["__torch__.Foo"],
  "tch-rs/foo1.pt": ["__torch__.Foo1"],
  "tch-rs/foo4.pt": ["__torch__.Foo4"],
  "tch-rs/foo8.pt": ["__torch__.DictExample"],
};

describe("fixtures: no false alarms", () => {
  const files = [
    ...readdirSync(join(REPO, "fixtures/torch")).filter((f) => !/\.(json|jsonl|md)$/.test(f)).map((f) => join("fixtures/torch", f)),
    ...readdirSync(join(REPO, "fixtures/pickle")).filter((f) => f.endsWith(".pkl")).map((f) => join("fixtures/pickle", f)),
  ];

  it("covers the fixtures", () => {
    expect(files.length).toBeGreaterThan(60);
  });

  it("reports no dangerous import, unresolved global or hidden pickle in any fixture", () => {
    for (const file of files) {
      const r = validateCheckpoint(new Uint8Array(readFileSync(join(REPO, file))), { name: file });
      expect(r.findings.filter((f) => FALSE_ALARMS.includes(f.code) || f.code === "internal-error"), file).toEqual([]);
    }
  });

  it("finds no integrity problem in the torch fixtures torch wrote", () => {
    for (const file of files.filter((f) => f.startsWith("fixtures/torch"))) {
      const r = validateCheckpoint(new Uint8Array(readFileSync(join(REPO, file))), { name: file });
      // Whole pickled objects (modules, optimizers, schedulers) are off the allow-list: a verdict, not damage.
      const integrity = r.findings.filter((f) => f.severity === "error" && f.code !== "global-unknown");
      expect(integrity, file).toEqual([]);
    }
  });
});
