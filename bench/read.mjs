// Issue #4's reader targets, measured against real PyTorch on this machine.
//   npm run build && node bench/read.mjs    (inputs: /usr/bin/python3 bench/make_inputs.py)
//   TORCHSAVE_DIST=<dir> measures another build; BENCH_ONLY=big,adamw,lazy picks cases.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { distDir, fmt, load, median, time, timeProcess, timeProcesses, wanted } from "./lib.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "out");
const dist = distDir;
const { readCheckpoint, walkTensors, tensorBytes } = await import(join(dist, "index.js"));
const big = join(out, "big.pt");
const adamw = join(out, "adamw-20k.pt");

// 1. Full load of a 1 GiB state_dict into memory vs a bare readFileSync of the file.
if (wanted("big")) {
  for (const file of [big, join(out, "big.legacy.pt")]) {
    const bare = time(() => readFileSync(file), 3);
    const ours = time(() => {
      const c = readCheckpoint(readFileSync(file));
      let n = 0;
      for (const { tensor } of walkTensors(c.root)) n += tensorBytes(tensor).length; // every tensor's bytes, as views
      if (n < 1e9) throw new Error("did not reach all tensor bytes");
    }, 3);
    const torchMs = timeProcess("/usr/bin/python3", ["-c", `import torch; torch.load(${JSON.stringify(file)})`], 3);
    console.log(`load 1 GiB ${file.endsWith("legacy.pt") ? "legacy" : "zip"}: readFileSync ${fmt(bare)}, torchsave ${fmt(ours)} (${(ours / bare).toFixed(2)}x readFileSync; target <= 1.2x); python torch.load process ${fmt(torchMs)} [${load()}]`);
  }
}

// 2. A checkpoint of 20,000 small tensors with AdamW state: whole process, ours (written as a user
// would, one import of torchsave/node/read) vs python torch.load, runs interleaved.
if (wanted("adamw")) {
  const repo = join(here, "..");
  const spec = process.env.TORCHSAVE_DIST === undefined ? "torchsave/node/read" : pathToFileURL(join(dist, "node/read.js")).href;
  const script = `import { readCheckpointFileSync, walkTensors, tensorBytes } from ${JSON.stringify(spec)};
const c = readCheckpointFileSync(${JSON.stringify(adamw)});
let n = 0;
for (const { tensor } of walkTensors(c.root)) n += tensorBytes(tensor).length;
if (n === 0) process.exit(1);`;
  const runs = Number(process.env.BENCH_RUNS ?? 7);
  const loadBefore = load();
  // The floor: a throwaway reader of this one file that builds the same objects and checks
  // nothing (floor-adamw.mjs). No JavaScript reader can be much faster than it.
  const t = timeProcesses({
    ours: { cmd: process.execPath, args: ["--input-type=module", "-e", script], cwd: repo },
    floor: { cmd: process.execPath, args: [join(here, "floor-adamw.mjs"), adamw], cwd: repo },
    bare: { cmd: process.execPath, args: ["-e", "0"], cwd: repo },
    torch: { cmd: "/usr/bin/python3", args: ["-c", `import torch; torch.load(${JSON.stringify(adamw)})`], cwd: repo },
  }, runs);
  const vs = (m) => `${(t.torch.median / m).toFixed(1)}x faster than torch.load`;
  console.log(`20k tensors + AdamW, whole process, medians of ${runs} (target >= 10x) [${loadBefore} -> ${load()}]:`);
  console.log(`  torchsave ${fmt(t.ours.median)} (p10-p90 ${t.ours.p10.toFixed(0)}-${t.ours.p90.toFixed(0)}): ${vs(t.ours.median)}`);
  console.log(`  floor (floor-adamw.mjs) ${fmt(t.floor.median)} (p10-p90 ${t.floor.p10.toFixed(0)}-${t.floor.p90.toFixed(0)}): ${vs(t.floor.median)}`);
  console.log(`  python torch.load ${fmt(t.torch.median)}; node -e 0 ${fmt(t.bare.median)}`);
  // Where the time goes, in this (warm) process: medians of 5 runs.
  const bytes = new Uint8Array(readFileSync(adamw));
  const parts = { read: [], walk: [], bytes: [] };
  for (let i = 0; i < 6; i++) {
    const a = performance.now();
    const c = readCheckpoint(bytes);
    const b = performance.now();
    const w = walkTensors(c.root);
    const d = performance.now();
    for (const { tensor } of w) tensorBytes(tensor);
    const e = performance.now();
    if (i > 0) parts.read.push(b - a), parts.walk.push(d - b), parts.bytes.push(e - d);
  }
  console.log(`  warm, in process: readCheckpoint ${fmt(median(parts.read))}, walkTensors ${fmt(median(parts.walk))}, tensorBytes x80k ${fmt(median(parts.bytes))} [${load()}]`);
}

