// Issue #4's reader targets, measured against real PyTorch on this machine.
//   node bench/read.mjs   (after `npm run build` and `/usr/bin/python3 bench/make_inputs.py`)
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { distDir, fmt, time, timeProcess } from "./lib.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "out");
const dist = distDir;
const { readCheckpoint, walkTensors, tensorBytes } = await import(join(dist, "index.js"));
const big = join(out, "big.pt");
const adamw = join(out, "adamw-20k.pt");

// 1. Full load of a 1 GiB state_dict into memory vs a bare readFileSync of the file.
for (const file of [big, join(out, "big.legacy.pt")]) {
  const bare = time(() => readFileSync(file), 3);
  const ours = time(() => {
    const c = readCheckpoint(readFileSync(file));
    let n = 0;
    for (const { tensor } of walkTensors(c.root)) n += tensorBytes(tensor).length; // every tensor's bytes, as views
    if (n < 1e9) throw new Error("did not reach all tensor bytes");
  }, 3);
  const torchMs = timeProcess("/usr/bin/python3", ["-c", `import torch,time; t=time.time(); torch.load(${JSON.stringify(file)}); print(time.time()-t)`], 3);
  console.log(`load 1 GiB ${file.endsWith("legacy.pt") ? "legacy" : "zip"}: readFileSync ${fmt(bare)}, torchsave ${fmt(ours)} (${(ours / bare).toFixed(2)}x readFileSync; target <= 1.2x); python torch.load process ${fmt(torchMs)}`);
}

// 2. A checkpoint of 20,000 small tensors with AdamW state: whole process, ours vs python torch.load.
const nodeScript = `import(${JSON.stringify(join(dist, "node/index.js"))}).then(async (m) => { const t = await import(${JSON.stringify(join(dist, "index.js"))}); const c = m.readCheckpointFileSync(${JSON.stringify(adamw)}); let n = 0; for (const { tensor } of t.walkTensors(c.root)) n += t.tensorBytes(tensor).length; if (n === 0) process.exit(1); })`;
const oursProc = timeProcess(process.execPath, ["-e", nodeScript]);
const torchProc = timeProcess("/usr/bin/python3", ["-c", `import torch; torch.load(${JSON.stringify(adamw)})`]);
console.log(`20k tensors + AdamW, whole process: torchsave ${fmt(oursProc)}, python torch.load ${fmt(torchProc)} (${(torchProc / oursProc).toFixed(1)}x faster; target >= 10x)`);

// 3. Open a 1 GiB file lazily and read one tensor: whole process.
const lazyScript = `import(${JSON.stringify(join(dist, "node/index.js"))}).then(async (m) => { const t = await import(${JSON.stringify(join(dist, "index.js"))}); const { checkpoint, close } = m.openCheckpointFile(${JSON.stringify(big)}); const [first] = t.walkTensors(checkpoint.root); if (t.tensorBytes(first.tensor).length !== 16777216) process.exit(1); close(); })`;
const lazy = timeProcess(process.execPath, ["-e", lazyScript]);
const nodeStartup = timeProcess(process.execPath, ["-e", "0"]);
console.log(`open 1 GiB lazily + read one 16 MiB tensor, whole process: ${fmt(lazy)} (node startup alone ${fmt(nodeStartup)}; target < 100 ms)`);
