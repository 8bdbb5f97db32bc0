// The CLI run in a child process that reports its own peak RSS: what the bounded-memory tests
// measure. The hook is an `--import` module that prints `max-rss <MiB>` on stderr as the process exits.
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLI } from "./cli.js";

/** Writes the hook into `dir`; returns its path. */
export function writePeakRssHook(dir: string): string {
  const hook = join(dir, "max-rss.mjs");
  writeFileSync(hook, 'process.on("exit", () => process.stderr.write(`\\nmax-rss ${process.resourceUsage().maxRSS / 1024}\\n`));\n');
  return hook;
}

/** Runs `torchsave ARGS` under `hook`: its result and its peak RSS in MiB (NaN when it printed none). */
export function cliWithPeakRss(hook: string, args: readonly string[], maxBuffer = 2 ** 20): { run: SpawnSyncReturns<string>; rssMiB: number } {
  const run = spawnSync(process.execPath, ["--import", hook, CLI, ...args], { encoding: "utf8", timeout: 300_000, maxBuffer });
  return { run, rssMiB: Number(/max-rss ([\d.]+)/.exec(run.stderr)?.[1]) };
}
