import { describe, it, expect } from "vitest";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convertCommand } from "../../../src/cli/commands/convert.js";

describe("cli", () => {
  it("converts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ts-conv-"));
    const errs: string[] = [];
    for (const out of ["a.json", "a.json.gz", "a.msgpack", "a.safetensors", "b.pt", "c.pkl"]) {
      const code = await convertCommand.run({ positionals: ["fixtures/torch/dtypes.pt", join(dir, out)], values: {}, out: () => {}, err: (l) => errs.push(l), interactive: false });
      expect(code).toBe(0);
      console.log(out, statSync(join(dir, out)).size);
    }
    for (const inp of ["a.json", "a.json.gz", "a.msgpack", "a.safetensors", "b.pt", "c.pkl"]) {
      const code = await convertCommand.run({ positionals: [join(dir, inp), join(dir, "x-" + inp + ".pt")], values: {}, out: () => {}, err: (l) => errs.push(l), interactive: false });
      expect(code).toBe(0);
    }
    console.log(errs.join("\n"));
  });
});
