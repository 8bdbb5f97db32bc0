/**
 * A set of files written into a folder as one (Hugging Face shards and their index, a DCP folder's
 * data file and `.metadata`): every file goes to a temp file beside its target, in order, and only
 * when all of them are written are they renamed into place, in order, so the last one (the index,
 * `.metadata`) appears last. A failure while any file is produced or written (a damaged input
 * record, a full disk) removes every temp file and the folders this call created: nothing of the
 * set is left, and files already at those names are untouched.
 */
import { mkdirSync, rmdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { CheckpointError } from "../errors.js";
import type { AtomicWriteOptions, WrittenTemp } from "./atomic-write.js";
import { writeTempFile } from "./atomic-write.js";

/** One file of the set: its name in the folder, and its bytes, asked for when its turn comes. */
export interface FileSetEntry {
  readonly name: string;
  chunks(): Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
}

/**
 * Writes `files` into `dir` (created when missing) as one set; `onWritten` is told of each file
 * once the whole set is in place.
 * @throws CheckpointError `io` naming the folder when it cannot be created; as
 *   {@link writeFileAtomic} for each file (a torchsave error from the chunks keeps its code).
 */
export async function writeFileSetAtomic(
  dir: string,
  files: Iterable<FileSetEntry>,
  options: AtomicWriteOptions & { readonly onWritten?: (path: string) => void } = {},
): Promise<void> {
  const created = makeFolder(dir);
  const temps: WrittenTemp[] = [];
  let renamed = 0;
  try {
    for (const f of files) temps.push(await writeTempFile(join(dir, f.name), f.chunks(), options));
    for (const t of temps) {
      await t.commit();
      renamed++;
    }
  } catch (e) {
    for (const t of temps.slice(renamed)) await t.discard();
    // Only a set of which nothing was renamed leaves no trace; the folders go with it.
    if (renamed === 0) removeCreated(dir, created);
    throw e;
  }
  for (const t of temps) options.onWritten?.(t.path);
}

/** Creates `dir` and its missing parents; returns the topmost folder created (undefined when it existed). */
function makeFolder(dir: string): string | undefined {
  try {
    return mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new CheckpointError("io", `cannot create the folder: ${(e as Error).message}`, { file: dir, cause: e });
  }
}

/** Removes the folders {@link makeFolder} created, innermost first (only while empty: best effort). */
function removeCreated(dir: string, top: string | undefined): void {
  if (top === undefined) return;
  const stop = resolve(top);
  for (let d = resolve(dir); ; d = dirname(d)) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty (someone else's file), or gone
    }
    if (d === stop || dirname(d) === d) return;
  }
}
