// Temp files of atomic writes never stay for good: SIGINT/SIGTERM remove the current one, and the
// next write into a folder sweeps those a killed (SIGKILL) writer left, by pid and by age.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bundleChildScript } from "../../helpers/child-script.js";
import { STALE_TEMP_MS, sweepStaleTemps, tempPathFor, TEMP_SUFFIX } from "../../../src/node/temp-files.js";
import { writeFileAtomic } from "../../../src/node/atomic-write.js";

const root = mkdtempSync(join(tmpdir(), "torchsave-temps-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const temps = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith(TEMP_SUFFIX));

/** A child that writes `out` slowly (1 MiB chunks, 5 ms apart) with writeFileAtomic; prints "started" once writing. */
function slowWriter(dir: string): string {
  const script = join(dir, "..", `writer-${Math.random().toString(16).slice(2)}.mjs`);
  bundleChildScript(`
    import { writeFileAtomic } from "./src/node/atomic-write.ts";
    async function* chunks() {
      for (let i = 0; i < 4000; i++) {
        if (i === 2) console.log("started");
        await new Promise((r) => setTimeout(r, 5));
        yield new Uint8Array(1024 * 1024).fill(i & 0xff);
      }
    }
    await writeFileAtomic(process.argv[2], chunks(), { fsync: false });
    console.log("finished");
  `, script);
  return script;
}

async function killMidWrite(signal: NodeJS.Signals): Promise<{ dir: string; exit: { code: number | null; signal: NodeJS.Signals | null }; partial: number }> {
  const dir = join(root, signal);
  mkdirSync(dir);
  const script = slowWriter(dir);
  const proc = spawn(process.execPath, [script, join(dir, "out.bin")], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  proc.stdout.on("data", (d: Buffer) => (output += String(d)));
  proc.stderr.on("data", (d: Buffer) => (output += String(d)));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.on("exit", (code, sig) => r({ code, signal: sig })));
  const deadline = Date.now() + 60_000;
  let partial = 0;
  while (Date.now() < deadline && (!output.includes("started") || partial < 2 * 1024 * 1024)) {
    await new Promise((r) => setTimeout(r, 20));
    const t = temps(dir)[0];
    partial = t === undefined ? 0 : statSync(join(dir, t)).size;
  }
  expect(partial, output).toBeGreaterThanOrEqual(2 * 1024 * 1024);
  proc.kill(signal);
  const result = await exit;
  expect(output).not.toContain("finished");
  return { dir, exit: result, partial };
}

describe("temp files of atomic writes", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`${signal} mid-write removes the temp file and ends the process by that signal`, async () => {
      const { dir, exit } = await killMidWrite(signal);
      expect(exit.signal).toBe(signal);
      expect(temps(dir)).toEqual([]);
      expect(existsSync(join(dir, "out.bin"))).toBe(false);
    }, 90_000);
  }

  it("SIGKILL leaves the temp file; the next write into the folder removes it (its process is gone)", async () => {
    const { dir, exit } = await killMidWrite("SIGKILL");
    expect(exit.signal).toBe("SIGKILL");
    expect(temps(dir)).toHaveLength(1);
    await writeFileAtomic(join(dir, "other.bin"), new Uint8Array([1, 2, 3]), { fsync: false });
    expect(temps(dir)).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(["other.bin"]);
  }, 90_000);

  it("a sweep keeps live writers' temp files and other files; removes old ones of any host", () => {
    const dir = join(root, "sweep");
    mkdirSync(dir);
    const mine = tempPathFor(join(dir, "a.pt")); // this process: alive
    writeFileSync(mine, "x");
    const foreignFresh = join(dir, `.b.pt.12345.abcdef.0123abcd${TEMP_SUFFIX}`); // another machine, just written
    writeFileSync(foreignFresh, "x");
    const foreignOld = join(dir, `.c.pt.12345.abcdef.89abcdef${TEMP_SUFFIX}`);
    writeFileSync(foreignOld, "x");
    const old = (Date.now() - STALE_TEMP_MS - 60_000) / 1000;
    utimesSync(foreignOld, old, old);
    const unrelated = join(dir, ".d.pt.1.tmp"); // not our name: never touched, however old
    writeFileSync(unrelated, "x");
    utimesSync(unrelated, old, old);
    const removed = sweepStaleTemps(dir);
    expect(removed).toEqual([`.c.pt.12345.abcdef.89abcdef${TEMP_SUFFIX}`]);
    expect(existsSync(mine)).toBe(true);
    expect(existsSync(foreignFresh)).toBe(true);
    expect(existsSync(unrelated)).toBe(true);
    expect(sweepStaleTemps(join(root, "no-such-folder"))).toEqual([]);
  });
});
