// Drives the inspector page in Debian's Chromium through playwright-core: the page served by the
// `torchsave view` server (dist/web + the files given), a fresh profile, no network beyond 127.0.0.1.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { startViewServer, type ViewServer } from "../../src/cli/view-server.js";
import { REPO } from "./corpus.js";

export const CHROMIUM = "/usr/bin/chromium";
export const WEB_ROOT = join(REPO, "dist/web");
export const ARTIFACTS = join(REPO, "test/interop/artifacts");

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync"],
  });
}

export async function serve(files: readonly string[] = []): Promise<ViewServer> {
  return startViewServer({ webRoot: WEB_ROOT, files });
}

/** A page at 1280×800 (or the given size) that fails the test on any page error. */
export async function openPage(browser: Browser, url: string, size = { width: 1280, height: 800 }, colorScheme: "light" | "dark" = "light"): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: size, colorScheme, acceptDownloads: true });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  await page.goto(url);
  return { page, errors };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}
