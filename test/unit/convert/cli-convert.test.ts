// `torchsave convert IN OUT`: formats from --to or the extension, gzip, prefixes, locations,
// sanitize, usage errors, notes on stderr, and atomic output (no temp files left behind).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { convertCommand, parseLocationMap } from "../../../src/cli/commands/convert.js";
import { UsageError } from "../../../src/cli/errors.js";
import { fromJson, fromSafetensors, gunzip, toMsgpack } from "../../../src/convert/index.js";
import { pyDict } from "../../../src/pickle/value.js";
import type { Tensor, TorchHost } from "../../../src/torch/index.js";
import { readCheckpoint } from "../../../src/torch/index.js";
import { writeCheckpoint } from "../../../src/torch/write/write-checkpoint.js";
import { torchDiff } from "./torch-equal.js";
import { f32, storage, tensor } from "./values.js";

async function run(args: string[], values: Record<string, string | boolean> = {}): Promise<{ code: number; err: string[] }> {
  const err: string[] = [];
  const code = await convertCommand.run({ positionals: args, values, out: () => undefined, err: (l) => err.push(l), interactive: false });
  return { code, err };
}

const ddp = () => pyDict<TorchHost>([["module.w", tensor(storage("float32", f32(1, 2), { location: "cuda:1" }), [2])]]);

