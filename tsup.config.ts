import { readFileSync } from "node:fs";
import { defineConfig } from "tsup";

const { version } = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };

export default defineConfig([
  {
    // The library: ESM + CJS with types. The core entries are browser-safe; ./node is Node-only.
    entry: {
      index: "src/index.ts",
      "pickle/index": "src/pickle/index.ts",
      "torch/index": "src/torch/index.ts",
      "convert/index": "src/convert/index.ts",
      "validate/index": "src/validate/index.ts",
      "node/index": "src/node/index.ts",
    },
    format: ["esm", "cjs"],
    dts: true,
    target: "es2022",
    platform: "neutral",
    splitting: true,
    clean: true,
    external: [/^node:/],
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
    external: [/^node:/, "fflate", "@msgpack/msgpack"],
  },
]);
