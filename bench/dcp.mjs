// Issue #18 benches, side by side with torch in the same run.
//   node bench/dcp.mjs consolidate DIR   # a DCP directory (bench/make_dcp.py) → .pt: torchsave convert vs dcp_to_torch_save
//   node bench/dcp.mjs remote [GiB]      # bytes fetched to inspect a remote checkpoint of GiB (default 1)
//   node bench/dcp.mjs validate DIR      # torchsave validate DIR (every item) vs validate of the same tensors in one .pt vs torch reading every item
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { distDir } from "./lib.mjs";

const CLI = join(distDir, "cli/main.js");
const TORCH2 = "/work/shared/tools/torch2";
const load = () => `[load ${loadavg()[0].toFixed(2)}]`;

/** Wall seconds and max RSS (MiB) of a command, from GNU time. */
function timed(cmd, args) {
  const r = spawnSync("/usr/bin/time", ["-f", "%e %M", cmd, ...args], { encoding: "utf8", maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  const [wall, rss] = r.stderr.trim().split("\n").pop().split(" ").map(Number);
  return { wall, rssMiB: rss / 1024, stdout: r.stdout };
}

function consolidate(dir, runs = Number(process.env.BENCH_RUNS ?? 2)) {
  const tmp = mkdtempSync(join(tmpdir(), "bench-dcp-"));
  const ours = join(tmp, "ours.pt");
  const theirs = join(tmp, "torch.pt");
  const py = `import time,sys\nfrom torch.distributed.checkpoint.format_utils import dcp_to_torch_save\nt=time.time()\ndcp_to_torch_save(sys.argv[1], sys.argv[2])\nprint(time.time()-t)`;
  try {
    for (let i = 0; i < runs; i++) {
      const a = timed(process.execPath, [CLI, "convert", dir, ours, "--quiet"]);
      console.log(`torchsave convert DIR out.pt: ${a.wall.toFixed(2)} s whole process, max RSS ${a.rssMiB.toFixed(0)} MiB ${load()}`);
      const b = timed(TORCH2, ["python3", "-c", py, dir, theirs]);
      console.log(`torch dcp_to_torch_save:      ${b.wall.toFixed(2)} s whole process (${Number(b.stdout.trim().split("\n").pop()).toFixed(2)} s in the call), max RSS ${b.rssMiB.toFixed(0)} MiB ${load()}`);
    }
    console.log(`sizes: ours ${statSync(ours).size} bytes, torch's ${statSync(theirs).size} bytes`);
    const lines = (f) => spawnSync(process.execPath, [CLI, "tensors", f, "--json"], { encoding: "utf8", maxBuffer: 1 << 30 }).stdout;
    const same = lines(ours) === lines(theirs);
    console.log(`same tensors (tensors --json of both): ${same}`);
    if (!same) process.exitCode = 1;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function remote(gib = 1) {
  const { writeCheckpointFile } = await import(join(distDir, "node/index.js"));
  const { tensor } = await import(join(distDir, "index.js"));
  const { startRangeServerJs } = await import("./range-server.mjs");
  const tmp = mkdtempSync(join(tmpdir(), "bench-remote-"));
  const file = join(tmp, "big.pt");
  try {
    // 64 tensors of 2048×2048 float32 per GiB plus a few small ones, like bench/out/big.pt.
    const entries = [];
    const n = Math.round(64 * gib);
    const data = new Float32Array(2048 * 2048);
    for (let i = 0; i < n; i++) entries.push([`layers.${i}.weight`, tensor(data, { shape: [2048, 2048] })]);
    for (let i = 0; i < 200; i++) entries.push([`layers.${i}.bias`, tensor(new Float32Array(16), { shape: [16] })]);
    await writeCheckpointFile(file, { kind: "dict", entries }, { fsync: false });
    const size = statSync(file).size;
    const server = await startRangeServerJs(file);
    for (const args of [["inspect", "--json"], ["inspect"]]) {
      server.stats.bytesSent = 0;
      server.stats.requests = 0;
      const t = Date.now();
      const code = await new Promise((resolve) => spawn(process.execPath, [CLI, args[0], `${server.url}`, ...args.slice(1)], { stdio: ["ignore", "ignore", "inherit"] }).on("close", resolve));
      if (code !== 0) throw new Error(`inspect failed (${code})`);
      console.log(`${args.join(" ")} URL of a ${(size / 2 ** 30).toFixed(2)} GiB .pt: fetched ${server.stats.bytesSent} bytes in ${server.stats.requests} requests = ${((100 * server.stats.bytesSent) / size).toFixed(4)}% of the file, ${Date.now() - t} ms ${load()}`);
    }
    await server.close();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Validating a DCP folder item by item, against validating one .pt of the same tensors and torch reading the folder. */
function validateBench(dir, runs = Number(process.env.BENCH_RUNS ?? 2)) {
  const tmp = mkdtempSync(join(tmpdir(), "bench-dcp-validate-"));
  const one = join(tmp, "one.pt");
  // What dcp_to_torch_save does before torch.save: every item loaded into one state dict (then summed, so nothing stays lazy).
  const py = `import time,sys\nfrom torch.distributed.checkpoint import FileSystemReader\nfrom torch.distributed.checkpoint.default_planner import _EmptyStateDictLoadPlanner\nfrom torch.distributed.checkpoint.state_dict_loader import _load_state_dict\nt=time.time()\nsd={}\n_load_state_dict(sd, storage_reader=FileSystemReader(sys.argv[1]), planner=_EmptyStateDictLoadPlanner(), no_dist=True)\ns=sum(float(v.double().sum()) for v in sd.values() if hasattr(v, "double"))\nassert len(sd) > 1\nprint(time.time()-t)`;
  const size = (d) => spawnSync("du", ["-sb", d], { encoding: "utf8" }).stdout.split("\t")[0];
  try {
    timed(process.execPath, [CLI, "convert", dir, one, "--quiet"]);
    console.log(`folder ${size(dir)} bytes; the same tensors in one .pt: ${statSync(one).size} bytes`);
    for (let i = 0; i < runs; i++) {
      const a = timedAny(process.execPath, [CLI, "validate", dir, "--weights-only"]);
      console.log(`torchsave validate DIR --weights-only (every .distcp item): ${a.wall.toFixed(2)} s, max RSS ${a.rssMiB.toFixed(0)} MiB, exit ${a.status} ${load()}`);
      const b = timedAny(process.execPath, [CLI, "validate", one, "--weights-only"]);
      console.log(`torchsave validate one.pt --weights-only:                   ${b.wall.toFixed(2)} s, max RSS ${b.rssMiB.toFixed(0)} MiB, exit ${b.status} ${load()}`);
      const c = timed(TORCH2, ["python3", "-c", py, dir]);
      console.log(`torch 2.6 loading every item + summing (no checks):        ${c.wall.toFixed(2)} s whole process (${Number(c.stdout.trim().split("\n").pop()).toFixed(2)} s in the call), max RSS ${c.rssMiB.toFixed(0)} MiB ${load()}`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** {@link timed} for commands whose exit status is a result (validate exits 1 on findings). */
function timedAny(cmd, args) {
  const r = spawnSync("/usr/bin/time", ["-f", "%e %M", cmd, ...args], { encoding: "utf8", maxBuffer: 1 << 30 });
  const [wall, rss] = r.stderr.trim().split("\n").pop().split(" ").map(Number);
  return { wall, rssMiB: rss / 1024, status: r.status };
}

const [what, arg] = process.argv.slice(2);
if (what === "validate") validateBench(arg);
else if (what === "consolidate") consolidate(arg);
else if (what === "remote") await remote(arg === undefined ? 1 : Number(arg));
else console.error("usage: node bench/dcp.mjs consolidate DIR | remote [GiB] | validate DIR");
