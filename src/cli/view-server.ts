/**
 * The server behind `torchsave view`: the inspector's static files (dist/web) and the files named on
 * the command line, on 127.0.0.1 only. Files are served with range requests (206), so the page reads
 * just the ranges it needs; nothing else on the disk is reachable (files are addressed by their
 * index, never by a path from the request).
 */
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { basename, join } from "node:path";

const STATIC: Readonly<Record<string, string>> = {
  "/": "index.html",
  "/index.html": "index.html",
  "/page.js": "page.js",
  "/worker.js": "worker.js",
  "/style.css": "style.css",
  "/page.css": "page.css",
};
const TYPES: Readonly<Record<string, string>> = { html: "text/html; charset=utf-8", js: "text/javascript; charset=utf-8", css: "text/css; charset=utf-8" };

export interface ViewServerOptions {
  /** The folder with index.html, page.js, worker.js and style.css (dist/web). */
  readonly webRoot: string;
  /** Files to serve at /files/<index>/<name>. */
  readonly files: readonly string[];
  /** 0 (default) picks a free port. */
  readonly port?: number;
}

export interface ViewServer {
  /** The page's address with `?url=` for every file. */
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** `/files/0/model.pt` for the first file. */
export const fileUrlPath = (index: number, file: string): string => `/files/${index}/${encodeURIComponent(basename(file))}`;

/** Parses `bytes=a-b`, `bytes=a-`, `bytes=-n` for a file of `size` bytes; undefined when unsatisfiable. */
export function parseRange(header: string, size: number): { start: number; end: number } | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (m === null || (m[1] === "" && m[2] === "")) return undefined;
  let start: number;
  let end: number;
  if (m[1] === "") {
    const n = Number(m[2]);
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start > end || start >= size) return undefined;
  return { start, end };
}

function serveFile(req: IncomingMessage, res: ServerResponse, path: string, type: string): void {
  const size = statSync(path).size;
  const common = { "content-type": type, "accept-ranges": "bytes", "cache-control": "no-store", "x-content-type-options": "nosniff" };
  const range = req.headers.range;
  if (range === undefined) {
    res.writeHead(200, { ...common, "content-length": size });
    if (req.method === "HEAD") res.end();
    else createReadStream(path).pipe(res);
    return;
  }
  const r = parseRange(range, size);
  if (r === undefined) {
    res.writeHead(416, { ...common, "content-range": `bytes */${size}` });
    res.end();
    return;
  }
  res.writeHead(206, { ...common, "content-length": r.end - r.start + 1, "content-range": `bytes ${r.start}-${r.end}/${size}` });
  if (req.method === "HEAD") res.end();
  else createReadStream(path, { start: r.start, end: r.end }).pipe(res);
}

/** Starts the server on 127.0.0.1. */
export async function startViewServer(options: ViewServerOptions): Promise<ViewServer> {
  for (const f of Object.values(STATIC)) {
    if (!existsSync(join(options.webRoot, f))) throw new Error(`${join(options.webRoot, f)} is missing: run npm run build`);
  }
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405);
      res.end();
      return;
    }
    const asset = Object.hasOwn(STATIC, path) ? STATIC[path] : undefined;
    if (asset !== undefined) {
      serveFile(req, res, join(options.webRoot, asset), TYPES[asset.split(".").pop()!] ?? "application/octet-stream");
      return;
    }
    const m = /^\/files\/(\d+)\/[^/]*$/.exec(path);
    const file = m === null ? undefined : options.files[Number(m[1])];
    if (file !== undefined && path === decodeURIComponent(fileUrlPath(Number(m![1]), file))) {
      serveFile(req, res, file, "application/octet-stream");
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const query = options.files.map((f, i) => `url=${encodeURIComponent(fileUrlPath(i, f))}`).join("&");
  return {
    url: `http://127.0.0.1:${port}/${query === "" ? "" : `?${query}`}`,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
