/**
 * A local folder as {@link DirectoryFiles} for the distributed readers (DCP, shard indexes): each
 * file opens once as a synchronous random-access source; `close()` releases every descriptor.
 */
import type { DirectoryFiles } from "../distributed/index.js";
import { openFileSource, type FileSource } from "./file-source.js";
import { join } from "node:path";

export interface DirectoryFilesHandle extends DirectoryFiles {
  open(file: string): FileSource;
  /** Closes every file opened so far. */
  close(): void;
}

/**
 * The files of folder `dir`. Names are joined to `dir` as they are; the readers only ask for names
 * without separators (`.metadata`, `__0_0.distcp`, `model-00001-of-00002.safetensors`).
 * @throws CheckpointError `io` (from `open`) when a file cannot be opened.
 */
export function directoryFiles(dir: string): DirectoryFilesHandle {
  const opened = new Map<string, FileSource>();
  return {
    name: dir,
    open(file: string): FileSource {
      let s = opened.get(file);
      if (s === undefined) {
        s = openFileSource(join(dir, file));
        opened.set(file, s);
      }
      return s;
    },
    close() {
      for (const s of opened.values()) s.close();
      opened.clear();
    },
  };
}
