/**
 * What a command's input argument names, opened as one checkpoint: a file (any format torchsave
 * reads), a DCP directory (`.metadata` + `*.distcp`), Hugging Face shards (a folder with an index,
 * or the `*.index.json` file), or an `http(s)://` URL of a file, of a DCP directory (ending in `/`)
 * or of a shard index, read with range requests; a DeepSpeed ZeRO folder (`latest` + tag folder, or
 * the tag folder itself), consolidated to fp32 as `zero_to_fp32.py` does. The commands share this so each accepts the
 * same inputs.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { urlSource } from "../bytes/url-source.js";
import type { ReadAnyOptions, ReadAnyResult } from "../convert/index.js";
import { DEFAULT_GUNZIP_MAX_BYTES, readAnyForConversion, readAnySync } from "../convert/index.js";
import { canOpen, hasDcpShardingInfo, openDcp, openDcpSafetensors, readSafetensorsHeaderSync, openDcpSync, openShards, openShardsSync, openZero, openZeroSync, readAnyAsync, SHARD_INDEX_NAMES } from "../distributed/index.js";
import type { DirectoryFiles } from "../distributed/index.js";
import { CheckpointError } from "../errors.js";
import { directoryFiles } from "../node/directory-files.js";
import { openFileSource } from "../node/index.js";
import { isGzipFile, openGunzippedFile } from "../node/gunzip-file.js";
import { nodeCrc32 } from "../node/write-checkpoint.js";
import type { CommandContext } from "./command.js";
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

/** True for an argument that is not one plain local file: a URL, a folder, or a shard index. */
export function needsInputHelper(arg: string): boolean {
  if (isRemote(arg) || isIndexFile(arg)) return true;
  try {
    return statSync(arg).isDirectory();
  } catch {
    return false;
  }
}

function isIndexFile(arg: string): boolean {
  return /\.index\.json$/i.test(arg);
}

/** The shard index in a folder, when it has one. */
function indexIn(dir: string): string | undefined {
  return SHARD_INDEX_NAMES.find((n) => {
    try {
      return statSync(join(dir, n)).isFile();
    } catch {
      return false;
    }
  });
}

/** A DCP directory: a folder holding `.metadata`. */
export function isDcpDirectory(arg: string): boolean {
  try {
    return statSync(arg).isDirectory() && statSync(join(arg, ".metadata")).isFile();
  } catch {
    return false;
  }
}

/** A DeepSpeed checkpoint folder: one with `latest`, or with `*_model_states.pt` and `*_optim_states.pt` files. */
export function isDeepSpeedDirectory(arg: string): boolean {
  try {
    if (!statSync(arg).isDirectory()) return false;
    if (isFile(join(arg, "latest"))) return true;
    const names = readdirSync(arg);
    return names.some((n) => n.endsWith("_model_states.pt")) && names.some((n) => n.endsWith("_optim_states.pt"));
  } catch {
    return false;
  }
}

/**
 * A safetensors-based DCP folder (torch's HuggingFaceStorageWriter): no `.metadata`, and its first
 * `.safetensors` file carries `DCP_SHARDING_INFO` (a folder of plain safetensors dumps is a run).
 */
