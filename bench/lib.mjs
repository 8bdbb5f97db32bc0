// Shared bench helpers: timing, medians, and whole-process timing of commands.
import { spawn, spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The built library to measure: ../dist, or TORCHSAVE_DIST (to compare two builds side by side). */
export const distDir = process.env.TORCHSAVE_DIST !== undefined
  ? resolve(process.env.TORCHSAVE_DIST)
  : join(dirname(fileURLToPath(import.meta.url)), "../dist");

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median wall time in ms of `fn` over `runs` runs (after one warm-up). */
export function time(fn, runs = 5) {
  fn();
  const out = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    fn();
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(out);
}

/** Median wall time in ms of a whole process (spawn to exit). Throws if it fails. */
export function timeProcess(cmd, args, runs = 5) {
  const out = [];
  for (let i = 0; i < runs + 1; i++) {
    const t = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 30 });
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
    if (i > 0) out.push(ms);
  }
  return median(out);
}

/**
 * Whole-process wall times of several commands, run in turn (a, b, c, a, b, c, ...) so that a
 * change in machine load hits all of them alike. `cases` maps a label to `{ cmd, args, cwd? }`;
 * returns, per label, the median and the 10th/90th percentiles in ms over `runs` runs (after one
 * warm-up round). Throws if a command fails.
 */
export function timeProcesses(cases, runs = 21) {
  const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (let i = 0; i < runs + 1; i++) {
    for (const [label, { cmd, args, cwd }] of Object.entries(cases)) {
      const t = process.hrtime.bigint();
      const r = spawnSync(cmd, args, { encoding: "utf8", cwd, maxBuffer: 1 << 30 });
      const ms = Number(process.hrtime.bigint() - t) / 1e6;
      if (r.status !== 0) throw new Error(`${label}: ${cmd} ${args.join(" ")} failed: ${r.stderr}`);
      if (i > 0) times[label].push(ms);
    }
  }
  const at = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))];
  return Object.fromEntries(Object.entries(times).map(([k, xs]) => [k, { median: median(xs), p10: at(xs, 0.1), p90: at(xs, 0.9) }]));
}

export const fmt = (ms) => `${ms.toFixed(1)} ms`;

/** The 1-minute load average, to print beside each number (other work on the machine skews timings). */
export const load = () => `load ${loadavg()[0].toFixed(2)}`;

/** True unless BENCH_ONLY (comma-separated names) leaves `name` out. */
export function wanted(name) {
  const only = process.env.BENCH_ONLY;
  return only === undefined || only.split(",").includes(name);
}

/**
 * A controlled load: `BENCH_BUSY=N` (default 0) starts N child processes that spin on a core for
 * the whole run, so both contenders of a bench run under the same load (on this 2-core machine,
 * `BENCH_BUSY=2` keeps both cores busy). They are killed when the bench exits, normally, by an
 * error, or by SIGINT/SIGTERM; each also exits by itself once its parent is gone (a SIGKILLed
 * bench leaves none behind). Returns the label to print beside every figure ("busy N").
 */
export function startBusy(n = Number(process.env.BENCH_BUSY ?? "0")) {
  if (!Number.isSafeInteger(n) || n < 0 || n > 64) throw new Error(`BENCH_BUSY must be an integer from 0 to 64, not ${process.env.BENCH_BUSY}`);
  // Spins in 50 ms slices; between slices it checks that the bench that started it is still there.
  // (process.ppid is read once at start in Node 20, so it asks the kernel about the parent's pid.)
  const spin = `const p = ${process.pid}; for (;;) { const t = Date.now(); while (Date.now() - t < 50); try { process.kill(p, 0); } catch { process.exit(0); } }`;
  const children = [];
  for (let i = 0; i < n; i++) {
    const child = spawn(process.execPath, ["-e", spin], { stdio: "ignore" });
    child.unref(); // the bench exits when its work is done; "exit" below kills the spinners
    children.push(child);
  }
  const stop = () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  };
  process.on("exit", stop);
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      stop();
      process.exit(128 + (signal === "SIGINT" ? 2 : 15));
    });
  }
  return { n, label: `busy ${n}`, stop };
}
