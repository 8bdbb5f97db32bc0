// The worker's side run in Node: a Blob read asynchronously (as on a file:// page), answers checked
// against torch's numbers for fixtures/web (gen_web.py).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readCheckpoint, walkTensors } from "../../../src/torch/index.js";
import { Inspector, outputName } from "../../../src/web/inspector.js";
import type { ConvertResult, DiffResult, OpenResult, Request, Response, TensorDetail, ValidationView } from "../../../src/web/protocol.js";
import { REPO } from "../../helpers/corpus.js";

const WEB = join(REPO, "fixtures/web");
const expected = JSON.parse(readFileSync(join(WEB, "web-expected.json"), "utf8")) as { stats: Record<string, Record<string, number>> };
const blob = (name: string) => ({ kind: "blob" as const, blob: new Blob([readFileSync(join(WEB, name))]), name });

function harness(maxTensorRead?: number) {
  const progress: Response[] = [];
  let last: Response | undefined;
  const inspector = new Inspector((r) => ("progress" in r ? progress.push(r) : (last = r)), maxTensorRead);
  let id = 0;
  const ask = async <T>(req: Omit<Request, "id"> & Record<string, unknown>): Promise<T> => {
    await inspector.handle({ ...req, id: ++id } as Request);
    if (last === undefined || !("ok" in last)) throw new Error("no answer");
    if (!last.ok) throw new Error(last.error);
    return last.value as T;
  };
  return { ask, progress };
}