export function isDcpSafetensorsDirectory(arg: string): boolean {
  try {
    if (!statSync(arg).isDirectory() || isFile(join(arg, ".metadata"))) return false;
    const first = readdirSync(arg).filter((n) => n.endsWith(".safetensors")).sort()[0];
    if (first === undefined) return false;
    const source = openFileSource(join(arg, first));
    try {
      return hasDcpShardingInfo(readSafetensorsHeaderSync(source));
    } finally {
      source.close();
    }
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Options for inputs that consolidate (DeepSpeed ZeRO folders). */
export interface InputOptions {
  /** DeepSpeed: also the optimizer moments (`{model, exp_avg, exp_avg_sq}`). */
  readonly includeOptimizer?: boolean;
  /**
   * The whole input is about to be converted: a local file is read with `readAnyForConversion`,
   * so its storage records are checked (CRC-32) as the writer reads them, unless `verifyCrc` is "none".
   */
  readonly conversion?: boolean;
  /**
   * The folder a gzip input is inflated into when it inflates past 64 MiB (a temp file, read in
   * place and removed; see `node/gunzip-file.ts`). Default the system's temp folder; converting
   * commands pass the output's (see {@link tempDirFor}), which can hold a file that size.
   */
  readonly tempDir?: string;
}

/** The folder beside `out` (or its nearest existing ancestor) for the temp file of a gzip input. */
export function tempDirFor(out: string): string {
  let dir = dirname(resolve(out));
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** The read options of a command that converts its whole input: storage CRCs checked unless `--ignore-crc`. */
export function conversionInputOptions(ctx: CommandContext): ReadAnyOptions {
  return { verifyCrc: ctx.values["ignore-crc"] === true ? "none" : "all", ...(nodeCrc32 === undefined ? {} : { crc32: nodeCrc32 }) };
}

/**
 * Opens `arg`. Local files read lazily through a file descriptor; local DCP directories read
 * synchronously (each tensor assembled on demand); URLs read with range requests.
 * @throws CheckpointError `io` for a folder that is no checkpoint torchsave reads; the readers' errors.
 */
export async function openInput(arg: string, options: ReadAnyOptions = {}, inputOptions: InputOptions = {}): Promise<OpenedInput> {
  if (isRemote(arg)) return openRemote(arg, options, inputOptions);
  let dir = false;
  try {
    dir = statSync(arg).isDirectory();
  } catch {
    dir = false; // openFileSource reports a missing file as usual
  }
  if (isIndexFile(arg) && !dir) return openIndex(dirname(arg), basename(arg));
  if (dir) {
    if (!isDcpDirectory(arg)) {
      const index = indexIn(arg);
      if (index !== undefined) return openIndex(arg, index);
      if (isDeepSpeedDirectory(arg)) return openDeepSpeed(arg, options, inputOptions);
      const st = readdirSync(arg).filter((n) => n.endsWith(".safetensors") && isFile(join(arg, n)));
      if (st.length > 0) return openSafetensorsDcp(arg, st, options);
      throw new CheckpointError("io", "this folder is not a checkpoint torchsave reads (a DCP directory has a .metadata file; Hugging Face shards a model.safetensors.index.json or pytorch_model.bin.index.json; a DeepSpeed folder a latest file or *_model_states.pt and *_optim_states.pt)", { file: arg });
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
  // gzip is inflated as it is read (node:zlib), into a temp file past 64 MiB: never whole in memory.
  const gzip = isGzipFile(arg);
  const source = gzip
    ? (await openGunzippedFile(arg, {
      maxBytes: options.read?.maxInflatedBytes ?? DEFAULT_GUNZIP_MAX_BYTES,
      verifyCrc: options.verifyCrc !== "none" && options.read?.verifyGzipCrc !== false,
      ...(inputOptions.tempDir === undefined ? {} : { tempDir: inputOptions.tempDir }),
    })).source
    : openFileSource(arg);
  try {
    const read = gzip ? { ...options, gunzipped: true } : options;
    const input = inputOptions.conversion === true ? readAnyForConversion(source, read) : readAnySync(source, read);
    return { input, async: false, close: () => source.close() };
  } catch (e) {
    source.close();
    throw e;
  }
}

function openDeepSpeed(dir: string, options: ReadAnyOptions, inputOptions: InputOptions): OpenedInput {
  const files = directoryFiles(dir);
  try {
    const ckpt = openZeroSync(files, { ...(options.read === undefined ? {} : { read: options.read }), includeOptimizer: inputOptions.includeOptimizer === true });
    // Trainable params are consolidated in memory (as zero_to_fp32 does); ZeRO-1/2 frozen params still read from their file.
    return { input: { root: ckpt.root, format: "deepspeed", gzip: false }, async: false, close: () => files.close() };
  } catch (e) {
    files.close();
    throw e;
  }
}

/** A safetensors-based DCP folder (torch's HuggingFaceStorageWriter): its `.safetensors` files as one checkpoint. */
async function openSafetensorsDcp(dir: string, names: readonly string[], options: ReadAnyOptions): Promise<OpenedInput> {
  const files = directoryFiles(dir);
  try {
    const ckpt = await openDcpSafetensors(files, names, { ...options.read, name: dir });
    return { input: { root: ckpt.root, format: "dcp", gzip: false }, async: false, close: () => files.close() };
  } catch (e) {
    files.close();
    throw e;
  }
}

function openIndex(dir: string, index: string): OpenedInput {
  const files = directoryFiles(dir);
  try {
    const ckpt = openShardsSync(files, index);
    return { input: { root: ckpt.root, format: "shards", gzip: false }, async: false, close: () => files.close() };
  } catch (e) {
    files.close();
    throw e;
  }
}

/**
 * A URL: a folder URL (ending in `/`) is a DCP directory when `<url>.metadata` exists, else a
 * DeepSpeed folder (its `latest` names the tag folder) or tag folder, read by DeepSpeed's file
 * names (HTTP cannot list a folder); the URL of a DeepSpeed `latest` file reads its folder; a
 * `*.index.json` URL reads the shards it names; any other URL is one file.
 */
async function openRemote(url: string, options: ReadAnyOptions, inputOptions: InputOptions = {}): Promise<OpenedInput> {
  let fetched = 0;
  const onBytes = (n: number): void => {
    fetched += n;
  };
  const done = { async: true, fetched: () => fetched, close: () => undefined };
  const path = url.replace(/[?#].*$/, "");
  if (url.endsWith("/") || path.endsWith("/latest")) {
    const base = url.endsWith("/") ? url : path.slice(0, path.length - "latest".length);
    const dir: DirectoryFiles = { name: base.slice(0, -1), open: (f) => urlSource(base + f, { onBytes }) };
    if (url.endsWith("/") && (await canOpen(dir, ".metadata"))) {
      const ckpt = await openDcp(dir, { ...options.read, name: url });
      return { input: { root: ckpt.root, format: "dcp", gzip: false }, ...done };
    }
    const ckpt = await openZero(dir, { ...(options.read === undefined ? {} : { read: options.read }), includeOptimizer: inputOptions.includeOptimizer === true });
    return { input: { root: ckpt.root, format: "deepspeed", gzip: false }, ...done };
  }
  if (isIndexFile(url.replace(/[?#].*$/, ""))) {
    const cut = url.lastIndexOf("/", url.search(/[?#]|$/)) + 1;
    const base = url.slice(0, cut);
    const ckpt = await openShards({ name: base.slice(0, -1), open: (f) => urlSource(base + f, { onBytes }) }, url.slice(cut));
    return { input: { root: ckpt.root, format: "shards", gzip: false }, ...done };
  }
  const source = await urlSource(url, { onBytes });
  return { input: await readAnyAsync(source, options), ...done };
}

/** Loads every storage of an async input (what `convert` needs before it writes synchronously). */
export async function loadAllStorages(opened: OpenedInput): Promise<void> {
  if (!opened.async) return;
  for (const { tensor } of walkTensors(opened.input.root, { into: "all" })) if (tensor.storage !== undefined) await loadStorage(tensor.storage.view?.root ?? tensor.storage);
}