describe("torchsave convert", () => {
  const dir = mkdtempSync(join(tmpdir(), "torchsave-convert-"));
  const input = join(dir, "model.pt");
  writeFileSync(input, writeCheckpoint(ddp()));

  it("picks the output format from the extension, gzip included, and names the torch archive after the file", async () => {
    for (const name of ["m.json", "m.json.gz", "m.msgpack", "m.safetensors", "m.pkl", "copy.pt"]) {
      const { code, err } = await run([input, join(dir, name)]);
      expect(code).toBe(0);
      expect(err.at(-1)).toMatch(/zip → (gzip\+)?(json|msgpack|safetensors|pickle|pt): wrote/);
    }
    expect(readFileSync(join(dir, "m.json.gz"))[0]).toBe(0x1f);
    expect(torchDiff(readCheckpoint(new Uint8Array(readFileSync(input))).root, fromJson(readFileSync(join(dir, "m.json"), "utf8")), { storageKeys: false })).toBeUndefined();
    const copy = readCheckpoint(new Uint8Array(readFileSync(join(dir, "copy.pt"))));
    expect(copy.archiveName).toBe("copy");
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("gzip output (node:zlib) inflates to the plain output, byte for byte, and is the same bytes every run", async () => {
    // The same names in two folders: a .pt's archive is named after its file.
    mkdirSync(join(dir, "again"));
    for (const to of ["pt", "json", "msgpack"]) {
      await run([input, join(dir, `z.${to}`)], { to });
      await run([input, join(dir, `z.${to}.gz`)], { to });
      await run([input, join(dir, "again", `z.${to}.gz`)], { to });
      const plain = readFileSync(join(dir, `z.${to}`));
      const z1 = readFileSync(join(dir, `z.${to}.gz`));
      expect(gunzipSync(z1).equals(plain), to).toBe(true);
      expect(Buffer.from(gunzip(new Uint8Array(z1))).equals(plain), to).toBe(true);
      expect(z1.equals(readFileSync(join(dir, "again", `z.${to}.gz`))), to).toBe(true);
    }
  });

  it("reads gzip input of every kind back (torch, JSON, msgpack inside), --ignore-crc reads a bad trailer", async () => {
    for (const to of ["pt", "json", "msgpack"]) {
      const { code, err } = await run([join(dir, `z.${to}.gz`), join(dir, `z-back-${to}.pt`)]);
      expect(code, err.join("\n")).toBe(0);
      expect(err.at(-1)).toMatch(/gzip\+(zip|json|msgpack) → pt: wrote/);
      const back = readCheckpoint(new Uint8Array(readFileSync(join(dir, `z-back-${to}.pt`))));
      expect(torchDiff(ddp(), back.root, { tensors: "logical" })).toBeUndefined();
    }
    const bad = readFileSync(join(dir, "z.pt.gz"));
    bad[bad.length - 8]! ^= 1;
    writeFileSync(join(dir, "bad.pt.gz"), bad);
    await expect(run([join(dir, "bad.pt.gz"), join(dir, "bad-back.pt")])).rejects.toMatchObject({ code: "crc-mismatch", file: join(dir, "bad.pt.gz") });
    expect((await run([join(dir, "bad.pt.gz"), join(dir, "bad-back.pt")], { "ignore-crc": true })).code).toBe(0);
    // gzip inside gzip and an empty stream keep the core's refusals.
    writeFileSync(join(dir, "twice.pt.gz"), gzipSync(readFileSync(join(dir, "z.pt.gz"))));
    await expect(run([join(dir, "twice.pt.gz"), join(dir, "twice.pt")])).rejects.toMatchObject({ code: "unsupported", message: expect.stringMatching(/gzip inside gzip/) });
    writeFileSync(join(dir, "nothing.gz"), gzipSync(new Uint8Array(0)));
    await expect(run([join(dir, "nothing.gz"), join(dir, "nothing.pt")])).rejects.toMatchObject({ code: "invalid-data", message: expect.stringMatching(/inflates to nothing/) });
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("takes --to over the extension, and converts back from every format", async () => {
    await run([input, join(dir, "weights.bin")], { to: "safetensors" });
    expect(fromSafetensors(new Uint8Array(readFileSync(join(dir, "weights.bin")))).header.entries.map((e) => e.name)).toEqual(["module.w"]);
    for (const name of ["m.json", "m.json.gz", "m.msgpack", "weights.bin", "m.pkl"]) {
      const { code } = await run([join(dir, name), join(dir, `${name}.pt`)]);
      expect(code).toBe(0);
      const back = readCheckpoint(new Uint8Array(readFileSync(join(dir, `${name}.pt`))));
      expect(torchDiff(ddp(), back.root, { tensors: "logical" })).toBeUndefined();
    }
  });

  it("strips and adds prefixes and maps locations", async () => {
    const out = join(dir, "cpu.pt");
    const { err } = await run([input, out], { "strip-prefix": "module.", "map-location": "cpu" });
    expect(err.join("\n")).toMatch(/strip-prefix "module\.": 1 keys/);
    const t = (readCheckpoint(new Uint8Array(readFileSync(out))).root as { entries: [string, Tensor][] }).entries;
    expect(t.map(([k, v]) => [k, v.device])).toEqual([["w", "cpu"]]);
    await run([out, join(dir, "again.pt")], { "add-prefix": "net.", "map-location": "cpu=cuda:0" });
    const again = (readCheckpoint(new Uint8Array(readFileSync(join(dir, "again.pt")))).root as { entries: [string, Tensor][] }).entries;
    expect(again.map(([k, v]) => [k, v.device])).toEqual([["net.w", "cuda:0"]]);
  });

  it("imports plain JSON with --dtype and sanitizes with --sanitize", async () => {
    const json = join(dir, "dump.json");
    writeFileSync(json, '{"w": [[1, 2], [3, 4]], "step": 3}');
    await run([json, join(dir, "dump.safetensors")], { dtype: "float64" });
    expect(fromSafetensors(new Uint8Array(readFileSync(join(dir, "dump.safetensors")))).header.entries[0]).toMatchObject({ name: "w", dtype: "F64", shape: [2, 2] });
    const ns = pyDict<TorchHost>([["args", { kind: "object", via: "newobj", callable: { kind: "global", module: "argparse", name: "Namespace" }, args: { kind: "tuple", items: [] }, state: pyDict([["lr", 1]]) }]]);
    writeFileSync(join(dir, "ns.msgpack"), toMsgpack(ns));
    const { err } = await run([join(dir, "ns.msgpack"), join(dir, "ns.pt")], { sanitize: true });
    expect(err.join("\n")).toMatch(/sanitize: args: argparse\.Namespace/);
    expect(readCheckpoint(new Uint8Array(readFileSync(join(dir, "ns.pt")))).root).toEqual(pyDict([["args", pyDict([["lr", 1]])]]));
  });

  it("is quiet with --quiet, and refuses bad command lines", async () => {
    expect((await run([input, join(dir, "q.json")], { quiet: true })).err).toEqual([]);
    await expect(run([input, join(dir, "x.unknown")])).rejects.toThrow(UsageError);
    await expect(run([input, join(dir, "x.json")], { to: "yaml" })).rejects.toThrow(/--to must be one of/);
    await expect(run([input, join(dir, "x.json")], { dtype: "complex64" })).rejects.toThrow(/--dtype/);
    await expect(run([join(dir, "missing.pt"), join(dir, "x.json")])).rejects.toMatchObject({ code: "io" });
    expect(parseLocationMap("cuda:1=cuda:0,cuda:2=cpu")).toEqual({ "cuda:1": "cuda:0", "cuda:2": "cpu" });
    expect(() => parseLocationMap("a=b=c")).toThrow(UsageError);
  });
});
