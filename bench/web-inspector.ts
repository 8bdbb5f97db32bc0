// The inspector's worker side, timed in Node on the same > 4 GiB sparse zip64 checkpoint the browser
// test makes (fixtures/web/make_big.py): opening it to the tree from a Blob (
// a Blob-like file, read asynchronously as on a file:// page) and the statistics + histogram + heat map of its 64 MiB
// tensor, and the structural validation read by ranges. (torch 1.13 has no mmap load, so torch.load would read all 4.5 GiB: no torch line here.)
// Run from the repo root: npx esbuild bench/web-inspector.ts --bundle --platform=node --format=esm
//      --packages=external --outfile=bench/out/web-inspector.mjs && node bench/out/web-inspector.mjs
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Inspector } from "../src/web/inspector.js";
import type { OpenResult, Request, Response, TensorDetail, ValidationView, WebBlob } from "../src/web/protocol.js";

/**
 * A Blob-like view of a file (Node 20's fs.openAsBlob reports the size of a file over 4 GiB modulo
 * 2^32, so it cannot stand in for the browser's File here).
 */
function fileBlob(path: string, start = 0, end = statSync(path).size): WebBlob {
  return {
    size: end - start,
    slice: (s = 0, e = end - start) => fileBlob(path, start + s, start + Math.min(e, end - start)),
    arrayBuffer: async () => {
      const fd = openSync(path, "r");
      try {
        const out = new Uint8Array(end - start);
        for (let at = 0; at < out.length;) at += readSync(fd, out, at, out.length - at, start + at);
        return out.buffer;
      } finally {
        closeSync(fd);
      }
    },
  };
}

const load = () => readFileSync("/proc/loadavg", "utf8").split(" ")[0];
const dir = mkdtempSync(join(tmpdir(), "torchsave-web-bench-"));
const big = join(dir, "big.pt");
try {
  const want = JSON.parse(execFileSync("/usr/bin/python3", [join(process.cwd(), "fixtures/web/make_big.py"), big], { encoding: "utf8" })) as { bytes: number; w64: { mean: number } };
  for (let run = 0; run < 3; run++) {
    let answer: Response | undefined;
    const inspector = new Inspector((r) => void ("progress" in r ? 0 : (answer = r)));
    const ask = async <T>(req: Request): Promise<T> => {
      await inspector.handle(req);
      if (answer === undefined || !("ok" in answer) || !answer.ok) throw new Error(JSON.stringify(answer));
      return answer.value as T;
    };
    const blob = fileBlob(big);
    let t = performance.now();
    const file = await ask<OpenResult>({ id: 1, op: "open", input: { kind: "blob", blob, name: "big.pt" } });
    const openMs = performance.now() - t;
    const w64 = file.nodes.find((n) => n.key === "'w64'")!.tensor!;
    t = performance.now();
    const d = await ask<TensorDetail>({ id: 2, op: "tensor", file: file.file, index: w64 });
    const statsMs = performance.now() - t;
    if (Math.abs(d.stats!.mean! - want.w64.mean) > 1e-9 || d.histogram === undefined || d.heat === undefined) throw new Error("wrong answer");
    // The structural check as a URL or a file:// page gets it: by ranges from an asynchronous source.
    t = performance.now();
    const v = await ask<ValidationView>({ id: 3, op: "validate", input: { kind: "blob", blob, name: "big.pt" } });
    const checkMs = performance.now() - t;
    if (v.offer === undefined || v.report.counts.error > 0) throw new Error("wrong report");
    console.log(`web-inspector: ${(want.bytes / 2 ** 30).toFixed(2)} GiB zip64 open to tree ${openMs.toFixed(0)} ms; 64 MiB tensor stats+histogram+heat map ${statsMs.toFixed(0)} ms; structural check by ranges ${checkMs.toFixed(0)} ms, ${v.fetched} bytes read [load ${load()}]`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
