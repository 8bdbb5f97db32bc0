// The tree's rules, checked on every run: layers import downward only, `node:` and Node globals stay
// in node/ and cli/, and no source file grows past ~400 lines. docs/architecture.md draws the layers.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, posix, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO } from "../helpers/corpus.js";

const SRC = join(REPO, "src");

/**
 * The layers of src/ and their ranks, lowest first. A file belongs to the longest folder listed here
 * that holds it (cli/commands is part of cli; torch/read is a layer of its own above torch). A file may
 * import from its own layer or a lower rank; a folder's index.ts is the surface of everything beneath
 * it and ranks with the highest layer there. Layers of equal rank are siblings and must not import
 * each other. A new top folder needs a row here.
 */
const LAYERS: ReadonlyArray<readonly [folder: string, rank: number]> = [
  [".", 0], // errors.ts, core-globals.d.ts (src/index.ts is the top: see TOP_FILES)
  ["bytes", 1],
  ["containers", 2],
  ["pickle", 3],
  ["torch", 4], // the tensor model: model, dtypes, tensor data, walk, parts, builder
  ["numpy", 5],
  ["torch/rebuild", 6],
  ["torch/read", 7],
  ["torch/write", 8],
  ["convert", 9],
  ["validate", 10],
  ["analyze", 11],
  ["distributed", 11],
  ["node", 13],
  ["cli", 14],
  ["web", 14],
];
/** Files that sit above every layer: the package's root entry. */
const TOP_FILES = new Set(["index.ts"]);
/** Where `node:` imports and Node-only globals may appear. */
const NODE_FOLDERS = ["node", "cli"];
const MAX_LINES = 400;
/**
 * Files still over MAX_LINES, each to be split by job (not by line count). This list only shrinks:
 * the test fails when a listed file is back under the limit, so the entry must then be removed.
 */
const OVERSIZE: ReadonlySet<string> = new Set<string>([
  "pickle/decoder.ts",
  "pickle/encode-values.ts",
]);

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) sourceFiles(p, out);
    else if (/\.(ts|mts|cts)$/.test(e.name)) out.push(p);
  }
  return out;
}

const files = sourceFiles(SRC).map((p) => relative(SRC, p).split("\\").join("/"));
const folderOf = (file: string): string => posix.dirname(file);
/** The layer a folder belongs to: the longest LAYERS row that is the folder or holds it. */
const layerOf = (folder: string): string | undefined =>
  LAYERS.map(([f]) => f).filter((f) => f === folder || f === "." || folder.startsWith(`${f}/`)).sort((a, b) => b.length - a.length)[0];
const rankOf = (layer: string | undefined): number | undefined => LAYERS.find(([f]) => f === layer)?.[1];
/** An index.ts ranks just above the highest layer beneath its folder. */
const indexRank = (folder: string): number =>
  0.5 + Math.max(...LAYERS.filter(([f]) => f === folder || f.startsWith(`${folder}/`)).map(([, r]) => r));
const importsOf = (text: string): string[] =>
  [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)].map((m) => (m[1] ?? m[2]) as string);

describe("architecture", () => {
  it("sees the tree (the check reads real files)", () => {
    expect(files.length).toBeGreaterThan(100);
    expect(files).toContain("torch/read/read-checkpoint.ts");
  });

  it("every folder of src/ has a rank and a README.md", () => {
    const folders = [...new Set(files.map(folderOf))].sort();
    for (const folder of folders) expect(folder === "." || layerOf(folder) !== ".", `src/${folder} has no row in LAYERS`).toBe(true);
    const readmes = new Set(readdirSync(SRC, { recursive: true }).map(String).map((p) => p.split("\\").join("/")));
    for (const folder of folders) {
      if (folder === "." || folder.includes("/")) continue; // one README per top folder of src/
      expect(readmes.has(`${folder}/README.md`), `src/${folder}/README.md is missing`).toBe(true);
    }
  });

  it("imports point down the layers only", () => {
    const violations: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(SRC, file), "utf8");
      const from = layerOf(folderOf(file)) as string;
      const isIndex = posix.basename(file) === "index.ts";
      const fromRank = TOP_FILES.has(file) ? Infinity : isIndex ? indexRank(from) : rankOf(from);
      for (const spec of importsOf(text)) {
        if (!spec.startsWith(".")) continue;
        const target = relative(SRC, resolve(dirname(join(SRC, file)), spec)).split("\\").join("/");
        if (target.startsWith("..")) {
          violations.push(`${file} imports ${spec}, outside src/`);
          continue;
        }
        const to = layerOf(folderOf(target)) as string;
        if (to === from) continue;
        const toRank = rankOf(to);
        if (fromRank === undefined || toRank === undefined || !(toRank < fromRank)) {
          violations.push(`src/${file} (${from}, rank ${String(fromRank)}) imports ${spec} (${to}, rank ${String(toRank)})`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it("the check itself catches an upward import", () => {
    // torch/read sits above torch; an import from torch/model.ts into torch/read would be upward.
    expect(rankOf(layerOf("torch/read"))! > rankOf(layerOf("torch"))!).toBe(true);
    expect(layerOf("cli/commands")).toBe("cli");
    expect(indexRank("torch")).toBeGreaterThan(rankOf("torch/write")!);
    expect(indexRank("torch")).toBeLessThan(rankOf("convert")!);
    expect(rankOf("bytes")! < rankOf("pickle")!).toBe(true);
    expect(importsOf('import { a } from "../x/y.js";\nexport { b } from "./z.js";\nconst m = import("./lazy.js");')).toEqual(["../x/y.js", "./z.js", "./lazy.js"]);
  });

  it("`node:` imports, Buffer and process appear only in node/ and cli/", () => {
    const offenders: string[] = [];
    for (const file of files) {
      const folder = folderOf(file).split("/")[0] as string;
      if (NODE_FOLDERS.includes(folder)) continue;
      const code = readFileSync(join(SRC, file), "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, "");
      if (/from\s*["']node:|import\(\s*["']node:|require\(\s*["']node:/.test(code)) offenders.push(`${file}: node: import`);
      if (/\bBuffer\s*\.|\bnew\s+Buffer\b|\bprocess\s*\./.test(code)) offenders.push(`${file}: Node global`);
    }
    expect(offenders).toEqual([]);
  });

  it(`no source file is over ${MAX_LINES} lines, and the oversize list only shrinks`, () => {
    const over: string[] = [];
    for (const file of files) {
      const lines = readFileSync(join(SRC, file), "utf8").split("\n").length;
      if (lines > MAX_LINES && !OVERSIZE.has(file)) over.push(`${file}: ${lines} lines`);
      if (OVERSIZE.has(file) && lines <= MAX_LINES) over.push(`${file} is ${lines} lines now: remove it from OVERSIZE`);
    }
    for (const file of OVERSIZE) if (!files.includes(file)) over.push(`${file} is in OVERSIZE but does not exist`);
    expect(over).toEqual([]);
  });
});
