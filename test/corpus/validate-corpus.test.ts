// Every malicious sample of the shared corpus is reported dangerous with its global named, and no
// benign corpus file or fixture gets a dangerous finding. Which is which comes from ORIGIN.md's
// table, parsed here (cells may contain escaped pipes, as numpy's '\|O' descr).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { validateCheckpoint } from "../../src/validate/index.js";
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
    it(`${row.file} is reported dangerous with its global named`, () => {
      const r = validateCheckpoint(new Uint8Array(readFileSync(join(CORPUS, row.file))), { name: row.file });
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
    });
  }
});

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
      const integrity = r.findings.filter((f) => f.severity === "error");
      expect(integrity, file).toEqual([]);
    }
  });
});
