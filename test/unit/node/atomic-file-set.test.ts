// writeFileSetAtomic: several files appear together, in order, or none does; a failure removes
// every temp file and the folders the call made, and leaves files already there as they were.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CheckpointError } from "../../../src/errors.js";
import { writeFileSetAtomic, type FileSetEntry } from "../../../src/node/atomic-file-set.js";
import { TEMP_SUFFIX } from "../../../src/node/temp-files.js";

const text = (s: string) => new TextEncoder().encode(s);
const fresh = () => mkdtempSync(join(tmpdir(), "torchsave-set-"));

/** Three files for folder `dir`; `failAt` makes that one's chunks throw part-way (after a first chunk). */
function files(dir: string, failAt?: number, seen?: string[]): FileSetEntry[] {
  return ["a.bin", "b.bin", "index.json"].map((name, i) => ({
    name,
    chunks: function* () {
      yield text(`${name} part 1;`);
      if (i === failAt) throw new CheckpointError("crc-mismatch", "damaged", { file: "in.pt", entry: "data/0" });
      // Earlier files are written (as temp files) but none is in place yet.
      seen?.push(...readdirSync(dir).filter((n) => !n.endsWith(TEMP_SUFFIX)));
      yield text(`${name} part 2`);
    },
  }));
}

describe("writeFileSetAtomic", () => {
  it("writes every file, then renames them in order, and tells of each once all are in place", async () => {
    const dir = fresh();
    const out = join(dir, "x", "set");
    mkdirSync(out, { recursive: true });
    const seen: string[] = [];
    const told: string[] = [];
    await writeFileSetAtomic(out, files(out, undefined, seen), { onWritten: (p) => told.push(p) });
    expect(seen).toEqual([]);
    expect(readdirSync(out).sort()).toEqual(["a.bin", "b.bin", "index.json"]);
    expect(readFileSync(join(out, "b.bin"), "utf8")).toBe("b.bin part 1;b.bin part 2");
    expect(told).toEqual(["a.bin", "b.bin", "index.json"].map((n) => join(out, n)));
  });

  for (const failAt of [0, 1, 2]) {
    it(`a failure in file ${failAt + 1} of 3 leaves nothing: no file, no temp file, no folder it made`, async () => {
      const dir = fresh();
      const out = join(dir, "new", "deeper", "set");
      const told: string[] = [];
      await expect(writeFileSetAtomic(out, files(dir, failAt), { onWritten: (p) => told.push(p) })).rejects.toMatchObject({ code: "crc-mismatch", file: "in.pt", entry: "data/0" });
      expect(existsSync(join(dir, "new"))).toBe(false);
      expect(readdirSync(dir)).toEqual([]);
      expect(told).toEqual([]);
    });
  }

  it("a failure leaves a folder that existed, and the files already in it, as they were", async () => {
    const dir = fresh();
    writeFileSync(join(dir, "a.bin"), "old a");
    writeFileSync(join(dir, "other"), "someone else's");
    await expect(writeFileSetAtomic(dir, files(dir, 2))).rejects.toBeInstanceOf(CheckpointError);
    expect(readdirSync(dir).sort()).toEqual(["a.bin", "other"]);
    expect(readFileSync(join(dir, "a.bin"), "utf8")).toBe("old a");
  });

  it("a folder it cannot create is an io error naming it", async () => {
    const dir = fresh();
    writeFileSync(join(dir, "file"), "x");
    await expect(writeFileSetAtomic(join(dir, "file", "sub"), files(dir))).rejects.toMatchObject({ code: "io", file: join(dir, "file", "sub") });
  });
});
