// The core ("." entry) runs in a browser: bundled for the browser platform it pulls in no Node
// module, and it reads a checkpoint inside a bare JS realm that has none of Node's globals
// (no require, process, Buffer) — only what browsers provide.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createContext, runInContext } from "node:vm";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { REPO } from "../helpers/corpus.js";

describe("browser-safe core", async () => {
  const result = await build({
    entryPoints: [join(REPO, "src/index.ts")],
    bundle: true,
    platform: "browser",
    format: "iife",
    globalName: "torchsave",
    write: false,
    logLevel: "silent",
  });
  const code = result.outputFiles[0]!.text;

  it("bundles for the browser without any node: import", () => {
    expect(code).not.toMatch(/require\(["']node:/);
    expect(code).not.toMatch(/\bBuffer\./);
  });

  it("reads a torch checkpoint in a realm without Node globals", () => {
    const realm = createContext({ TextDecoder, TextEncoder, atob, btoa, console });
    runInContext(code, realm);
    const file = readFileSync(join(REPO, "fixtures/torch/full-checkpoint.pt"));
    realm.input = runInContext(`new Uint8Array(${file.length})`, realm);
    (realm.input as Uint8Array).set(file);
    const out = runInContext(
      `(() => {
        if (typeof process !== "undefined" || typeof require !== "undefined" || typeof Buffer !== "undefined") throw new Error("realm leaks Node globals");
        const c = torchsave.readCheckpoint(input);
        const ts = torchsave.walkTensors(c.root);
        return JSON.stringify({ layout: c.layout, tensors: ts.length, first: Array.from(torchsave.tensorBytes(ts[0].tensor).slice(0, 4)) });
      })()`,
      realm,
    ) as string;
    const parsed = JSON.parse(out);
    expect(parsed.layout).toBe("zip");
    expect(parsed.tensors).toBeGreaterThan(5);
    expect(parsed.first).toHaveLength(4);
  });
});
