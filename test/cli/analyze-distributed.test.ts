// diff and stats take what inspect/tensors/convert take: DCP directories and DeepSpeed folders are one
// checkpoint each (consolidated), not a run of dumps.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { REPO } from "../helpers/corpus.js";

const DCP = join(REPO, "fixtures/dcp/sharded");
const ZERO = join(REPO, "fixtures/zero/zero2");
const tmp = mkdtempSync(join(tmpdir(), "torchsave-analyze-dist-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("diff and stats on distributed checkpoints", () => {
  it("diff of a DCP directory and its consolidated .pt is equal (exit 0); against another checkpoint it differs (exit 1)", () => {
    const pt = join(tmp, "sharded.pt");
    expect(runCli(["convert", DCP, pt]).status).toBe(0);
    const same = runCli(["diff", DCP, pt, "--json"]);
    expect(same.status).toBe(0);
    const report = JSON.parse(same.stdout) as { equal: boolean; onlyA: string[]; onlyB: string[] };
    expect(report).toMatchObject({ equal: true, onlyA: [], onlyB: [] });
    const other = runCli(["diff", DCP, join(REPO, "fixtures/dcp/single"), "--json"]);
    expect(other.status).toBe(1);
    expect((JSON.parse(other.stdout) as { equal: boolean }).equal).toBe(false);
  });

  it("stats of a DCP directory is one checkpoint's statistics, equal to its consolidated file's", () => {
    const pt = join(tmp, "sharded-stats.pt");
    expect(runCli(["convert", DCP, pt]).status).toBe(0);
    const lines = (args: string[]) => runCli(["stats", ...args, "--json"]).stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    const fromDir = lines([DCP]);
    const fromPt = lines([pt]);
    const strip = (rows: Record<string, unknown>[]) => rows.slice(0, -1).map(({ file: _f, ...rest }) => rest);
    expect(fromDir.length).toBeGreaterThan(2);
    expect(strip(fromDir)).toEqual(strip(fromPt));
  });

  it("diff of a safetensors-based DCP folder and its consolidated .pt is equal; stats reads it as one checkpoint", () => {
    const ST = join(REPO, "fixtures/dcp/sharded_st");
    const pt = join(tmp, "sharded_st.pt");
    expect(runCli(["convert", ST, pt]).status).toBe(0);
    const same = runCli(["diff", ST, pt, "--json"]);
    expect(same.status, same.stderr).toBe(0);
    expect((JSON.parse(same.stdout) as { equal: boolean }).equal).toBe(true);
    const lines = (arg: string) => runCli(["stats", arg, "--json"]).stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    const strip = (rows: Record<string, unknown>[]) => rows.slice(0, -1).map(({ file: _f, ...rest }) => rest);
    expect(strip(lines(ST))).toEqual(strip(lines(pt)));
  });

  it("stats of a DeepSpeed folder consolidates it (not a run of its rank files)", () => {
    const r = runCli(["stats", ZERO, "--json"]);
    expect(r.status).toBe(0);
    const rows = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { path?: unknown; summary?: { steps: number } });
    expect(rows.at(-1)!.summary!.steps).toBe(1);
    expect(rows.some((x) => JSON.stringify(x.path) === JSON.stringify(["lin0.weight"]))).toBe(true);
  });
});
