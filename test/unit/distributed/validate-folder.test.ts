import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bytesSource, type ByteSource } from "../../../src/bytes/source.js";
import { concatBytes } from "../../../src/bytes/concat.js";
import { zipRecordsSync } from "../../../src/containers/zip/zip-writer.js";
import { toSafetensors } from "../../../src/convert/index.js";
import { folderFromSources, planDcp, readDcpMetadata, validateFolder, DCP_DATA_FILE, DCP_SHARDING_INFO } from "../../../src/distributed/index.js";
import type { FolderValidationReport } from "../../../src/distributed/index.js";
import { checkpointFolder } from "../../../src/node/index.js";
import { stateDict, tensor } from "../../../src/torch/index.js";
import type { TorchValue } from "../../../src/torch/index.js";
import { REPO } from "../../helpers/corpus.js";
import { callPickle } from "../validate/pickle-asm.js";

const enc = new TextEncoder();
const codes = (r: FolderValidationReport) => r.findings.map((f) => f.code);
const errors = (r: FolderValidationReport) => r.findings.filter((f) => f.severity === "error");

async function onDisk(rel: string, options = {}): Promise<FolderValidationReport> {
  const folder = checkpointFolder(join(REPO, rel));
  try {
    return await validateFolder(folder, options);
  } finally {
    folder.close();
  }
}

/** Every file of a fixture folder (and one folder down) in memory, as named sources. */
function inMemory(rel: string, asyncOnly = false): Map<string, ByteSource> {
  const root = join(REPO, rel);
  const out = new Map<string, ByteSource>();
  const add = (name: string, bytes: Uint8Array) =>
    out.set(name, asyncOnly ? { size: bytes.length, read: async (o, n) => bytes.slice(o, o + n), name } : bytesSource(bytes, name));
  for (const n of readdirSync(root)) {
    const p = join(root, n);
    if (statSync(p).isDirectory()) for (const m of readdirSync(p)) add(`${n}/${m}`, new Uint8Array(readFileSync(join(p, m))));
    else add(n, new Uint8Array(readFileSync(p)));
  }
  return out;
}

describe("validateFolder on real checkpoints", () => {
  const cases: [string, string, number][] = [
    ["fixtures/dcp/single", "dcp", 45],
    ["fixtures/dcp/sharded", "dcp", 28],
    ["fixtures/dcp/fsdp2", "dcp", 40],
    ["fixtures/dcp/sharded_st", "dcp-safetensors", 2],
    ["fixtures/shards/bin", "shards", 4],
    ["fixtures/zero/zero2", "deepspeed", 3],
    ["fixtures/zero/zero3", "deepspeed", 4],
  ];
  for (const [rel, layout, parts] of cases) {
    it(`${rel}: one clean report over ${parts} parts, weights_only accepting every part torch loads with it`, async () => {
      const r = await onDisk(rel, { weightsOnly: "2.6" });
      expect(r.readable).toBe(true);
      expect(r.layout).toBe(layout);
      expect(errors(r), JSON.stringify(errors(r))).toEqual([]);
      expect(r.findings.filter((f) => f.severity === "warning")).toEqual([]);
      expect(r.parts).toHaveLength(parts);
      if (layout !== "dcp-safetensors") expect(r.weightsOnly?.accepted).toBe(true);
      else expect(r.weightsOnly).toBeUndefined(); // torch loads no part of it with torch.load
    });
  }

  it("names each DCP item by its file and MetadataIndex, and places its NaN/Inf counts at the item's key path", async () => {
    const r = await onDisk("fixtures/dcp/sharded");
    const labels = r.parts.map((p) => p.file);
    expect(labels[0]).toBe(".metadata");
    expect(labels.some((l) => /^__\d_0\.distcp\[.+@\d+(,\d+)*\]$/.test(l!))).toBe(true);
    expect(r.tensors.length).toBeGreaterThan(0);
    expect(r.tensors.every((t) => typeof t.path[0] === "string")).toBe(true);
  });

  it("reads the same through asynchronous sources (a dropped folder, URLs)", async () => {
    const r = await validateFolder(folderFromSources("mem", inMemory("fixtures/dcp/sharded", true)), { weightsOnly: true });
    expect(errors(r)).toEqual([]);
    expect(r.parts).toHaveLength(28);
    expect(r.weightsOnly?.accepted).toBe(true);
  });

  it("a folder that holds no checkpoint is unreadable", async () => {
    const r = await validateFolder(folderFromSources("junk", { "notes.txt": bytesSource(enc.encode("hi")) }));
    expect(r.readable).toBe(false);
    expect(codes(r)).toEqual(["unreadable"]);
    expect((await validateFolder(folderFromSources("junk", {}), { weightsOnly: true })).weightsOnly).toBeUndefined();
  });
});

/** A one-file DCP checkpoint written by planDcp, with its items' ranges. */
function dcp(root: TorchValue) {
  const plan = planDcp(root);
  const data = concatBytes([...plan.data]);
  const meta = plan.metadata();
  return { data, meta, metadata: readDcpMetadata(meta) };
}

