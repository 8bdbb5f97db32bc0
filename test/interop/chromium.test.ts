// The core runs unchanged in a real browser: headless Chromium loads the "." entry bundled for the
// browser, reads every torch fixture from a Uint8Array and lazily from a Blob, writes each back
// and re-reads it, round-trips it through lossless JSON, and hashes every tensor with WebCrypto.
// Every answer must equal the tensor lines torch itself computed for the fixture.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO } from "../helpers/corpus.js";

const CHROMIUM = "/usr/bin/chromium";
const FIXTURES = join(REPO, "fixtures/torch");

/** The page's script: runs every check on every fixture and posts the answers back. */
const PAGE_SCRIPT = `
import * as ts from "/torchsave.js";
const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
async function lines({ root }, bytesOf) {
  const out = [];
  for (const { path, tensor: t } of ts.walkTensors(root)) {
    if (t.layout !== "strided" || t.storage === undefined) continue;
    const bytes = await bytesOf(t);
    out.push({ path, dtype: t.dtype, shape: t.shape, stride: t.stride, offset: t.storageOffset, sha256: hex(await crypto.subtle.digest("SHA-256", bytes)) });
  }
  return out;
}
async function check(name) {
  const bytes = new Uint8Array(await (await fetch("/fixture/" + name)).arrayBuffer());
  const eager = ts.readCheckpoint(bytes);
  const lazy = await ts.openCheckpoint(ts.blobSource(new Blob([bytes])));
  // Checkpoints with numpy or optimizer objects need more than weights_only allows.
  const rewritten = ts.readCheckpoint(ts.writeCheckpoint(eager.root, { weightsOnly: false }));
  const fromJson = { root: ts.fromJson(ts.toJson(eager)) };
  return {
    name,
    eager: await lines(eager, (t) => ts.tensorBytes(t)),
    lazy: await lines(lazy, (t) => ts.tensorBytesAsync(t)),
    rewritten: await lines(rewritten, (t) => ts.tensorBytes(t)),
    json: await lines(fromJson, (t) => ts.tensorBytes(t)),
  };
}
const report = { realm: { process: typeof process, Buffer: typeof Buffer, require: typeof require }, results: [] };
try {
  for (const name of await (await fetch("/fixtures.json")).json()) {
    try {
      report.results.push(await check(name));
    } catch (e) {
      report.results.push({ name, error: String(e && e.stack || e) });
    }
  }
} catch (e) {
  report.error = String(e && e.stack || e);
}
await fetch("/result", { method: "POST", body: JSON.stringify(report) });
`;

interface Line {
  path: (string | number)[];
  dtype: string;
  shape: number[];
  stride: number[];
  offset: number;
  sha256: string;
}
interface FixtureResult {
  name: string;
  error?: string;
  eager?: Line[];
  lazy?: Line[];
  rewritten?: Line[];
  json?: Line[];
}
interface Report {
  realm: Record<string, string>;
  results: FixtureResult[];
  error?: string;
}

const names = readdirSync(FIXTURES).filter((f) => f.endsWith(".tensors.jsonl")).map((f) => f.slice(0, -".tensors.jsonl".length));
const expected = (name: string): Line[] =>
  readFileSync(join(FIXTURES, `${name}.tensors.jsonl`), "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Line);

/** Serves the bundle, the page and the fixtures; resolves with what the page posts to /result. */
async function serve(bundle: string): Promise<{ url: string; report: Promise<Report>; close(): void }> {
  let deliver!: (r: Report) => void;
  const report = new Promise<Report>((resolve) => (deliver = resolve));
  const send = (res: ServerResponse, type: string, body: string | Uint8Array) => {
    res.writeHead(200, { "content-type": type });
    res.end(body);
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? "/";
    if (url === "/") send(res, "text/html", `<!doctype html><script type="module" src="/page.js"></script>`);
    else if (url === "/page.js") send(res, "text/javascript", PAGE_SCRIPT);
    else if (url === "/torchsave.js") send(res, "text/javascript", bundle);
    else if (url === "/fixtures.json") send(res, "application/json", JSON.stringify(names));
    else if (url.startsWith("/fixture/") && names.includes(decodeURIComponent(url.slice(9)))) {
      send(res, "application/octet-stream", readFileSync(join(FIXTURES, decodeURIComponent(url.slice(9)))));
    } else if (url === "/result" && req.method === "POST") {
      const parts: Buffer[] = [];
      req.on("data", (c: Buffer) => parts.push(c));
      req.on("end", () => {
        send(res, "text/plain", "ok");
        deliver(JSON.parse(Buffer.concat(parts).toString("utf8")) as Report);
      });
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, report, close: () => server.close() };
}

describe("the core in headless Chromium", () => {
  let report: Report;
  const profile = mkdtempSync(join(tmpdir(), "torchsave-chromium-"));

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
    const bundled = await build({
      entryPoints: [join(REPO, "src/index.ts")], bundle: true, platform: "browser", format: "esm", write: false, logLevel: "silent",
    });
    const server = await serve(bundled.outputFiles[0]!.text);
    // The flags this machine's closed network needs (no background connections, a fresh profile).
    const browser = spawn(CHROMIUM, [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", `--user-data-dir=${profile}`, server.url,
    ], { stdio: "ignore" });
    const exited = new Promise<never>((_, reject) => browser.on("exit", (code) => reject(new Error(`chromium exited (${code}) before the page reported`))));
    try {
      report = await Promise.race([server.report, exited]);
    } finally {
      browser.kill("SIGKILL");
      server.close();
    }
  }, 240_000);

  afterAll(() => rmSync(profile, { recursive: true, force: true }));

  it("runs in a page without Node's globals", () => {
    expect(report.error).toBeUndefined();
    expect(report.realm).toEqual({ process: "undefined", Buffer: "undefined", require: "undefined" });
    expect(report.results.map((r) => r.name)).toEqual(names);
    expect(names.length).toBeGreaterThan(60);
  });

  for (const name of names) {
    it(`${name}: every tensor as torch hashed it, read, lazily from a Blob, rewritten and through JSON`, () => {
      const r = report.results.find((x) => x.name === name)!;
      expect(r.error).toBeUndefined();
      const want = expected(name);
      expect(r.eager).toEqual(want);
      expect(r.lazy).toEqual(want);
      expect(r.rewritten).toEqual(want);
      expect(r.json).toEqual(want);
    });
  }
});
