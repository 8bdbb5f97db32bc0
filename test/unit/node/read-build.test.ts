// The built `torchsave/node/read` entry (dist/, built by `npm test` before vitest), loaded the way a
// user loads it: by package name through the exports map, from ESM and from CommonJS. It must be
// self-contained (no shared chunks, no fflate at import), load fflate only for a compressed input,
// and read the same bytes as the source.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readCheckpoint } from "../../../src/torch/read/read-checkpoint.js";
import { tensorBytes } from "../../../src/torch/tensor-data.js";
import { walkTensors } from "../../../src/torch/walk.js";
import { REPO } from "../../helpers/corpus.js";

const DIST = join(REPO, "dist/node");
const STORED = join(REPO, "fixtures/torch/full-checkpoint.pt");
const DEFLATED = join(REPO, "fixtures/torch/deflated.pt");
const GZIPPED = join(REPO, "fixtures/torch/state-dict.pt.gz");

function built(file: string): string {
  const path = join(DIST, file);
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run build\` first (npm test does)`);
  return readFileSync(path, "utf8");
}

const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
const expectedDigests = (file: string): string[] => walkTensors(readCheckpoint(new Uint8Array(readFileSync(file))).root).map((e) => sha256(tensorBytes(e.tensor)));

// Run in a child with the repository as its folder, so "torchsave/..." resolves through package.json.
const body = `
const digest = (file) => {
  const { checkpoint, close } = m.openCheckpointFile(file);
  try {
    return m.walkTensors(checkpoint.root).map((e) => createHash("sha256").update(m.tensorBytes(e.tensor)).digest("hex"));
  } finally {
    close();
  }
};
const fflateLoaded = () => Object.keys(cache).some((k) => /[\\\\/]fflate[\\\\/]/.test(k));
const out = { atImport: fflateLoaded() };
out.stored = digest(${JSON.stringify(STORED)});
out.afterStored = fflateLoaded();
out.deflated = digest(${JSON.stringify(DEFLATED)});
out.afterDeflated = fflateLoaded();
out.gzipped = digest(${JSON.stringify(GZIPPED)});
try { m.openCheckpointFile(${JSON.stringify(join(REPO, "no-such-file.pt"))}); } catch (e) { out.error = [m.isTorchsaveError(e), e instanceof m.CheckpointError, e.code]; }
console.log(JSON.stringify(out));`;

const esm = `import * as m from "torchsave/node/read"; import { createRequire } from "node:module"; import { createHash } from "node:crypto";
const cache = createRequire(import.meta.url).cache;${body}`;
const cjs = `const m = require("torchsave/node/read"); const { createHash } = require("node:crypto"); const cache = require.cache;${body}`;

function run(args: string[]): unknown {
  built("read.js");
  const r = spawnSync(process.execPath, args, { cwd: REPO, encoding: "utf8" });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout);
}

describe("dist/node/read (torchsave/node/read)", () => {
  const expected = {
    atImport: false,
    stored: expectedDigests(STORED),
    afterStored: false,
    deflated: expectedDigests(DEFLATED),
    afterDeflated: true,
    gzipped: expectedDigests(GZIPPED),
    error: [true, true, "io"],
  };

  it("from ESM: reads by package name; fflate loads only for the deflated file", () => {
    expect(run(["--input-type=module", "-e", esm])).toEqual(expected);
  });

  it("from CommonJS: the same", () => {
    expect(run(["-e", cjs])).toEqual(expected);
  });

  // Only node:module: an ESM import of node:fs would load fs/promises, streams and readline with it.
  it("is one file per format that imports nothing but node:module", () => {
    const esmSpecifiers = [...built("read.js").matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*"([^"]+)"|^\s*import\s*"([^"]+)"/gm)].map((x) => x[1] ?? x[2]);
    const cjsSpecifiers = [...built("read.cjs").matchAll(/\brequire\("([^"]+)"\)/g)].map((x) => x[1]);
    for (const specifiers of [esmSpecifiers, cjsSpecifiers]) {
      expect(specifiers.length).toBeGreaterThan(0);
      expect(new Set(specifiers.map((s) => s!.replace(/^node:/, "")))).toEqual(new Set(["module"]));
    }
  });

  it("has types for both formats", () => {
    for (const file of ["read.d.ts", "read.d.cts"]) expect(built(file)).toMatch(/declare function openCheckpointFile\(/);
  });
});