/** A torch.save-like zip whose data.pkl calls os.system, padded to exactly `length` bytes. */
function evilArchive(length: number): Uint8Array {
  const build = (pad: number) => zipRecordsSync([{ name: "archive/data.pkl", data: callPickle("os", "system", `echo pwned${" ".repeat(pad)}`) }], { alignment: 1 });
  const pad = length - build(0).length;
  expect(pad).toBeGreaterThanOrEqual(0);
  const out = build(pad);
  expect(out.length).toBe(length);
  return out;
}

describe("validateFolder on a DCP folder built by hand", () => {
  const w = tensor(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3] });
  const root = stateDict({ w, note: "x".repeat(400) as TorchValue, v: tensor(new Float32Array([Number.NaN, 1])) });

  it("a clean one passes, naming nothing", async () => {
    const { data, meta } = dcp(root);
    const r = await validateFolder(folderFromSources("ckpt", { ".metadata": bytesSource(meta), [DCP_DATA_FILE]: bytesSource(data) }), { weightsOnly: true });
    expect(errors(r)).toEqual([]);
    expect(r.weightsOnly?.accepted).toBe(true);
    expect(r.findings.find((f) => f.code === "tensor-non-finite")?.where.record).toBe(`${DCP_DATA_FILE}[v@0]`);
  });

  it("a malicious pickle hidden in one .distcp item fails the folder, named by its file and key", async () => {
    const { data, meta, metadata } = dcp(root);
    const note = metadata.entries.find((e) => e.fqn === "note")!;
    expect(note.kind).toBe("bytes");
    const { offset, length } = note as { offset: number; length: number };
    const bad = data.slice();
    bad.set(evilArchive(length), offset);
    const r = await validateFolder(folderFromSources("ckpt", { ".metadata": bytesSource(meta), [DCP_DATA_FILE]: bytesSource(bad) }), { weightsOnly: "2.6" });
    const danger = r.findings.find((f) => f.code === "global-dangerous");
    expect(danger?.severity).toBe("error");
    expect(danger?.where.record).toBe(`${DCP_DATA_FILE}[note] > archive/data.pkl`);
    expect(r.weightsOnly?.accepted).toBe(false);
    expect(r.weightsOnly?.blockers.some((b) => b.record?.startsWith(`${DCP_DATA_FILE}[note]`))).toBe(true);
    expect(r.imports.find((i) => i.key === "os.system")?.where.record).toBe(`${DCP_DATA_FILE}[note] > archive/data.pkl`);
  });

  it("a tensor item replaced by a malicious archive fails twice: the pickle, and no tensor where .metadata says", async () => {
    const { data, meta, metadata } = dcp(root);
    const c = (metadata.entries.find((e) => e.fqn === "w") as unknown as { chunks: { offset: number; length: number }[] }).chunks[0]!;
    const bad = data.slice();
    bad.set(evilArchive(c.length), c.offset);
    const r = await validateFolder(folderFromSources("ckpt", { ".metadata": bytesSource(meta), [DCP_DATA_FILE]: bytesSource(bad) }));
    expect(r.findings.find((f) => f.code === "global-dangerous")?.where.record).toBe(`${DCP_DATA_FILE}[w@0,0] > archive/data.pkl`);
    expect(r.findings.find((f) => f.code === "dcp-item-mismatch")?.where).toEqual({ record: DCP_DATA_FILE, byteOffset: c.offset, keyPath: ["w"] });
  });

  it("metadata consistency: a missing file, items past the end, unclaimed bytes, stray files, unreadable metadata", async () => {
    const { data, meta } = dcp(root);
    const missing = await validateFolder(folderFromSources("ckpt", { ".metadata": bytesSource(meta) }));
    expect(codes(missing)).toContain("folder-file-missing");
    const short = await validateFolder(folderFromSources("ckpt", { ".metadata": bytesSource(meta), [DCP_DATA_FILE]: bytesSource(data.subarray(0, data.length - 10)) }));
    expect(short.findings.find((f) => f.code === "dcp-slice-out-of-range")?.where.record).toBe(DCP_DATA_FILE);
    const long = await validateFolder(folderFromSources("ckpt", { ".metadata": bytesSource(meta), [DCP_DATA_FILE]: bytesSource(concatBytes([data, callPickle("os", "system")])), "__9_0.distcp": bytesSource(data) }));
    expect(long.findings.find((f) => f.code === "dcp-bytes-unreferenced")?.where.byteOffset).toBe(data.length);
    expect(long.findings.find((f) => f.code === "folder-file-unreferenced")?.where.record).toBe("__9_0.distcp");
    const garbage = await validateFolder(folderFromSources("ckpt", { ".metadata": bytesSource(callPickle("os", "system")), [DCP_DATA_FILE]: bytesSource(data) }));
    expect(codes(garbage)).toEqual(expect.arrayContaining(["dcp-metadata-invalid", "global-dangerous"]));
  });
});

