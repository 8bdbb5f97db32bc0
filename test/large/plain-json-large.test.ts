// The large-file tier: a plain JSON dump of 600 MiB (past the longest JS string, ~512 MiB, which
// the text reader needed) converts through the CLI: it is read from bytes a window at a time.
// Cheap on purpose: the document is mostly the indentation json.dump writes, with a few tensors,
// so the test costs disk and a scan, not memory. Made in $TMPDIR, deleted after.
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fromSafetensors } from "../../src/convert/index.js";
import { CLI } from "../helpers/cli.js";

const MIB = 2 ** 20;
const dir = mkdtempSync(join(tmpdir(), "torchsave-plain-large-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("plain JSON past the longest JS string", () => {
  it("convert dump.json (600 MiB) dump.safetensors: the tensors a small copy of it gives", () => {
    const path = join(dir, "dump.json");
    const rows = Array.from({ length: 64 }, (_, i) => `[${Array.from({ length: 1000 }, (_, j) => ((i * 1000 + j) * 0.001).toFixed(3)).join(", ")}]`);
    const head = `{"step": 7, "w": [${rows.join(", ")}], "pad": [`;
    const small = `${head}]}`;
    const fd = openSync(path, "w");
    try {
      writeSync(fd, head);
      const blank = Buffer.alloc(8 * MIB, 0x20);
      blank[blank.length - 1] = 0x0a;
      for (let written = head.length; written < 600 * MIB; written += blank.length) writeSync(fd, blank);
      writeSync(fd, "]}\n");
    } finally {
      closeSync(fd);
    }
    writeFileSync(join(dir, "small.json"), small);
    const convert = (name: string): Buffer => {
      const r = spawnSync(process.execPath, ["--max-old-space-size=256", CLI, "convert", join(dir, `${name}.json`), join(dir, `${name}.safetensors`), "--quiet"], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      return readFileSync(join(dir, `${name}.safetensors`));
    };
    const want = convert("small");
    expect(fromSafetensors(new Uint8Array(want)).header.entries.map((e) => [e.name, e.dtype, e.shape])).toEqual([["w", "F32", [64, 1000]]]);
    expect(convert("dump").equals(want)).toBe(true);
  }, 300_000);
});
