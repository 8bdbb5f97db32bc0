// The inspector page in Debian's Chromium (playwright-core): files opened by the picker, by a drop
// and by ?url= through the `torchsave view` server; what a person sees is asserted against what
// torch computed (fixtures/web/gen_web.py): tree entries, statistics, NaN/Inf marks, validation
// findings, the diff, and a converted download that torch then loads. Screenshots of the main
// views go to test/interop/artifacts/.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CORPUS, REPO } from "../helpers/corpus.js";
import { CHROMIUM, launch, openPage, screenshot, serve, WEB_ROOT } from "../helpers/web-page.js";
import type { ViewServer } from "../../src/cli/view-server.js";

const WEB = join(REPO, "fixtures/web");
const A = join(WEB, "web-a.pt");
const B = join(WEB, "web-b.pt");
const MALICIOUS = join(CORPUS, "picklescan/pytorch_magic_bypass.pt");
interface Stats { numel: number; min: number; max: number; mean: number; std: number; norm: number; nan: number; posinf: number; neginf: number; zeros: number }
const expected = JSON.parse(readFileSync(join(WEB, "web-expected.json"), "utf8")) as {
  stats: Record<string, Stats>;
  diff: Record<string, { maxAbs: number; relL2: number }>;
  first: Record<string, string[]>;
};

let browser: Browser;
let server: ViewServer;
const tmp = mkdtempSync(join(tmpdir(), "torchsave-web-"));

/** The statistics the page shows for the tensor named `key` (its JSON attribute carries full precision). */
async function statsOf(page: Page, key: string): Promise<Stats> {
  await page.locator(".row.tensor", { has: page.locator(".key", { hasText: `'${key}'` }) }).first().click();
  const card = page.locator(`article.tensor:has(h2:text-is('["${key}"]')) [data-stats]`);
  await card.waitFor();
  return JSON.parse((await card.getAttribute("data-stats"))!) as Stats;
}

