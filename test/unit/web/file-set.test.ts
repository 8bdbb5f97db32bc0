// Sets of files dropped together: a DCP folder, Hugging Face shards and a DeepSpeed ZeRO folder open
// as one checkpoint over named Blobs (as the page hands them over), and a conversion of the set
// holds torch's tensors (the sha256 of each tensor's bytes in the fixtures' .tensors.jsonl).
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { readAnySync } from "../../../src/convert/index.js";
import { bytesSource } from "../../../src/bytes/source.js";
import { formatKeyPath } from "../../../src/errors.js";
import { tensorBytes, walkTensors } from "../../../src/torch/index.js";
import { relativePaths, setKind } from "../../../src/web/set-kind.js";
import { Inspector } from "../../../src/web/inspector.js";
import type { ConvertResult, OpenResult, Request, Response, SetInput, SetReport, TensorDetail, ValidationView } from "../../../src/web/protocol.js";
import { REPO } from "../../helpers/corpus.js";

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));
}

/** A folder as the page sends it: paths starting with the folder's own name. */
function setOf(dir: string): SetInput {
  const name = dir.split("/").pop()!;
  return { kind: "set", name, files: files(dir).map((f) => ({ path: `${name}/${relative(dir, f)}`, blob: new Blob([readFileSync(f)]) })) };
}

function harness() {
  let last: Response | undefined;
  const inspector = new Inspector((r) => void ("progress" in r ? 0 : (last = r)));
  let id = 0;
  return async <T>(req: Omit<Request, "id"> & Record<string, unknown>): Promise<T> => {
    await inspector.handle({ ...req, id: ++id } as Request);
    if (last === undefined || !("ok" in last) || !last.ok) throw new Error(JSON.stringify(last));
    return last.value as T;
  };
}

const cases = [
  ["a DCP folder", "fixtures/dcp/sharded", "fixtures/dcp/sharded.tensors.jsonl", "dcp"],
  ["Hugging Face .bin shards", "fixtures/shards/bin", "fixtures/shards/bin.tensors.jsonl", "shards"],
  ["a DeepSpeed ZeRO-2 folder", "fixtures/zero/zero2", "fixtures/zero/zero2.tensors.jsonl", "deepspeed"],
  ["a safetensors-based DCP folder", "fixtures/dcp/sharded_st", "fixtures/dcp/sharded_st.tensors.jsonl", "dcp"],
] as const;

