// The commands on inputs of several files (DCP directories) and on URLs, as a user runs them.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { CLI, runCli, type CliResult } from "../helpers/cli.js";
import { REPO } from "../helpers/corpus.js";
import { startRangeServer, type RangeServer } from "../helpers/range-server.js";
import { stateDict, tensor, writeCheckpoint } from "../../src/index.js";
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { concatBytes } from "../../src/bytes/concat.js";
import { zipRecordsSync } from "../../src/containers/zip/zip-writer.js";
import { planDcp, readDcpMetadata, DCP_DATA_FILE } from "../../src/distributed/index.js";
import type { TorchValue } from "../../src/torch/index.js";
import { callPickle } from "../unit/validate/pickle-asm.js";

const DCP = join(REPO, "fixtures/dcp");
const lines = (name: string): string => readFileSync(join(DCP, `${name}.tensors.jsonl`), "utf8");
const tmp = mkdtempSync(join(tmpdir(), "torchsave-dist-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let server: RangeServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** The CLI in a child process without blocking this one (the test's HTTP server must keep answering). */
function runCliAsync(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, env: { ...process.env, TORCHSAVE_DEBUG: "" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

describe("DCP directories on the command line", () => {
  for (const name of ["single", "sharded", "fsdp2"]) {
    it(`tensors ${name}/ prints dcp_to_torch_save's tensor lines`, () => {
      const r = runCli(["tensors", join(DCP, name), "--json"]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe(lines(name));
    });
    for (const ext of ["pt", "safetensors"]) {
      it(`convert ${name}/ out.${ext} consolidates to the same tensors`, () => {
        const out = join(tmp, `${name}.${ext}`);
        const c = runCli(["convert", join(DCP, name), out]);
        expect(c.status, c.stderr).toBe(0);
        expect(c.stderr).toContain(`dcp → ${ext}`);
        expect(runCli(["tensors", out, "--json"]).stdout).toBe(lines(name));
      });
    }
  }

  it("convert in.pt out --to dcp writes a directory that reads back with the same tensors", () => {
    const out = join(tmp, "written.dcp");
    const c = runCli(["convert", join(DCP, "sharded"), out, "--to", "dcp"]);
    expect(c.status, c.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual([".metadata", "__0_0.distcp"]);
    expect(runCli(["tensors", out, "--json"]).stdout).toBe(lines("sharded"));
  });

  it("inspect shows the nested state dict and says it is a DCP directory", () => {
    const r = runCli(["inspect", join(DCP, "sharded")]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("DCP directory");
    expect(r.stdout).toMatch(/"grid": Tensor bfloat16 \[8, 8\]/);
    expect(r.stdout).toMatch(/\[0\]: Tensor int32 \[4\]/);
  });

  it("a folder without .metadata is a clear error", () => {
    const r = runCli(["inspect", join(REPO, "fixtures")]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not a checkpoint torchsave reads.*\.metadata/);
  });
});

describe("Hugging Face shards on the command line", () => {
  const BIN = join(REPO, "fixtures/shards/bin");
  const merged = readFileSync(join(REPO, "fixtures/shards/bin.tensors.jsonl"), "utf8");
  it("tensors takes the folder or its index file", () => {
    expect(runCli(["tensors", BIN, "--json"]).stdout).toBe(merged);
    expect(runCli(["tensors", join(BIN, "pytorch_model.bin.index.json"), "--json"]).stdout).toBe(merged);
  });
  it("convert --max-shard-size writes safetensors shards and an index that read back the same", () => {
    const out = join(tmp, "st-shards");
    const r = runCli(["convert", BIN, out, "--max-shard-size", "400B"]);
    expect(r.status, r.stderr).toBe(0);
    const names = readdirSync(out).sort();
    expect(names).toContain("model.safetensors.index.json");
    expect(names.filter((n) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(n)).length).toBeGreaterThan(1);
    expect(runCli(["tensors", out, "--json"]).stdout).toBe(merged);
  });
  it("convert of a DCP directory to shards needs a flat state dict: a clear error", () => {
    const r = runCli(["convert", join(DCP, "single"), join(tmp, "nope"), "--max-shard-size", "1MB"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/flat state dict of tensors/);
  });
  it("a bad --max-shard-size is a usage error", () => {
    const r = runCli(["convert", BIN, join(tmp, "x"), "--max-shard-size", "lots"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--max-shard-size/);
  });
});

describe("URLs on the command line", () => {
  it("inspect of a .pt URL prints what inspect of the file prints, fetching a fraction of it", async () => {
    const big = writeCheckpoint(stateDict({ w: tensor(new Float32Array(1 << 21), { shape: [2048, 1024] }), b: tensor(new Float32Array([1, 2])) }));
    server = await startRangeServer({ "m.pt": big });
    const file = join(tmp, "m.pt");
    (await import("node:fs")).writeFileSync(file, big);
    const remote = await runCliAsync(["inspect", `${server.base}m.pt`, "--json"]);
    expect(remote.status, remote.stderr).toBe(0);
    const local = runCli(["inspect", file, "--json"]);
    const strip = (s: string) => ({ ...JSON.parse(s), file: "" });
    expect(strip(remote.stdout)).toEqual(strip(local.stdout));
    expect(server.stats.bytesSent).toBeLessThan(big.length / 50);
  });

  it("tensors of a DCP directory URL prints dcp_to_torch_save's lines", async () => {
    server = await startRangeServer({}, { dir: DCP });
    const r = await runCliAsync(["tensors", `${server.base}sharded/`, "--json"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(lines("sharded"));
  });

  it("tensors of a shard index URL reads every shard through ranges", async () => {
    server = await startRangeServer({}, { dir: join(REPO, "fixtures/shards") });
    const r = await runCliAsync(["tensors", `${server.base}bin/pytorch_model.bin.index.json`, "--json"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(readFileSync(join(REPO, "fixtures/shards/bin.tensors.jsonl"), "utf8"));
  });

  it("convert of a URL writes the same tensors", async () => {
    server = await startRangeServer({}, { dir: DCP });
    const out = join(tmp, "from-url.safetensors");
    const r = await runCliAsync(["convert", `${server.base}single/`, out, "--quiet"]);
    expect(r.status, r.stderr).toBe(0);
    expect(runCli(["tensors", out, "--json"]).stdout).toBe(lines("single"));
  });

  it("a server that ignores ranges is a one-line error, exit 2", async () => {
    server = await startRangeServer({ "m.pt": new Uint8Array(200_000) }, { ignoreRanges: true });
    const r = await runCliAsync(["inspect", `${server.base}m.pt`]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/ignores HTTP range requests/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("DeepSpeed ZeRO folders on the command line", () => {
  const ZERO = join(REPO, "fixtures/zero");
  const zlines = (name: string): string => readFileSync(join(ZERO, `${name}.tensors.jsonl`), "utf8");
  for (const name of ["zero2", "zero3"]) {
    it(`tensors ${name}/ prints zero_to_fp32's tensor lines`, () => {
      const r = runCli(["tensors", join(ZERO, name), "--json"]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe(zlines(name));
    });
    it(`convert ${name}/ out.pt --include-optimizer writes the weights and the moments`, () => {
      const out = join(tmp, `${name}-optim.pt`);
      const c = runCli(["convert", join(ZERO, name), out, "--include-optimizer"]);
      expect(c.status, c.stderr).toBe(0);
      expect(c.stderr).toContain("deepspeed → pt");
      expect(runCli(["tensors", out, "--json"]).stdout).toBe(zlines(`${name}.optim`));
    });
  }

  it("convert of the tag folder itself writes the fp32 weights", () => {
    const out = join(tmp, "zero2.pt");
    const c = runCli(["convert", join(ZERO, "zero2", "global_step3"), out]);
    expect(c.status, c.stderr).toBe(0);
    expect(runCli(["tensors", out, "--json"]).stdout).toBe(zlines("zero2"));
  });

  it("inspect says it is a DeepSpeed checkpoint consolidated to fp32", () => {
    const r = runCli(["inspect", join(ZERO, "zero3")]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("DeepSpeed ZeRO checkpoint, consolidated to fp32");
    expect(r.stdout).toMatch(/"head.weight": Tensor float32 \[7, 3\]/);
  });

  it("--include-optimizer on another input is a usage error", () => {
    const r = runCli(["convert", join(DCP, "sharded"), join(tmp, "x.pt"), "--include-optimizer"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--include-optimizer applies to DeepSpeed ZeRO folders only/);
  });
});

describe("safetensors-based DCP folders on the command line", () => {
  const ST = join(DCP, "sharded_st");
  it("tensors reads the rank files as one checkpoint (the chunks assembled)", () => {
    const r = runCli(["tensors", ST, "--json"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(lines("sharded_st"));
  });
  it("convert writes the consolidated tensors", () => {
    const out = join(tmp, "st.pt");
    const c = runCli(["convert", ST, out]);
    expect(c.status, c.stderr).toBe(0);
    expect(runCli(["tensors", out, "--json"]).stdout).toBe(lines("sharded_st"));
  });
});

/** A DCP folder on disk whose `note` item is a torch.save-like zip calling os.system. */
function maliciousDcp(dir: string): void {
  const plan = planDcp(stateDict({ w: tensor(new Float32Array([1, 2])), note: "x".repeat(400) as TorchValue }));
  const data = concatBytes([...plan.data]);
  const meta = plan.metadata();
  const note = readDcpMetadata(meta).entries.find((e) => e.fqn === "note") as { offset: number; length: number };
  const build = (pad: number) => zipRecordsSync([{ name: "archive/data.pkl", data: callPickle("os", "system", `echo pwned${" ".repeat(pad)}`) }], { alignment: 1 });
  const evil = build(note.length - build(0).length);
  data.set(evil, note.offset);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, ".metadata"), meta);
  writeFileSync(join(dir, DCP_DATA_FILE), data);
}

describe("validate on checkpoint folders", () => {
  for (const rel of ["dcp/sharded", "dcp/fsdp2", "dcp/sharded_st", "shards/bin", "zero/zero3"]) {
    it(`${rel}: one report, exit 0`, () => {
      const r = runCli(["validate", join(REPO, "fixtures", rel), "--weights-only", "--torch", "2.6"]);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/: ok \((dcp|dcp-safetensors|shards|deepspeed) folder, \d+ parts?, \d+ bytes\): 0 error\(s\)/);
    });
  }

  it("a malicious pickle in one .distcp item fails the folder (exit 1), the line naming the file and key", () => {
    const dir = join(tmp, "evil.dcp");
    maliciousDcp(dir);
    const r = runCli(["validate", dir, "--weights-only"]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`${dir}: error global-dangerous at byte 2 in ${DCP_DATA_FILE}[note] > archive/data.pkl: imports os.system`);
    expect(r.stdout).toMatch(/torch\.load\(weights_only=True\) \(torch current\): rejected/);
    expect(r.stdout).toMatch(/FAILED \(dcp folder/);
    const json = JSON.parse(runCli(["validate", dir, "--json"]).stdout);
    expect(json.files[0].kind).toBe("folder");
    expect(json.files[0].parts.map((p: { file: string }) => p.file)).toContain(`${DCP_DATA_FILE}[note]`);
  });

  it("a shard index file validates its folder; a folder holding no checkpoint exits 2", () => {
    const ok = runCli(["validate", join(REPO, "fixtures/shards/bin/pytorch_model.bin.index.json")]);
    expect(ok.status, ok.stdout).toBe(0);
    const none = runCli(["validate", join(REPO, "fixtures/train")]);
    expect(none.status).toBe(2);
    expect(none.stdout).toMatch(/unreadable/);
  });

  it("validate takes a file URL (one report), and an unreachable one is unreadable (exit 2)", async () => {
    server = await startRangeServer({}, { dir: join(REPO, "fixtures") });
    const ok = await runCliAsync(["validate", `${server.base}shards/bin/pytorch_model-00001-of-00004.bin`]);
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/pytorch_model-00001-of-00004\.bin: ok \(zip, \d+ bytes\)/);
    const gone = await runCliAsync(["validate", `${server.base}nope.pt`]);
    expect(gone.status).toBe(2);
    expect(gone.stdout).toMatch(/nope\.pt: error unreadable/);
  });

  it("validate takes a DCP folder URL", async () => {
    server = await startRangeServer({}, { dir: DCP });
    const r = await runCliAsync(["validate", `${server.base}sharded/`, "--weights-only"]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/sharded: ok \(dcp folder, 28 parts/);
  });
});

describe("DeepSpeed ZeRO folders behind URLs", () => {
  const ZERO = join(REPO, "fixtures/zero");
  const zlines = (name: string): string => readFileSync(join(ZERO, `${name}.tensors.jsonl`), "utf8");
  const size = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((n, d) => n + (d.isDirectory() ? size(join(dir, d.name)) : statSync(join(dir, d.name)).size), 0);

  for (const [name, path] of [["zero2", "zero2/"], ["zero3", "zero3/"], ["zero2", "zero2/latest"], ["zero3", "zero3/global_step3/"]] as const) {
    it(`tensors ${path} consolidates as the local folder does, fetching each file once at most`, async () => {
      server = await startRangeServer({}, { dir: ZERO });
      const r = await runCliAsync(["tensors", `${server.base}${path}`, "--json"]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe(zlines(name));
      expect(server.stats.bytesSent).toBeLessThanOrEqual(size(join(ZERO, name)));
    });
  }

  it("validate takes a ZeRO folder URL and a tag folder URL (rank files found by name)", async () => {
    server = await startRangeServer({}, { dir: ZERO });
    for (const path of ["zero3/", "zero2/global_step3/"]) {
      const r = await runCliAsync(["validate", `${server.base}${path}`, "--weights-only"]);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/ok \(deepspeed folder, [34] parts/);
    }
  });

  it("convert --include-optimizer of a ZeRO folder URL writes the moments too", async () => {
    server = await startRangeServer({}, { dir: ZERO });
    const out = join(tmp, "zero3-url.pt");
    const r = await runCliAsync(["convert", `${server.base}zero3/`, out, "--include-optimizer", "--quiet"]);
    expect(r.status, r.stderr).toBe(0);
    expect(runCli(["tensors", out, "--json"]).stdout).toBe(zlines("zero3.optim"));
  });

  it("a folder URL that is neither DCP nor DeepSpeed is a one-line error, exit 2", async () => {
    server = await startRangeServer({}, { dir: ZERO });
    const r = await runCliAsync(["inspect", `${server.base}nothing/`]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});