describe("Inspector", () => {
  it("opens a Blob lazily and answers torch's statistics for every tensor", async () => {
    const { ask } = harness();
    const file = await ask<OpenResult>({ op: "open", input: blob("web-a.pt") });
    expect(file.layout).toBe("zip");
    expect(file.tensorCount).toBe(5);
    const keys = file.nodes.filter((n) => n.kind === "tensor").map((n) => n.key);
    expect(keys).toEqual(["'fc.weight'", "'fc.bias'", "'bad.weight'", "'half.weight'", "'steps'"]);
    for (const [i, key] of ["fc.weight", "fc.bias", "bad.weight", "half.weight", "steps"].entries()) {
      const d = await ask<TensorDetail>({ op: "tensor", file: file.file, index: i });
      const want = expected.stats[key]!;
      for (const k of ["numel", "nan", "posinf", "neginf", "zeros"]) expect((d.stats as unknown as Record<string, number>)[k], `${key} ${k}`).toBe(want[k]);
      for (const k of ["min", "max", "mean", "std", "norm"]) expect((d.stats as unknown as Record<string, number>)[k]).toBeCloseTo(want[k]!, 12);
      expect(d.histogram!.counts.reduce((a, b) => a + b, 0)).toBe(want.numel! - want.nan! - want.posinf! - want.neginf!);
    }
    const bad = await ask<TensorDetail>({ op: "tensor", file: file.file, index: 2 });
    expect(bad.first.filter((v) => /nan|inf/.test(v))).toEqual(["nan", "inf", "-inf"]);
    expect(bad.heat).toMatchObject({ rows: 4, cols: 4 });
  });

  it("streams the statistics of a tensor over the read limit when asked, with progress", async () => {
    const { ask, progress } = harness(100);
    const file = await ask<OpenResult>({ op: "open", input: blob("web-a.pt") });
    for (const [i, key] of [[0, "fc.weight"], [3, "half.weight"]] as const) {
      const quick = await ask<TensorDetail>({ op: "tensor", file: file.file, index: i });
      expect(quick.stats).toBeUndefined();
      expect(quick.streamable).toBe(true);
      expect(quick.first.length).toBe(48);
      const d = await ask<TensorDetail>({ op: "tensor", file: file.file, index: i, stream: true });
      const want = expected.stats[key]!;
      for (const k of ["min", "max", "mean", "std", "norm"]) expect((d.stats as unknown as Record<string, number>)[k], `${key} ${k}`).toBeCloseTo(want[k]!, 12);
      expect(d.histogram!.counts.reduce((a, b) => a + b, 0)).toBe(want.numel);
    }
    expect(progress.length).toBeGreaterThanOrEqual(4);
  });

  it("validates an input on its own and places NaN/Inf on tree rows", async () => {
    const { ask } = harness();
    const v = await ask<ValidationView>({ op: "validate", input: blob("web-a.pt") });
    expect(v.report.readable).toBe(true);
    expect(v.report.weightsOnly?.accepted).toBe(true);
    expect(v.weightsOnly13?.accepted).toBe(true);
    expect(v.nonFinite).toEqual([{ row: 3, nan: 1, inf: 2 }]);
    const evil = { kind: "blob" as const, blob: new Blob([readFileSync(join(REPO, "../shared/corpus/picklescan/pytorch_magic_bypass.pt"))]), name: "evil.pt" };
    const e = await ask<ValidationView>({ op: "validate", input: evil });
    expect(e.report.findings.map((f) => f.code)).toContain("global-dangerous");
    expect(e.weightsOnly13?.accepted).toBe(false);
  });

  it("diffs two files with analyze's diffCheckpoints", async () => {
    const { ask } = harness();
    const a = await ask<OpenResult>({ op: "open", input: blob("web-a.pt") });
    const b = await ask<OpenResult>({ op: "open", input: blob("web-b.pt") });
    const d = await ask<DiffResult>({ op: "diff", a: a.file, b: b.file });
    expect(d.report.equal).toBe(false);
    expect(d.report.prefix).toMatchObject({ a: "", b: "module." });
    expect(d.report.onlyA).toEqual(['["steps"]']);
    expect(d.report.onlyB).toEqual(['["module.extra"]']);
    expect(d.report.changed.filter((e) => !e.identical).map((e) => e.path)).toEqual(['["half.weight"]', '["fc.weight"]']);
  });

  it("converts to every format with progress and a name, and what it writes reads back", async () => {
    const { ask } = harness();
    const b = await ask<OpenResult>({ op: "open", input: blob("web-b.pt") });
    const r = await ask<ConvertResult>({ op: "convert", file: b.file, options: { format: "pt", gzip: false, stripPrefix: "module." } });
    expect(r.fileName).toBe("web-b-converted.pt");
    const back = readCheckpoint(new Uint8Array(await (r.blob as unknown as Blob).arrayBuffer()));
    expect(walkTensors(back.root).map((e) => e.path[0])).toEqual(["fc.weight", "fc.bias", "bad.weight", "half.weight", "extra"]);
    for (const format of ["json", "json-plain", "msgpack", "safetensors", "pt-legacy", "pickle"] as const) {
      const out = await ask<ConvertResult>({ op: "convert", file: b.file, options: { format, gzip: format === "json" } });
      expect(out.bytes, format).toBeGreaterThan(0);
    }
  });

  it("opens what it converts (safetensors, JSON, msgpack) and a real Lightning checkpoint", async () => {
    const { ask } = harness();
    const a = await ask<OpenResult>({ op: "open", input: blob("web-a.pt") });
    for (const format of ["safetensors", "json", "msgpack"] as const) {
      const out = await ask<ConvertResult>({ op: "convert", file: a.file, options: { format, gzip: false } });
      const again = await ask<OpenResult>({ op: "open", input: { kind: "blob", blob: out.blob, name: out.fileName } });
      expect(again.layout, format).toBe(format);
      expect(again.tensorCount, format).toBe(5);
      const d = await ask<TensorDetail>({ op: "tensor", file: again.file, index: 0 });
      expect(d.stats!.mean, format).toBeCloseTo(expected.stats["fc.weight"]!.mean!, 12);
    }
    const ckpt = { kind: "blob" as const, blob: new Blob([readFileSync(join(REPO, "../shared/corpus/lightning-aegnn/last.ckpt"))]), name: "last.ckpt" };
    const l = await ask<OpenResult>({ op: "open", input: ckpt });
    expect(l.parts.map((p) => p.name)).toEqual(expect.arrayContaining(["model", "optimizer", "epoch"]));
    expect(l.tensorCount).toBeGreaterThan(10);
  });

  it("says what it cannot open, with the file's name", async () => {
    const { ask } = harness();
    const cut = { kind: "blob" as const, blob: new Blob([readFileSync(join(WEB, "web-a.pt")).subarray(0, 300)]), name: "cut.pt" };
    await expect(ask({ op: "open", input: cut })).rejects.toThrow(/cut\.pt/);
    await expect(ask({ op: "tensor", file: 99, index: 0 })).rejects.toThrow(/file 99 is not open/);
  });

  it("names outputs by format", () => {
    expect(outputName("model.pt", { format: "safetensors", gzip: false })).toBe("model.safetensors");
    expect(outputName("model.pt", { format: "pt", gzip: false })).toBe("model-converted.pt");
    expect(outputName("state.json.gz", { format: "pt", gzip: true })).toBe("state.pt.gz");
    expect(outputName("weights", { format: "json-plain", gzip: false })).toBe("weights.json");
  });
});
