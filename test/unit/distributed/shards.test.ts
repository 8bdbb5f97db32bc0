import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openShards, openShardsSync, parseShardIndex, parseShardSize, planShards, type DirectoryFiles } from "../../../src/distributed/index.js";
import { directoryFiles, type DirectoryFilesHandle } from "../../../src/node/directory-files.js";
import { bytesSource, callbackSource } from "../../../src/bytes/source.js";
import { stateDict, tensor, tensorView, writeCheckpoint } from "../../../src/torch/index.js";
import { REPO } from "../../helpers/corpus.js";
import { tensorLines } from "../../helpers/tensor-lines.js";
import { thrown } from "../../helpers/errors.js";

const DIR = join(REPO, "fixtures/shards");
const BIN = join(DIR, "bin");
const INDEX = "pytorch_model.bin.index.json";
const expected = readFileSync(join(DIR, "bin.tensors.jsonl"), "utf8").trim().split("\n");
const MAX = Number(readFileSync(join(DIR, "MAX_SHARD_SIZE"), "utf8"));
let handle: DirectoryFilesHandle | undefined;
afterEach(() => handle?.close());

/** The fixture folder in memory (async reads), with edits: a file replaced or removed (null). */
function memory(edits: Record<string, Uint8Array | string | null> = {}): DirectoryFiles {
  const files = new Map<string, Uint8Array>(readdirSync(BIN).map((f) => [f, new Uint8Array(readFileSync(join(BIN, f)))]));
  for (const [f, b] of Object.entries(edits)) {
    if (b === null) files.delete(f);
    else files.set(f, typeof b === "string" ? new TextEncoder().encode(b) : b);
  }
  return {
    name: "mem",
    open(f: string) {
      const b = files.get(f);
      if (b === undefined) throw new Error(`ENOENT: ${f}`);
      return callbackSource(b.length, (o, n) => b.slice(o, o + n), f);
    },
  };
}

const indexText = (): string => readFileSync(join(BIN, INDEX), "utf8");
const withMap = (edit: (m: Record<string, string>) => void): string => {
  const doc = JSON.parse(indexText());
  edit(doc.weight_map);
  return JSON.stringify(doc);
};
async function failure(dir: DirectoryFiles): Promise<{ code: string; message: string }> {
  return openShards(dir, INDEX).then(
    () => {
      throw new Error("expected an error");
    },
    (e: { code: string; message: string }) => e,
  );
}

describe("Hugging Face shards written by torch", () => {
  it("the merged state dict equals torch's (shards loaded in file order)", () => {
    handle = directoryFiles(BIN);
    expect(tensorLines({ root: openShardsSync(handle, INDEX).root } as never)).toEqual(expected);
  });

  it("reads the same through async sources", async () => {
    const ckpt = await openShards(memory(), INDEX);
    expect(ckpt.index.files).toHaveLength(4);
    expect(ckpt.index.totalSize).toBe(1096);
  });

  it("planShards splits as huggingface_hub does and writes save_pretrained's index byte for byte", () => {
    handle = directoryFiles(BIN);
    const plan = planShards(openShardsSync(handle, INDEX).root, MAX, "pt");
    expect(plan.index?.name).toBe(INDEX);
    expect(plan.index?.text).toBe(indexText());
    const weightMap = parseShardIndex(indexText()).weightMap;
    for (const f of plan.files) for (const k of f.keys) expect(weightMap.get(k)).toBe(f.name);
  });
});