function expectStats(got: Stats, want: Stats, rel = 1e-12): void {
  for (const k of ["numel", "nan", "posinf", "neginf", "zeros"] as const) expect(got[k], k).toBe(want[k]);
  for (const k of ["min", "max", "mean", "std", "norm"] as const) expect(Math.abs(got[k] - want[k]), k).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(want[k])));
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  if (!existsSync(join(WEB_ROOT, "index.html"))) throw new Error(`${WEB_ROOT} is missing: npm run build`);
  browser = await launch();
  server = await serve([A, B]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe("one file, opened with the picker", () => {
  it("shows the tree, torch's statistics, the first values and marks NaN/Inf", async () => {
    const { page, errors } = await openPage(browser, server.url.split("?")[0]!);
    await page.setInputFiles("#pick", A);
    await page.locator(".row.tensor").first().waitFor();
    const keys = await page.locator(".row.tensor .key").allTextContents();
    expect(keys).toEqual(["'fc.weight'", "'fc.bias'", "'bad.weight'", "'half.weight'", "'steps'"]);
    expect(await page.locator(".row.tensor .label").allTextContents()).toEqual([
      "float32 [16, 8] · 512 B", "float32 [16] · 64 B", "float32 [4, 4] · 64 B", "float16 [8, 8] · 128 B", "int64 [5] · 40 B",
    ]);
    for (const key of Object.keys(expected.stats)) expectStats(await statsOf(page, key), expected.stats[key]!, key === "half.weight" ? 1e-12 : 1e-12);
    // fc.bias's first values read back as the float32s torch printed.
    await statsOf(page, "fc.bias");
    const first = await page.locator("[data-values] .v").allTextContents();
    expect(first.slice(0, 4).map((s) => Math.fround(Number(s)))).toEqual(expected.first["fc.bias"]!.map((s) => Math.fround(Number(s))));
    // NaN and Inf: in the values, the stats card, and (once the file is validated) the tree.
    await statsOf(page, "bad.weight");
    expect(await page.locator("[data-values] .v.bad").allTextContents()).toEqual(["nan", "inf", "-inf"]);
    await page.locator(".row.tensor.bad").waitFor({ timeout: 60_000 });
    expect(await page.locator(".row.tensor.bad .key").allTextContents()).toEqual(["'bad.weight'"]);
    expect(await page.locator(".row.tensor.bad .chip.nonfinite").textContent()).toBe("NaN 1 · Inf 2");
    expect(await page.locator(".validation").getAttribute("data-verdict")).toBe("warnings");
    await page.locator(".row.tensor", { hasText: "fc.weight" }).click();
    await page.locator("[data-chart=heat] canvas").waitFor();
    await screenshot(page, "inspect-light-1280");
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("is readable in dark mode and at phone width", async () => {
    for (const [name, size, scheme] of [["inspect-dark-1280", { width: 1280, height: 800 }, "dark"], ["inspect-phone", { width: 390, height: 844 }, "light"]] as const) {
      const { page, errors } = await openPage(browser, `${server.url.split("&")[0]}&tensor=fc.weight`, size, scheme);
      await page.locator("[data-stats]").waitFor();
      await page.locator(".validation").waitFor({ timeout: 60_000 });
      const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - document.documentElement.clientWidth");
      expect(overflow, `${name}: no sideways scrolling`).toBeLessThanOrEqual(0);
      await screenshot(page, name);
      expect(errors).toEqual([]);
      await page.context().close();
    }
  });

  it("is usable from the keyboard: search, arrows, Enter", async () => {
    const { page } = await openPage(browser, server.url.split("?")[0]!);
    await page.setInputFiles("#pick", A);
    await page.locator(".search").waitFor();
    await page.locator(".search").fill("half");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Enter");
    await page.locator("article.tensor h2", { hasText: "half.weight" }).waitFor();
    expect(new URL(page.url()).searchParams.get("tensor")).toBe("half.weight");
    await page.context().close();
  });
});

describe("?url= and &tensor= (the view server, range requests)", () => {
  it("opens both files from the address, selects the tensor, and diffs them", async () => {
    const { page, errors } = await openPage(browser, `${server.url}&tensor=fc.bias`);
    // The first file's tab has fc.bias selected, as the address asked.
    await page.locator('article.tensor h2:text-is(\'["fc.bias"]\')').waitFor();
    await page.locator(".tab", { hasText: "Diff" }).click();
    const diff = page.locator(".diff-view");
    await diff.waitFor();
    expect(await page.locator(".diff-head").getAttribute("data-equal")).toBe("false");
    expect(await page.locator(".prefix").getAttribute("data-prefix-a")).toBe("");
    expect(await page.locator(".prefix").getAttribute("data-prefix-b")).toBe("module.");
    expect(await page.locator(".only-a li").allTextContents()).toEqual(['["steps"]']);
    expect(await page.locator(".only-b li").allTextContents()).toEqual(['["module.extra"]']);
    const rows = await page.locator("table.diff tbody tr").evaluateAll((trs) => trs.map((tr) => [tr.getAttribute("data-path"), tr.className]));
    expect(rows).toEqual([['["half.weight"]', "shape"], ['["fc.weight"]', "changed"]]);
    const cells = await page.locator('tr[data-path=\'["fc.weight"]\'] td.num').allTextContents();
    expect(Number(cells[0])).toBeCloseTo(expected.diff["fc.weight"]!.relL2, 5);
    expect(Number(cells[1])).toBeCloseTo(expected.diff["fc.weight"]!.maxAbs, 5);
    await screenshot(page, "diff");
    expect(errors).toEqual([]);
    await page.context().close();
  });
});

describe("?url= of a 24 MiB file: the data check on request", () => {
  it("shows the structural report first, then CRC-32 and NaN/Inf once the button is pressed", async () => {
    const mid = join(tmp, "mid.pt");
    execFileSync("/usr/bin/python3", ["-c", "import sys, torch; torch.manual_seed(0); w = torch.randn(3072, 2048); w[7, 5] = float('nan'); torch.save({'w': w, 'b': torch.ones(3)}, sys.argv[1])", mid]);
    const s = await serve([mid]);
    try {
      const { page, errors } = await openPage(browser, s.url);
      const check = page.locator("[data-action=check-data]");
      await check.waitFor({ timeout: 60_000 });
      expect(await page.locator(".validation > summary").textContent()).toContain("structure checked");
      expect(await page.locator(".row.tensor.bad").count()).toBe(0);
      await check.click();
      await page.locator(".row.tensor.bad").waitFor({ timeout: 60_000 });
      expect(await page.locator(".row.tensor.bad .key").allTextContents()).toEqual(["'w'"]);
      expect(await page.locator(".validation > summary").textContent()).toContain("all data checked");
      expect(await page.locator(".finding", { hasText: "1 NaN" }).count()).toBe(1);
      expect(errors).toEqual([]);
      await page.context().close();
    } finally {
      await s.close();
    }
  });
});

describe("hostile and damaged input", () => {
  it("reports a malicious pickle without running it", async () => {
    const { page } = await openPage(browser, server.url.split("?")[0]!);
    let dialogs = 0;
    page.on("dialog", (d) => {
      dialogs++;
      void d.dismiss();
    });
    await page.setInputFiles("#pick", MALICIOUS);
    const report = page.locator(".validation");
    await report.waitFor({ timeout: 60_000 });
    expect(await report.getAttribute("data-verdict")).toBe("errors");
    expect(await report.getAttribute("open")).not.toBeNull();
    const codes = await page.locator(".finding").evaluateAll((li) => li.map((x) => x.getAttribute("data-code")));
    expect(codes).toContain("global-dangerous");
    expect(await page.locator(".finding", { hasText: "eval" }).count()).toBeGreaterThan(0);
    expect(await page.locator("[data-weights-only]").allTextContents()).toEqual(["weights_only torch ≥ 2.6: refused", "weights_only torch 1.13: refused"]);
    expect(dialogs).toBe(0);
    await screenshot(page, "malicious");
    await page.context().close();
  });

  it("shows a CRC mismatch in a damaged file and a clear error for a cut one", async () => {
    const bytes = new Uint8Array(readFileSync(A));
    // Flip one byte inside fc.weight's storage (torch names the archive after the file: web-a/data/0).
    const name = new TextEncoder().encode("web-a/data/0");
    let at = -1;
    for (let i = 0; i < bytes.length - name.length && at < 0; i++) if (bytes[i] === 0x50 && bytes[i + 1] === 0x4b && bytes[i + 2] === 3 && name.every((c, k) => bytes[i + 30 + k] === c)) at = i;
    expect(at).toBeGreaterThan(0);
    const dataAt = at + 30 + name.length + (bytes[at + 28]! | (bytes[at + 29]! << 8));
    bytes[dataAt + 10]! ^= 0xff;
    const damaged = join(tmp, "damaged.pt");
    writeFileSync(damaged, bytes);
    const cut = join(tmp, "cut.pt");
    writeFileSync(cut, bytes.subarray(0, 700));
    const { page } = await openPage(browser, server.url.split("?")[0]!);
    await page.setInputFiles("#pick", damaged);
    // The structural report first (clean: the directory and pickle are intact), then the data check's.
    await page.locator(".validation > summary", { hasText: "all data checked" }).waitFor({ timeout: 60_000 });
    expect(await page.locator(".validation").getAttribute("data-verdict")).toBe("errors");
    expect(await page.locator(".finding").evaluateAll((li) => li.map((x) => x.getAttribute("data-code")))).toContain("crc-mismatch");
    await page.setInputFiles("#pick", cut);
    await page.locator(".open-error").waitFor();
    expect(await page.locator(".open-error").textContent()).toMatch(/Cannot open cut\.pt.*(truncated|zip|archive)/is);
    await page.context().close();
  });
});

describe("convert and download", () => {
  it("strips module. and writes a .pt that torch loads with weights_only=True", async () => {
    const { page, errors } = await openPage(browser, server.url.split("?")[0]!);
    await page.setInputFiles("#pick", B);
    await page.locator("[data-action=convert]").click();
    await page.selectOption("#convert-format", "pt");
    await page.fill("#convert-strip", "module.");
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("form.convert button[type=submit]")]);
    const out = join(tmp, download.suggestedFilename());
    await download.saveAs(out);
    expect(download.suggestedFilename()).toBe("web-b-converted.pt");
    const script = "import sys, torch; sd = torch.load(sys.argv[1], weights_only=True); ref = torch.load(sys.argv[2]);\n" +
      "assert list(sd) == [k[len('module.'):] for k in ref], list(sd)\n" +
      "assert all(sd[k[7:]].numpy().tobytes() == ref[k].numpy().tobytes() and sd[k[7:]].dtype == ref[k].dtype for k in ref)\nprint(len(sd))";
    expect(execFileSync("/usr/bin/python3", ["-c", script, out, B], { encoding: "utf8" }).trim()).toBe("5");
    await screenshot(page, "convert");
    expect(errors).toEqual([]);
    await page.context().close();
  });
});

describe("a > 4 GiB zip64 checkpoint (sparse, made on the fly)", () => {
  const big = join(tmp, "big.pt");
  let want: { bytes: number; w64: Omit<Stats, "nan" | "posinf" | "neginf" | "zeros"> };
  beforeAll(() => {
    want = JSON.parse(execFileSync("/usr/bin/python3", [join(WEB, "make_big.py"), big], { encoding: "utf8" })) as typeof want;
  }, 120_000);
  afterAll(() => rmSync(big, { force: true }));

  it("shows its tree and the statistics of its 64 MiB tensor as torch computes them (timings recorded)", async () => {
    expect(want.bytes).toBeGreaterThan(4 * 2 ** 30);
    const { page, errors } = await openPage(browser, server.url.split("?")[0]!);
    // Warm the worker first so the timing is the open itself.
    await page.setInputFiles("#pick", A);
    await page.locator(".row.tensor").first().waitFor();
    const t0 = Date.now();
    await page.setInputFiles("#pick", big);
    await page.locator(".row.tensor .key", { hasText: "'huge'" }).waitFor();
    const treeMs = Date.now() - t0;
    // The structural report comes at once; the data check of 4.5 GiB waits to be asked for.
    await page.locator(".validation").waitFor();
    expect(await page.locator("[data-action=check-data]").textContent()).toContain("4.56 GiB");
    expect(await page.locator("[data-action=check-data]").isEnabled()).toBe(true);
    // Click → histogram drawn, timed in the page (a MutationObserver, then one frame) and from here.
    const t1 = Date.now();
    const inPage = await page.evaluate(`new Promise((resolve) => {
      const row = [...document.querySelectorAll(".row.tensor")].find((r) => r.textContent.includes("'w64'"));
      const t0 = performance.now();
      new MutationObserver((_, o) => {
        if (document.querySelector("[data-chart=histogram] canvas") === null) return;
        o.disconnect();
        requestAnimationFrame(() => resolve(performance.now() - t0));
      }).observe(document.body, { childList: true, subtree: true });
      row.click();
    })`) as number;
    const histMs = Date.now() - t1;
    const workerMs = Number(/in ([\d.]+) ms/.exec((await page.locator("article.tensor p.small.muted").last().textContent())!)![1]);
    const openMs = Number(/opened in ([\d.]+) ms/.exec((await page.locator(".facts").textContent())!)![1]);
    const shown = JSON.parse((await page.locator("[data-stats]").getAttribute("data-stats"))!) as Stats;
    expect(shown.numel).toBe(want.w64.numel);
    for (const k of ["min", "max", "mean", "std", "norm"] as const) expect(Math.abs(shown[k] - want.w64[k])).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want.w64[k])));
    await page.locator(".row.tensor", { hasText: "'huge'" }).click();
    await page.locator(".note", { hasText: "more than" }).waitFor();
    expect(await page.locator("[data-values] .v").count()).toBe(48);
    // Its statistics can be streamed on request (not clicked here: two passes over 4.5 GiB).
    expect(await page.locator("[data-action=stream]").textContent()).toContain("4.50 GiB");
    await screenshot(page, "big-4gib");
    const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
    const histPageMs = Math.round(inPage);
    console.log(`web: 4.56 GiB zip64: tree shown ${treeMs} ms after the drop (worker open ${openMs} ms); 64 MiB tensor: histogram drawn ${histPageMs} ms after the click in the page, ${histMs} ms as the test sees it (worker read+stats ${workerMs} ms) (load ${load})`);
    writeFileSync(join(REPO, "test/interop/artifacts/web-timings.json"), JSON.stringify({ treeMs, openMs, histPageMs, histMs, workerMs, load }));
    // Timing targets live in bench/ and the README, not in assertions: the figures are recorded here.
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("opens by ?url= with its structural report, having fetched well under 1% of it", async () => {
    const big2 = await serve([big]);
    let served = 0;
    // Count the body bytes of every file response (the server pipes them after this listener runs).
    big2.server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      if (req.url?.startsWith("/files/") !== true) return;
      const write = res.write.bind(res) as (chunk: Uint8Array, ...rest: unknown[]) => boolean;
      res.write = ((chunk: Uint8Array, ...rest: unknown[]) => {
        served += chunk.length;
        return write(chunk, ...rest);
      }) as typeof res.write;
    });
    try {
      const { page, errors } = await openPage(browser, big2.url);
      await page.locator(".row.tensor .key", { hasText: "'huge'" }).waitFor();
      const report = page.locator(".validation");
      await report.waitFor({ timeout: 60_000 });
      expect(await report.getAttribute("data-verdict")).toBe("clean");
      expect(await page.locator(".validation > summary").textContent()).toContain("weights_only torch ≥ 2.6: loads");
      // The full check would download 4.5 GiB: refused, with the reason.
      const check = page.locator("[data-action=check-data]");
      expect(await check.isDisabled()).toBe(true);
      expect(await page.locator(".data-check").textContent()).toContain("more than the 1.00 GiB");
      expect(served).toBeGreaterThan(0);
      expect(served).toBeLessThan(want.bytes / 1000);
      console.log(`web: ?url= of the 4.56 GiB file: tree and structural report after ${served} bytes served (${((100 * served) / want.bytes).toFixed(5)}%)`);
      await screenshot(page, "url-4gib");
      expect(errors).toEqual([]);
      await page.context().close();
    } finally {
      await big2.close();
    }
  });
});

