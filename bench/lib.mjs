// Shared bench helpers: timing, medians, and whole-process timing of commands.
import { spawnSync } from "node:child_process";
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
