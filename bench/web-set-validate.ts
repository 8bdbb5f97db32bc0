// The inspector's check of a set of files (fixtures/dcp/sharded: .metadata + 4 .distcp, 28 items),
// in Node with the worker's conditions: Blobs read synchronously through a FileReaderSync stand-in.
// "before" is the page's former way (issue 19 session b: validateFolder for torch >= 2.6, then a
// second structure-only validateFolder for the 1.13 verdict, every read a FileReaderSync call);
// "after" is validateSet (one pass judging both targets; small members read whole once).
// No torch line: torch has no validator to set beside it.
// Run from the repo root: npx esbuild bench/web-set-validate.ts --bundle --platform=node --format=esm
//      --packages=external --outfile=bench/out/web-set-validate.mjs && node bench/out/web-set-validate.mjs
import { openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { folderFromSources, validateFolder } from "../src/distributed/index.js";
import type { SetInput, WebBlob } from "../src/web/protocol.js";
import { relativePaths } from "../src/web/set-kind.js";
import { validateSet } from "../src/web/set-validate.js";
import { blobInputSource } from "../src/web/sources.js";

interface FileBlob extends WebBlob { path: string; start: number; end: number }
let reads = 0;
const fds = new Map<string, number>();
/** One read of a file's range, counted (a regular file's pread returns all of a small range). */
function readRange(path: string, start: number, end: number): ArrayBuffer {
  reads++;
  let fd = fds.get(path);
  if (fd === undefined) fds.set(path, (fd = openSync(path, "r")));
  const out = new Uint8Array(end - start);
  if (readSync(fd, out, 0, out.length, start) !== out.length) throw new Error(`short read of ${path}`);
  return out.buffer;
}
function fileBlob(path: string, start = 0, end = statSync(path).size): FileBlob {
  return {
    path, start, end, size: end - start,
    slice: (s = 0, e = end - start) => fileBlob(path, start + s, start + Math.min(e, end - start)),
    arrayBuffer: async () => readRange(path, start, end),
  };
}
(globalThis as { FileReaderSync?: unknown }).FileReaderSync = class {
  readAsArrayBuffer(b: FileBlob): ArrayBuffer {
    return readRange(b.path, b.start, b.end);
  }
};

/** The former validateSet's structure pass: two folder validations over lazy sources. */
async function before(input: SetInput): Promise<boolean> {
  const rel = relativePaths(input.files.map((f) => f.path));
  const folder = () => folderFromSources(input.name, new Map(rel.map((p, i) => [p, blobInputSource(input.files[i]!.blob, `${input.name}/${p}`)])));
  const r = await validateFolder(folder(), { name: input.name, weightsOnly: "current", checkCrc: false, scanValues: false });
  const old = await validateFolder(folder(), { name: input.name, weightsOnly: "1.13", checkCrc: false, scanValues: false, training: false });
  return r.weightsOnly!.accepted && old.weightsOnly!.accepted;
}

const dir = join(process.cwd(), "fixtures/dcp/sharded");
const input: SetInput = { kind: "set", name: "sharded", files: readdirSync(dir).map((f) => ({ path: `sharded/${f}`, blob: fileBlob(join(dir, f)) })) };
const load = () => readFileSync("/proc/loadavg", "utf8").split(" ")[0];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const runs = Number(process.env.BENCH_RUNS ?? 9);
const cases: Record<string, () => Promise<boolean>> = {
  before: () => before(input),
  after: async () => {
    const v = await validateSet(input, false);
    return v.report.weightsOnly!.accepted && v.weightsOnly13!.accepted;
  },
  "after, every byte": async () => (await validateSet(input, true)).report.counts.error === 0,
};
const times: Record<string, number[]> = {};
const readCounts: Record<string, number> = {};
for (let r = 0; r < runs; r++) {
  for (const [name, run] of Object.entries(cases)) {
    reads = 0;
    const t = performance.now();
    if (!(await run())) throw new Error(`${name}: wrong verdict`);
    (times[name] ??= []).push(performance.now() - t);
    readCounts[name] = reads;
  }
}
for (const [name, xs] of Object.entries(times)) {
  console.log(`web-set-validate ${name}: median ${median(xs).toFixed(1)} ms over ${runs} runs, ${readCounts[name]} file reads [load ${load()}]`);
}
