// Tests that need a separate Node process (killed mid-write, run under ulimit) bundle a small
// TypeScript script that imports from src/ into one ESM file with esbuild.
import { buildSync } from "esbuild";
import { join } from "node:path";

const REPO = join(import.meta.dirname, "../..");

/** Bundles `source` (TypeScript; imports like "./src/node/…ts" resolve from the repo root) to `outfile`. */
export function bundleChildScript(source: string, outfile: string): void {
  buildSync({
    stdin: { contents: source, resolveDir: REPO, loader: "ts" },
    bundle: true,
    platform: "node",
    format: "esm",
    outfile,
    logLevel: "silent",
  });
}
