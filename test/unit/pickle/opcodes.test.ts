// The opcode table (src/pickle/opcodes.ts) is CPython's pickletools.opcodes, field by field, in the
// same order (fixtures/pickle/opcodes.json was written from it), and every opcode is exercised by
// at least one pickle fixture.
import { describe, expect, it } from "vitest";
import { HIGHEST_PROTOCOL, OPCODES, OPCODES_BY_CODE, OPCODES_BY_NAME } from "../../../src/pickle/opcodes.js";
import { loadOpcodesJson, loadPickleManifest } from "../../helpers/fixtures.js";

const rows = loadOpcodesJson();

describe("OPCODES", () => {
  it("has pickletools' 68 opcodes in pickletools' order", () => {
    expect(rows).toHaveLength(68);
    expect(OPCODES.map((o) => o.name)).toEqual(rows.map((r) => r.name));
  });

  for (const [i, row] of rows.entries()) {
    it(`${row.name} matches pickletools field by field`, () => {
      const op = OPCODES[i]!;
      expect({
        name: op.name,
        code: op.code,
        // pickletools has no descriptor for "no argument"; ours is named "none".
        arg: op.arg.name === "none" ? null : op.arg.name,
        stack_before: [...op.stackBefore],
        stack_after: [...op.stackAfter],
        proto: op.proto,
      }).toEqual(row);
      expect(op.doc.length).toBeGreaterThan(0);
    });
  }

  it("derives its lookups from the table", () => {
    expect(new Set(OPCODES.map((o) => o.code)).size).toBe(68);
    for (const op of OPCODES) {
      expect(OPCODES_BY_CODE[op.code]).toBe(op);
      expect(OPCODES_BY_NAME[op.name]).toBe(op);
    }
    expect(OPCODES_BY_CODE.filter((o) => o !== undefined)).toHaveLength(68);
    expect(HIGHEST_PROTOCOL).toBe(Math.max(...rows.map((r) => r.proto)));
  });

  it("every opcode appears in at least one pickle fixture", () => {
    const covered = new Set(loadPickleManifest().fixtures.flatMap((f) => f.opcodes));
    const missing = OPCODES.map((o) => o.name).filter((n) => !covered.has(n));
    expect(missing).toEqual([]);
    // And the manifest names nothing that is not an opcode.
    expect([...covered].filter((n) => OPCODES_BY_NAME[n] === undefined)).toEqual([]);
  });
});