describe("file sets", () => {
  it("names what a set of paths is", () => {
    expect(relativePaths(["ck/a/.metadata", "ck/a/__0_0.distcp"])).toEqual([".metadata", "__0_0.distcp"]);
    expect(relativePaths(["z/latest", "z/global_step3/x.pt"])).toEqual(["latest", "global_step3/x.pt"]);
    expect(setKind([".metadata", "__0_0.distcp"])).toEqual({ kind: "dcp" });
    expect(setKind(["model.safetensors.index.json", "model-00001-of-00002.safetensors"])).toEqual({ kind: "shards", index: "model.safetensors.index.json" });
    expect(setKind(["latest", "global_step3/mp_rank_00_model_states.pt"])).toEqual({ kind: "deepspeed" });
    expect(setKind(["a.pt", "b.pt"])).toBeUndefined();
    const st = ["shard-00001-model-00001-of-00001.safetensors", "shard-00002-model-00001-of-00001.safetensors"];
    expect(setKind([...st, "notes.txt"])).toEqual({ kind: "dcp-safetensors", files: st });
    // Loose Hugging Face files stay files of their own.
    expect(setKind(["model.safetensors", "model-00001-of-00002.safetensors", "config.json"])).toBeUndefined();
  });

  for (const [what, dir, jsonl, format] of cases) {
    it(`opens ${what} as one checkpoint; its conversion holds torch's tensors`, async () => {
      const ask = harness();
      const want = readFileSync(join(REPO, jsonl), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { path: (string | number)[]; shape: number[]; sha256: string });
      const file = await ask<OpenResult>({ op: "open", input: setOf(join(REPO, dir)) });
      expect(file.layout).toBe(format);
      expect(file.tensorCount).toBe(want.length);
      const d = await ask<TensorDetail>({ op: "tensor", file: file.file, index: 0 });
      expect(d.shape).toEqual(want.find((w) => formatKeyPath(w.path) === d.path)!.shape);
      const out = await ask<ConvertResult>({ op: "convert", file: file.file, options: { format: "pt", gzip: false } });
      const back = readAnySync(bytesSource(new Uint8Array(await (out.blob as unknown as Blob).arrayBuffer())));
      const got = new Map(walkTensors(back.root).map((e) => [formatKeyPath(e.path), createHash("sha256").update(tensorBytes(e.tensor)).digest("hex")]));
      for (const w of want) expect(got.get(formatKeyPath(w.path)), formatKeyPath(w.path)).toBe(w.sha256);
    });
  }

  it("says what is missing when a set lacks a file its index names", async () => {
    const ask = harness();
    const set = setOf(join(REPO, "fixtures/shards/bin"));
    const partial = { ...set, files: set.files.filter((f) => !f.path.endsWith("00002-of-00004.bin")) };
    await expect(ask({ op: "open", input: partial })).rejects.toThrow(/00002-of-00004\.bin/);
  });

  describe("validated as one folder (distributed/validateFolder)", () => {
    it("a safetensors-based DCP folder: clean, both parts checked, no weights_only verdict (torch.load reads none of it)", async () => {
      const ask = harness();
      for (const data of [false, true]) {
        const v = await ask<ValidationView>({ op: "validate", input: setOf(join(REPO, "fixtures/dcp/sharded_st")), data });
        const r = v.report as SetReport;
        expect([r.readable, r.layout, r.parts, r.counts.error], JSON.stringify(r.findings)).toEqual([true, "dcp-safetensors", 2, 0]);
        expect([r.weightsOnly, v.weightsOnly13]).toEqual([undefined, undefined]);
      }
    });

    for (const [what, dir, , format] of cases.filter((c) => !c[1].endsWith("_st"))) {
      it(`${what}: structure first, then every byte; clean, with the weights_only verdict of both torch targets`, async () => {
        const ask = harness();
        const input = setOf(join(REPO, dir));
        const quick = await ask<ValidationView>({ op: "validate", input, data: false });
        const full = await ask<ValidationView>({ op: "validate", input, data: true });
        expect(quick.offer?.bytes).toBe(input.files.reduce((n, f) => n + f.blob.size, 0));
        expect(full.offer).toBeUndefined();
        for (const v of [quick, full]) {
          const r = v.report as SetReport;
          expect(r.kind).toBe("folder");
          expect(r.readable).toBe(true);
          expect(r.counts.error, JSON.stringify(r.findings)).toBe(0);
          expect(r.parts).toBeGreaterThan(0);
          expect(r.weightsOnly?.accepted).toBe(true);
          // torch 1.13 (/usr/bin/python3) refuses DeepSpeed's rank files (BINFLOAT, builtins.set): each blocker names its file.
          expect(v.weightsOnly13?.accepted, JSON.stringify(v.weightsOnly13)).toBe(format !== "deepspeed");
          for (const b of v.weightsOnly13?.blockers ?? []) expect(b.message).toMatch(/^global_step3\/\w+_states\.pt > /);
        }
        // The CRC-32 and value scans ran only in the full check.
        expect((full.report.tensors.length)).toBeGreaterThan(quick.report.tensors.length);
      });
    }

    it("reports a DCP file .metadata names but the set lacks, and one cut short, by file", async () => {
      const ask = harness();
      const set = setOf(join(REPO, "fixtures/dcp/sharded"));
      const missing = await ask<ValidationView>({ op: "validate", input: { ...set, files: set.files.filter((f) => !f.path.endsWith("__1_0.distcp")) }, data: false });
      const lost = missing.report.findings.filter((f) => f.code === "folder-file-missing");
      expect(lost.map((f) => f.where.record)).toEqual(["__1_0.distcp"]);
      expect(lost[0]!.message).toContain("__1_0.distcp");
      const cut = { ...set, files: set.files.map((f) => (f.path.endsWith("__2_0.distcp") ? { ...f, blob: f.blob.slice(0, f.blob.size - 100) } : f)) };
      const short = await ask<ValidationView>({ op: "validate", input: cut, data: false });
      const out = short.report.findings.filter((f) => f.code === "dcp-slice-out-of-range");
      expect(out.length).toBeGreaterThan(0);
      expect(out.every((f) => f.where.record === "__2_0.distcp" && f.message.startsWith("__2_0.distcp["))).toBe(true);
      expect(short.report.counts.error).toBeGreaterThan(0);
    });

    it("marks a NaN in a DeepSpeed rank's module weights on the consolidated tree's row", async () => {
      const ask = harness();
      const set = setOf(join(REPO, "fixtures/zero/zero2"));
      const model = set.files.find((f) => f.path.endsWith("mp_rank_00_model_states.pt"))!;
      const bytes = new Uint8Array(await (model.blob as unknown as Blob).arrayBuffer());
      // The first element of module's lin0.weight becomes NaN (its bytes found in the file; the CRC-32 then differs too).
      const w = walkTensors(readAnySync(bytesSource(bytes)).root).find((e) => formatKeyPath(e.path) === '["module"]["lin0.weight"]')!;
      const at = Buffer.from(bytes).indexOf(Buffer.from(tensorBytes(w.tensor)));
      expect(at).toBeGreaterThan(0);
      const nan = new Uint8Array(bytes);
      nan.set(w.tensor.dtype === "bfloat16" || w.tensor.dtype === "float16" ? [0xc0, 0x7f] : [0, 0, 0xc0, 0x7f], at);
      const input = { ...set, files: set.files.map((f) => (f === model ? { ...f, blob: new Blob([nan]) } : f)) };
      const file = await ask<OpenResult>({ op: "open", input });
      const v = await ask<ValidationView>({ op: "validate", input, data: true });
      expect(v.nonFinite.map((m) => [file.nodes[m.row]!.key, m.nan])).toEqual([["'lin0.weight'", 1]]);
    });

    it("reports a Hugging Face shard the index names but the set lacks", async () => {
      const ask = harness();
      const set = setOf(join(REPO, "fixtures/shards/bin"));
      const v = await ask<ValidationView>({ op: "validate", input: { ...set, files: set.files.filter((f) => !f.path.endsWith("00002-of-00004.bin")) }, data: false });
      expect(v.report.findings.filter((f) => f.code === "folder-file-missing").map((f) => f.where.record)).toEqual([expect.stringContaining("00002-of-00004.bin")]);
    });
  });
});
