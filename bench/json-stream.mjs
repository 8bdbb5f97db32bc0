// Issues #14/#16: JSON output and input, streaming, beside the Python script a user would run
// instead, in the same run (interleaved rounds); whole processes timed with /usr/bin/time (%e, %M).
//
//   /usr/bin/python3 bench/make_inputs.py adamw-10k mid
//   npm run build && node bench/json-stream.mjs [rounds=3] [cases=small,big]
//
// small: convert adamw-10k.pt (10k params + AdamW, 40k small storages) → lossless .json and plain
//        .json, and the lossless .json back to .pt, vs bench/py_json_dump.py (torch.load, tolist(),
//        json.dump), with medians and peak RSS.
// big:   the 768 MiB mid.pt → lossless .json (1 GiB) → .pt: wall time and peak RSS of each step
//        (no Python counterpart: json.dump of tolist() needs several GB of Python floats here).
// Every line ends with the load average at the time it was printed and the controlled load:
// BENCH_BUSY=N (default 0) spins N extra processes for the whole run (see lib.mjs `startBusy`).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startBusy } from "./lib.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const OUT = join(here, "out");
const CLI = join(process.env.TORCHSAVE_DIST ?? join(here, "..", "dist"), "cli", "main.js");
const ROUNDS = Number(process.argv[2] ?? "3");
const CASES = (process.argv[3] ?? "small,big").split(",");
const tmp = mkdtempSync(join(tmpdir(), "torchsave-bench-json-"));
const busy = startBusy();
const load = () => `[load ${loadavg()[0].toFixed(2)}, ${busy.label}]`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const at = (name) => join(tmp, name);

/** Runs a command under /usr/bin/time: seconds and peak RSS in MB. */
function run(cmd, args) {
  const r = spawnSync("/usr/bin/time", ["-f", "%e %M", cmd, ...args], { encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  const [s, kb] = r.stderr.trim().split("\n").pop().split(" ").map(Number);
  return { seconds: s, rssMB: kb / 1024 };
}

function need(file) {
  if (existsSync(join(OUT, file))) return true;
  console.log(`skip: bench/out/${file} is missing (run /usr/bin/python3 bench/make_inputs.py adamw-10k mid)`);
  return false;
}

function line(label, runs, theirs) {
  const s = median(runs.map((r) => r.seconds));
  const rss = Math.max(...runs.map((r) => r.rssMB));
  const ratio = theirs === undefined ? "" : ` → ${(median(theirs.map((r) => r.seconds)) / s).toFixed(2)}× the Python script`;
  console.log(`${label.padEnd(46)} ${s.toFixed(2).padStart(6)} s, peak RSS ${rss.toFixed(0).padStart(5)} MB${ratio} ${load()}`);
}

try {
  if (CASES.includes("small") && need("adamw-10k.pt")) {
    const input = join(OUT, "adamw-10k.pt");
    const t = { lossless: [], plain: [], back: [], py: [] };
    for (let r = 0; r < ROUNDS; r++) {
      t.lossless.push(run("node", [CLI, "convert", input, at("a.json"), "-q"]));
      t.plain.push(run("node", [CLI, "convert", input, at("p.json"), "--to", "json-plain", "-q"]));
      t.back.push(run("node", [CLI, "convert", at("a.json"), at("back.pt"), "-q"]));
      t.py.push(run("/usr/bin/python3", [join(here, "py_json_dump.py"), input, at("py.json")]));
    }
    line("python3 bench/py_json_dump.py adamw-10k.pt", t.py);
    line("convert adamw-10k.pt → .json (lossless)", t.lossless, t.py);
    line("convert adamw-10k.pt → .json (plain)", t.plain, t.py);
    line("convert adamw-10k .json (lossless) → .pt", t.back);
  }
  if (CASES.includes("big") && need("mid.pt")) {
    const input = join(OUT, "mid.pt");
    const t = { json: [], back: [] };
    for (let r = 0; r < ROUNDS; r++) {
      t.json.push(run("node", [CLI, "convert", input, at("m.json"), "-q"]));
      t.back.push(run("node", [CLI, "convert", at("m.json"), at("m.pt"), "-q"]));
    }
    const gib = (f) => (statSync(f).size / 2 ** 30).toFixed(2);
    line(`convert mid.pt (${gib(input)} GiB) → .json (${gib(at("m.json"))} GiB)`, t.json);
    line("convert that .json → .pt", t.back);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
  busy.stop();
}
