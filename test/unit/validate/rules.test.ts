import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ZIP_QUIRKS } from "../../../src/containers/zip/zip-quirks.js";
import { createFindingSink, hasFindingsAtOrAbove } from "../../../src/validate/finding.js";
import { RULES, RULES_BY_CODE } from "../../../src/validate/rules.js";
import { QUIRK_FINDINGS } from "../../../src/validate/validate-zip.js";
import { REPO } from "../../helpers/corpus.js";

describe("the rules table", () => {
  it("has unique codes with a severity and a doc each", () => {
    const codes = RULES.map((r) => r.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const r of RULES) {
      expect(["info", "warning", "error"]).toContain(r.severity);
      expect(r.doc.length, r.code).toBeGreaterThan(20);
    }
  });

  it("agrees with docs/validate.md in both directions, severities included", () => {
    const doc = readFileSync(join(REPO, "docs/validate.md"), "utf8");
    const documented = new Map<string, string>();
    for (const m of doc.matchAll(/^\| `([a-z0-9-]+)` \| (info|warning|error) \|/gm)) documented.set(m[1]!, m[2]!);
    expect([...documented.keys()].sort()).toEqual(RULES.map((r) => r.code).sort());
    for (const r of RULES) expect(documented.get(r.code), r.code).toBe(r.severity);
  });

  it("maps every zip quirk to a finding, with torch-refused quirks as errors", () => {
    for (const q of ZIP_QUIRKS) {
      const code = QUIRK_FINDINGS[q.code];
      expect(RULES_BY_CODE[code], q.code).toBeDefined();
      if (!q.torchLoads && q.code !== "empty-archive") expect(RULES_BY_CODE[code].severity, q.code).toBe("error");
    }
  });
});

describe("the finding sink", () => {
  it("takes severity from the table and caps findings per code", () => {
    const sink = createFindingSink(3);
    for (let i = 0; i < 10; i++) sink.add("crc-mismatch", `bad ${i}`, { record: "r", byteOffset: i });
    sink.add("zip-comment", "a comment");
    expect(sink.items.filter((f) => f.code === "crc-mismatch")).toHaveLength(3);
    expect(sink.items.find((f) => f.code === "findings-omitted")?.message).toMatch(/7 more "crc-mismatch"/);
    expect(sink.items[0]).toEqual({ severity: "error", code: "crc-mismatch", message: "bad 0", where: { record: "r", byteOffset: 0 } });
    expect(hasFindingsAtOrAbove(sink.items, "error")).toBe(true);
    expect(hasFindingsAtOrAbove([sink.items.at(-1)!], "warning")).toBe(false);
  });
});
