// `torchsave convert` of a gzip'd 288 MiB checkpoint keeps its peak memory (the CLI process's max
// RSS) far below the inflated size: the gzip stream is inflated (node:zlib) into a temp file beside
// OUT, read in place and removed; and `.pt → .pt.gz` compresses as it writes. Before, the input
// was inflated whole in memory (peak above the inflated size). Each tensor is its own storage of
// the same 4 MiB (zeros but for a numbered tail). This process stays small (a child's max RSS
// starts at its parent's RSS at fork): the input is written chunk by chunk and the outputs are
// compared by streaming hashes. The files are deleted after.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../helpers/cli.js";
import { MAX_RSS_MIB, MEMORY_CASE, cliWithPeakRss, setUpMemoryCase } from "../helpers/peak-rss.js";

const MIB = 2 ** 20;
const { tensors: TENSORS, tensorBytes: TENSOR_BYTES, fileMiB: FILE_MIB } = MEMORY_CASE;
/** Two thirds of the inflated size, as test/cli/convert-memory.test.ts allows for plain inputs. */
const MAX_RSS_MB = MAX_RSS_MIB;

let dir: string;
let input: string;
let hook: string;

beforeAll(() => {
  const values = new Float32Array(TENSOR_BYTES / 4);
  for (let j = values.length - 4096; j < values.length; j++) values[j] = j;
  ({ dir, input, hook } = setUpMemoryCase("torchsave-gzip-memory-", values, false));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function convert(from: string, to: string): number {
  const { run: r, rssMiB: rss } = cliWithPeakRss(hook, ["convert", from, to, "-q"]);
  expect(r.status, r.stderr).toBe(0);
  expect(rss).toBeGreaterThan(0);
  return rss;
}

async function sha256(path: string, gunzip = false): Promise<string> {
  const hash = createHash("sha256");
  if (gunzip) await pipeline(createReadStream(path), createGunzip(), hash);
  else await pipeline(createReadStream(path), hash);
  return hash.digest("hex");
}

describe(`convert of a gzip'd ${FILE_MIB} MiB checkpoint, in bounded memory`, () => {
  it(`.pt → .pt.gz → .pt: peak RSS under ${MAX_RSS_MB} MB both ways, the same bytes back, no temp file left`, async () => {
    const gz = join(dir, "in.pt.gz");
    const zipped = convert(input, gz);
    // The same name in two folders: a .pt's archive is named after its file.
    const back = join(dir, "back", "in.pt");
    mkdirSync(join(dir, "back"));
    const unzipped = convert(gz, back);
    const plain = join(dir, "plain", "in.pt");
    mkdirSync(join(dir, "plain"));
    expect(spawnSync(process.execPath, [CLI, "convert", input, plain, "-q"]).status).toBe(0);
    console.log(`convert ${FILE_MIB} MiB → .pt.gz (${(statSync(gz).size / MIB).toFixed(1)} MiB): max RSS ${zipped.toFixed(0)} MiB; .pt.gz → .pt: max RSS ${unzipped.toFixed(0)} MiB`);
    // What was written is gzip of what `convert in.pt x.pt` writes, and reads back to it.
    const want = await sha256(plain);
    expect(await sha256(gz, true)).toBe(want);
    expect(await sha256(back)).toBe(want);
    // The temp file went to OUT's folder and was removed.
    expect(readdirSync(join(dir, "back"))).toEqual(["in.pt"]);
    expect(zipped).toBeLessThan(MAX_RSS_MB);
    expect(unzipped).toBeLessThan(MAX_RSS_MB);
    // `tensors` reads the same gzip the same way (its temp file in the system's temp folder).
    const { run: listed, rssMiB: listing } = cliWithPeakRss(hook, ["tensors", gz, "--json"], 64 * MIB);
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(`layers.${TENSORS - 1}.weight`);
    console.log(`tensors of the .pt.gz: max RSS ${listing.toFixed(0)} MiB`);
    expect(listing).toBeGreaterThan(0);
    expect(listing).toBeLessThan(MAX_RSS_MB);
  }, 300_000);
});
