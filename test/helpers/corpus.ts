/** The shared corpus beside the clone (`../shared/corpus`), with each file's kind from ORIGIN.md. */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const CORPUS = resolve(REPO, "../shared/corpus");

export interface CorpusFile {
  /** Path relative to the corpus, e.g. "burn/mnist.pt". */
  readonly file: string;
  readonly kind: string;
  readonly malicious: boolean;
  /** The "what it calls" column of malicious rows. */
  readonly calls: string;
  readonly path: string;
}

/** Every row of ORIGIN.md's table. Throws when the corpus is missing: CI must have it. */
export function corpusFiles(): CorpusFile[] {
  const origin = join(CORPUS, "ORIGIN.md");
  if (!existsSync(origin)) throw new Error(`the shared corpus is missing at ${CORPUS}`);
  const rows: CorpusFile[] = [];
  for (const line of readFileSync(origin, "utf8").split("\n")) {
    const m = /^\| `([^`]+)` \|/.exec(line);
    if (!m) continue;
    // Cells are split on unescaped pipes: numpy rows contain `'\|O'`.
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    const kind = /\*\*([^*]+)\*\*/.exec(cells[7] ?? "")?.[1] ?? "unknown";
    rows.push({ file: m[1]!, kind, malicious: kind === "malicious", calls: cells[8] ?? "", path: join(CORPUS, m[1]!) });
  }
  return rows;
}
