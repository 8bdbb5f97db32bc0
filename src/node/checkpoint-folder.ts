/**
 * A local folder as a listed {@link CheckpointFolder} for `validateFolder` and the distributed
 * readers: its files and those one folder down (a DeepSpeed tag folder), each opened once as a
 * synchronous random-access source; `close()` releases every descriptor.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { CheckpointFolder } from "../distributed/index.js";
import { directoryFiles } from "./directory-files.js";
import { ioError } from "./file-source.js";

/** Most names listed (a folder with more is refused rather than walked). */
export const MAX_FOLDER_FILES = 1_000_000;

/**
 * The folder `dir`, listed (files, and files of its subfolders as `sub/name`).
 * @throws CheckpointError `io` when `dir` cannot be listed.
 */
export function checkpointFolder(dir: string): CheckpointFolder & { close(): void } {
  const list: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw ioError(e, dir);
  }
  for (const n of names) {
    const p = join(dir, n);
    let isDir = false;
    try {
      const st = statSync(p);
      if (st.isFile()) list.push(n);
      isDir = st.isDirectory();
    } catch {
      continue;
    }
    if (!isDir) continue;
    try {
      for (const m of readdirSync(p)) {
        if (list.length >= MAX_FOLDER_FILES) break;
        try {
          if (statSync(join(p, m)).isFile()) list.push(`${n}/${m}`);
        } catch {
          // vanished: not listed
        }
      }
    } catch {
      // unreadable subfolder: not listed
    }
    if (list.length >= MAX_FOLDER_FILES) break;
  }
  const files = directoryFiles(dir);
  return { name: dir, list: list.sort(), open: (f) => files.open(f), close: () => files.close() };
}
