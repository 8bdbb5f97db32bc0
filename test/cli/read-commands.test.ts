// The read-side CLI as a user runs it: inspect, tensors --json, pickle-dis, and errors on bad input.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { REPO } from "../helpers/corpus.js";

const fixture = (name: string) => join(REPO, "fixtures/torch", name);

describe("torchsave tensors --json", () => {
  for (const name of ["full-checkpoint.pt", "views.legacy.pt", "plain.p2.pkl.gz", "quantized.pt", "dtypes.pt"]) {
    it(`${name}: prints exactly the lines torch printed`, () => {
      const r = runCli(["tensors", fixture(name), "--json"]);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(readFileSync(fixture(`${name}.tensors.jsonl`), "utf8"));
    });
  }
});

describe("torchsave inspect", () => {
  it("prints a tree with tensor geometry and totals", () => {
    const r = runCli(["inspect", fixture("full-checkpoint.pt")]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/zip layout/);
    expect(r.stdout).toMatch(/float32 \[/);
    expect(r.stdout).toMatch(/^totals: \d+ tensors/m);
    expect(r.stdout).toMatch(/optimizer: \["optimizer/);
  });
  it("--json is machine-readable and lists every tensor", () => {
    const r = runCli(["inspect", fixture("tied-weights.pt"), "--json"]);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.layout).toBe("zip");
    expect(j.tensors).toBe(j.tensorList.length);
    expect(j.tensors).toBeGreaterThan(0);
  });
});

describe("torchsave pickle-dis", () => {
  it("disassembles data.pkl of a torch zip", () => {
    const r = runCli(["pickle-dis", fixture("parameters.pt")]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ {4}0: \\x80 PROTO {6}2$/m);
    expect(r.stdout).toMatch(/\nhighest protocol among opcodes = 2\n$/);
  });
});

describe("bad input", () => {
  const dir = mkdtempSync(join(tmpdir(), "torchsave-cli-"));
  it("a truncated checkpoint: one line naming file, offset and record; exit 2", () => {
    const bytes = readFileSync(fixture("full-checkpoint.legacy.pt"));
    const cut = join(dir, "cut.pt");
    writeFileSync(cut, bytes.subarray(0, 300));
    const r = runCli(["tensors", cut, "--json"]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^torchsave: .*cut\.pt: truncated at byte \d+/);
  });
  it("a missing file", () => {
    const r = runCli(["inspect", join(dir, "nope.pt")]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^torchsave: .*nope\.pt: io: no such file/);
  });
  it("not a checkpoint", () => {
    const p = join(dir, "text.pt");
    writeFileSync(p, "hello world, not a checkpoint\n");
    const r = runCli(["inspect", p]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/text\.pt: unsupported at byte 0: the input is no format torchsave reads/);
  });
  it("usage errors", () => {
    expect(runCli(["frobnicate"]).status).toBe(2);
    expect(runCli(["tensors"]).status).toBe(2);
    expect(runCli(["tensors", "a", "--bogus"]).stderr).toMatch(/^torchsave: /);
  });
});

describe("tensors --json agrees across formats", () => {
  const dir = mkdtempSync(join(tmpdir(), "torchsave-formats-"));
  for (const ext of ["json", "msgpack", "safetensors", "pkl", "json.gz"]) {
    it(`full-checkpoint.pt → .${ext}: the same lines torch printed for the original`, () => {
      const out = join(dir, `fc.${ext}`);
      const c = runCli(["convert", fixture("full-checkpoint.pt"), out, "--quiet"]);
      expect(c.status, c.stderr).toBe(0);
      const r = runCli(["tensors", out, "--json"]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe(readFileSync(fixture("full-checkpoint.pt.tensors.jsonl"), "utf8"));
    });
  }
});
