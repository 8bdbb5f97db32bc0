// Issue #17: `torchsave diff` of two 1 GiB checkpoints and `torchsave stats` over a run of dumps,
// against the time to read the same files, and against the Python + torch script a user writes
// otherwise (bench/analyze_torch.py). Whole processes, interleaved, medians; peak RSS from
// /usr/bin/time; the 1-minute load with every figure. Inputs: /usr/bin/python3 bench/analyze_inputs.py.
//   BENCH_RUNS=3 BENCH_ONLY=diff,stats BENCH_DUMPS=100 node bench/analyze.mjs
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { distDir, median } from "./lib.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const dir = join(here, "out/analyze");
const runs = Number(process.env.BENCH_RUNS ?? 3);
const only = (process.env.BENCH_ONLY ?? "diff,stats").split(",");
const cli = join(distDir, "cli/main.js");
if (!existsSync(join(dir, "b.pt"))) throw new Error("run /usr/bin/python3 bench/analyze_inputs.py first");

const READ = `const fs=require("fs");let n=0;for(const f of process.argv.slice(1)){n+=fs.readFileSync(f).length}console.log(n)`;

/** One whole-process run: wall ms and peak RSS in MB. Exit status 0 or 1 is fine (diff/stats findings). */
function run(cmd, args) {
  const t = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-f", "%M", cmd, ...args], { encoding: "utf8", maxBuffer: 1 << 30 });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0 && r.status !== 1) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  const rss = Number(r.stderr.trim().split("\n").at(-1)) / 1024;
  return { ms, rss };
}

function bench(name, cases) {
  const results = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  const loads = [];
  for (let i = 0; i < runs; i++) {
    for (const [k, [cmd, args]] of Object.entries(cases)) {
      results[k].push(run(cmd, args));
      loads.push(loadavg()[0]);
    }
  }
  const base = median(results.read.map((r) => r.ms));
  console.log(`${name} (${runs} interleaved runs, load ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}):`);
  for (const [k, rs] of Object.entries(results)) {
    const ms = median(rs.map((r) => r.ms));
    const rss = Math.max(...rs.map((r) => r.rss));
    console.log(`  ${k.padEnd(6)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${(ms / base).toFixed(2)}× read  peak RSS ${rss.toFixed(0)} MB`);
  }
}

if (only.includes("diff")) {
  const a = join(dir, "a.pt");
  const b = join(dir, "b.pt");
  bench("diff of two 1 GiB checkpoints", {
    read: [process.execPath, ["-e", READ, a, b]],
    diff: [process.execPath, [cli, "diff", a, b, "--json"]],
    torch: ["/usr/bin/python3", [join(here, "analyze_torch.py"), "diff", a, b]],
  });
}
if (only.includes("stats")) {
  const run_ = join(dir, "run");
  // BENCH_DUMPS=N: only the first N dumps (steps 1..N) of the run.
  const dumps = Number(process.env.BENCH_DUMPS ?? Infinity);
  const files = readdirSync(run_).filter((f) => Number(/\d+/.exec(f)?.[0]) <= dumps).map((f) => join(run_, f));
  bench(`stats over ${files.length} dumps`, {
    read: [process.execPath, ["-e", READ, ...files]],
    stats: [process.execPath, [cli, "stats", ...files, "--json"]],
    torch: ["/usr/bin/python3", [join(here, "analyze_torch.py"), "stats", ...files]],
  });
}
