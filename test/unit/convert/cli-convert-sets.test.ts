// `torchsave convert` to outputs of several files (Hugging Face shards + index, a DCP folder):
// a damaged storage record in the input fails with crc-mismatch naming the file and record, and
// leaves nothing (no shard, no index, no temp file, no folder it made); files already there stay
// as they were; --ignore-crc writes the set anyway.
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { convertCommand } from "../../../src/cli/commands/convert.js";
import { bytesSource } from "../../../src/bytes/source.js";
import { openCheckpointSync } from "../../../src/torch/index.js";
import { REPO } from "../../helpers/corpus.js";

const FIXTURE = join(REPO, "fixtures/torch/dataparallel-state-dict.pt");

async function run(args: string[], values: Record<string, string | boolean>): Promise<{ code: number; err: string[] }> {
  const err: string[] = [];
  const code = await convertCommand.run({ positionals: args, values, out: () => undefined, err: (l) => err.push(l), interactive: false });
  return { code, err };
}

/** The multi-file outputs, as convert's flags; 40 bytes a shard gives several shards of this fixture. */
const SETS: [string, Record<string, string>, RegExp][] = [
  ["safetensors shards", { "max-shard-size": "40B" }, /^model-\d{5}-of-\d{5}\.safetensors$/],
  ["pt shards", { "max-shard-size": "40B", to: "pt" }, /^pytorch_model-\d{5}-of-\d{5}\.bin$/],
  ["dcp", { to: "dcp" }, /^__0_0\.distcp$/],
];

/** Every file under `dir`, relative, sorted. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
}

describe("convert to several files checks storage CRCs and leaves nothing when one is damaged", () => {
  const bytes = new Uint8Array(readFileSync(FIXTURE));
  const storages = openCheckpointSync(bytesSource(bytes)).storages.map((s) => s.from!);
  /** A copy of the fixture with one bit flipped inside storage record `which` (first or last). */
  const damagedCopy = (dir: string, which: "first" | "last"): { path: string; record: string } => {
    const from = which === "first" ? storages[0]! : storages.at(-1)!;
    const copy = bytes.slice();
    copy[from.offset + from.length - 1]! ^= 0x10;
    const path = join(dir, "damaged.pt");
    writeFileSync(path, copy);
    return { path, record: from.record };
  };

  it("the fixture is a flat state dict of several stored records", () => {
    expect(storages.length).toBe(9);
    expect(storages.every((s) => s.compression === "none")).toBe(true);
  });

  for (const [label, flags, dataFile] of SETS) {
    for (const which of ["first", "last"] as const) {
      it(`${label}: a damaged ${which} storage record fails with crc-mismatch and leaves no file, temp file or folder`, async () => {
        const dir = mkdtempSync(join(tmpdir(), "torchsave-sets-"));
        const { path, record } = damagedCopy(dir, which);
        const out = join(dir, "new", "out");
        await expect(run([path, out], flags)).rejects.toMatchObject({ code: "crc-mismatch", file: path, entry: record });
        expect(existsSync(join(dir, "new"))).toBe(false);
        expect(tree(dir)).toEqual(["damaged.pt"]);
      });
    }

    it(`${label}: a folder that already holds a set keeps it untouched, with no temp file beside it`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "torchsave-sets-"));
      const good = join(dir, "good.pt");
      copyFileSync(FIXTURE, good);
      const out = join(dir, "out");
      expect((await run([good, out], { ...flags, quiet: true })).code).toBe(0);
      const names = tree(out);
      expect(names.filter((n) => dataFile.test(n)).length).toBeGreaterThan(label === "dcp" ? 0 : 1);
      const before = names.map((n) => readFileSync(join(out, n)));
      const { path } = damagedCopy(dir, "last");
      await expect(run([path, out], flags)).rejects.toMatchObject({ code: "crc-mismatch" });
      expect(tree(out)).toEqual(names);
      names.forEach((n, i) => expect(readFileSync(join(out, n)).equals(before[i]!), n).toBe(true));
    });

    it(`${label}: --ignore-crc writes the set from the damaged file: the intact file's set but for the flipped bit`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "torchsave-sets-"));
      const out = join(dir, "out");
      expect((await run([FIXTURE, out], { ...flags, quiet: true })).code).toBe(0);
      const names = tree(out);
      const intact = names.map((n) => readFileSync(join(out, n)));
      const { path } = damagedCopy(dir, "last");
      const { code, err } = await run([path, out], { ...flags, "ignore-crc": true });
      expect(code).toBe(0);
      expect(err.join("\n")).toMatch(/wrote/);
      expect(tree(out)).toEqual(names);
      const differing = names.filter((n, i) => !readFileSync(join(out, n)).equals(intact[i]!));
      expect(differing.length).toBe(1);
      expect(differing[0]).toMatch(dataFile);
    });
  }
});

describe("convert of a gzip input to several files", () => {
  for (const [label, flags] of SETS) {
    it(`${label}: the same set as from the plain file; a damaged gzip trailer fails and leaves nothing`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "torchsave-sets-gz-"));
      const gz = join(dir, "model.pt.gz");
      writeFileSync(gz, gzipSync(readFileSync(FIXTURE)));
      expect((await run([FIXTURE, join(dir, "plain")], { ...flags, quiet: true })).code).toBe(0);
      expect((await run([gz, join(dir, "from-gz")], { ...flags, quiet: true })).code).toBe(0);
      const names = tree(join(dir, "plain"));
      expect(tree(join(dir, "from-gz"))).toEqual(names);
      // A DCP folder's .metadata names its checkpoint folder; the tensor files are the same.
      for (const n of names.filter((x) => x !== ".metadata")) expect(readFileSync(join(dir, "from-gz", n)).equals(readFileSync(join(dir, "plain", n))), n).toBe(true);
      const bad = readFileSync(gz);
      bad[bad.length - 8]! ^= 1;
      writeFileSync(gz, bad);
      await expect(run([gz, join(dir, "new", "out")], flags)).rejects.toMatchObject({ code: "crc-mismatch", file: gz, offset: bad.length - 8 });
      expect(existsSync(join(dir, "new"))).toBe(false);
      expect(tree(dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
    });
  }
});