describe("shard errors", () => {
  it("a missing shard names the file", async () => {
    const e = await failure(memory({ "pytorch_model-00003-of-00004.bin": null }));
    expect(e.code).toBe("missing-record");
    expect(e.message).toContain("pytorch_model-00003-of-00004.bin");
  });

  it("a key in two shards is an error naming both", async () => {
    // Shard 4 gets a copy of shard 1's tensor under the same key.
    const one = new Uint8Array(readFileSync(join(BIN, "pytorch_model-00001-of-00004.bin")));
    const e = await failure(memory({ "pytorch_model-00004-of-00004.bin": one }));
    expect(e.code).toBe("invalid-data");
    expect(e.message).toMatch(/is in two shards: pytorch_model-00001-of-00004\.bin and pytorch_model-00004-of-00004\.bin/);
  });

  it("a key the index puts elsewhere, a key the index lacks, a listed key no shard holds", async () => {
    const moved = withMap((m) => (m["step"] = "pytorch_model-00001-of-00004.bin"));
    expect((await failure(memory({ [INDEX]: moved }))).message).toMatch(/puts "step" in pytorch_model-00001/);
    const lacking = withMap((m) => delete m["step"]);
    expect((await failure(memory({ [INDEX]: lacking }))).message).toMatch(/holds "step", which the index does not list/);
    const extra = withMap((m) => (m["ghost.weight"] = "pytorch_model-00002-of-00004.bin"));
    expect(await failure(memory({ [INDEX]: extra }))).toMatchObject({ code: "missing-record" });
  });

  it("refuses shard names with path separators and indexes that are not JSON objects", () => {
    expect(thrown(() => parseShardIndex(JSON.stringify({ weight_map: { a: "../x.bin" } })))).toMatchObject({ code: "invalid-data" });
    expect(thrown(() => parseShardIndex("[]"))).toMatchObject({ code: "invalid-data" });
    expect(thrown(() => parseShardIndex("{"))).toMatchObject({ code: "invalid-data" });
    expect(thrown(() => parseShardIndex("{}"))).toMatchObject({ code: "invalid-data" });
  });
});

describe("planShards", () => {
  const t = (n: number) => tensor(new Float32Array(n), { shape: [n] });
  it("one shard is model.safetensors without an index", () => {
    const plan = planShards(stateDict({ a: t(4), b: t(4) }), 1000, "safetensors");
    expect(plan.files).toEqual([{ name: "model.safetensors", keys: ["a", "b"], bytes: 32 }]);
    expect(plan.index).toBeUndefined();
  });
  it("a tensor over the limit is a shard of its own, placed before the shard being filled", () => {
    const plan = planShards(stateDict({ a: t(4), big: t(100), b: t(4) }), 40, "safetensors");
    expect(plan.files.map((f) => f.keys)).toEqual([["big"], ["a", "b"]]);
    expect(plan.files.map((f) => f.name)).toEqual(["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]);
  });
  it("tensors sharing a storage stay together and count once", () => {
    const w = t(8);
    const plan = planShards(stateDict({ w, x: t(8), tied: tensorView(w, [8]) }), 40, "safetensors");
    expect(plan.files.map((f) => f.keys)).toEqual([["w", "tied"], ["x"]]);
    expect(plan.index?.text).toContain('"total_size": 64');
  });
  it("refuses nested checkpoints", () => {
    expect(thrown(() => planShards(stateDict({ model: stateDict({ a: t(1) }) }), 10, "pt"))).toMatchObject({ code: "invalid-argument" });
  });
  it("escapes non-ASCII keys as Python's json.dumps does", () => {
    const plan = planShards(stateDict({ "é": t(8), z: t(8) }), 32, "pt");
    expect(plan.index?.text).toContain('"\\u00e9": "pytorch_model-00001-of-00002.bin"');
  });
});

describe("parseShardSize", () => {
  it("reads Hugging Face's units", () => {
    expect(parseShardSize("5GB")).toBe(5e9);
    expect(parseShardSize("500MB")).toBe(5e8);
    expect(parseShardSize("2GiB")).toBe(2 * 2 ** 30);
    expect(parseShardSize("10kb")).toBe(10_000);
    expect(parseShardSize("1234")).toBe(1234);
    for (const bad of ["", "5 GBs", "-1GB", "0", "GB"]) expect(thrown(() => parseShardSize(bad))).toMatchObject({ code: "invalid-argument" });
  });
});
void bytesSource;
void writeCheckpoint;
