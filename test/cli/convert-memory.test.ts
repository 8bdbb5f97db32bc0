// `torchsave convert` of a 288 MiB checkpoint to pickle, msgpack, safetensors and a DCP folder, and
// of its msgpack and pickle back to .pt, keeps its peak memory (the CLI process's max RSS) far
// below the file's size: each storage is read, written and dropped. The input is sparse (its
// all-zero storages are seeks, not writes), so it costs little disk; the outputs are real files,
// deleted after.
import { spawnSync } from "node:child_process";
import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../helpers/cli.js";
import { MAX_RSS_MIB, MEMORY_CASE, cliWithPeakRss, setUpMemoryCase } from "../helpers/peak-rss.js";

const MIB = 2 ** 20;
const { tensors: TENSORS, tensorBytes: TENSOR_BYTES, fileMiB: FILE_MIB } = MEMORY_CASE;
const MAX_RSS_MB = MAX_RSS_MIB;

let dir: string;
let input: string;
let hook: string;

beforeAll(() => {
  // Each tensor its own storage; they share one buffer of zeros, which is skipped when written.
  ({ dir, input, hook } = setUpMemoryCase("torchsave-convert-memory-", new Float32Array(TENSOR_BYTES / 4), true));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe(`convert of a ${FILE_MIB} MiB checkpoint, in bounded memory`, () => {
  for (const to of ["pickle", "msgpack", "safetensors", "dcp"]) {
    it(`→ ${to}: peak RSS under ${MAX_RSS_MB} MB`, () => {
      const out = join(dir, `out.${to}`);
      // A DCP output is a folder; its tensors are in the one data file.
      const written = to === "dcp" ? join(out, "__0_0.distcp") : out;
      const { run: r, rssMiB: rss } = cliWithPeakRss(hook, ["convert", input, out, "--to", to, "-q"]);
      expect(r.status, r.stderr).toBe(0);
      const size = statSync(written).size;
      // What was written reads back: every tensor is there.
      const listed = to === "pickle" || to === "dcp" ? spawnSync(process.execPath, [CLI, "tensors", out, "--json"], { encoding: "utf8", maxBuffer: 64 * MIB }) : undefined;
      rmSync(out, { recursive: true });
      console.log(`convert ${FILE_MIB} MiB → ${to}: ${(size / MIB).toFixed(0)} MiB written, max RSS ${rss.toFixed(0)} MiB`);
      expect(size).toBeGreaterThan(TENSORS * TENSOR_BYTES);
      if (listed !== undefined) {
        // Each tensor is listed: the file (or folder) holds all of them.
        expect(listed.status, listed.stderr).toBe(0);
        expect(listed.stdout).toContain(`layers.${TENSORS - 1}.weight`);
        expect(listed.stdout).toContain("small");
      }
      expect(rss).toBeGreaterThan(0);
      expect(rss).toBeLessThan(MAX_RSS_MB);
    }, 300_000);
  }

  for (const from of ["msgpack", "pickle"]) {
    it(`${from} → pt: the input's storage bytes stay in the file until written, peak RSS under ${MAX_RSS_MB} MB`, () => {
      const made = join(dir, `in.${from}`);
      const first = spawnSync(process.execPath, [CLI, "convert", input, made, "--to", from, "-q"], { encoding: "utf8", timeout: 300_000 });
      expect(first.status, first.stderr).toBe(0);
      const out = join(dir, "back.pt");
      const { run: r, rssMiB: rss } = cliWithPeakRss(hook, ["convert", made, out, "-q"]);
      expect(r.status, r.stderr).toBe(0);
      const listed = spawnSync(process.execPath, [CLI, "tensors", out, "--json"], { encoding: "utf8", maxBuffer: 64 * MIB });
      const size = statSync(out).size;
      rmSync(made);
      rmSync(out);
      console.log(`convert ${FILE_MIB} MiB ${from} → pt: ${(size / MIB).toFixed(0)} MiB written, max RSS ${rss.toFixed(0)} MiB`);
      expect(size).toBeGreaterThan(TENSORS * TENSOR_BYTES);
      expect(listed.status, listed.stderr).toBe(0);
      expect(listed.stdout).toContain(`layers.${TENSORS - 1}.weight`);
      expect(rss).toBeGreaterThan(0);
      expect(rss).toBeLessThan(MAX_RSS_MB);
    }, 300_000);
  }
});
