// `formatDisassembly(bytes, { annotate: true })` prints what `python -m pickletools -a` prints: the
// opcode table's docs are pickletools' own first doc lines (transcripts by fixtures/gen_annotated.py).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatDisassembly } from "../../../src/pickle/disassemble.js";
import { REPO } from "../../helpers/corpus.js";

const DIR = join(REPO, "fixtures/pickle/annotated");
const transcripts = readdirSync(DIR).filter((f) => f.endsWith(".dis"));

describe("disassembly with annotations equals pickletools -a", () => {
  it("has transcripts", () => expect(transcripts.length).toBeGreaterThanOrEqual(8));
  for (const t of transcripts) {
    it(t, () => {
      const bytes = new Uint8Array(readFileSync(join(REPO, "fixtures/pickle", t.slice(0, -4))));
      expect(formatDisassembly(bytes, { annotate: true })).toBe(readFileSync(join(DIR, t), "utf8"));
    });
  }
});
