import { readFileSync } from "node:fs";
import { defineConfig } from "tsup";

const { version } = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };

const LIBRARY_ENTRIES = {
  index: "src/index.ts",
  "pickle/index": "src/pickle/index.ts",
  "torch/index": "src/torch/index.ts",
  "convert/index": "src/convert/index.ts",
  "validate/index": "src/validate/index.ts",
  "analyze/index": "src/analyze/index.ts",
  "distributed/index": "src/distributed/index.ts",
  "node/index": "src/node/index.ts",
};

export default defineConfig([
  {
    // The library: ESM + CJS with types. The core entries are browser-safe; ./node is Node-only.
    entry: LIBRARY_ENTRIES,
    format: ["esm", "cjs"],
    // Types for ./node/read too: its JS comes from the build below, its declarations from here.
    dts: { entry: { ...LIBRARY_ENTRIES, "node/read": "src/node/read-index.ts" } },
    target: "es2022",
    platform: "neutral",
    splitting: true,
    // The builds run side by side: never delete what the ./node/read build writes.
    clean: ["!node/read.js", "!node/read.cjs", "!web/**"],
    external: [/^node:/],
  },
  {
    // ./node/read: the Node reader alone, one self-contained file per format, quick to load. The
    // core's fflate imports resolve to src/node/lazy-fflate.ts, which loads fflate on first use.
    entry: { "node/read": "src/node/read-index.ts" },
    format: ["esm", "cjs"],
    target: "node20",
    platform: "node",
    splitting: false,
    clean: false,
    shims: true, // import.meta.url in the CJS file (lazy-fflate's createRequire)
    external: [/^node:/],
    noExternal: ["fflate"], // bundled as the alias below, which requires the real fflate lazily
    esbuildOptions(options) {
      options.alias = { fflate: "./src/node/lazy-fflate.ts" };
    },
  },
  {
    // The inspector page (dist/web/): a small page script and the Web Worker that holds the core,
    // classic scripts (IIFE) so the page also runs from file://, plus index.html and style.css.
    entry: { page: "src/web/page/main.ts", worker: "src/web/worker.ts" },
    outDir: "dist/web",
    format: ["iife"],
    outExtension: () => ({ js: ".js" }),
    target: "es2022",
    platform: "browser",
    splitting: false,
    clean: true,
    minify: true,
    sourcemap: false,
    dts: false,
    publicDir: "src/web/static",
  },
  {
    // The CLI: ESM only (top-level await), with the version baked in.
    entry: { "cli/main": "src/cli/main.ts" },
    format: ["esm"],
    target: "node20",
    platform: "node",
    splitting: false,
    clean: false,
    define: { __TORCHSAVE_VERSION__: JSON.stringify(version) },
    external: [/^node:/, "fflate"],
  },
]);
