// The `stats --html` report in a real browser: headless Chromium (Debian's /usr/bin/chromium through
// playwright-core) opens the page with every network request refused, draws every chart without a
// script error, answers the tensor selector and the step slider, and is screenshotted. Set
// TORCHSAVE_SCREENSHOT=1 to refresh docs/images/stats-report.png (the README's picture).
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { runStats, runSourceFromBytes } from "../../src/analyze/index.js";
import type { RunStep, RunSummary } from "../../src/analyze/index.js";
import { statsHtml } from "../../src/cli/stats-html.js";
import { REPO } from "../helpers/corpus.js";

async function report(dir: string): Promise<string> {
  const folder = join(REPO, "fixtures/train", dir);
  const sources = readdirSync(folder).map((f) => runSourceFromBytes(`${dir}/${f}`, new Uint8Array(readFileSync(join(folder, f)))));
  const steps: RunStep[] = [];
  let summary: RunSummary | undefined;
  for await (const r of runStats(sources, { histogramBins: 40 })) {
    if (r.kind === "step") steps.push(r);
    else summary = r;
  }
  return statsHtml(steps, summary!);
}

describe("stats --html in headless Chromium", () => {
  it("the NaN run's report: charts with axes, findings, selector and histogram work offline; screenshot", async () => {
    const out = mkdtempSync(join(tmpdir(), "torchsave-html-"));
    const page_ = join(out, "report.html");
    writeFileSync(page_, await report("nan-run"));
    const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
      await page.route("**/*", (route) => {
        const url = route.request().url();
        if (url.startsWith("file:")) return route.continue();
        requests.push(url);
        return route.abort();
      });
      await page.goto(`file://${page_}`);
      // Findings first: the NaN step and the spike.
      const findings = await page.locator("#finding-list li").allTextContents();
      expect(findings[0]).toMatch(/^errorstep 7 .*first with NaN\/Inf/);
      expect(findings.some((f) => /grad norm spike at step 4/.test(f))).toBe(true);
      // Run and group charts: loss, grad norm, update, ratio, param/grad norms; each with axes and labels.
      const titles = await page.locator("svg .title").allTextContents();
      expect(titles).toEqual(expect.arrayContaining(["Loss", "Global gradient norm", "Parameter update", "Update / parameter norm (usual ~1e-3)"]));
      expect(titles.length).toBeGreaterThanOrEqual(8);
      const ylabels = await page.locator("svg text[transform]").allTextContents();
      expect(ylabels).toContain("loss (log scale)"); // the loss spans 8 decades
      expect(ylabels).toContain("‖g‖₂ (log scale)");
      // NaN steps are marked, not drawn as zeros.
      expect(await page.locator("svg .bad").count()).toBeGreaterThan(4);
      // The tensor selector and the metric change the chart; the slider changes the histogram's step.
      await page.selectOption("#tensor", { label: "grad: fc2.weight  float32 [2, 8]" });
      await page.selectOption("#metric", "min/mean/max");
      expect(await page.locator("#tensor-charts .title").textContent()).toBe("grad: fc2.weight — min/mean/max");
      await page.locator("#hist-step").fill("3");
      expect(await page.locator("#hist-label").textContent()).toBe("step 4 (nan-run/step_4.pt)");
      expect(await page.locator("#hist-charts rect").count()).toBe(40);
      await page.locator("#hist-step").fill("8");
      expect(await page.locator("#hist-charts").textContent()).toMatch(/no finite values at this step/);
      await page.locator("#hist-step").fill("0");
      await page.selectOption("#metric", "norm");
      const png = join(out, "stats-report.png");
      await page.screenshot({ path: png, fullPage: true });
      expect(statSync(png).size).toBeGreaterThan(50_000);
      if (process.env.TORCHSAVE_SCREENSHOT === "1") copyFileSync(png, join(REPO, "docs/images/stats-report.png"));
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
