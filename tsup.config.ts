import { defineConfig } from "tsup";

export default defineConfig({
  entry: {
    index: "src/index.ts",
    "pickle/index": "src/pickle/index.ts",
    "torch/index": "src/torch/index.ts",
    "convert/index": "src/convert/index.ts",
    "validate/index": "src/validate/index.ts",
    "node/index": "src/node/index.ts",
    "cli/main": "src/cli/main.ts",
  },
  format: ["esm", "cjs"],
  dts: { compilerOptions: { types: ["node"] } },
  target: "node20",
  platform: "neutral",
  splitting: true,
  sourcemap: false,
  clean: true,
  external: ["node:*"],
});
