// Every command as a user meets it: --help explains every option with examples, --json on every
// command, errors name the file (empty files, damaged records, gzip, containers without a pickle).
import { readdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { REPO } from "../helpers/corpus.js";
import type { Command } from "../../src/cli/command.js";
import { writeCheckpoint, stateDict, tensor } from "torchsave";
import { toSafetensors } from "torchsave/convert";

const fixture = (name: string) => join(REPO, "fixtures/torch", name);
const dir = mkdtempSync(join(tmpdir(), "torchsave-messages-"));

/** Every command module in src/cli/commands (a new command is checked without editing this test). */
async function commands(): Promise<Command[]> {
  const out: Command[] = [];
  for (const f of readdirSync(join(REPO, "src/cli/commands")).filter((n) => n.endsWith(".ts"))) {
    const mod = (await import(join(REPO, "src/cli/commands", f))) as Record<string, unknown>;
    for (const v of Object.values(mod)) {
      if (typeof v === "object" && v !== null && "run" in v && "options" in v && "name" in v) out.push(v as Command);
    }
  }
  return out;
}

describe("--help of every command", () => {
  it("explains every declared option, gives examples, and says the exit status", async () => {
    const all = await commands();
    expect(all.map((c) => c.name)).toEqual(expect.arrayContaining(["inspect", "tensors", "convert", "validate", "pickle-dis"]));
    for (const c of all) {
      const r = runCli([c.name, "--help"]);
      expect(r.status, c.name).toBe(0);
      expect(r.stdout).toContain(`usage: ${c.usage}`);
      expect(c.examples.length, `${c.name} has examples`).toBeGreaterThan(0);
      for (const e of c.examples) expect(r.stdout).toContain(e);
      expect(r.stdout).toMatch(/^exit status: 0 ok/m);
      for (const [name, o] of Object.entries(c.options)) {
        expect(o.doc.length, `${c.name} --${name} has a doc`).toBeGreaterThan(20);
        // The option's line starts with its flag; its doc follows (wrapped lines joined).
        expect(r.stdout, `${c.name} --help shows --${name}`).toMatch(new RegExp(`^  (-\\w, )?--${name}\\b`, "m"));
        const text = r.stdout.replace(/\n {4,}/g, " ");
        expect(text, `${c.name} --${name} doc`).toContain(o.doc.split(/\s+/).slice(0, 6).join(" "));
        expect(c.usage, `${c.name} usage names --${name}`).toContain(`--${name}`);
      }
    }
  });
});

describe("--json on every command", () => {
  it("each command prints one JSON document on stdout", async () => {
    const out = join(dir, "j.json");
    const runs: Record<string, string[]> = {
      inspect: ["inspect", fixture("full-checkpoint.pt"), "--json"],
      tensors: ["tensors", fixture("full-checkpoint.pt"), "--json"],
      convert: ["convert", fixture("full-checkpoint.pt"), out, "--json"],
      validate: ["validate", fixture("full-checkpoint.pt"), "--json"],
      "pickle-dis": ["pickle-dis", fixture("full-checkpoint.pt"), "--json"],
    };
    for (const c of await commands()) {
      expect(Object.keys(c.options), c.name).toContain("json");
      const args = runs[c.name];
      if (args === undefined) continue;
      const r = runCli(args);
      expect(r.status, `${c.name}: ${r.stderr}`).toBe(0);
      if (c.name === "tensors") for (const line of r.stdout.trim().split("\n")) JSON.parse(line);
      else JSON.parse(r.stdout);
    }
    const conv = JSON.parse(runCli(runs.convert!).stdout);
    expect(conv).toMatchObject({ from: "zip", to: "json", output: out });
    expect(conv.bytes).toBe(readFileSync(out).length);
    const dis = JSON.parse(runCli(runs["pickle-dis"]!).stdout);
    expect(dis.from).toBe("full-checkpoint/data.pkl");
    expect(dis.protocol).toBe(2);
    expect(dis.ops[0]).toEqual({ offset: 0, opcode: "PROTO", arg: 2 });
    expect(dis.ops.at(-1).opcode).toBe("STOP");
  });
});

/** full-checkpoint.pt with one bit flipped in the bytes of a stored storage record. */
function flipped(record: string): string {
  const bytes = new Uint8Array(readFileSync(fixture("full-checkpoint.pt")));
  const name = new TextEncoder().encode(`full-checkpoint/${record}`);
  // The local header whose name is `record`: data starts after 30 + name + extra bytes.
  let at = -1;
  for (let i = 0; i + 30 < bytes.length && at < 0; i++) {
    if (bytes[i] === 0x50 && bytes[i + 1] === 0x4b && bytes[i + 2] === 3 && bytes[i + 3] === 4) {
      const n = bytes[i + 26]! | (bytes[i + 27]! << 8);
      const e = bytes[i + 28]! | (bytes[i + 29]! << 8);
      if (n === name.length && name.every((b, k) => bytes[i + 30 + k] === b)) at = i + 30 + n + e;
    }
  }
  expect(at).toBeGreaterThan(0);
  bytes[at + 5]! ^= 0x10;
  const p = join(dir, `flipped-${record.replace(/\W/g, "_")}.pt`);
  writeFileSync(p, bytes);
  return p;
}

describe("CRC-32 of every record read", () => {
  it("convert refuses a storage with one flipped bit, naming file and record, and writes nothing", () => {
    const bad = flipped("data/1");
    for (const ext of ["json", "pt", "safetensors"]) {
      const out = join(dir, `from-flipped.${ext}`);
      const r = runCli(["convert", bad, out]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr.trim()).toMatch(/^torchsave: .*flipped-data_1\.pt: crc-mismatch in full-checkpoint\/data\/1: the record is damaged: its 48 bytes have CRC-32 0x[0-9a-f]{8}, the central directory says 0x[0-9a-f]{8}/);
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
    }
  });
  it("--ignore-crc reads it anyway (and the damage shows in the tensor hashes)", () => {
    const bad = flipped("data/1");
    const out = join(dir, "laundered.pt");
    expect(runCli(["convert", bad, out, "--ignore-crc", "-q"]).status).toBe(0);
    const good = readFileSync(fixture("full-checkpoint.pt.tensors.jsonl"), "utf8");
    const r = runCli(["tensors", out, "--json"]);
    expect(r.status).toBe(0);
    expect(r.stdout).not.toBe(good);
    expect(r.stdout.split("\n").filter((l, i) => l !== good.split("\n")[i])).toHaveLength(1);
  });
  it("tensors refuses the damaged storage; inspect (which reads no storage) still opens the file", () => {
    const bad = flipped("data/1");
    const t = runCli(["tensors", bad, "--json"]);
    expect(t.status).toBe(2);
    expect(t.stderr).toMatch(/crc-mismatch in full-checkpoint\/data\/1/);
    expect(runCli(["tensors", bad, "--json", "--ignore-crc"]).status).toBe(0);
    expect(runCli(["inspect", bad]).status).toBe(0);
  });
  it("inspect refuses a damaged data.pkl unless --ignore-crc", () => {
    // A byte inside a string of the pickle: still decodes, but the CRC tells.
    const bytes = new Uint8Array(readFileSync(fixture("full-checkpoint.pt")));
    const text = new TextDecoder("latin1").decode(bytes);
    const at = text.indexOf("fc1.weight");
    bytes[at]! ^= 0x20; // "Fc1.weight"
    const bad = join(dir, "flipped-pickle.pt");
    writeFileSync(bad, bytes);
    const r = runCli(["inspect", bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/flipped-pickle\.pt: crc-mismatch in full-checkpoint\/data\.pkl/);
    const ok = runCli(["inspect", bad, "--ignore-crc"]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('"Fc1.weight"');
  });
});

describe("CRC-32 of a gzip stream's trailer", () => {
  // A gzip'd checkpoint whose trailer CRC no longer matches: fflate inflates it without a word,
  // so without the check convert would write the damaged bytes out with fresh checksums.
  const gz = new Uint8Array(gzipSync(readFileSync(fixture("full-checkpoint.pt"))));
  gz[gz.length - 8]! ^= 0x01;
  const bad = join(dir, "bad-trailer.pt.gz");
  writeFileSync(bad, gz);
  for (const cmd of [["inspect"], ["tensors", "--json"], ["convert", "OUT"]]) {
    it(`${cmd[0]} refuses it, naming the file and the trailer's offset, unless --ignore-crc`, () => {
      const out = join(dir, `from-bad-trailer-${cmd[0]}.pt`);
      const args = cmd[1] === "OUT" ? [cmd[0]!, bad, out] : [cmd[0]!, bad, ...cmd.slice(1)];
      const r = runCli(args);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr.trim()).toMatch(new RegExp(`^torchsave: .*bad-trailer\\.pt\\.gz: crc-mismatch at byte ${gz.length - 8}: the gzip stream is damaged: its \\d+ inflated bytes have CRC-32 0x[0-9a-f]{8}, its trailer says 0x[0-9a-f]{8}`));
      expect(existsSync(out)).toBe(false);
      expect(runCli([...args, "--ignore-crc"]).status).toBe(0);
    });
  }
});

describe("every error names the file", () => {
  const empty = join(dir, "empty.pt");
  writeFileSync(empty, "");
  for (const cmd of [["inspect"], ["tensors"], ["pickle-dis"], ["convert", "OUT"]]) {
    it(`${cmd[0]}: an empty file says it is empty`, () => {
      const args = cmd[1] === "OUT" ? [cmd[0]!, empty, join(dir, "e.json")] : [cmd[0]!, empty];
      const r = runCli(args);
      expect(r.status).toBe(2);
      expect(r.stderr.trim()).toMatch(/^torchsave: .*empty\.pt: invalid-data: the file is empty \(0 bytes\)/);
    });
  }
  it("a truncated gzip", () => {
    const gz = readFileSync(fixture("state-dict.pt.gz"));
    const p = join(dir, "cut.pt.gz");
    writeFileSync(p, gz.subarray(0, gz.length - 40));
    for (const cmd of ["inspect", "tensors", "pickle-dis"]) {
      const r = runCli([cmd, p]);
      expect(r.status, cmd).toBe(2);
      expect(r.stderr, cmd).toMatch(/^torchsave: .*cut\.pt\.gz: /);
    }
  });
  it("JSON that is not UTF-8", () => {
    const p = join(dir, "bad.json");
    writeFileSync(p, Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]));
    const r = runCli(["inspect", p]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^torchsave: .*bad\.json: invalid-data at byte 5: JSON input is not UTF-8/);
  });
  it("an unencodable value names the output file", () => {
    const p = join(dir, "u32.pt");
    writeFileSync(p, writeCheckpoint(stateDict({ u: tensor(new Uint32Array(4), { dtype: "uint32" }) })));
    for (const to of ["pt-legacy", "pickle"]) {
      const out = join(dir, `u32-out.${to}`);
      const r = runCli(["convert", p, out, "--to", to, "-q"]);
      expect(r.status).toBe(2);
      expect(r.stderr.trim()).toMatch(new RegExp(`^torchsave: .*u32-out\\.${to}: unencodable.*: the legacy layout has no untyped storages`));
      expect(existsSync(out)).toBe(false);
    }
  });
  it("--strip-prefix that matches no key is an error", () => {
    const r = runCli(["convert", fixture("full-checkpoint.pt"), join(dir, "sp.pt"), "--strip-prefix", "module."]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/full-checkpoint\.pt: invalid-argument: strip-prefix "module\." matches no key.*"fc1\.weight"/);
    expect(existsSync(join(dir, "sp.pt"))).toBe(false);
    const ok = runCli(["convert", fixture("dataparallel-state-dict.pt"), join(dir, "sp2.pt"), "--strip-prefix", "module."]);
    expect(ok.status, ok.stderr).toBe(0);
  });
});

