import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { mergeZero2, mergeZero3, openZero, openZeroSync, type DirectoryFiles } from "../../../src/distributed/index.js";
import { directoryFiles, type DirectoryFilesHandle } from "../../../src/node/directory-files.js";
import { bytesSource, callbackSource } from "../../../src/bytes/source.js";
import { CheckpointError } from "../../../src/errors.js";
import type { PyDict } from "../../../src/pickle/index.js";
import { openCheckpointSync, tensor, writeCheckpoint, type TorchHost, type TorchValue } from "../../../src/torch/index.js";
import { REPO } from "../../helpers/corpus.js";
import { tensorLines } from "../../helpers/tensor-lines.js";

const DIR = join(REPO, "fixtures/zero");
const expected = (name: string): string[] => readFileSync(join(DIR, `${name}.tensors.jsonl`), "utf8").trim().split("\n");
let handle: DirectoryFilesHandle | undefined;
afterEach(() => handle?.close());

/** A fixture folder in memory (async reads), with edits: a file (path under the folder) replaced or removed (null). */
function memory(name: string, edits: Record<string, Uint8Array | null> = {}): DirectoryFiles {
  const files = new Map<string, Uint8Array>();
  const walk = (rel: string): void => {
    for (const f of readdirSync(join(DIR, name, rel))) {
      const p = rel === "" ? f : `${rel}/${f}`;
      if (statSync(join(DIR, name, p)).isDirectory()) walk(p);
      else files.set(p, new Uint8Array(readFileSync(join(DIR, name, p))));
    }
  };
  walk("");
  for (const [f, b] of Object.entries(edits)) {
    if (b === null) files.delete(f);
    else files.set(f, b);
  }
  return {
    name,
    open(f: string) {
      const b = files.get(f);
      if (b === undefined) throw new Error(`ENOENT: ${f}`);
      return callbackSource(b.length, (o, n) => b.slice(o, o + n), f);
    },
  };
}

async function failure(dir: DirectoryFiles): Promise<CheckpointError> {
  return openZero(dir).then(
    () => {
      throw new Error("expected an error");
    },
    (e: CheckpointError) => e,
  );
}

/** An optimizer file of the fixture with its first fp32 partition replaced by `values`. */
function withPartition(name: string, file: string, key: string, values: Float32Array): Uint8Array {
  const root = openCheckpointSync(bytesSource(new Uint8Array(readFileSync(join(DIR, name, file))))).root as PyDict<TorchHost>;
  const osd = root.entries.find(([k]) => k === "optimizer_state_dict")![1] as PyDict<TorchHost>;
  const groups = osd.entries.find(([k]) => k === key)![1] as { items: TorchValue[] };
  groups.items[0] = tensor(values);
  return writeCheckpoint(root);
}

