// A local HTTP server for the remote bench: one file, Range requests, bytes counted.
import { createServer } from "node:http";
import { openSync, readSync, fstatSync } from "node:fs";

export async function startRangeServerJs(file) {
  const fd = openSync(file, "r");
  const size = fstatSync(fd).size;
  const stats = { requests: 0, bytesSent: 0 };
  const server = createServer((req, res) => {
    stats.requests++;
    const m = /^bytes=(\d+)-(\d+)?$/.exec(req.headers.range ?? "");
    if (m === null) {
      res.writeHead(200, { "content-length": size }).end();
      return;
    }
    const start = Number(m[1]);
    const end = Math.min(size - 1, m[2] === undefined ? size - 1 : Number(m[2]));
    const buf = Buffer.allocUnsafe(end - start + 1);
    readSync(fd, buf, 0, buf.length, start);
    stats.bytesSent += buf.length;
    res.writeHead(206, { "content-length": buf.length, "content-range": `bytes ${start}-${end}/${size}` }).end(buf);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${server.address().port}/big.pt`, stats, close: () => new Promise((r) => server.close(r)) };
}
