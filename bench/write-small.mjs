// Issue #16: writes and conversions of many small tensors, JSON/msgpack output, and bounded-memory
// conversions, each beside what a user would run instead, in the same run (interleaved rounds).
//
//   /usr/bin/python3 bench/make_inputs.py     # adamw-10k.pt, adamw-20k.pt, mid.pt, big.pt
//   npm run build && node bench/write-small.mjs [rounds=3] [cases]
//
// cases (comma-separated, default all): write (in-process writeCheckpointFile(Sync) vs torch.save
// of adamw-20k.pt, 80,000 storages, beside the floor: bench/floor-write-adamw.mjs, a minimal
// writer of the same bytes), cli (convert adamw-20k.pt → .pt vs torch.save(torch.load())),
// json (convert adamw-10k.pt → .json and .msgpack vs bench/py_json_dump.py), msgpack (the same,
// msgpack only), big (the same three for big.pt, 64 × 16 MiB tensors read from the file),
// memory (convert the 768 MiB mid.pt → pt, legacy, safetensors, msgpack, json, pickle, DCP and shards,
// and each of legacy, safetensors, msgpack, json, pickle and DCP back to .pt: wall time and peak RSS;
// with gzip in the cases also → .msgpack.gz, which takes a minute),
// gzip (convert mid.pt → .pt.gz and that .pt.gz → .pt, node:zlib, beside Python's torch.save into
// gzip.open at levels 9 (its default) and 6 (ours) and torch.load from gzip.open: wall, CPU, peak RSS).
// Whole processes are timed with /usr/bin/time (%e, %M); in-process writes print wall and CPU
// seconds of the write alone (Node: process.cpuUsage, Python: time.process_time). Every line
// ends with the load average and the controlled load: BENCH_BUSY=N (default 0) spins N extra
// processes for the whole run (see lib.mjs `startBusy`), so both contenders meet the same load.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startBusy } from "./lib.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const OUT = join(here, "out");
const dist = process.env.TORCHSAVE_DIST ?? join(here, "..", "dist");
const CLI = join(dist, "cli", "main.js");
const ROUNDS = Number(process.argv[2] ?? "3");
const CASES = (process.argv[3] ?? "write,cli,json,big,memory").split(",");
const tmp = mkdtempSync(join(tmpdir(), "torchsave-bench16-"));
const busy = startBusy();
const load = () => `[load ${loadavg()[0].toFixed(2)}, ${busy.label}]`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs a command under /usr/bin/time; returns seconds, peak RSS (MB), CPU seconds (user + system) and stdout. */
function run(cmd, args) {
  const r = spawnSync("/usr/bin/time", ["-f", "%e %M %U %S", cmd, ...args], { encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  const [s, kb, user, sys] = r.stderr.trim().split("\n").pop().split(" ").map(Number);
  return { seconds: s, rssMB: kb / 1024, cpu: user + sys, stdout: r.stdout };
}
const clean = () => rmSync(join(tmp, "o"), { recursive: true, force: true });
const outPath = (name) => {
  clean();
  spawnSync("mkdir", ["-p", join(tmp, "o")]);
  return join(tmp, "o", name);
};

function need(file) {
  if (!existsSync(join(OUT, file))) {
    console.log(`skip: bench/out/${file} is missing (run bench/make_inputs.py)`);
    return false;
  }
  return true;
}

function report(label, ours, theirs, theirLabel) {
  const a = median(ours);
  const b = median(theirs);
  console.log(`${label.padEnd(44)} ${a.toFixed(2).padStart(6)} s vs ${theirLabel} ${b.toFixed(2).padStart(6)} s → ${(b / a).toFixed(2)}× ${load()}`);
}

/** In-process timings are "wall cpu" lines; reports both ratios. */
function reportTimed(label, ours, theirs, theirLabel) {
  const wall = (xs) => xs.map((x) => x[0]);
  const cpu = (xs) => xs.map((x) => x[1]);
  report(label, wall(ours), wall(theirs), theirLabel);
  report(`  (CPU seconds)`, cpu(ours), cpu(theirs), theirLabel);
}
const timed = (stdout) => stdout.trim().split(" ").map(Number);

// In-process writes: the node script times only the write, the python script only torch.save.
const nodeWrite = join(tmp, "write.mjs");
writeFileSync(nodeWrite, `
import { readCheckpointFileSync, writeCheckpointFile, writeCheckpointFileSync } from ${JSON.stringify(join(dist, "node", "index.js"))};
const [input, out, mode] = process.argv.slice(2);
const root = readCheckpointFileSync(input).root;
const t = performance.now();
const c = process.cpuUsage();
if (mode === "sync") writeCheckpointFileSync(out, root, { fsync: false });
else await writeCheckpointFile(out, root, { fsync: false });
const u = process.cpuUsage(c);
console.log(((performance.now() - t) / 1000).toFixed(3), ((u.user + u.system) / 1e6).toFixed(3));
`);
const pyWrite = join(tmp, "write.py");
writeFileSync(pyWrite, `
import sys, time, torch
v = torch.load(sys.argv[1])
t = time.perf_counter(); c = time.process_time(); torch.save(v, sys.argv[2]); print(round(time.perf_counter() - t, 3), round(time.process_time() - c, 3))
`);

/** In-process writes of `file` (sync, async, torch.save, and the floor when given), interleaved. */
function writeCase(file, label, floor) {
  const input = join(OUT, file);
  const t = { sync: [], async: [], torch: [], floor: [] };
  for (let r = 0; r < ROUNDS; r++) {
    t.sync.push(timed(run("node", [nodeWrite, input, outPath("a.pt"), "sync"]).stdout));
    t.async.push(timed(run("node", [nodeWrite, input, outPath("a.pt"), "async"]).stdout));
    t.torch.push(timed(run("/usr/bin/python3", [pyWrite, input, outPath("a.pt")]).stdout));
    if (floor) t.floor.push(timed(run("node", [join(here, "floor-write-adamw.mjs"), "--child", "floor", input, outPath("a.pt")]).stdout));
  }
  reportTimed(`write ${label}: writeCheckpointFileSync`, t.sync, t.torch, "torch.save");
  reportTimed(`write ${label}: writeCheckpointFile`, t.async, t.torch, "torch.save");
  if (floor) reportTimed(`write ${label}: the floor (floor-write-adamw)`, t.floor, t.torch, "torch.save");
}

/** `convert file → .pt` vs torch.load + torch.save, whole processes. */
function convertCase(file, label) {
  const input = join(OUT, file);
  const ours = [];
  const theirs = [];
  for (let r = 0; r < ROUNDS; r++) {
    ours.push(run("node", [CLI, "convert", input, outPath("a.pt"), "-q"]).seconds);
    theirs.push(run("/usr/bin/python3", ["-c", "import sys, torch; torch.save(torch.load(sys.argv[1]), sys.argv[2])", input, outPath("a.pt")]).seconds);
  }
  report(`convert ${label} → .pt (whole process)`, ours, theirs, "torch load+save");
}

if (CASES.includes("write") && need("adamw-20k.pt")) writeCase("adamw-20k.pt", "80k storages", true);
if (CASES.includes("cli") && need("adamw-20k.pt")) convertCase("adamw-20k.pt", "adamw-20k.pt");

if ((CASES.includes("json") || CASES.includes("msgpack")) && need("adamw-10k.pt")) {
  const input = join(OUT, "adamw-10k.pt");
  const t = { json: [], msgpack: [], py: [] };
  for (let r = 0; r < ROUNDS; r++) {
    if (CASES.includes("json")) t.json.push(run("node", [CLI, "convert", input, outPath("a.json"), "-q"]).seconds);
    t.msgpack.push(run("node", [CLI, "convert", input, outPath("a.msgpack"), "-q"]).seconds);
    t.py.push(run("/usr/bin/python3", [join(here, "py_json_dump.py"), input, outPath("p.json")]).seconds);
  }
  if (CASES.includes("json")) report("convert adamw-10k.pt → .json (lossless)", t.json, t.py, "tolist+json.dump");
  report("convert adamw-10k.pt → .msgpack", t.msgpack, t.py, "tolist+json.dump");
}

if (CASES.includes("big") && need("big.pt")) {
  writeCase("big.pt", "64 × 16 MiB", false);
  convertCase("big.pt", "big.pt (64 × 16 MiB)");
}

if (CASES.includes("memory") && need("mid.pt")) {
  const input = join(OUT, "mid.pt");
  const outputs = [["pt"], ["pt-legacy"], ["safetensors"], ["msgpack"], ["json"], ["pickle"], ["dcp"], ["shards", "--max-shard-size", "200MB"]];
  if (CASES.includes("gzip")) outputs.push(["msgpack.gz"]);
  const name = (to) => (to === "pickle" ? "m.pkl" : to === "pt-legacy" ? "m.legacy.pt" : to === "dcp" || to === "shards" ? to : `m.${to}`);
  for (const [to, ...extra] of outputs) {
    const plain = to === "shards" || to.endsWith(".gz") ? [] : ["--to", to];
    const r = run("node", [CLI, "convert", input, outPath(name(to)), ...plain, ...extra, "-q"]);
    console.log(`convert mid.pt (768 MiB) → ${to.padEnd(11)} ${r.seconds.toFixed(2).padStart(6)} s, peak RSS ${r.rssMB.toFixed(0).padStart(5)} MB ${load()}`);
  }
  // Inputs: each format made once from mid.pt, then converted back to .pt.
  const made = join(tmp, "in");
  spawnSync("mkdir", ["-p", made]);
  for (const from of ["pt-legacy", "safetensors", "msgpack", "json", "pickle", "dcp"]) {
    const file = join(made, name(from));
    run("node", [CLI, "convert", input, file, "--to", from, "-q"]);
    const r = run("node", [CLI, "convert", file, outPath("back.pt"), "-q"]);
    console.log(`convert ${from.padEnd(11)} (768 MiB) → pt ${r.seconds.toFixed(2).padStart(6)} s, peak RSS ${r.rssMB.toFixed(0).padStart(5)} MB ${load()}`);
    rmSync(file, { recursive: true, force: true });
  }
}
// gzip both ways (node:zlib in the CLI) beside Python: torch.save into gzip.open (its default level
// 9, and level 6 as ours) and torch.load from gzip.open, all reading the same files, interleaved.
if (CASES.includes("gzip") && need("mid.pt")) {
  const input = join(OUT, "mid.pt");
  const gz = join(tmp, "mid.pt.gz");
  run("node", [CLI, "convert", input, gz, "-q"]);
  const save = (level) => `import gzip, sys, torch; torch.save(torch.load(sys.argv[1]), gzip.open(sys.argv[2], "wb"${level === undefined ? "" : `, compresslevel=${level}`}))`;
  const t = { out: [], py9: [], py6: [], in: [], pyIn: [] };
  for (let r = 0; r < ROUNDS; r++) {
    t.out.push(run("node", [CLI, "convert", input, outPath("m.pt.gz"), "-q"]));
    t.py9.push(run("/usr/bin/python3", ["-c", save(), input, outPath("p.pt.gz")]));
    t.py6.push(run("/usr/bin/python3", ["-c", save(6), input, outPath("p.pt.gz")]));
    t.in.push(run("node", [CLI, "convert", gz, outPath("back.pt"), "-q"]));
    t.pyIn.push(run("/usr/bin/python3", ["-c", "import gzip, sys, torch; torch.save(torch.load(gzip.open(sys.argv[1], 'rb')), sys.argv[2])", gz, outPath("p.pt")]));
  }
  const line = (label, xs, theirs) => {
    const m = (k) => median(xs.map((x) => x[k]));
    const ratio = theirs === undefined ? "" : ` → ${(median(theirs.map((x) => x.seconds)) / m("seconds")).toFixed(2)}× (CPU ${(median(theirs.map((x) => x.cpu)) / m("cpu")).toFixed(2)}×)`;
    console.log(`${label.padEnd(58)} ${m("seconds").toFixed(2).padStart(6)} s wall, ${m("cpu").toFixed(2).padStart(6)} s CPU, peak RSS ${m("rssMB").toFixed(0).padStart(5)} MB${ratio} ${load()}`);
  };
  line("convert mid.pt (768 MiB) → .pt.gz (level 6)", t.out, t.py9);
  line("  python torch.save(torch.load(f), gzip.open(out)) (level 9)", t.py9);
  line("  python the same, compresslevel=6", t.py6);
  line("  (ours vs python at level 6)", t.out, t.py6);
  line("convert mid.pt.gz → .pt", t.in, t.pyIn);
  line("  python torch.save(torch.load(gzip.open(f)), out)", t.pyIn);
}
clean();
rmSync(tmp, { recursive: true, force: true });
busy.stop();