/** A safetensors-DCP rank file: `tensors` with their saved offsets. */
function stRank(tensors: Record<string, [TorchValue, number[]]>): ByteSource {
  const info = Object.fromEntries(Object.entries(tensors).map(([k, [, o]]) => [k, { saved_offsets: o }]));
  const sd = stateDict(Object.fromEntries(Object.entries(tensors).map(([k, [t]]) => [k, t])));
  return bytesSource(toSafetensors(sd, { metadata: { [DCP_SHARDING_INFO]: JSON.stringify(info), DCP_VERSION: "1.0" } }));
}

describe("validateFolder on safetensors-based DCP and shards built by hand", () => {
  const half = (a: number) => tensor(new Float32Array([a, a + 1, a + 2, a + 3]), { shape: [2, 2] });

  it("overlapping chunks are dcp-chunks-invalid, naming the key", async () => {
    const r = await validateFolder(folderFromSources("st", { "shard-00001-model-00001-of-00001.safetensors": stRank({ w: [half(0), [0, 0]] }), "shard-00002-model-00001-of-00001.safetensors": stRank({ w: [half(4), [1, 0]] }) }));
    expect(r.layout).toBe("dcp-safetensors");
    expect(r.findings.find((f) => f.code === "dcp-chunks-invalid")?.where.keyPath).toEqual(["w"]);
  });

  it("missing sharding info for a key is folder-layout-invalid", async () => {
    const bad = bytesSource(toSafetensors(stateDict({ w: half(0) }), { metadata: { [DCP_SHARDING_INFO]: "{}" } }));
    const r = await validateFolder(folderFromSources("st", { "a.safetensors": bad }));
    expect(r.findings.find((f) => f.code === "folder-layout-invalid")?.message).toMatch(/saved_offsets/);
  });

  const shard = (keys: string[]) => bytesSource(toSafetensors(stateDict(Object.fromEntries(keys.map((k, i) => [k, half(i)])))));
  const index = (map: Record<string, string>) => bytesSource(enc.encode(JSON.stringify({ metadata: { total_size: 1 }, weight_map: map })));
  const A = "model-00001-of-00002.safetensors";
  const B = "model-00002-of-00002.safetensors";

  it("shards: a key in two shards, a key the index does not list, a key no shard holds, a missing shard", async () => {
    const two = await validateFolder(folderFromSources("hf", { "model.safetensors.index.json": index({ a: A, b: A, c: B }), [A]: shard(["a", "b"]), [B]: shard(["b", "c"]) }));
    expect(two.findings.find((f) => f.code === "shard-key-conflict")?.message).toMatch(/"b" is in two shards/);
    const unlisted = await validateFolder(folderFromSources("hf", { "model.safetensors.index.json": index({ a: A }), [A]: shard(["a", "z"]) }));
    expect(unlisted.findings.find((f) => f.code === "shard-key-unlisted")?.where.keyPath).toEqual(["z"]);
    const gone = await validateFolder(folderFromSources("hf", { "model.safetensors.index.json": index({ a: A, c: B }), [A]: shard(["a"]) }));
    expect(codes(gone)).toEqual(expect.arrayContaining(["folder-file-missing", "shard-key-absent"]));
    expect(gone.findings.find((f) => f.code === "folder-file-missing")?.where.record).toBe(B);
    const junk = await validateFolder(folderFromSources("hf", { "model.safetensors.index.json": bytesSource(enc.encode("[]")), [A]: shard(["a"]) }));
    expect(codes(junk)).toContain("shard-index-invalid");
  });

  it("shards: a malicious .bin shard fails the folder", async () => {
    const r = await validateFolder(folderFromSources("hf", { "pytorch_model.bin.index.json": index({ a: "pytorch_model-00001-of-00001.bin" }), "pytorch_model-00001-of-00001.bin": bytesSource(callPickle("os", "system")) }));
    expect(r.findings.find((f) => f.code === "global-dangerous")?.where.record).toMatch(/^pytorch_model-00001-of-00001\.bin/);
    expect(errors(r).length).toBeGreaterThan(0);
  });
});

describe("validateFolder on DeepSpeed folders with a file gone", () => {
  it("a missing rank file is a layout error naming it", async () => {
    const files = inMemory("fixtures/zero/zero2");
    files.delete("global_step3/bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt");
    const r = await validateFolder(folderFromSources("z", files));
    const f = r.findings.find((x) => x.code === "folder-layout-invalid");
    expect(f?.message).toMatch(/rank_1/);
    expect(f?.where.record).toBe("global_step3/bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt");
  });

  it("an unlisted folder (a URL prefix) finds the rank files by DeepSpeed's names", async () => {
    const files = inMemory("fixtures/zero/zero3", true);
    const folder = { name: "remote", open: (f: string) => files.get(f) ?? Promise.reject(new Error("404")) };
    const r = await validateFolder(folder);
    expect(r.layout).toBe("deepspeed");
    expect(errors(r)).toEqual([]);
    expect(r.parts.map((p) => p.file).sort()).toEqual([...files.keys()].filter((k) => k.endsWith(".pt")).sort());
  });
});