describe("several per-step dumps", () => {
  it("show the run's charts and the first NaN step torch's generator planted", async () => {
    const dir = join(REPO, "fixtures/train/nan-run");
    const files = Array.from({ length: 10 }, (_, i) => join(dir, `step_${i + 1}.pt`));
    const nanRun = (JSON.parse(readFileSync(join(REPO, "fixtures/train/expected.json"), "utf8")) as { nanRun: { nanStep: number; steps: { gradNorm: number | null }[] } }).nanRun;
    const { page, errors } = await openPage(browser, server.url.split("?")[0]!);
    // Dropped, as a person would: a drop event carrying the ten files.
    const payload = files.map((f) => ({ name: f.split("/").pop()!, bytes: [...readFileSync(f)] }));
    await page.evaluate(`(() => {
      const dt = new DataTransfer();
      for (const f of ${JSON.stringify(payload)}) dt.items.add(new File([new Uint8Array(f.bytes)], f.name));
      window.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    })()`);
    await page.locator(".run-view").waitFor();
    expect(Number(await page.locator("[data-first-non-finite]").getAttribute("data-first-non-finite"))).toBe(nanRun.nanStep);
    const titles = await page.locator(".run-chart").evaluateAll((f) => f.map((x) => x.getAttribute("data-chart")));
    expect(titles).toEqual(expect.arrayContaining(["loss (log)", "global grad norm", "norm by group"]));
    expect(await page.locator(".run-chart canvas").count()).toBeGreaterThanOrEqual(5);
    expect(await page.locator(".run-view .finding").count()).toBeGreaterThan(0);
    await screenshot(page, "run");
    expect(errors).toEqual([]);
    await page.context().close();
  });
});

