// The analysis library in a real browser: headless Chromium runs `torchsave` bundled for the browser
// on lazy Blob sources (storages read one at a time through blob.slice) and must give the same diff
// report and run statistics as Node computes from the same fixture files.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { diffCheckpointsSync, runStats, runSourceFromBytes } from "../../src/analyze/index.js";
import type { RunRecord } from "../../src/analyze/index.js";
import { readCheckpoint } from "../../src/torch/index.js";
import { REPO } from "../helpers/corpus.js";
import type * as Torchsave from "../../src/index.js";

const train = (f: string) => join(REPO, "fixtures/train", f);
const b64 = (f: string) => readFileSync(train(f)).toString("base64");
const RUN = ["run-pt/ckpt_10.pt", "run-pt/ckpt_20.pt", "run-pt/ckpt_30.pt"];

describe("analyze in headless Chromium on lazy Blob sources", () => {
  it("diffCheckpoints and runStats give what Node gives", async () => {
    const bundle = await build({ entryPoints: [join(REPO, "src/index.ts")], bundle: true, format: "iife", globalName: "torchsave", platform: "browser", write: false, target: "es2022" });
    const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.setContent("<!doctype html><title>analyze</title>");
      await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
      const files = { a: b64("pairs/base.pt"), b: b64("pairs/perturbed.pt"), run: RUN.map((f) => [f, b64(f)]) };
      const got = await page.evaluate(async (input) => {
        const ts = (globalThis as unknown as { torchsave: typeof Torchsave }).torchsave;
        const bytes = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
        const open = (s: string) => ts.openCheckpoint(ts.blobSource(new Blob([bytes(s)])));
        const a = await open(input.a);
        const b = await open(input.b);
        const report = await ts.diffCheckpoints(a, b);
        const lazyBefore = a.storages.every((s) => s.data === undefined);
        const sources = input.run.map(([name, s]) => ({ name: name!, open: async () => ({ root: (await open(s!)).root }) }));
        const records: unknown[] = [];
        for await (const r of ts.runStats(sources)) records.push(r);
        return { report, records, lazyBefore, process: typeof (globalThis as { process?: unknown }).process };
      }, files);
      expect(errors).toEqual([]);
      expect(got.process).toBe("undefined");
      expect(got.lazyBefore).toBe(true); // storages read for the diff were released afterwards
      const want = diffCheckpointsSync(readCheckpoint(new Uint8Array(readFileSync(train("pairs/base.pt")))), readCheckpoint(new Uint8Array(readFileSync(train("pairs/perturbed.pt")))));
      expect(JSON.parse(JSON.stringify(got.report))).toEqual(JSON.parse(JSON.stringify(want)));
      const records: RunRecord[] = [];
      for await (const r of runStats(RUN.map((f) => runSourceFromBytes(f, new Uint8Array(readFileSync(train(f))))))) records.push(r);
      expect(JSON.parse(JSON.stringify(got.records))).toEqual(JSON.parse(JSON.stringify(records)));
    } finally {
      await browser.close();
    }
  });
});
