/**
 * A local HTTP server on 127.0.0.1 for remote-source tests: serves in-memory files (or a directory)
 * with Range support and counts every body byte it sends. `ignoreRanges` answers 200 with the whole
 * file; `failFirst` answers 503 to that many requests first.
 */
import { createServer, type Server } from "node:http";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";

export interface RangeServerOptions {
  readonly ignoreRanges?: boolean;
  readonly failFirst?: number;
  /** Serve files from this directory (read on each request) in addition to `files`. */
  readonly dir?: string;
}

export interface RangeServer {
  readonly base: string;
  readonly stats: { requests: number; bytesSent: number; ranges: string[] };
  files: Map<string, Uint8Array>;
  close(): Promise<void>;
}

export async function startRangeServer(files: Record<string, Uint8Array> = {}, options: RangeServerOptions = {}): Promise<RangeServer> {
  const map = new Map(Object.entries(files));
  const stats = { requests: 0, bytesSent: 0, ranges: [] as string[] };
  let failures = options.failFirst ?? 0;
  const lookup = (path: string): Uint8Array | undefined => {
    const hit = map.get(path);
    if (hit !== undefined) return hit;
    if (options.dir === undefined || path.includes("..")) return undefined;
    const p = join(options.dir, decodeURIComponent(path));
    try {
      if (!statSync(p).isFile()) return undefined;
    } catch {
      return undefined;
    }
    return readFileSync(p);
  };
  const server: Server = createServer((req, res) => {
    stats.requests++;
    if (failures > 0) {
      failures--;
      res.writeHead(503).end();
      return;
    }
    const path = (req.url ?? "/").slice(1).replace(/\?.*$/, "");
    const body = lookup(path);
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    const range = /^bytes=(\d+)-(\d+)?$/.exec(req.headers.range ?? "");
    if (range === null || options.ignoreRanges === true) {
      stats.bytesSent += req.method === "HEAD" ? 0 : body.length;
      res.writeHead(200, { "content-length": body.length, "accept-ranges": "none" });
      res.end(req.method === "HEAD" ? undefined : body);
      return;
    }
    const start = Number(range[1]);
    const end = Math.min(body.length - 1, range[2] === undefined ? body.length - 1 : Number(range[2]));
    if (start >= body.length) {
      res.writeHead(416, { "content-range": `bytes */${body.length}` }).end();
      return;
    }
    stats.ranges.push(`${start}-${end}`);
    const part = body.subarray(start, end + 1);
    stats.bytesSent += part.length;
    res.writeHead(206, { "content-length": part.length, "content-range": `bytes ${start}-${end}/${body.length}` });
    res.end(part);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    base: `http://127.0.0.1:${port}/`,
    stats,
    files: map,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
