import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { urlSource, parseContentRange, type FetchLike } from "../../../src/bytes/url-source.js";
import { openCheckpoint, stateDict, tensor, tensorBytesAsync, walkTensors, writeCheckpoint } from "../../../src/index.js";
import { REPO } from "../../helpers/corpus.js";
import { startRangeServer, type RangeServer } from "../../helpers/range-server.js";

const data = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7919) & 255);
let server: RangeServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function rejection(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error("expected a rejection");
}

describe("urlSource over a local HTTP server", () => {
  it("learns the size from the first block and reads any range exactly", async () => {
    server = await startRangeServer({ "d.bin": data });
    const src = await urlSource(`${server.base}d.bin`, { blockSize: 4096 });
    expect(src.size).toBe(data.length);
    expect(server.stats.bytesSent).toBe(4096);
    for (const [o, l] of [[0, 10], [4090, 20], [100_000, 5000], [299_990, 10], [12345, 0], [0, 300_000]] as const) {
      expect(await src.read(o, l)).toEqual(data.subarray(o, o + l));
    }
    expect(src.stats.bytesFetched).toBe(server.stats.bytesSent);
  });

  it("caches small reads by block: nearby reads cost no new request", async () => {
    server = await startRangeServer({ "d.bin": data });
    const src = await urlSource(`${server.base}d.bin`, { blockSize: 1024 });
    await src.read(5000, 8);
    const after = server.stats.requests;
    await src.read(5010, 8);
    await src.read(5050, 60);
    expect(server.stats.requests).toBe(after);
    expect(server.stats.ranges).toEqual(["0-1023", "4096-5119"]);
  });

  it("reads a file smaller than a block", async () => {
    server = await startRangeServer({ "s.bin": data.subarray(0, 100) });
    const src = await urlSource(`${server.base}s.bin`);
    expect(src.size).toBe(100);
    expect(await src.read(90, 10)).toEqual(data.subarray(90, 100));
  });

  it("says clearly when the server ignores ranges", async () => {
    server = await startRangeServer({ "d.bin": data }, { ignoreRanges: true });
    const e = await rejection(urlSource(`${server.base}d.bin`, { blockSize: 4096 }));
    expect(e.code).toBe("unsupported");
    expect(e.message).toMatch(/ignores HTTP range requests/);
    expect(e.message).toContain("d.bin");
  });

  it("retries 503 with backoff, then succeeds", async () => {
    server = await startRangeServer({ "d.bin": data }, { failFirst: 2 });
    const src = await urlSource(`${server.base}d.bin`, { retryDelayMs: 1 });
    expect(src.stats.retries).toBe(2);
    expect(await src.read(10, 3)).toEqual(data.subarray(10, 13));
  });

  it("gives up after the retries with an io error naming the status", async () => {
    server = await startRangeServer({ "d.bin": data }, { failFirst: 10 });
    const e = await rejection(urlSource(`${server.base}d.bin`, { retries: 2, retryDelayMs: 1 }));
    expect(e.code).toBe("io");
    expect(e.message).toMatch(/HTTP 503/);
    expect(server.stats.requests).toBe(3);
  });

  it("404 is an io error at once, no retries", async () => {
    server = await startRangeServer({});
    const e = await rejection(urlSource(`${server.base}missing.pt`, { retryDelayMs: 1 }));
    expect(e).toMatchObject({ code: "io" });
    expect(server.stats.requests).toBe(1);
  });

  it("reads past the end as truncated", async () => {
    server = await startRangeServer({ "d.bin": data });
    const src = await urlSource(`${server.base}d.bin`);
    expect(await rejection(src.read(data.length - 2, 5))).toMatchObject({ code: "truncated" });
  });

  it("opens a real torch checkpoint through ranges", async () => {
    const file = readFileSync(join(REPO, "fixtures/torch/full-checkpoint.pt"));
    server = await startRangeServer({ "c.pt": file });
    const ckpt = await openCheckpoint(await urlSource(`${server.base}c.pt`, { blockSize: 1024 }));
    const local = await openCheckpoint(new Uint8Array(file));
    const remote = walkTensors(ckpt.root);
    expect(remote.length).toBe(walkTensors(local.root).length);
    expect(await tensorBytesAsync(remote[0]!.tensor)).toEqual(await tensorBytesAsync(walkTensors(local.root)[0]!.tensor));
  });

  it("opens a 16 MiB checkpoint by fetching under 1% of it", async () => {
    const big = writeCheckpoint(stateDict({ w: tensor(new Float32Array(1 << 22), { shape: [2048, 2048] }), b: tensor(new Float32Array(4), { shape: [4] }) }));
    server = await startRangeServer({ big: big });
    const ckpt = await openCheckpoint(await urlSource(`${server.base}big`));
    expect(walkTensors(ckpt.root).map((e) => e.path)).toEqual([["w"], ["b"]]);
    expect(server.stats.bytesSent).toBeLessThan(big.length * 0.01);
  });
});