describe("pickle-dis finds the pickle in any container", () => {
  it("gzip: the same text as the inflated pickle", () => {
    const plain = join(dir, "plain.p2.pkl");
    const { gunzipSync } = require("node:zlib") as typeof import("node:zlib");
    writeFileSync(plain, gunzipSync(readFileSync(fixture("plain.p2.pkl.gz"))));
    const a = runCli(["pickle-dis", fixture("plain.p2.pkl.gz")]);
    const b = runCli(["pickle-dis", plain]);
    expect(a.status, a.stderr).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stderr).toMatch(/\(disassembling gzip\)/);
  });
  it("gzip around a zip checkpoint: data.pkl inside", () => {
    const a = runCli(["pickle-dis", fixture("state-dict.pt.gz")]);
    expect(a.status, a.stderr).toBe(0);
    expect(a.stderr).toMatch(/data\.pkl in gzip/);
    expect(a.stdout).toMatch(/highest protocol among opcodes = \d\n$/);
  });
  it("tar checkpoints: the pickle member", () => {
    const r = runCli(["pickle-dis", fixture("tar-format.tar")]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/tar member pickle/);
  });
  it("safetensors and JSON hold no pickle: an error naming the file", () => {
    const st = join(dir, "w.safetensors");
    writeFileSync(st, toSafetensors(stateDict({ w: tensor(new Float32Array([1, 2])) })));
    const r = runCli(["pickle-dis", st]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/^torchsave: .*w\.safetensors: unsupported: a safetensors file holds no pickle/);
    const j = runCli(["pickle-dis", fixture("train-dump.json")]);
    expect(j.stderr.trim()).toMatch(/train-dump\.json: unsupported: a JSON file holds no pickle/);
  });
  it("a missing --record lists the pickles there are", () => {
    const r = runCli(["pickle-dis", fixture("torchscript.pt"), "--record", "nope.pkl"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/torchscript\.pt: missing-record: no record .*nope\.pkl in the archive \(pickles: /);
  });
  it("a damaged pickle inside gzip names the file", () => {
    const inner = new Uint8Array([0x80, 0x02, 0x5d, 0x71]); // PROTO 2, EMPTY_LIST, BINPUT cut short
    const p = join(dir, "cut.pkl.gz");
    writeFileSync(p, gzipSync(inner));
    const r = runCli(["pickle-dis", p]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n").at(-1)).toMatch(/^torchsave: .*cut\.pkl\.gz: truncated/);
  });
});

describe("inspect byte sizes", () => {
  it("come from the tensor's dtype, also for uint16-64 on untyped storages", () => {
    const p = join(dir, "uints.pt");
    writeFileSync(p, writeCheckpoint(stateDict({
      u16: tensor(new Uint16Array(1000), { dtype: "uint16" }),
      u32: tensor(new Uint32Array(1000), { dtype: "uint32" }),
      u64: tensor(new BigUint64Array(1000), { dtype: "uint64" }),
      f: tensor(new Float32Array(1000)),
    })));
    const r = runCli(["inspect", p]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/"u16": Tensor uint16 \[1000\] 1\.95 KiB/);
    expect(r.stdout).toMatch(/"u32": Tensor uint32 \[1000\] 3\.91 KiB/);
    expect(r.stdout).toMatch(/"u64": Tensor uint64 \[1000\] 7\.81 KiB/);
    expect(r.stdout).toMatch(/"f": Tensor float32 \[1000\] 3\.91 KiB/);
  });
  it("reject a --depth that is not a number", () => {
    const r = runCli(["inspect", fixture("full-checkpoint.pt"), "--depth", "x"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--depth takes a whole number/);
  });
});

describe("whole pickled modules", () => {
  it("tensors lists the tensors inside object state (and says so on stderr)", () => {
    const r = runCli(["tensors", fixture("whole-module.pt")]);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split("\n")).toHaveLength(9);
    expect(r.stdout).toMatch(/^\["\$state"\]\["_modules"\]\["fc1"\]\["\$state"\]\["_parameters"\]\["weight"\] {2}float32 {2}\[3, 4\]/);
    expect(r.stderr).toMatch(/whole-module\.pt: no tensors in dicts or lists; listing the 9 inside objects/);
  });
  it("convert --state-dict writes exactly model.state_dict() as torch computed it", () => {
    const expected = JSON.parse(readFileSync(join(REPO, "fixtures/issue14/whole-module.expected.json"), "utf8")).modules["whole-module.pt"];
    const out = join(dir, "sd.pt");
    const c = runCli(["convert", fixture("whole-module.pt"), out, "--state-dict"]);
    expect(c.status, c.stderr).toBe(0);
    expect(c.stderr).toMatch(/state_dict of torch_models\.TinyNet: 9 tensors from 4 modules/);
    const lines = runCli(["tensors", out, "--json"]).stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines).toEqual(expected.tensors);
    const inspect = runCli(["inspect", out, "--json"]);
    expect(JSON.parse(inspect.stdout).parts.model).toEqual([]);
    const bad = runCli(["convert", fixture("state-dict-metadata.pt"), join(dir, "x.pt"), "--state-dict"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/state-dict-metadata\.pt: invalid-argument: --state-dict needs a whole pickled nn\.Module/);
  });
});