// 3. Open a 1 GiB file lazily and read one tensor: whole process, written as the README shows it
// (one import of torchsave/node/read). Compared with the all-in-one torchsave/node entry, the same
// from CommonJS, the two-import form this bench used before, and node's own start. The runs are
// interleaved so that load changes hit every case alike.
if (wanted("lazy")) {
  // Bare specifiers resolve through package.json (run from the repo: a package may import itself
  // by name); TORCHSAVE_DIST swaps in that build's files.
  const repo = join(here, "..");
  const spec = (name, file) => (process.env.TORCHSAVE_DIST === undefined ? name : pathToFileURL(join(dist, file)).href);
  const use = `const { checkpoint, close } = openCheckpointFile(${JSON.stringify(big)});
const [first] = walkTensors(checkpoint.root);
const bytes = tensorBytes(first.tensor); // reads just this storage: 16 MiB
close();
if (bytes.length !== 16777216) process.exit(1);`;
  const snippet = (name, file) => `import { openCheckpointFile, walkTensors, tensorBytes } from ${JSON.stringify(spec(name, file))};\n${use}`;
  const node = (args) => ({ cmd: process.execPath, args, cwd: repo });
  const runs = Number(process.env.BENCH_RUNS ?? 21);
  const loadBefore = load();
  const t = timeProcesses({
    read: node(["--input-type=module", "-e", snippet("torchsave/node/read", "node/read.js")]),
    node: node(["--input-type=module", "-e", snippet("torchsave/node", "node/index.js")]),
    cjs: node(["-e", `const { openCheckpointFile, walkTensors, tensorBytes } = require(${JSON.stringify(process.env.TORCHSAVE_DIST === undefined ? "torchsave/node/read" : join(dist, "node/read.cjs"))});\n${use}`]),
    old: node(["-e", `import(${JSON.stringify(pathToFileURL(join(dist, "node/index.js")).href)}).then(async (m) => { const t = await import(${JSON.stringify(pathToFileURL(join(dist, "torch/index.js")).href)}); const { checkpoint, close } = m.openCheckpointFile(${JSON.stringify(big)}); const [first] = t.walkTensors(checkpoint.root); if (t.tensorBytes(first.tensor).length !== 16777216) process.exit(1); close(); })`]),
    bare: node(["-e", "0"]),
    bareEsm: node(["--input-type=module", "-e", "0"]),
  }, runs);
  const f = ({ median: m, p10, p90 }) => `${fmt(m)} (p10-p90 ${p10.toFixed(0)}-${p90.toFixed(0)}; node -e 0 ${(m - t.bare.median >= 0 ? "+" : "")}${(m - t.bare.median).toFixed(1)})`;
  console.log(`open 1 GiB lazily + read one 16 MiB tensor, whole process, medians of ${runs} (target < 100 ms) [${loadBefore} -> ${load()}]:`);
  console.log(`  import from "torchsave/node/read" (README): ${f(t.read)}`);
  console.log(`  require("torchsave/node/read"):             ${f(t.cjs)}`);
  console.log(`  import from "torchsave/node":               ${f(t.node)}`);
  console.log(`  torchsave/node + torchsave/torch (before):  ${f(t.old)}`);
  console.log(`  node -e 0: ${fmt(t.bare.median)} (p10-p90 ${t.bare.p10.toFixed(0)}-${t.bare.p90.toFixed(0)}); node --input-type=module -e 0: ${f(t.bareEsm)}`);
}
