// --torch on the command line: validate and convert --sanitize name the same targets, with one
// default, and a bad value or a --torch without --sanitize is a usage error.
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO } from "../helpers/corpus.js";
import { runCli } from "../helpers/cli.js";

const tmp = mkdtempSync(join(tmpdir(), "torchsave-target-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const fx = (dir: string, name: string) => join(REPO, "fixtures", dir, name);

describe("--torch", () => {
  it("validate --weights-only names the target modelled, current by default", () => {
    const def = runCli(["validate", "--weights-only", fx("torch2", "dtypes.pt")]);
    expect(def.stdout).toMatch(/torch\.load\(weights_only=True\) \(torch current\): accepted/);
    const old = runCli(["validate", "--weights-only", "--torch", "1.13", fx("torch2", "dtypes.pt")]);
    expect(old.stdout).toMatch(/\(torch 1\.13\): rejected/);
    expect(old.stdout).toMatch(/_rebuild_tensor_v3/);
    const t26 = runCli(["validate", "--weights-only", "--torch", "2.6", fx("torch", "sparse.pt")]);
    expect(t26.stdout).toMatch(/\(torch 2\.6\): rejected/);
    expect(t26.stdout).toMatch(/_rebuild_sparse_csr_tensor/);
  });

  it("--safe-global models add_safe_globals (torch >= 2.6 only)", () => {
    const file = fx("torch2", "safe-globals.pt");
    expect(runCli(["validate", "--weights-only", "--torch", "2.6", file]).stdout).toMatch(/\(torch 2\.6\): rejected/);
    const ok = runCli(["validate", "--weights-only", "--torch", "2.6", "--safe-global", "torch_models.RunConfig", file]);
    expect(ok.stdout).toMatch(/\(torch 2\.6\): accepted/);
    const old = runCli(["validate", "--weights-only", "--torch", "1.13", "--safe-global", "torch_models.RunConfig", file]);
    expect(old.status).toBe(2);
    expect(old.stderr).toMatch(/torch 1\.13 has no add_safe_globals/);
  });

  it("refuses an unknown target, listing the known ones", () => {
    const r = runCli(["validate", "--weights-only", "--torch", "2.5", fx("torch2", "dtypes.pt")]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--torch takes "1\.13", "2\.6", "current", not "2\.5"/);
  });

  it("convert: --torch needs --sanitize", () => {
    const r = runCli(["convert", fx("torch2", "dtypes.pt"), join(tmp, "x.pt"), "--torch", "2.6"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--torch applies to --sanitize/);
    expect(existsSync(join(tmp, "x.pt"))).toBe(false);
  });

  it("convert --sanitize --torch 1.13 of a uint32 checkpoint writes nothing and says why", () => {
    const out = join(tmp, "u.pt");
    const r = runCli(["convert", fx("torch2", "uint-limits.pt"), out, "--sanitize", "--torch", "1.13"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/torch 1\.13 has no uint32 dtype/);
    expect(r.stderr).toMatch(/not written: torch 1\.13's torch\.load\(weights_only=True\) would refuse/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it("convert --sanitize --torch 2.6 of the same file writes it and says torch 2.6 accepts it", () => {
    const out = join(tmp, "u26.pt");
    const r = runCli(["convert", fx("torch2", "uint-limits.pt"), out, "--sanitize", "--torch", "2.6"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/torch 2\.6's torch\.load\(weights_only=True\) accepts it/);
    expect(existsSync(out)).toBe(true);
  });
});
