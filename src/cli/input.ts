/**
 * What a command's input argument names, opened as one checkpoint: a file (any format torchsave
 * reads), a DCP directory (`.metadata` + `*.distcp`), or an `http(s)://` URL of a file or of a DCP
 * directory (ending in `/`), read with range requests. The commands share this so each accepts the
 * same inputs.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { urlSource } from "../bytes/url-source.js";
import type { ReadAnyOptions, ReadAnyResult } from "../convert/index.js";
import { readAnySync } from "../convert/index.js";
import { openDcp, openDcpSync, readAnyAsync } from "../distributed/index.js";
import { CheckpointError } from "../errors.js";
import { directoryFiles } from "../node/directory-files.js";
import { openFileSource } from "../node/index.js";
import { loadStorage, walkTensors } from "../torch/index.js";

export interface OpenedInput {
  readonly input: ReadAnyResult;
  /** True when tensor bytes must be loaded with `await loadStorage` first (remote inputs). */
  readonly async: boolean;
  /** Bytes fetched so far, for remote inputs. */
  readonly fetched?: () => number;
  close(): void;
}

/** True for an argument the commands read through {@link openInput} rather than as a plain local file. */
export function isRemote(arg: string): boolean {
  return /^https?:\/\//i.test(arg);
}

/** A DCP directory: a folder holding `.metadata`. */
export function isDcpDirectory(arg: string): boolean {
  try {
    return statSync(arg).isDirectory() && statSync(join(arg, ".metadata")).isFile();
  } catch {
    return false;
  }
}

/**
 * Opens `arg`. Local files read lazily through a file descriptor; local DCP directories read
 * synchronously (each tensor assembled on demand); URLs read with range requests.
 * @throws CheckpointError `io` for a folder that is no checkpoint torchsave reads; the readers' errors.
 */
export async function openInput(arg: string, options: ReadAnyOptions = {}): Promise<OpenedInput> {
  if (isRemote(arg)) return openRemote(arg, options);
  let dir = false;
  try {
    dir = statSync(arg).isDirectory();
  } catch {
    dir = false; // openFileSource reports a missing file as usual
  }
  if (dir) {
    if (!isDcpDirectory(arg)) {
      throw new CheckpointError("io", "this folder is not a checkpoint torchsave reads (a DCP directory has a .metadata file)", { file: arg });
    }
    const files = directoryFiles(arg);
    try {
      const ckpt = openDcpSync(files, { ...options.read, name: arg });
      return { input: { root: ckpt.root, format: "dcp", gzip: false }, async: false, close: () => files.close() };
    } catch (e) {
      files.close();
      throw e;
    }
  }
  const source = openFileSource(arg);
  try {
    return { input: readAnySync(source, options), async: false, close: () => source.close() };
  } catch (e) {
    source.close();
    throw e;
  }
}

async function openRemote(url: string, options: ReadAnyOptions): Promise<OpenedInput> {
  let fetched = 0;
  const onBytes = (n: number): void => {
    fetched += n;
  };
  const done = { async: true, fetched: () => fetched, close: () => undefined };
  if (url.endsWith("/")) {
    const ckpt = await openDcp({ name: url.slice(0, -1), open: (f) => urlSource(url + f, { onBytes }) }, { ...options.read, name: url });
    return { input: { root: ckpt.root, format: "dcp", gzip: false }, ...done };
  }
  const source = await urlSource(url, { onBytes });
  return { input: await readAnyAsync(source, options), ...done };
}

/** Loads every storage of an async input (what `convert` needs before it writes synchronously). */
export async function loadAllStorages(opened: OpenedInput): Promise<void> {
  if (!opened.async) return;
  for (const { tensor } of walkTensors(opened.input.root, { into: "all" })) if (tensor.storage !== undefined) await loadStorage(tensor.storage.view?.root ?? tensor.storage);
}