describe("urlSource with a scripted fetch", () => {
  const reply = (status: number, headers: Record<string, string>, body = new Uint8Array(0)) => ({
    status,
    headers: { get: (n: string) => headers[n.toLowerCase()] ?? null },
    arrayBuffer: async () => body.slice().buffer,
  });

  it("retries network errors, then reports io with the cause", async () => {
    let calls = 0;
    const fetch: FetchLike = async () => {
      calls++;
      throw new TypeError("connection refused");
    };
    const e = await rejection(urlSource("https://example.invalid/x.pt", { fetch, retries: 1, retryDelayMs: 0 }));
    expect(e).toMatchObject({ code: "io" });
    expect(e.message).toMatch(/connection refused/);
    expect(calls).toBe(2);
  });

  it("refuses a 206 without Content-Range (a CORS server that does not expose it)", async () => {
    const fetch: FetchLike = async () => reply(206, {}, new Uint8Array(10));
    const e = await rejection(urlSource("https://example.invalid/x.pt", { fetch }));
    expect(e.code).toBe("unsupported");
    expect(e.message).toMatch(/Access-Control-Expose-Headers/);
  });

  it("refuses a 206 for another range than asked", async () => {
    const fetch: FetchLike = async () => reply(206, { "content-range": "bytes 5-14/100" }, new Uint8Array(10));
    expect(await rejection(urlSource("https://example.invalid/x.pt", { fetch, blockSize: 10 }))).toMatchObject({ code: "io" });
  });

  it("sends the caller's headers with the range", async () => {
    const seen: Record<string, string>[] = [];
    const fetch: FetchLike = async (_u, init) => {
      seen.push(init.headers);
      return reply(206, { "content-range": "bytes 0-9/10" }, new Uint8Array(10));
    };
    await urlSource("https://example.invalid/x.pt", { fetch, headers: { Authorization: "Bearer t" }, blockSize: 10 });
    expect(seen[0]).toEqual({ Authorization: "Bearer t", Range: "bytes=0-9" });
  });

  it("refuses non-http URLs and bad options", async () => {
    expect(await rejection(urlSource("file:///etc/passwd"))).toMatchObject({ code: "invalid-argument" });
    expect(await rejection(urlSource("https://x/", { retries: -1 }))).toMatchObject({ code: "invalid-argument" });
  });
});

describe("parseContentRange", () => {
  it("parses bytes START-END/TOTAL and refuses the rest", () => {
    expect(parseContentRange("bytes 0-9/100")).toEqual({ start: 0, end: 9, total: 100 });
    expect(parseContentRange("bytes 0-9/*")).toBeUndefined();
    expect(parseContentRange("bytes 9-0/100")).toBeUndefined();
    expect(parseContentRange("bytes 0-100/100")).toBeUndefined();
    expect(parseContentRange(null)).toBeUndefined();
  });
});