describe("a checkpoint in several files", () => {
  const jsonl = (f: string) => readFileSync(join(REPO, f), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { path: (string | number)[]; sha256: string });

  it("opens a DCP folder picked with Open folder…, and converts it to a .pt torch loads with the same tensors", async () => {
    const want = jsonl("fixtures/dcp/sharded.tensors.jsonl");
    const { page, errors } = await openPage(browser, server.url.split("?")[0]!);
    // Every report summary shown, kept (the structure's is replaced by the data check's within a moment).
    await page.evaluate(`window.__checks = []; new MutationObserver(() => {
      const t = document.querySelector(".validation > summary")?.textContent;
      if (t && t.includes("checked in") && window.__checks.at(-1) !== t) window.__checks.push(t);
    }).observe(document.body, { subtree: true, childList: true, characterData: true })`);
    await page.setInputFiles("#pick-folder", join(REPO, "fixtures/dcp/sharded"));
    await page.locator(".row.tensor").first().waitFor();
    expect(await page.locator(".facts").textContent()).toContain("dcp");
    // Rows below depth 2 start folded: the visible tensor keys are the top ones; the count is all.
    expect(await page.locator(".facts").textContent()).toContain(`${want.length} tensors`);
    expect((await page.locator(".row.tensor .key").allTextContents()).sort()).toEqual(want.filter((w) => w.path.length <= 2).map((w) => `'${w.path.at(-1)}'`).sort());
    // The set validated as one folder (validateFolder), every byte once the page is idle: clean; .metadata
    // (a plain pickle DCP reads with pickle.load) imports DCP's plain-data classes only; both torch targets load every item.
    const report = page.locator(".validation");
    await expect.poll(() => report.locator(":scope > summary").textContent(), { timeout: 60_000 }).toContain("all data checked");
    // The figures for the README (printed, not asserted: timings are not tests).
    for (const t of await page.evaluate("window.__checks") as string[]) console.log(`DCP sharded folder: ${t.replace(/^.*· /, "")} [load ${loadavg()[0]!.toFixed(2)}]`);
    expect(await report.getAttribute("data-verdict")).toBe("clean");
    expect(await report.locator(":scope > summary").textContent()).toMatch(/dcp of \d+ parts/);
    expect(await report.locator("[data-weights-only]").allTextContents()).toEqual(["weights_only torch ≥ 2.6: loads", "weights_only torch 1.13: loads"]);
    expect(new Set(await report.locator(".finding").evaluateAll((li) => li.map((x) => x.getAttribute("data-code"))))).toEqual(new Set(["global-plain-data", "weights-only-accepted"]));
    expect(await report.locator(".finding[data-code=global-plain-data]").first().textContent()).toContain("in .metadata");
    await page.locator(".row.tensor", { hasText: "'uneven'" }).click();
    await page.locator("[data-stats]").waitFor();
    await screenshot(page, "dcp-folder");
    await page.locator("[data-action=convert]").click();
    await page.selectOption("#convert-format", "pt");
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("form.convert button[type=submit]")]);
    const out = join(tmp, "dcp.pt");
    await download.saveAs(out);
    const script = "import sys, json, hashlib, torch; sd = torch.load(sys.argv[1], weights_only=True)\n" +
      "def leaf(v, p):\n    for k in p: v = v[k]\n    return v\n" +
      "print(json.dumps([hashlib.sha256(leaf(sd, w['path']).contiguous().view(-1).view(torch.uint8).numpy().tobytes()).hexdigest() for w in json.loads(sys.argv[2])]))";
    const got = JSON.parse(execFileSync("/usr/bin/python3", ["-c", script, out, JSON.stringify(want)], { encoding: "utf8" })) as string[];
    expect(got).toEqual(want.map((w) => w.sha256));
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("shows a DCP folder's consistency findings by file: a .distcp cut short, a .distcp missing", async () => {
    const { page, errors } = await openPage(browser, server.url.split("?")[0]!);
    const src = join(REPO, "fixtures/dcp/sharded");
    for (const [name, damage] of [["cut", "__2_0.distcp"], ["lost", "__1_0.distcp"]] as const) {
      const dir = join(tmp, name);
      mkdirSync(dir);
      for (const f of readdirSync(src)) if (f !== damage) copyFileSync(join(src, f), join(dir, f));
      if (name === "cut") writeFileSync(join(dir, damage), readFileSync(join(src, damage)).subarray(0, -100));
      await page.setInputFiles("#pick-folder", dir);
      const report = page.locator(".validation");
      await report.waitFor({ timeout: 60_000 });
      expect(await report.getAttribute("data-verdict")).toBe("errors");
      const finding = report.locator(`.finding.error[data-code=${name === "cut" ? "dcp-slice-out-of-range" : "folder-file-missing"}]`).first();
      await finding.waitFor();
      expect(await finding.isVisible()).toBe(true);
      expect(await finding.textContent()).toContain(`in ${damage}: ${damage}`);
      await screenshot(page, `dcp-folder-${name}`);
    }
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("opens a safetensors-based DCP folder (no .metadata), with torch's tensors, each file checked", async () => {
    const want = jsonl("fixtures/dcp/sharded_st.tensors.jsonl");
    const { page, errors } = await openPage(browser, server.url.split("?")[0]!);
    await page.setInputFiles("#pick-folder", join(REPO, "fixtures/dcp/sharded_st"));
    await page.locator(".row.tensor").first().waitFor();
    expect(await page.locator(".tab").count()).toBe(1);
    expect(await page.locator(".facts").textContent()).toContain(`dcp · ${want.length} tensors`);
    expect((await page.locator(".row.tensor .key").allTextContents()).sort()).toEqual(want.map((w) => `'${w.path.at(-1)}'`).sort());
    // Both files checked as one folder: clean; torch.load reads no part of it, so no weights_only verdict.
    const report = page.locator(".validation");
    await expect.poll(() => report.locator(":scope > summary").textContent(), { timeout: 60_000 }).toContain("all data checked");
    expect(await report.getAttribute("data-verdict")).toBe("clean");
    expect(await report.locator("[data-parts]").getAttribute("data-parts")).toBe("2");
    expect(await report.locator("[data-weights-only]").count()).toBe(0);
    await page.locator(".row.tensor", { hasText: "'uneven'" }).click();
    await page.locator("[data-stats]").waitFor();
    await screenshot(page, "dcp-safetensors-folder");
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("opens a DeepSpeed ZeRO-2 folder consolidated to fp32, each rank file checked", async () => {
    const want = jsonl("fixtures/zero/zero2.tensors.jsonl");
    const { page, errors } = await openPage(browser, server.url.split("?")[0]!);
    await page.setInputFiles("#pick-folder", join(REPO, "fixtures/zero/zero2"));
    await page.locator(".row.tensor").first().waitFor();
    expect(await page.locator(".facts").textContent()).toContain(`deepspeed · ${want.length} tensors`);
    expect((await page.locator(".row.tensor .key").allTextContents()).sort()).toEqual(want.map((w) => `'${w.path[0]}'`).sort());
    // Its three rank files checked as one folder; torch 1.13 refuses them (BINFLOAT, builtins.set), which the report names by file.
    const report = page.locator(".validation");
    await expect.poll(() => report.locator(":scope > summary").textContent(), { timeout: 60_000 }).toContain("all data checked");
    expect(await report.locator("[data-parts]").getAttribute("data-parts")).toBe("3");
    expect(await report.locator("[data-weights-only]").allTextContents()).toEqual(["weights_only torch ≥ 2.6: loads", "weights_only torch 1.13: refused"]);
    expect(await report.locator(".blockers").textContent()).toContain("torch 1.13: global_step3/mp_rank_00_model_states.pt > ");
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("opens Hugging Face shards dropped together as one checkpoint, with torch's statistics and each shard checked", async () => {
    const dir = join(REPO, "fixtures/shards/bin");
    const names = readdirSync(dir);
    const want = jsonl("fixtures/shards/bin.tensors.jsonl");
    const key = String(want[1]!.path[0]);
    const script = "import sys, glob, json, torch\nsd = {}\n[sd.update(torch.load(f, weights_only=True)) for f in sorted(glob.glob(sys.argv[1] + '/*.bin'))]\n" +
      "t = sd[sys.argv[2]].double(); print(json.dumps({'numel': t.numel(), 'min': t.min().item(), 'max': t.max().item(), 'mean': t.mean().item(), 'std': t.std().item(), 'norm': t.norm().item()}))";
    const torchStats = JSON.parse(execFileSync("/usr/bin/python3", ["-c", script, dir, key], { encoding: "utf8" })) as Stats;
    const { page, errors } = await openPage(browser, server.url.split("?")[0]!);
    const payload = names.map((n) => ({ name: n, bytes: [...readFileSync(join(dir, n))] }));
    await page.evaluate(`(() => {
      const dt = new DataTransfer();
      for (const f of ${JSON.stringify(payload)}) dt.items.add(new File([new Uint8Array(f.bytes)], f.name));
      window.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    })()`);
    await page.locator(".row.tensor").first().waitFor();
    expect(await page.locator(".tab").count()).toBe(1);
    expect(await page.locator(".facts").textContent()).toContain("shards");
    expect(await page.locator(".row.tensor").count()).toBe(want.length);
    const shown = await statsOf(page, key);
    expect(shown.numel).toBe(torchStats.numel);
    for (const k of ["min", "max", "mean", "std", "norm"] as const) expect(Math.abs(shown[k] - torchStats[k])).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(torchStats[k])));
    // The shards validated as one folder, each shard a part (the index is JSON: checked against the shards' keys).
    const report = page.locator(".validation");
    await expect.poll(() => report.locator(":scope > summary").textContent(), { timeout: 60_000 }).toContain("all data checked");
    expect(await report.locator("[data-parts]").getAttribute("data-parts")).toBe(String(names.filter((n) => n.endsWith(".bin")).length));
    expect(await report.getAttribute("data-verdict")).toBe("clean");
    await screenshot(page, "shards-drop");
    expect(errors).toEqual([]);
    await page.context().close();
  });
});

describe("as a static site with no server (file://)", () => {
  it("opens a file from dist/web/index.html, running the inspector on the page", async () => {
    const { page, errors } = await openPage(browser, `file://${join(WEB_ROOT, "index.html")}`);
    await page.setInputFiles("#pick", A);
    await page.locator(".row.tensor").first().waitFor();
    expect(await page.locator("#status").textContent()).toContain("on the page");
    expectStats(await statsOf(page, "fc.weight"), expected.stats["fc.weight"]!);
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
