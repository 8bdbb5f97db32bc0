// Issue #3's pickle target: decode a metadata-heavy pickle (the data.pkl of a 20,000-parameter
// AdamW checkpoint) at least as fast as CPython's C unpickler doing the same work (globals resolved
// to trivial callables, persistent ids returned as-is), and encode speed against pickle.dumps.
//   npm run build && node bench/pickle.mjs    (TORCHSAVE_DIST=<dir> measures another build)
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { distDir, fmt, load, time } from "./lib.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const { decodePickle, encodePickle } = await import(join(distDir, "pickle/index.js"));
const file = join(here, "out/adamw-20k.pkl");
const bytes = new Uint8Array(readFileSync(file));
const decodeOpts = { reducers: {}, persistentLoad: (pid) => pid };
const ours = time(() => decodePickle(bytes, decodeOpts), 9);
const value = decodePickle(bytes, decodeOpts);
const oursEncode = time(() => encodePickle(value, { protocol: 2 }), 9);

const py = `
import pickle, io, time, statistics
data = open(${JSON.stringify(file)}, "rb").read()
class G:
    # A trivial callable standing in for each global; a top-level class so pickle.dumps can write it back.
    def __init__(self, module, name):
        self.module, self.name = module, name
    def __call__(self, *a, **k):
        return (self.module, self.name, a)
class U(pickle.Unpickler):
    def find_class(self, module, name):
        return G(module, name)
    def persistent_load(self, pid):
        return pid
def run():
    return U(io.BytesIO(data)).load()
run()
ts = []
for _ in range(9):
    t = time.perf_counter(); obj = run(); ts.append((time.perf_counter() - t) * 1000)
print(statistics.median(ts))
ts = []
for _ in range(9):
    t = time.perf_counter(); pickle.dumps(obj, 2); ts.append((time.perf_counter() - t) * 1000)
print(statistics.median(ts))
`;
const r = spawnSync("/usr/bin/python3", ["-c", py], { encoding: "utf8" });
if (r.status !== 0) throw new Error(r.stderr);
const [pyDecode, pyEncode] = r.stdout.trim().split("\n").map(Number);
const mb = bytes.length / 1e6;
console.log(`decode ${mb.toFixed(2)} MB data.pkl: torchsave ${fmt(ours)} (${(mb / (ours / 1000)).toFixed(0)} MB/s), CPython C unpickler ${fmt(pyDecode)} -> ${(pyDecode / ours).toFixed(2)}x (target >= 1x) [${load()}]`);
console.log(`encode the same graph at protocol 2: torchsave ${fmt(oursEncode)}, CPython C pickler ${fmt(pyEncode)} -> ${(pyEncode / oursEncode).toFixed(2)}x [${load()}]`);