describe("DeepSpeed ZeRO folders consolidated as zero_to_fp32 does", () => {
  for (const name of ["zero2", "zero3"]) {
    it(`${name}: the fp32 state dict equals torch's (buffers, frozen, params, tied)`, () => {
      handle = directoryFiles(join(DIR, name));
      const ckpt = openZeroSync(handle);
      expect(ckpt.zeroStage).toBe(name === "zero2" ? 2 : 3);
      expect(ckpt.worldSize).toBe(2);
      expect(ckpt.tag).toBe("global_step3");
      expect(ckpt.dsVersion).toBe("0.14.4");
      expect(tensorLines({ root: ckpt.root } as never)).toEqual(expected(name));
    });

    it(`${name}: the tied param is the same tensor as its source`, () => {
      handle = directoryFiles(join(DIR, name));
      const entries = (openZeroSync(handle).root as PyDict<TorchHost>).entries;
      const at = (k: string) => entries.find(([n]) => n === k)![1];
      expect(at("head.weight")).toBe(at("embed.weight"));
      expect(entries.map(([k]) => k)).toEqual(["scale", "lin0.weight", "embed.weight", "lin1.weight", "lin1.bias", "out.weight", "head.weight"]);
    });

    it(`${name}: with includeOptimizer, the Adam moments named by parameter`, async () => {
      const ckpt = await openZero(memory(name), { includeOptimizer: true });
      expect(tensorLines({ root: ckpt.root } as never)).toEqual(expected(`${name}.optim`));
    });

    it(`${name}: the tag folder itself reads the same`, () => {
      handle = directoryFiles(join(DIR, name, "global_step3"));
      expect(tensorLines({ root: openZeroSync(handle).root } as never)).toEqual(expected(name));
    });
  }

  it("a missing rank file is a missing-record error naming it", async () => {
    const e = await failure(memory("zero2", { "global_step3/bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt": null }));
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.code).toBe("missing-record");
    expect(e.file).toBe("zero2/global_step3/bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt");
  });

  it("a ZeRO-3 frozen param needs every rank's model-states file", async () => {
    const e = await failure(memory("zero3", { "global_step3/zero_pp_rank_1_mp_rank_00_model_states.pt": null }));
    expect(e.code).toBe("missing-record");
    expect(e.file).toBe("zero3/global_step3/zero_pp_rank_1_mp_rank_00_model_states.pt");
  });

  it("a folder without model states says it is not a DeepSpeed checkpoint", async () => {
    const e = await failure(memory("zero2", { "global_step3/mp_rank_00_model_states.pt": null }));
    expect(e.code).toBe("missing-record");
    expect(e.message).toMatch(/not a DeepSpeed checkpoint folder/);
  });

  it("a ZeRO-2 partition of the wrong size is an invalid-data error naming the rank file", async () => {
    const f = "global_step3/bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt";
    const e = await failure(memory("zero2", { [f]: withPartition("zero2", f, "single_partition_of_fp32_groups", new Float32Array(3)) }));
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.code).toBe("invalid-data");
    expect(e.file).toBe(`zero2/${f}`);
    expect(e.message).toMatch(/param group 0 holds 25 numels/);
  });

  it("ZeRO-3 ranks of unequal partition sizes are an invalid-data error naming the rank file", async () => {
    const f = "global_step3/zero_pp_rank_1_mp_rank_00_optim_states.pt";
    const e = await failure(memory("zero3", { [f]: withPartition("zero3", f, "fp32_flat_groups", new Float32Array(4)) }));
    expect(e.code).toBe("invalid-data");
    expect(e.file).toBe(`zero3/${f}`);
    expect(e.message).toMatch(/rank 1 holds \d+ numels, rank 0 \d+/);
  });

  it("a rank of another stage is an error", async () => {
    const bad = new Uint8Array(readFileSync(join(DIR, "zero3/global_step3/zero_pp_rank_1_mp_rank_00_optim_states.pt")));
    const e = await failure(memory("zero2", { "global_step3/bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt": bad }));
    expect(e.code).toBe("invalid-data");
    expect(e.message).toMatch(/rank 1 says zero stage 3/);
  });

  it("a latest file naming a path outside the folder is refused", async () => {
    const e = await failure(memory("zero2", { latest: new TextEncoder().encode("../x") }));
    expect(e.code).toBe("invalid-data");
    expect(e.file).toBe("zero2/latest");
  });
});

describe("the partition arithmetic", () => {
  const p = (name: string, ...shape: number[]) => ({ name, shape });
  it("ZeRO-2: slices concatenate, padding to 2·world_size is tolerated, more is not", () => {
    const out = mergeZero2(2, [{ file: "a", groups: [Float32Array.of(1, 2, 3, 4)] }, { file: "b", groups: [Float32Array.of(5)] }], [[p("x", 2, 2), p("y")]], "t");
    expect([...out.get("x")!]).toEqual([1, 2, 3, 4]);
    expect([...out.get("y")!]).toEqual([5]);
    expect(() => mergeZero2(2, [{ file: "a", groups: [new Float32Array(8)] }, { file: "b", groups: [new Float32Array(8)] }], [[p("x", 3)]], "t")).toThrow(/consumed 3 numels out of 16/);
  });
  it("ZeRO-3: each param is ceil(n/ws) from every rank, cut to n", () => {
    const out = mergeZero3(2, [{ file: "a", groups: [Float32Array.of(1, 2, 10)] }, { file: "b", groups: [Float32Array.of(3, 0, 11)] }], [p("x", 3), p("y", 2)], "t");
    expect([...out.get("x")!]).toEqual([1, 2, 3]);
    expect([...out.get("y")!]).toEqual([10, 11]);
  });
});
