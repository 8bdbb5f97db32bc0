// `torchsave view`: the page and the named files on 127.0.0.1 with range requests, nothing else.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRange, startViewServer, type ViewServer } from "../../../src/cli/view-server.js";
import { CLI } from "../../helpers/cli.js";
import { REPO } from "../../helpers/corpus.js";

const A = join(REPO, "fixtures/web/web-a.pt");

describe("parseRange", () => {
  it("reads the three forms and refuses what cannot be served", () => {
    expect(parseRange("bytes=0-9", 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange("bytes=90-", 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange("bytes=-10", 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange("bytes=50-500", 100)).toEqual({ start: 50, end: 99 });
    for (const bad of ["bytes=100-", "bytes=5-2", "bytes=-", "items=0-1", "bytes=0-1,3-4"]) expect(parseRange(bad, 100), bad).toBeUndefined();
  });
});

describe("the view server", () => {
  let server: ViewServer;
  beforeAll(async () => {
    server = await startViewServer({ webRoot: join(REPO, "dist/web"), files: [A] });
  });
  afterAll(() => server.close());

  it("serves the page and the file with ranges, on 127.0.0.1", async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?url=%2Ffiles%2F0%2Fweb-a\.pt$/);
    const base = server.url.split("?")[0]!;
    const page = await fetch(base);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain('<script src="page.js">');
    const r = await fetch(`${base}files/0/web-a.pt`, { headers: { Range: "bytes=0-3" } });
    expect(r.status).toBe(206);
    expect(r.headers.get("content-range")).toBe(`bytes 0-3/${readFileSync(A).length}`);
    expect([...new Uint8Array(await r.arrayBuffer())]).toEqual([0x50, 0x4b, 3, 4]);
    const whole = await fetch(`${base}files/0/web-a.pt`);
    expect(new Uint8Array(await whole.arrayBuffer())).toEqual(new Uint8Array(readFileSync(A)));
    expect((await fetch(`${base}files/0/web-a.pt`, { headers: { Range: "bytes=999999-" } })).status).toBe(416);
  });

  it("reaches nothing else on the disk", async () => {
    const base = server.url.split("?")[0]!;
    for (const path of ["files/1/x", "files/0/other.pt", "files/0/..%2F..%2Fpackage.json", "../package.json", "package.json", "worker.js.map"]) {
      expect((await fetch(`${base}${path}`)).status, path).toBe(404);
    }
    expect((await fetch(base, { method: "POST" })).status).toBe(405);
  });
});

describe("torchsave view", () => {
  it("prints the address, serves until interrupted, and exits 0", async () => {
    const child = spawn(process.execPath, [CLI, "view", A], { stdio: ["ignore", "pipe", "pipe"] });
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (c: Buffer) => {
        out += c.toString();
        if (out.includes("\n")) resolve(out.trim());
      });
      child.on("exit", (code) => reject(new Error(`exited ${code}`)));
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?url=/);
    expect((await fetch(url)).status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
  });

  it("--json prints {url, files} as one JSON object", async () => {
    const child = spawn(process.execPath, [CLI, "view", A, "--json"], { stdio: ["ignore", "pipe", "pipe"] });
    const line = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (c: Buffer) => {
        out += c.toString();
        if (out.includes("\n")) resolve(out.trim());
      });
      child.on("exit", (code) => reject(new Error(`exited ${code}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    child.kill("SIGINT");
    const doc = JSON.parse(line) as { url: string; files: string[] };
    expect(doc.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?url=/);
    expect(doc.files).toEqual([A]);
    expect(await exited).toBe(0);
  });

  it("refuses a missing file and a bad port", () => {
    const run = (args: string[]) => new Promise<{ code: number | null; err: string }>((resolve) => {
      const c = spawn(process.execPath, [CLI, "view", ...args], { stdio: ["ignore", "pipe", "pipe"] });
      let err = "";
      c.stderr.on("data", (d: Buffer) => (err += d.toString()));
      c.on("exit", (code) => resolve({ code, err }));
    });
    return Promise.all([
      run(["/no/such/file.pt"]).then((r) => {
        expect(r.code).toBe(2);
        expect(r.err).toContain("/no/such/file.pt is not a file");
      }),
      run(["--port", "http"]).then((r) => {
        expect(r.code).toBe(2);
        expect(r.err).toContain("--port");
      }),
    ]);
  });
});
